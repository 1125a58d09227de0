package storeplan

import (
	"slices"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Bounds of job progress records, the same in both stores.
const (
	// MaxJobIDLen bounds a job id (SQS deduplication ids are at most 128
	// characters), well inside DynamoDB's 1 KB sort key.
	MaxJobIDLen = 256
	// MaxJobMailboxLen bounds one address (64 + "@" + 255), so a job's done
	// set stays far below DynamoDB's 400 KB item limit.
	MaxJobMailboxLen = 320
)

// CheckJobID validates a job id (the adapter checks the tenant id its own
// way).
func CheckJobID(jobID string) error {
	if jobID == "" {
		return domain.Invalid("jobId", "job id is required")
	}
	if len(jobID) > MaxJobIDLen {
		return domain.Invalid("jobId", "job id is longer than %d bytes", MaxJobIDLen)
	}
	return nil
}

// JobMark validates a MarkJobDone call and returns its mailboxes sorted,
// each once (DynamoDB refuses a string set that repeats a value).
func JobMark(jobID string, mailboxes []string, ttl time.Duration) ([]string, error) {
	if err := CheckJobID(jobID); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, domain.Invalid("ttl", "ttl must be positive")
	}
	if len(mailboxes) > domain.MaxJobMailboxes {
		return nil, domain.Invalid("mailboxes", "a job names at most %d mailboxes, got %d", domain.MaxJobMailboxes, len(mailboxes))
	}
	for _, m := range mailboxes {
		if m == "" {
			return nil, domain.Invalid("mailboxes", "mailbox is empty")
		}
		if len(m) > MaxJobMailboxLen {
			return nil, domain.Invalid("mailboxes", "mailbox is longer than %d bytes", MaxJobMailboxLen)
		}
	}
	set := slices.Clone(mailboxes)
	slices.Sort(set)
	return slices.Compact(set), nil
}
