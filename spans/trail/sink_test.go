package trail

import (
	"context"
	"testing"
)

func TestMemorySink(t *testing.T) {
	s := NewMemorySink(2)
	for _, id := range []string{"a", "b", "c"} {
		s.Send(context.Background(), &Report{ID: id})
	}
	got := s.Reports()
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "c" || s.Dropped() != 1 {
		t.Fatalf("reports %v dropped %d; want b, c and 1", got, s.Dropped())
	}
	s.Reset()
	if len(s.Reports()) != 0 || s.Dropped() != 0 {
		t.Fatal("Reset kept something")
	}
}
