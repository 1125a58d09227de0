package ewssim

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// DefaultMaxConcurrency is EWSMaxConcurrency on Exchange 2013+ and
// Exchange Online.
const DefaultMaxConcurrency = 27

// Options configure a Sim. The zero value is usable.
type Options struct {
	// Latency is added to every EWS call, while the call holds its
	// throttling budget (so slow calls make concurrency visible).
	Latency time.Duration
	// LatencyJitter adds a uniform random delay in [0, LatencyJitter)
	// drawn from Seed (real EWS calls take 300-800 ms).
	LatencyJitter time.Duration
	// OpLatency adds a delay per operation, e.g. {"GetItem": 50ms}.
	OpLatency map[string]time.Duration
	// MaxConcurrency is the concurrent-call budget per budget owner;
	// 0 means DefaultMaxConcurrency, negative means unlimited.
	MaxConcurrency int
	// BackOff is the BackOffMilliseconds that ErrorServerBusy carries;
	// 0 means 1s.
	BackOff time.Duration
	// Seed makes fault injection and Generate deterministic.
	Seed uint64
	// Clock stamps items and checks token expiry; nil means the system clock.
	Clock domain.Clock
	// TokenLifetime of issued OAuth access tokens; 0 means one hour.
	TokenLifetime time.Duration
	// MaxRequestBytes bounds a request body; 0 means 4 MiB.
	MaxRequestBytes int64
	// MaxConcurrentSyncCalls additionally bounds concurrent
	// SyncFolderItems and SyncFolderHierarchy calls per budget owner, like
	// Exchange Online's ConcurrentSyncCalls policy (which has answered
	// "policy value 5"); 0 means no separate limit.
	MaxConcurrentSyncCalls int
	// ControlCharRefs writes control characters in item text as character
	// references (a subject "a\x01b" becomes a&#x1;b), as some Exchange
	// servers do, to test a client's tolerance. Such responses are not
	// well-formed XML 1.0; by default the characters are dropped.
	ControlCharRefs bool
}

// Account is a service account (Basic/NTLM) or app registration (OAuth).
type Account struct {
	// Username and Password for Basic and NTLM. Username may be a UPN
	// (svc@contoso.com) or DOMAIN\user.
	Username string
	Password string
	// Tenant is the Entra tenant the app belongs to ("" = any tenant path).
	Tenant       string
	ClientID     string
	ClientSecret string
	// CertPEM is the public certificate registered for client_assertion.
	CertPEM string
	// ImpersonationScope lists the mailboxes the account may impersonate;
	// ImpersonateAll allows every mailbox (an unrestricted role assignment).
	ImpersonationScope []string
	ImpersonateAll     bool
	// Mailbox is the account's own mailbox, used when a request names no
	// mailbox ("" = none).
	Mailbox string
}

type grant struct {
	full    bool
	folders map[uint32]bool
}

type account struct {
	Account
	cert      *x509.Certificate
	scope     map[string]bool
	delegates map[string]*grant // by mailbox address
}

// budgetName names the account in throttling budgets and Stats.
func (a *account) budgetName() string {
	if a.Username != "" {
		return strings.ToLower(a.Username)
	}
	return a.ClientID
}

// Sim is an in-memory Exchange. All methods are safe for concurrent use.
type Sim struct {
	opts  Options
	clock domain.Clock
	// latency and maxConc start from Options and can be changed while
	// serving (SetLatency, SetMaxConcurrency).
	latency atomic.Int64
	maxConc atomic.Int64
	jmu     sync.Mutex
	jitter  *rand.Rand

	mu        sync.RWMutex
	mailboxes []*mailbox
	byAddr    map[string]*mailbox
	accounts  map[string]*account // by lower-cased username
	byClient  map[string]*account // by client id
	dir       roomDirectory       // rooms and room lists (rooms.go)

	tokens tokenStore
	ntlm   ntlmConns
	thr    throttle
	stats  statsCollector
	faults faultSet

	respMu    sync.Mutex
	responses []Response // meeting responses sent (op_respond.go)
}

// New returns an empty simulator.
func New(opts Options) *Sim {
	if opts.MaxConcurrency == 0 {
		opts.MaxConcurrency = DefaultMaxConcurrency
	}
	if opts.BackOff == 0 {
		opts.BackOff = time.Second
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.MaxRequestBytes == 0 {
		opts.MaxRequestBytes = 4 << 20
	}
	clock := opts.Clock
	if clock == nil {
		clock = domain.SystemClock{}
	}
	s := &Sim{
		opts:     opts,
		clock:    clock,
		byAddr:   make(map[string]*mailbox),
		accounts: make(map[string]*account),
		byClient: make(map[string]*account),
	}
	s.latency.Store(int64(opts.Latency))
	s.maxConc.Store(int64(opts.MaxConcurrency))
	s.faults.rng = rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	s.jitter = rand.New(rand.NewPCG(opts.Seed^0x5bd1e995, opts.Seed))
	s.opts.OpLatency = maps.Clone(opts.OpLatency)
	s.tokens.m = make(map[string]tokenInfo)
	return s
}

// SetLatency changes the latency added to every EWS call.
func (s *Sim) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetMaxConcurrency changes the per-owner concurrency budget (negative
// means unlimited); calls in flight keep their slot.
func (s *Sim) SetMaxConcurrency(n int) {
	if n == 0 {
		n = DefaultMaxConcurrency
	}
	s.maxConc.Store(int64(n))
}

// delay is the latency of one call of op.
func (s *Sim) delay(op string) time.Duration {
	d := time.Duration(s.latency.Load()) + s.opts.OpLatency[op]
	if j := s.opts.LatencyJitter; j > 0 {
		s.jmu.Lock()
		d += time.Duration(s.jitter.Int64N(int64(j)))
		s.jmu.Unlock()
	}
	return d
}

func normAddr(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// AddMailbox creates a mailbox with the distinguished folders. Adding an
// existing address is an error.
func (s *Sim) AddMailbox(address, displayName string) error {
	addr := normAddr(address)
	if !strings.Contains(addr, "@") {
		return fmt.Errorf("ewssim: mailbox address %q is not an SMTP address", address)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byAddr[addr]; ok {
		return fmt.Errorf("ewssim: mailbox %s exists", addr)
	}
	mb := newMailbox(uint32(len(s.mailboxes)), addr, displayName)
	s.mailboxes = append(s.mailboxes, mb)
	s.byAddr[addr] = mb
	return nil
}

// Mailboxes lists the mailbox addresses in creation order.
func (s *Sim) Mailboxes() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, len(s.mailboxes))
	for i, mb := range s.mailboxes {
		out[i] = mb.addr
	}
	return out
}

func (s *Sim) mailbox(address string) (*mailbox, bool) {
	s.mu.RLock()
	mb, ok := s.byAddr[normAddr(address)]
	s.mu.RUnlock()
	return mb, ok
}

func (s *Sim) mailboxByIdx(idx uint32) (*mailbox, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if int(idx) >= len(s.mailboxes) {
		return nil, false
	}
	return s.mailboxes[idx], true
}

// resolveFolderLocked finds a folder by distinguished name or folder id.
func (mb *mailbox) resolveFolderLocked(folder string) (*folder, error) {
	if f, ok := mb.folderByName(folder); ok {
		return f, nil
	}
	if m, idx, ok := decodeID(tagFolder, folder); ok && m == mb.idx {
		if f, ok := mb.folder(idx); ok {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%w: folder %q in %s", ErrNotFound, folder, mb.addr)
}

// AddFolder creates a user folder under parent (a distinguished name such
// as "inbox" or a folder id) and returns its id. class defaults to IPF.Note.
func (s *Sim) AddFolder(mailbox, parent, displayName, class string) (string, error) {
	mb, ok := s.mailbox(mailbox)
	if !ok {
		return "", fmt.Errorf("%w: mailbox %s", ErrNotFound, mailbox)
	}
	if displayName == "" {
		return "", errors.New("ewssim: folder display name is empty")
	}
	if class == "" {
		class = "IPF.Note"
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	p, err := mb.resolveFolderLocked(parent)
	if err != nil {
		return "", err
	}
	f := mb.addFolderLocked(p.idx, displayName, class, "", true)
	return folderID(mb.idx, f.idx), nil
}

// inFolder runs fn with the mailbox locked (exclusively when write) and
// folder (a distinguished name or folder id) resolved.
func (s *Sim) inFolder(address, where string, write bool, fn func(mb *mailbox, f *folder) error) error {
	mb, ok := s.mailbox(address)
	if !ok {
		return fmt.Errorf("%w: mailbox %s", ErrNotFound, address)
	}
	if write {
		mb.mu.Lock()
		defer mb.mu.Unlock()
	} else {
		mb.mu.RLock()
		defer mb.mu.RUnlock()
	}
	f, err := mb.resolveFolderLocked(where)
	if err != nil {
		return err
	}
	return fn(mb, f)
}

// RenameFolder changes a folder's display name (a hierarchy Update).
func (s *Sim) RenameFolder(address, where, displayName string) error {
	return s.inFolder(address, where, true, func(mb *mailbox, f *folder) error {
		f.folderMeta = &folderMeta{name: displayName, class: f.class, dist: f.dist}
		mb.touchFolderLocked(f)
		return nil
	})
}

// DeleteFolder deletes a user folder, its subfolders and their items.
func (s *Sim) DeleteFolder(address, where string) error {
	return s.inFolder(address, where, true, func(mb *mailbox, f *folder) error {
		if f.dist != "" {
			return fmt.Errorf("ewssim: cannot delete distinguished folder %s", f.dist)
		}
		mb.deleteFolderLocked(f)
		return nil
	})
}

func (mb *mailbox) deleteFolderLocked(f *folder) {
	for _, c := range mb.folders {
		if !c.deleted && c.hasParent && c.parent == f.idx {
			mb.deleteFolderLocked(c)
		}
	}
	for _, idx := range append([]uint32(nil), f.members...) {
		mb.deleteItemLocked(idx)
	}
	f.deleted = true
	mb.touchFolderLocked(f)
}

// AddItem stores it in the folder where names (a distinguished name or a
// folder id) of the mailbox at address.
func (s *Sim) AddItem(address, where string, it Item) (ItemRef, error) {
	if it.Kind == 0 {
		it.Kind = KindMessage
	}
	var ref ItemRef
	err := s.inFolder(address, where, true, func(mb *mailbox, f *folder) error {
		in := mb.addItemLocked(f, it, s.clock.Now())
		idx := uint32(len(mb.items) - 1)
		ref = ItemRef{ID: itemID(mb.idx, idx), ChangeKey: changeKey(idx, in.version)}
		return nil
	})
	return ref, err
}

func (s *Sim) lockItem(id string) (*mailbox, uint32, error) {
	m, idx, ok := decodeID(tagItem, id)
	if !ok {
		return nil, 0, fmt.Errorf("%w: malformed item id", ErrNotFound)
	}
	mb, ok := s.mailboxByIdx(m)
	if !ok {
		return nil, 0, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	mb.mu.Lock()
	if _, ok := mb.item(idx); !ok {
		mb.mu.Unlock()
		return nil, 0, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	return mb, idx, nil
}

// UpdateItem changes an item with fn and bumps its ChangeKey. Changing only
// IsRead of a message is reported by sync as a ReadFlagChange.
func (s *Sim) UpdateItem(id string, fn func(*Item)) (ItemRef, error) {
	mb, idx, err := s.lockItem(id)
	if err != nil {
		return ItemRef{}, err
	}
	defer mb.mu.Unlock()
	in := mb.items[idx]
	before := in.content()
	// The callback gets its own slices: generated items share them.
	it := before.clone()
	fn(&it)
	it.Kind = before.Kind
	in.setContent(it)
	mb.touchLocked(idx, readOnlyChange(before, it), s.clock.Now())
	return ItemRef{ID: id, ChangeKey: changeKey(idx, in.version)}, nil
}

// readOnlyChange reports whether b differs from a in IsRead only.
func readOnlyChange(a, b Item) bool {
	if a.IsRead == b.IsRead {
		return false
	}
	a.IsRead = b.IsRead
	return reflect.DeepEqual(a, b)
}

// SetRead sets a message's read flag.
func (s *Sim) SetRead(id string, read bool) (ItemRef, error) {
	return s.UpdateItem(id, func(it *Item) { it.IsRead = read })
}

// DeleteItem hard-deletes an item.
func (s *Sim) DeleteItem(id string) error {
	mb, idx, err := s.lockItem(id)
	if err != nil {
		return err
	}
	defer mb.mu.Unlock()
	mb.deleteItemLocked(idx)
	return nil
}

// GetItem returns an item's content and current ChangeKey.
func (s *Sim) GetItem(id string) (Item, ItemRef, error) {
	mb, idx, err := s.lockItem(id)
	if err != nil {
		return Item{}, ItemRef{}, err
	}
	defer mb.mu.Unlock()
	in := mb.items[idx]
	// The caller gets its own slices; the stored item stays as it is.
	return in.content().clone(), ItemRef{ID: id, ChangeKey: changeKey(idx, in.version)}, nil
}

// ListItems returns the refs of the items in a folder, oldest first.
func (s *Sim) ListItems(address, where string) ([]ItemRef, error) {
	var out []ItemRef
	err := s.inFolder(address, where, false, func(mb *mailbox, f *folder) error {
		out = make([]ItemRef, 0, len(f.members))
		for _, idx := range f.members {
			out = append(out, ItemRef{ID: itemID(mb.idx, idx), ChangeKey: changeKey(idx, mb.items[idx].version)})
		}
		return nil
	})
	return out, err
}

// FolderID returns the id of a folder given by distinguished name.
func (s *Sim) FolderID(address, where string) (string, error) {
	var id string
	err := s.inFolder(address, where, false, func(mb *mailbox, f *folder) error {
		id = folderID(mb.idx, f.idx)
		return nil
	})
	return id, err
}

// InvalidateSyncStates makes every SyncFolderItems state of the folder
// (and, when folder is "", every folder and the hierarchy) answer
// ErrorInvalidSyncStateData, as after a mailbox move.
func (s *Sim) InvalidateSyncStates(mailbox, folder string) error {
	mb, ok := s.mailbox(mailbox)
	if !ok {
		return fmt.Errorf("%w: mailbox %s", ErrNotFound, mailbox)
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if folder == "" {
		mb.epoch++
		for _, f := range mb.folders {
			f.epoch++
		}
		return nil
	}
	f, err := mb.resolveFolderLocked(folder)
	if err != nil {
		return err
	}
	f.epoch++
	return nil
}

// AddAccount registers a service account or app. Usernames and client ids
// are unique.
func (s *Sim) AddAccount(a Account) error {
	if a.Username == "" && a.ClientID == "" {
		return errors.New("ewssim: account needs a username or a client id")
	}
	acc := &account{Account: a, scope: make(map[string]bool), delegates: make(map[string]*grant)}
	if a.CertPEM != "" {
		block, _ := pem.Decode([]byte(a.CertPEM))
		if block == nil {
			return errors.New("ewssim: CertPEM holds no PEM block")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fmt.Errorf("ewssim: parse CertPEM: %w", err)
		}
		acc.cert = cert
	}
	for _, m := range a.ImpersonationScope {
		acc.scope[normAddr(m)] = true
	}
	acc.Mailbox = normAddr(a.Mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Username != "" {
		if _, ok := s.accounts[strings.ToLower(a.Username)]; ok {
			return fmt.Errorf("ewssim: account %s exists", a.Username)
		}
	}
	if a.ClientID != "" {
		if _, ok := s.byClient[a.ClientID]; ok {
			return fmt.Errorf("ewssim: client id %s exists", a.ClientID)
		}
		s.byClient[a.ClientID] = acc
	}
	if a.Username != "" {
		s.accounts[strings.ToLower(a.Username)] = acc
	}
	return nil
}

func (s *Sim) accountLocked(name string) (*account, error) {
	if a, ok := s.accounts[strings.ToLower(name)]; ok {
		return a, nil
	}
	if a, ok := s.byClient[name]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("%w: account %s", ErrNotFound, name)
}

// SetImpersonationScope replaces the mailboxes an account (username or
// client id) may impersonate.
func (s *Sim) SetImpersonationScope(accountName string, mailboxes []string, all bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(accountName)
	if err != nil {
		return err
	}
	a.scope = make(map[string]bool, len(mailboxes))
	for _, m := range mailboxes {
		a.scope[normAddr(m)] = true
	}
	a.ImpersonateAll = all
	return nil
}

// GrantDelegate gives an account delegate access to a mailbox: the whole
// mailbox when folder is "", else that one folder (distinguished name or
// folder id; subfolders are not included, as in Exchange).
func (s *Sim) GrantDelegate(accountName, mailbox, folder string) error {
	mb, ok := s.mailbox(mailbox)
	if !ok {
		return fmt.Errorf("%w: mailbox %s", ErrNotFound, mailbox)
	}
	var fidx uint32
	if folder != "" {
		mb.mu.RLock()
		f, err := mb.resolveFolderLocked(folder)
		mb.mu.RUnlock()
		if err != nil {
			return err
		}
		fidx = f.idx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(accountName)
	if err != nil {
		return err
	}
	g := a.delegates[mb.addr]
	if g == nil {
		g = &grant{folders: make(map[uint32]bool)}
		a.delegates[mb.addr] = g
	}
	if folder == "" {
		g.full = true
	} else {
		g.folders[fidx] = true
	}
	return nil
}

// RevokeDelegate removes all delegate access of an account to a mailbox.
func (s *Sim) RevokeDelegate(accountName, mailbox string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.accountLocked(accountName)
	if err != nil {
		return err
	}
	delete(a.delegates, normAddr(mailbox))
	return nil
}
