package ewssim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// GenOptions describe a generated dataset.
type GenOptions struct {
	Mailboxes       int    // number of mailboxes (user0001@Domain, ...)
	ItemsPerMailbox int    // items in each mailbox, mixed mail, calendar and contacts
	Seed            uint64 // same seed, same dataset
	Domain          string // default contoso.com
	// Base anchors generated dates; default 2026-01-05T09:00:00Z. Calendar
	// items fall within ±60 days of it.
	Base time.Time
}

// Dataset is what Generate created.
type Dataset struct {
	Mailboxes []string
	// Account is the demo service account: Basic/NTLM username and
	// password, and an OAuth app (Tenant, ClientID, ClientSecret). It may
	// impersonate every generated mailbox and has full delegate access to
	// each.
	Account Account
}

// Demo credentials: for local runs only.
const (
	DemoTenant       = "contoso-tenant.onmicrosoft.com"
	DemoClientID     = "5b1d6a52-0c1b-4f53-9d1e-6d656d6f0001"
	demoPassword     = "Demo-Passw0rd!"
	demoClientSecret = "demo-client-secret"
)

var (
	genFirst    = []string{"Ada", "Ben", "Chloe", "Dan", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kim", "Lena", "Mack", "Nora", "Omar", "Priya"}
	genLast     = []string{"Park", "Welker", "Gross", "Chaves", "Okafor", "Larsen", "Novak", "Silva", "Tanaka", "Dubois", "Meyer", "Costa"}
	genSubjects = []string{"Budget Q3", "RE: Review proposal for Contoso", "Weekly sync", "Customer escalation", "Travel itinerary", "Offsite planning", "Invoice 2026-114", "FW: Contract draft", "Lunch?", "Release notes", "Hiring loop feedback", "Quarterly business review"}
	genMeetings = []string{"Standup", "1:1", "Design review", "Customer call", "Room booking: Aurora", "Planning poker", "Board prep", "Interview"}
	genPlaces   = []string{"Conference Room 2", "Aurora", "Teams", "Kirkland", "HQ 4th floor", ""}
	genBodies   = []string{"Please see the notes below and reply by Friday.", "Thanks, looks good to me.", "Can we move this to next week?", "Attached is the latest version.",
		genLongReply, genNewsletter}
	// Real mail is mostly longer than the feed's body bound (1 KB): a
	// reply quoting its thread, and a bulletin.
	genLongReply = "Hi all,\r\n\r\nthanks for the quick turnaround. Two points from our side before we sign off:\r\n\r\n" +
		"1. The delivery dates in section 4 assume the hardware arrives by the 15th; if it slips, the go-live moves with it.\r\n" +
		"2. Support hours are 08:00-18:00 CET on working days; anything outside that goes through the on-call number.\r\n\r\n" +
		"Let me know if that works and I will send the final version for signature.\r\n\r\nBest regards,\r\nKim\r\n\r\n" +
		strings.Repeat("> From: Alex Wilber\r\n> Sent: Monday\r\n> Subject: RE: Review proposal for Contoso\r\n>\r\n"+
			"> Thanks Kim, the proposal looks good overall. Legal asked for two changes in the liability clause and the payment terms; "+
			"I have marked them in the attached copy. Could you confirm the delivery dates and the support hours?\r\n>\r\n", 4)
	genNewsletter = "Contoso weekly: what happened this week\r\n\r\n" +
		strings.Repeat("- The new office in Lisbon opens on the 1st; desks can be booked from next Monday in the usual tool.\r\n"+
			"- Quarterly business reviews start next week; account owners have received their slots by e-mail.\r\n", 6) +
		"\r\nYou receive this bulletin because you are a member of All Employees."
	// Event bodies, from the item's number (the seed's draws stay as
	// they were): none, a line, a dial-in block, an agenda over the
	// feed's 1 KB bound.
	genAgendas = []string{"", "Agenda to follow.", "Join by phone: +1 425-555-0100, conference id 481 516 23#\r\n\r\nPlease be on time.",
		"Agenda:\r\n" + strings.Repeat("- Review of last quarter's figures and the open actions from the previous meeting, owners to report.\r\n", 12)}
	genZones = []string{"Pacific Standard Time", "W. Europe Standard Time", "UTC", "Eastern Standard Time"}
)

// Generate adds a deterministic dataset: mailboxes with mail in the inbox
// and sent items, calendar items and contacts, and the demo account.
// Generated strings are shared from small vocabularies so a 50,000-item
// mailbox stays small in memory.
func (s *Sim) Generate(o GenOptions) (Dataset, error) {
	if o.Mailboxes < 1 {
		return Dataset{}, fmt.Errorf("ewssim: Generate needs at least one mailbox")
	}
	if o.ItemsPerMailbox < 0 {
		return Dataset{}, fmt.Errorf("ewssim: ItemsPerMailbox must not be negative")
	}
	if o.Domain == "" {
		o.Domain = "contoso.com"
	}
	if o.Base.IsZero() {
		o.Base = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	}
	ds := Dataset{Mailboxes: make([]string, o.Mailboxes)}
	names := make([]string, o.Mailboxes)
	for i := range ds.Mailboxes {
		ds.Mailboxes[i] = fmt.Sprintf("user%04d@%s", i+1, o.Domain)
		names[i] = genFirst[i%len(genFirst)] + " " + genLast[(i/len(genFirst))%len(genLast)]
		if err := s.AddMailbox(ds.Mailboxes[i], names[i]); err != nil {
			return Dataset{}, err
		}
	}
	for i, addr := range ds.Mailboxes {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
		s.fillMailbox(addr, names[i], ds.Mailboxes, names, o, rng)
	}
	ds.Account = Account{
		Username:       "svc-mailbridge@" + o.Domain,
		Password:       demoPassword,
		Tenant:         DemoTenant,
		ClientID:       DemoClientID,
		ClientSecret:   demoClientSecret,
		ImpersonateAll: true,
	}
	if err := s.AddAccount(ds.Account); err != nil {
		return Dataset{}, err
	}
	for _, addr := range ds.Mailboxes {
		if err := s.GrantDelegate(ds.Account.Username, addr, ""); err != nil {
			return Dataset{}, err
		}
	}
	return ds, nil
}

func (s *Sim) fillMailbox(addr, name string, all, names []string, o GenOptions, rng *rand.Rand) {
	mb, _ := s.mailbox(addr)
	mb.mu.Lock()
	defer mb.mu.Unlock()
	owner := []Address{{Name: name, Email: addr}}
	inbox := mb.distFolder("inbox")
	sent := mb.distFolder("sentitems")
	cal := mb.distFolder("calendar")
	contacts := mb.distFolder("contacts")
	mb.items = make([]*item, 0, o.ItemsPerMailbox)
	now := s.clock.Now()
	for n := 0; n < o.ItemsPerMailbox; n++ {
		peer := rng.IntN(len(all))
		other := Address{Name: names[peer], Email: all[peer]}
		switch r := rng.IntN(100); {
		case r < 45:
			it := Item{
				Kind: KindMessage, Subject: genSubjects[rng.IntN(len(genSubjects))], Body: genBodies[rng.IntN(len(genBodies))],
				From: other, To: owner, Received: o.Base.Add(-time.Duration(rng.IntN(90*24*60)) * time.Minute), IsRead: rng.IntN(3) > 0,
			}
			genMessageProps(&it, n)
			mb.addItemLocked(inbox, it, now)
		case r < 60:
			it := Item{
				Kind: KindMessage, Subject: genSubjects[rng.IntN(len(genSubjects))], Body: genBodies[rng.IntN(len(genBodies))],
				From: owner[0], To: []Address{other}, Received: o.Base.Add(-time.Duration(rng.IntN(90*24*60)) * time.Minute), IsRead: true,
			}
			genMessageProps(&it, n)
			if n%4 == 0 { // a copy to the CRM's mailbox, as sales staff do
				it.Bcc = []Address{{Name: "CRM", Email: "crm@" + o.Domain}}
			}
			mb.addItemLocked(sent, it, now)
		case r < 85:
			start := o.Base.Add(time.Duration(rng.IntN(120*24)-60*24) * time.Hour).Truncate(30 * time.Minute)
			mb.addItemLocked(cal, Item{
				Kind: KindCalendar, Subject: genMeetings[rng.IntN(len(genMeetings))],
				Start: start, End: start.Add(time.Duration(1+rng.IntN(4)) * 30 * time.Minute),
				TimeZone: genZones[rng.IntN(len(genZones))], Location: genPlaces[rng.IntN(len(genPlaces))],
				Organizer: owner[0], Attendees: []Address{other}, IsRecurring: rng.IntN(8) == 0,
				Body: genAgendas[n%len(genAgendas)],
			}, now)
		default:
			first, last, _ := strings.Cut(other.Name, " ")
			it := Item{
				Kind: KindContact, DisplayName: other.Name, GivenName: first, Surname: last,
				Company: "Contoso", Emails: []string{other.Email},
			}
			genContactProps(&it, n, o.Base)
			mb.addItemLocked(contacts, it, now)
		}
	}
}

// genMessageProps gives a generated message the properties real mail
// has in some share of messages: categories, importance other than
// normal, a reply-to address, attachments (the body that says so). It
// derives them from the item's number n, not the random source, so the
// rest of a dataset stays what the seed made before they existed.
func genMessageProps(it *Item, n int) {
	switch n % 10 {
	case 1:
		it.Importance = "High"
		it.Categories = []string{"Red category"}
	case 4:
		it.Categories = []string{"Clients", "Follow up"}
		it.FlagStatus = "Flagged"
	case 7:
		it.FlagStatus = "Complete"
		it.Importance = "Low"
		it.ReplyTo = []Address{{Name: "Service Desk", Email: "desk@fabrikam.com"}}
		it.Sensitivity = "Confidential"
	case 8:
		it.Sensitivity = "Private"
	}
	// A reply names the message it answers and its thread, as mail
	// clients write In-Reply-To and References.
	if strings.HasPrefix(strings.ToUpper(it.Subject), "RE:") {
		root := fmt.Sprintf("<thread%d@fabrikam.com>", n%50)
		parent := fmt.Sprintf("<msg%d.%d@fabrikam.com>", n%50, n%3)
		it.InReplyTo = parent
		it.References = root + " " + parent
	}
	it.HasAttachments = strings.HasPrefix(it.Body, "Attached")
	if it.HasAttachments {
		it.Attachments = genAttachments(n)
	}
}

var (
	genTitles = []string{"Account Manager", "Engineer", "Buyer", "CFO"}
	genDepts  = []string{"Sales", "Engineering", "Procurement", "Finance"}
	genCities = []string{"Redmond", "Berlin", "Lisbon", "Osaka"}
)

// genContactProps fills a generated contact's work details, an address,
// a birthday, notes and a category for some contacts, derived from the
// item's number n as genMessageProps does.
func genContactProps(it *Item, n int, base time.Time) {
	k := n % len(genTitles)
	if n%3 != 0 {
		it.JobTitle, it.Department, it.Office = genTitles[k], genDepts[k], fmt.Sprintf("Building %d", 1+n%40)
		it.Addresses = []PostalAddress{{Kind: "Business", Street: fmt.Sprintf("%d Main Street", 1+n%900), City: genCities[k], PostalCode: fmt.Sprintf("%05d", 10000+n%89999), Country: "United States"}}
	}
	if n%5 == 0 {
		// A birthday is stored as an instant within its day in UTC.
		it.Birthday = time.Date(1960+n%40, time.Month(1+n%12), 1+n%28, 11, 59, 0, 0, time.UTC)
		it.Addresses = append(it.Addresses, PostalAddress{Kind: "Home", City: genCities[(k+1)%len(genCities)]})
	}
	if n%7 == 0 {
		it.Body = "Met at the " + base.Format("2006") + " partner summit; prefers e-mail."
		it.Categories = []string{"Clients"}
	}
}
