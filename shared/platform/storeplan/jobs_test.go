package storeplan

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

func TestJobMark(t *testing.T) {
	longest := strings.Repeat("a", MaxJobMailboxLen-len("@x")) + "@x"
	tooMany := make([]string, domain.MaxJobMailboxes+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("u%02d@x", i)
	}
	for _, c := range []struct {
		name      string
		jobID     string
		mailboxes []string
		ttl       time.Duration
		want      []string // nil: refused as invalid
	}{
		{"sorted, each once", "job-1", []string{"c@x", "a@x", "c@x"}, time.Hour, []string{"a@x", "c@x"}},
		{"none", "job-1", []string{}, time.Hour, []string{}},
		{"longest job id", strings.Repeat("j", MaxJobIDLen), []string{"a@x"}, time.Hour, []string{"a@x"}},
		{"longest mailbox", "job-1", []string{longest}, time.Hour, []string{longest}},
		{"no job id", "", []string{"a@x"}, time.Hour, nil},
		{"job id too long", strings.Repeat("j", MaxJobIDLen+1), []string{"a@x"}, time.Hour, nil},
		{"no ttl", "job-1", []string{"a@x"}, 0, nil},
		{"empty mailbox", "job-1", []string{"a@x", ""}, time.Hour, nil},
		{"mailbox too long", "job-1", []string{"a" + longest}, time.Hour, nil},
		{"more mailboxes than a job", "job-1", tooMany, time.Hour, nil},
		{"as many as a job", "job-1", tooMany[1:], time.Hour, tooMany[1:]},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.mailboxes)
			got, err := JobMark(c.jobID, in, c.ttl)
			if c.want == nil {
				if domain.ErrorCodeOf(err) != domain.CodeInvalid {
					t.Fatalf("JobMark = %q, %v; want an invalid-input error", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("JobMark = %q, %v; want %q", got, err, c.want)
			}
			if !slices.Equal(in, c.mailboxes) {
				t.Errorf("JobMark changed its argument to %q", in)
			}
		})
	}
}
