package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Nightly is the nightly re-verification: every mailbox of
// every active tenant is checked again with the tenant's credential, so a
// permission an admin removed (or finally granted) shows in the mailbox's
// status, hint and effective mode before the next sync trips over it.
//
// Each tenant goes through Tenants.Verify, which bounds the checks of a
// delegate tenant by its MaxConcurrentJobs (they share the service
// account's EWS budget), records statuses and writes the audit trail.
type Nightly struct {
	Store   domain.TenantStore
	Tenants *Tenants
	Log     *slog.Logger
	// TenantConcurrency is how many tenants are verified at once; tenants
	// have separate budgets. Default 4.
	TenantConcurrency int
	// DeadlineMargin: no tenant is started when the context's deadline is
	// closer than this (the Lambda's 15 minutes); default 60s.
	DeadlineMargin time.Duration
}

// NightlySummary says what a run did.
type NightlySummary struct {
	Tenants       int                          `json:"tenants"`       // active tenants verified
	Offboarded    int                          `json:"offboarded"`    // skipped
	Mailboxes     int                          `json:"mailboxes"`     // mailboxes checked
	ByStatus      map[domain.MailboxStatus]int `json:"byStatus"`      // their statuses
	FailedTenants []string                     `json:"failedTenants"` // could not be verified (logged)
	Unfinished    int                          `json:"unfinished"`    // tenants left when time ran out
}

// Run verifies every active tenant. A tenant that cannot be verified (no
// credentials, store trouble) is logged and counted; the others go on.
func (n *Nightly) Run(ctx context.Context) (NightlySummary, error) {
	log := n.Log
	if log == nil {
		log = slog.Default()
	}
	limit := n.TenantConcurrency
	if limit <= 0 {
		limit = 4
	}
	margin := n.DeadlineMargin
	if margin <= 0 {
		margin = time.Minute
	}
	sum := NightlySummary{ByStatus: map[domain.MailboxStatus]int{}}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, limit)
	)
	cursor := ""
	for {
		page, next, err := n.Store.ListTenants(ctx, cursor, MaxPageLimit)
		if err != nil {
			wg.Wait()
			return sum, internal(err, "listing tenants")
		}
		for _, t := range page {
			if t.Status == domain.TenantOffboarded {
				sum.Offboarded++
				continue
			}
			if t.Status == domain.TenantDamaged {
				log.Error("nightly verify: tenant skipped: its stored record is damaged", "tenantId", t.ID)
				mu.Lock()
				sum.FailedTenants = append(sum.FailedTenants, t.ID)
				mu.Unlock()
				continue
			}
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < margin {
				mu.Lock()
				sum.Unfinished++
				mu.Unlock()
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				rep, err := n.Tenants.Verify(ctx, t.ID, "")
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					log.Error("nightly verify: tenant failed", "tenantId", t.ID, "error", err.Error())
					sum.FailedTenants = append(sum.FailedTenants, t.ID)
					return
				}
				sum.Tenants++
				for s, c := range rep.Summary {
					sum.ByStatus[s] += c
					sum.Mailboxes += c
				}
			}()
		}
		if next == "" || next == cursor || len(page) == 0 {
			break
		}
		cursor = next
	}
	wg.Wait()
	return sum, nil
}
