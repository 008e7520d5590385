package main

import (
	"fmt"
	"io"
	"os"

	"github.com/ctxtrail/ctxtrail/otelconfig"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: ctxtrail-config check FILE...")
		return 2
	}
	status := 0
	for _, path := range args[1:] {
		if err := otelconfig.Check(stdout, path); err != nil {
			status = 1
		}
	}
	return status
}
