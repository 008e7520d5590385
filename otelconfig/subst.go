package otelconfig

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// substRef is one ${...} reference: an optional env: prefix, the name, an optional :-default.
var substRef = regexp.MustCompile(`\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// substitute applies the specification's environment-variable substitution to every scalar
// value under n, in place: ${VAR}, ${env:VAR}, ${VAR:-default}, and $$ for a literal $. Keys
// are never substituted, and a plain scalar's type is decided again from its new text (so
// ${PORT} can be a number), while a quoted one stays a string. It returns the variables named.
func substitute(n *yaml.Node, lookup func(string) (string, bool)) ([]string, error) {
	var names []string
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				if err := walk(c); err != nil {
					return err
				}
			}
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				if err := walk(n.Content[i]); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "$") {
				return nil
			}
			v, used, err := substituteValue(n.Value, lookup)
			if err != nil {
				return fmt.Errorf("line %d: %w", n.Line, err)
			}
			names = append(names, used...)
			if v != n.Value {
				n.Value = v
				n.Tag = "" // a plain scalar's type comes from its new text (true, 8080, 0.25); a quoted one stays a string
			}
		}
		return nil
	}
	if err := walk(n); err != nil {
		return nil, err
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// substituteValue substitutes one scalar's text.
func substituteValue(s string, lookup func(string) (string, bool)) (string, []string, error) {
	var b strings.Builder
	var used []string
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "$$") {
			b.WriteByte('$')
			i += 2
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte('$')
			i++
			continue
		}
		m := substRef.FindStringSubmatchIndex(s[i:])
		if m == nil || m[0] != 0 {
			end := strings.IndexByte(s[i:], '}')
			ref := s[i:]
			if end >= 0 {
				ref = s[i : i+end+1]
			}
			return "", nil, fmt.Errorf("%q is not a substitution: write ${NAME}, ${env:NAME} or ${NAME:-default} "+
				"(NAME of letters, digits and _), or $$ for a literal $", ref)
		}
		name := s[i+m[2] : i+m[3]]
		used = append(used, name)
		v, ok := lookup(name)
		if (!ok || v == "") && m[4] >= 0 {
			v = s[i+m[4] : i+m[5]]
		}
		b.WriteString(v)
		i += m[1]
	}
	return b.String(), used, nil
}

// environ is the process's environment, for substitute.
func environ(name string) (string, bool) { return os.LookupEnv(name) }
