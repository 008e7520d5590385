package sqltx

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOperationName(t *testing.T) {
	tests := []struct {
		query, want string
	}{
		{"SELECT 1", "SELECT"},
		{"  select * from t", "SELECT"},
		{"\n\tinsert into t values (1)", "INSERT"},
		{"-- a comment\nUPDATE t SET a = 1", "UPDATE"},
		{"/* hint */ delete from t", "DELETE"},
		{"/* a */ /* b */ -- c\n with x as (select 1) select * from x", "WITH"},
		{"(SELECT 1) UNION (SELECT 2)", "SELECT"},
		{"", ""},
		{"   ", ""},
		{"-- only a comment", ""},
		{"/* never closed", ""},
		{"42", ""},
		{"$1", ""},
		{strings.Repeat("a", 100) + " x", ""}, // no verb is that long: not a keyword
		{"ÉLECT 1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := operationName(tt.query); got != tt.want {
				t.Fatalf("operationName(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestCapText(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{name: "short", in: "abc", limit: 10, want: "abc"},
		{name: "exact", in: "abcde", limit: 5, want: "abcde"},
		{name: "cut", in: "abcdef", limit: 4, want: "abcd"},
		{name: "never splits a rune", in: "aé", limit: 2, want: "a"}, // é is 2 bytes
		{name: "three-byte rune", in: "ab€", limit: 4, want: "ab"},
		{name: "zero", in: "abc", limit: 0, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := capText(tt.in, tt.limit)
			if got != tt.want || !utf8.ValidString(got) {
				t.Fatalf("capText(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
		})
	}
}

func TestStatementTextLimits(t *testing.T) {
	tests := []struct {
		limit, want int
	}{
		{0, DefaultStatementTextLimit},
		{-5, DefaultStatementTextLimit},
		{100, 100},
		{MaxStatementTextLimit * 2, MaxStatementTextLimit},
	}
	for _, tt := range tests {
		c := newConfig([]Option{WithStatementText(tt.limit)})
		if c.textLimit != tt.want || !c.statements {
			t.Errorf("WithStatementText(%d): limit %d statements %v, want %d true", tt.limit, c.textLimit, c.statements, tt.want)
		}
	}
}

func TestNestingOptionsLastWins(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want nesting
	}{
		{name: "default", want: nestJoin},
		{name: "savepoint", opts: []Option{WithSavepoint()}, want: nestSavepoint},
		{name: "new", opts: []Option{WithNewTx()}, want: nestNew},
		{name: "last wins", opts: []Option{WithNewTx(), WithSavepoint()}, want: nestSavepoint},
		{name: "nil option ignored", opts: []Option{nil, WithNewTx(), nil}, want: nestNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newConfig(tt.opts).nesting; got != tt.want {
				t.Fatalf("nesting = %v, want %v", got, tt.want)
			}
		})
	}
}
