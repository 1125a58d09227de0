package readcache

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	c := New[string](time.Minute, func() time.Time { return now })
	loads := 0
	value := "v1"
	var fail error
	load := func(context.Context) (string, error) {
		loads++
		return value, fail
	}
	get := func() (string, error) { return c.Get(context.Background(), "k", load) }

	steps := []struct {
		name      string
		before    func()
		want      string
		wantErr   bool
		wantLoads int
	}{
		{"first get loads", nil, "v1", false, 1},
		{"within the TTL: cached", func() { value = "v2"; now = now.Add(59 * time.Second) }, "v1", false, 1},
		{"past the TTL: loads again", func() { now = now.Add(2 * time.Second) }, "v2", false, 2},
		{"forget: loads again", func() { value = "v3"; c.Forget("k") }, "v3", false, 3},
		{"an error is returned, not cached", func() { c.Forget("k"); fail = errors.New("down") }, "", true, 4},
		{"and the next get loads", func() { fail = nil }, "v3", false, 5},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		got, err := get()
		if got != st.want || (err != nil) != st.wantErr || loads != st.wantLoads {
			t.Fatalf("%s: %q, %v after %d loads; want %q (error %v) after %d", st.name, got, err, loads, st.want, st.wantErr, st.wantLoads)
		}
	}

	// A load that began before a Forget does not put its value back.
	c.Forget("k")
	_, _ = c.Get(context.Background(), "k", func(context.Context) (string, error) {
		c.Forget("k") // invalidated while this read was in flight
		return "stale", nil
	})
	if got, _ := c.Get(context.Background(), "k", func(context.Context) (string, error) { return "fresh", nil }); got != "fresh" {
		t.Fatalf("after a Forget during a load: %q, want a fresh load", got)
	}
}
