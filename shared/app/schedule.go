package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Scheduler defaults. See docs/architecture.md for why each has its value.
const (
	// DefaultAdminRetryInterval is the slow cadence for mailboxes whose
	// status needs an Exchange admin (out of scope, access denied, ...):
	// retrying them every interval would only burn the tenant's budget.
	DefaultAdminRetryInterval = time.Hour
	// DefaultSchedulePageSize is how many mailboxes one ListMailboxes call
	// reads (one DynamoDB Query page of small records).
	DefaultSchedulePageSize = 1000
	// DefaultScheduleSenders is how many SendBatch calls run at once.
	DefaultScheduleSenders = 16
	// DefaultScheduleTenantWorkers is how many tenants are listed at once.
	DefaultScheduleTenantWorkers = 4
	// MaxQueueBatch is the most messages one SendBatch call may carry (the
	// SQS SendMessageBatch limit, which the embedded queue enforces too).
	MaxQueueBatch = 10
	// DefaultMailboxesPerJob is how many mailboxes one queue message names:
	// SQS requests and Lambda invocations are billed per message and per
	// batch of 10 messages, so 10 mailboxes a message cut both tenfold.
	// More would make a delegate slot's message (synced one mailbox after
	// the other) long, and a throttled job's neighbours wait with it.
	DefaultMailboxesPerJob = 10
	// maxSQSID is the longest MessageGroupId / MessageDeduplicationId SQS takes.
	maxSQSID = 128
)

// SchedulerStore is what a tick reads: tenants and their mailboxes, paged.
type SchedulerStore interface {
	ListTenants(ctx context.Context, cursor string, limit int) ([]domain.Tenant, string, error)
	ListMailboxes(ctx context.Context, tenantID string, q domain.MailboxQuery) ([]domain.Mailbox, string, error)
}

// Scheduler is the schedule-tick use case: each minute it enqueues one
// domain.SyncJob per due mailbox. It keeps no state of its own: whether a
// tenant is due follows from the tick's minute and a hash of the tenant id,
// so a tick costs reads only (no NextSync write per mailbox) and tenants
// with the same interval are spread over the minutes of that interval.
type Scheduler struct {
	Store SchedulerStore
	Queue domain.Queue

	// AdminRetryInterval is the cadence for mailboxes whose status
	// NeedsAdmin; rounded up to a multiple of the tenant's interval.
	// Default DefaultAdminRetryInterval.
	AdminRetryInterval time.Duration
	// Spread, when positive, delays each job by a stable per-mailbox
	// amount in [0, min(Spread, interval)) so a tenant's mailboxes do not
	// all start in the same second. Leave it zero for SQS FIFO queues,
	// which refuse per-message delays.
	Spread time.Duration
	// ForceDue treats every active tenant, and every mailbox whatever its
	// status, as due: a manual run (`make run ARGS=--once`), not the minute
	// schedule.
	ForceDue bool
	// MailboxesPerJob is how many mailboxes one message names, 1 to
	// domain.MaxJobMailboxes; default DefaultMailboxesPerJob.
	MailboxesPerJob int
	// PageSize, Senders and TenantWorkers tune the fan-out (defaults above).
	PageSize      int
	Senders       int
	TenantWorkers int
}

// TickSummary says what one tick did.
type TickSummary struct {
	Slot             time.Time `json:"slot"`             // the tick's minute
	Tenants          int       `json:"tenants"`          // tenants read
	TenantsDue       int       `json:"tenantsDue"`       // active tenants due this minute
	Offboarded       int       `json:"offboarded"`       // skipped: offboarded
	Mailboxes        int       `json:"mailboxes"`        // mailboxes read (of due tenants)
	Enqueued         int       `json:"enqueued"`         // mailboxes whose job was sent
	Messages         int       `json:"messages"`         // queue messages sent (several mailboxes each)
	AdminRetries     int       `json:"adminRetries"`     // of which: NeedsAdmin mailboxes on their slow cadence
	WaitingForAdmin  int       `json:"waitingForAdmin"`  // NeedsAdmin mailboxes not due this tick
	Batches          int       `json:"batches"`          // SendBatch calls that succeeded
	FailedJobs       int       `json:"failedJobs"`       // mailboxes whose batch failed to send
	TenantsWithError int       `json:"tenantsWithError"` // tenants whose mailboxes could not be listed
	// Damaged counts the mailboxes skipped because their stored record
	// (or checkpoint) does not decode; DamagedMailboxes names the first
	// MaxDamagedReported of them as tenant/address, for the log.
	Damaged          int      `json:"damaged"`
	DamagedMailboxes []string `json:"damagedMailboxes,omitempty"`
	// DamagedTenants names the tenants (the first MaxDamagedReported)
	// skipped because their stored record does not decode.
	DamagedTenants []string `json:"damagedTenants,omitempty"`
}

// MaxDamagedReported bounds TickSummary.DamagedMailboxes.
const MaxDamagedReported = 20

// Tick enqueues the jobs due at now's minute. A retried tick for the same
// minute sends the same deduplication ids, so the queue drops the doubles.
// It sends what it can: a tenant that cannot be listed or a batch that
// cannot be sent is counted, and Tick then returns an error so that the
// runtime retries the whole tick (the only retry owner).
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (TickSummary, error) {
	slot := now.UTC().Truncate(time.Minute)
	sum := TickSummary{Slot: slot}
	if s.Store == nil || s.Queue == nil {
		return sum, errors.New("scheduler: Store and Queue are required")
	}
	minute := slot.Unix() / 60

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	tenants := make(chan domain.Tenant)
	batches := make(chan sendBatch)

	var mu sync.Mutex // guards sum and errs
	var errs []error
	record := func(f func()) { mu.Lock(); f(); mu.Unlock() }

	// Senders: concurrent SendBatch calls.
	var sendWG sync.WaitGroup
	for range orDefault(s.Senders, DefaultScheduleSenders) {
		sendWG.Go(func() {
			for b := range batches {
				err := s.Queue.SendBatch(ctx, b.msgs)
				record(func() {
					if err != nil {
						sum.FailedJobs += b.mailboxes
						errs = append(errs, err)
						return
					}
					sum.Batches++
					sum.Messages += len(b.msgs)
					sum.Enqueued += b.mailboxes
				})
			}
		})
	}

	// Tenant workers: page through a due tenant's mailboxes into batches.
	var tenantWG sync.WaitGroup
	for range orDefault(s.TenantWorkers, DefaultScheduleTenantWorkers) {
		tenantWG.Go(func() {
			for t := range tenants {
				st, err := s.planTenant(ctx, t, minute, slot, batches)
				record(func() {
					sum.Mailboxes += st.Mailboxes
					sum.AdminRetries += st.AdminRetries
					sum.WaitingForAdmin += st.WaitingForAdmin
					sum.Damaged += st.Damaged
					for _, a := range st.DamagedAddresses {
						if len(sum.DamagedMailboxes) < MaxDamagedReported {
							sum.DamagedMailboxes = append(sum.DamagedMailboxes, t.ID+"/"+a)
						}
					}
					if err != nil {
						sum.TenantsWithError++
						errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
					}
				})
			}
		})
	}

	listErr := s.listDueTenants(ctx, minute, tenants, &sum, record)
	close(tenants)
	tenantWG.Wait()
	close(batches)
	sendWG.Wait()

	if listErr != nil {
		return sum, fmt.Errorf("scheduler: list tenants: %w", listErr)
	}
	if len(errs) > 0 {
		return sum, fmt.Errorf("scheduler: jobs of %d mailboxes not sent, %d tenants not listed: %w",
			sum.FailedJobs, sum.TenantsWithError, errors.Join(errs...))
	}
	return sum, nil
}

// listDueTenants pages through all tenants and hands the due ones on.
func (s *Scheduler) listDueTenants(ctx context.Context, minute int64, out chan<- domain.Tenant, sum *TickSummary, record func(func())) error {
	cursor := ""
	for {
		page, next, err := s.Store.ListTenants(ctx, cursor, orDefault(s.PageSize, DefaultSchedulePageSize))
		if err != nil {
			return err
		}
		for _, t := range page {
			if t.Status == domain.TenantDamaged {
				// Its settings cannot be read: nothing of it is
				// scheduled, and the other tenants go on.
				record(func() {
					sum.Tenants++
					if len(sum.DamagedTenants) < MaxDamagedReported {
						sum.DamagedTenants = append(sum.DamagedTenants, t.ID)
					}
				})
				continue
			}
			due := t.Status != domain.TenantOffboarded && (s.ForceDue || TenantDue(t, minute))
			record(func() {
				sum.Tenants++
				if t.Status == domain.TenantOffboarded {
					sum.Offboarded++
				} else if due {
					sum.TenantsDue++
				}
			})
			if !due {
				continue
			}
			select {
			case out <- t:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if next == "" || next == cursor {
			return nil
		}
		cursor = next
	}
}

type tenantPlan struct {
	Mailboxes, AdminRetries, WaitingForAdmin int
	Damaged                                  int      // mailboxes skipped: stored record damaged
	DamagedAddresses                         []string // the first MaxDamagedReported of them
}

// sendBatch is up to MaxQueueBatch messages and how many mailboxes they name.
type sendBatch struct {
	msgs      []domain.QueueMessage
	mailboxes int
}

// planTenant lists one due tenant's mailboxes, packs them into jobs of up
// to MailboxesPerJob mailboxes of one message group, and sends the jobs
// on in batches of MaxQueueBatch.
func (s *Scheduler) planTenant(ctx context.Context, t domain.Tenant, minute int64, slot time.Time, out chan<- sendBatch) (tenantPlan, error) {
	var st tenantPlan
	adminDue := s.ForceDue || adminRetryDue(t, minute, orDefaultDuration(s.AdminRetryInterval, DefaultAdminRetryInterval))
	spread := min(s.Spread, tenantInterval(t))
	perJob := min(max(orDefault(s.MailboxesPerJob, DefaultMailboxesPerJob), 1), domain.MaxJobMailboxes)
	batch := sendBatch{msgs: make([]domain.QueueMessage, 0, MaxQueueBatch)}
	flush := func() error {
		if len(batch.msgs) == 0 {
			return nil
		}
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = sendBatch{msgs: make([]domain.QueueMessage, 0, MaxQueueBatch)}
		return nil
	}
	// Jobs being filled, by message group. Impersonated mailboxes fill one
	// job after the other (consecutive addresses: one range read for the
	// worker); a delegate slot's mailboxes fill that slot's job.
	const impersonated = "" // the open impersonation job's key
	open := map[string]*domain.SyncJob{}
	chunk := 0 // impersonation jobs sent so far
	emit := func(key string) error {
		job := open[key]
		delete(open, key)
		group := key
		if key == impersonated {
			group = impersonationGroup(t, chunk)
			chunk++
		}
		msg, err := jobMessage(t, *job, group, slot, spread)
		if err != nil {
			return err
		}
		batch.msgs = append(batch.msgs, msg)
		batch.mailboxes += len(job.Targets())
		if len(batch.msgs) == MaxQueueBatch {
			return flush()
		}
		return nil
	}
	index := 0 // position in address order: the delegate slot rotates over it
	cursor := ""
	for {
		page, next, err := s.Store.ListMailboxes(ctx, t.ID, domain.MailboxQuery{Cursor: cursor, Limit: orDefault(s.PageSize, DefaultSchedulePageSize)})
		if err != nil {
			return st, err
		}
		for _, m := range page {
			st.Mailboxes++
			if m.Status == domain.MailboxDamaged {
				// Its record cannot be read, so no sync can run it until
				// it is added again; the others of the tenant go on.
				st.Damaged++
				if len(st.DamagedAddresses) < MaxDamagedReported {
					st.DamagedAddresses = append(st.DamagedAddresses, m.Address)
				}
				continue
			}
			i := index
			index++
			if m.Status.NeedsAdmin() {
				if !adminDue {
					st.WaitingForAdmin++
					continue
				}
				st.AdminRetries++
			}
			serial := jobMode(t, m).Delegated()
			key := impersonated
			if serial || perJob == 1 {
				key = JobGroup(t, m, i)
			}
			job := open[key]
			if job == nil {
				job = &domain.SyncJob{TenantID: t.ID, Serial: serial, Tick: slot}
				open[key] = job
			}
			job.Mailboxes = append(job.Mailboxes, m.Address)
			if len(job.Mailboxes) == perJob {
				if err := emit(key); err != nil {
					return st, err
				}
			}
		}
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	// The jobs not yet full, in key order so a retried tick sends the same.
	for _, key := range slices.Sorted(maps.Keys(open)) {
		if err := emit(key); err != nil {
			return st, err
		}
	}
	return st, flush()
}

// impersonationGroup is the message group of an impersonation tenant's
// n-th job of a tick. Impersonation charges each target mailbox, so these
// groups only keep a mailbox from having two jobs at once: a mailbox keeps
// its job number from tick to tick unless mailboxes before it are added or
// removed (then, for one tick, it may have a job in its old group and one
// in its new; the checkpoint's optimistic concurrency makes that safe).
func impersonationGroup(t domain.Tenant, n int) string {
	return QueueID(t.ID + "#i" + strconv.Itoa(n))
}

// jobMessage builds the queue message for one job: its deduplication id
// (tenant#first mailbox#count#minute, also the job's ID), its message group
// and its delay.
func jobMessage(t domain.Tenant, job domain.SyncJob, group string, slot time.Time, spread time.Duration) (domain.QueueMessage, error) {
	targets := job.Targets()
	if len(targets) == 1 {
		job.Mailbox, job.Mailboxes = targets[0], nil
	}
	job.ID = QueueID(t.ID + "#" + targets[0] + "#" + strconv.Itoa(len(targets)) + "#" + strconv.FormatInt(slot.Unix()/60, 10))
	body, err := json.Marshal(job)
	if err != nil {
		return domain.QueueMessage{}, err
	}
	msg := domain.QueueMessage{Body: body, DedupID: job.ID, GroupID: group}
	if spread >= time.Second {
		// Whole seconds: SQS DelaySeconds has no finer grain.
		msg.Delay = time.Duration(hash64(t.ID+"#"+targets[0])%uint64(spread/time.Second)) * time.Second
	}
	return msg, nil
}

// jobMode is the mode a mailbox's job will start in: the one that worked
// last (after a fallback), else the mailbox's override, else the tenant's.
func jobMode(t domain.Tenant, m domain.Mailbox) domain.AccessMode {
	mode := m.EffectiveMode
	if mode == "" {
		mode = m.AccessMode
	}
	if mode == "" {
		mode = t.AccessMode
	}
	return mode
}

// JobGroup is the message group of a mailbox's job. One message per group
// is in flight at a time, so the group bounds concurrency:
//   - impersonation charges the target mailbox: group tenant#mailbox, so a
//     mailbox never has two jobs running and the tenant scales out;
//   - delegate access charges the service account for every call: groups
//     tenant#d<slot> with slot = index mod MaxConcurrentJobs, so at most
//     MaxConcurrentJobs jobs of the tenant run at once. Slots rotate over
//     the mailboxes' position in address order, so every slot gets the same
//     number of mailboxes (within one) and no slot finishes long after the
//     others, which a hash of the address would not guarantee.
//
// The mode is the one that worked last (after a fallback), else the
// mailbox's override, else the tenant's.
func JobGroup(t domain.Tenant, m domain.Mailbox, index int) string {
	if jobMode(t, m).Delegated() {
		return QueueID(t.ID + "#d" + strconv.Itoa(index%DelegateSlots(t)))
	}
	return QueueID(t.ID + "#" + m.Address)
}

// DelegateSlots is how many jobs of a delegate tenant may run at once: the
// tenant's MaxConcurrentJobs, defaulted and capped at the service
// account's EWSMaxConcurrency.
func DelegateSlots(t domain.Tenant) int {
	n := t.MaxConcurrentJobs
	if n <= 0 {
		n = domain.DefaultMaxConcurrentJobs
	}
	return min(n, domain.MaxDelegateConcurrentJobs)
}

// QueueID makes s usable as an SQS MessageGroupId or MessageDeduplicationId
// (at most 128 characters of printable ASCII): s itself when it qualifies,
// else a hash of it, so addresses with other characters still work.
func QueueID(s string) string {
	if len(s) <= maxSQSID {
		ok := true
		for i := 0; i < len(s); i++ {
			if s[i] < '!' || s[i] > '~' {
				ok = false
				break
			}
		}
		if ok {
			return s
		}
	}
	sum := sha256.Sum256([]byte(s))
	return "h:" + hex.EncodeToString(sum[:])
}

// TenantDue reports whether tenant t is due at the given minute (Unix
// seconds / 60): with interval I minutes, when (minute + phase) mod I == 0,
// where the phase is a hash of the tenant id. Each tenant is due once per
// interval, and tenants sharing an interval are spread over its minutes.
func TenantDue(t domain.Tenant, minute int64) bool {
	return dueEvery(t.ID, minute, intervalMinutes(tenantInterval(t)))
}

// adminRetryDue reports whether NeedsAdmin mailboxes are due: on a cadence
// that is the admin interval rounded up to a multiple of the tenant's, with
// the tenant's phase, so it only ever falls on ticks where the tenant is due.
func adminRetryDue(t domain.Tenant, minute int64, admin time.Duration) bool {
	i := intervalMinutes(tenantInterval(t))
	a := intervalMinutes(admin)
	a = (a + i - 1) / i * i
	return dueEvery(t.ID, minute, a)
}

func dueEvery(id string, minute, every int64) bool {
	phase := int64(hash64(id) % uint64(every))
	return (minute+phase)%every == 0
}

func tenantInterval(t domain.Tenant) time.Duration {
	if t.SyncInterval <= 0 {
		return domain.DefaultSyncInterval
	}
	return t.SyncInterval
}

// intervalMinutes rounds d up to whole minutes, at least one: the
// scheduler runs once a minute.
func intervalMinutes(d time.Duration) int64 {
	return max(1, int64((d+time.Minute-1)/time.Minute))
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDefaultDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
