package otelconfig

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNotApplied is wrapped by Check's error when the file holds keys ctxtrail would refuse.
var ErrNotApplied = errors.New("otelconfig: configuration keys not applied")

// notAppliedError is parse's error for keys ctxtrail would refuse: it wraps ctxtrail.ErrConfig
// (through the joined errors) and matches ErrNotApplied, its text unchanged.
type notAppliedError struct{ error }

func (e notAppliedError) Unwrap() error        { return e.error }
func (e notAppliedError) Is(target error) bool { return target == ErrNotApplied }

// Check reads the configuration file at path as Install would (substituting from the process's
// environment), and writes to w the effective configuration, one setting per line, then every
// key not applied with its line: errors, which make Load and Install fail, and warnings, which
// Install reports and tolerates. It returns the error Load would return, or nil.
func Check(w io.Writer, path string) error {
	data, err := readFile(path)
	if err != nil {
		return err
	}
	c, err := parse(path, data)
	fmt.Fprintf(w, "# %s\n", path)
	if c != nil {
		fmt.Fprintln(w, "## applied")
		for _, l := range c.summary {
			fmt.Fprintf(w, "  %s\n", l)
		}
		if len(c.env) > 0 {
			fmt.Fprintf(w, "  environment substituted: %v\n", c.env)
		}
		if names := c.replacedEnv(false); len(names) > 0 {
			fmt.Fprintf(w, "  environment replaced by the file, not read: %s\n", strings.Join(names, ", "))
		}
		fmt.Fprintln(w, "## not applied")
		if len(c.keys) == 0 {
			fmt.Fprintln(w, "  (none)")
		}
		for _, k := range c.keys {
			fmt.Fprintf(w, "  %s\n", k)
		}
	}
	if err != nil {
		fmt.Fprintf(w, "## result: Install would fail\n  %v\n", err)
		return err
	}
	fmt.Fprintln(w, "## result: Install applies this file")
	return nil
}
