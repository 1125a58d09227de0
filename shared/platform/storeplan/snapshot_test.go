package storeplan

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func TestSnapshotAddresses(t *testing.T) {
	tooMany := make([]string, domain.MaxJobMailboxes+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("u%02d@acme.example", i)
	}
	for _, c := range []struct {
		name string
		in   []string
		want []string // nil: refused as invalid
	}{
		{"sorted, each once", []string{"c@x", "a@x", "c@x", "b@x"}, []string{"a@x", "b@x", "c@x"}},
		{"one", []string{"a@x"}, []string{"a@x"}},
		{"as many as a job", tooMany[:domain.MaxJobMailboxes], tooMany[:domain.MaxJobMailboxes]},
		{"none", nil, nil},
		{"an empty one", []string{"a@x", ""}, nil},
		{"more than a job", tooMany, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.in)
			got, err := SnapshotAddresses(in)
			if c.want == nil {
				if domain.ErrorCodeOf(err) != domain.CodeInvalid {
					t.Fatalf("SnapshotAddresses(%q) = %q, %v; want an invalid-input error", c.in, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("SnapshotAddresses(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			if !slices.Equal(in, c.in) {
				t.Errorf("SnapshotAddresses changed its argument to %q", in)
			}
		})
	}
}
