package main

import (
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"path/filepath"

	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsmailbox"
	"github.com/mailbridge/mailbridge/shared/exchange/graphmailbox"
	"github.com/mailbridge/mailbridge/shared/local/filesecrets"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
)

// openSecrets opens the encrypted secrets file in the data directory. The
// key comes from keyFile; without one, the demo and --dev generate a key
// next to the file (fine on a laptop, refused otherwise).
func openSecrets(dataDir, keyFile string, generatedKeyOK bool, warn io.Writer) (domain.SecretStore, error) {
	if keyFile == "" && !generatedKeyOK {
		return nil, errors.New("--no-demo stores real credentials: give the encryption key with --secrets-key FILE or $MAILBRIDGE_SECRETS_KEY_FILE " +
			"(create one with: head -c 32 /dev/urandom > mailbridge.key && chmod 600 mailbridge.key), or add --dev to use a generated key")
	}
	return filesecrets.Open(filesecrets.Options{Path: filepath.Join(dataDir, "secrets.json"), KeyFile: keyFile, Demo: keyFile == "", Warn: warn})
}

// newExchangeAccess builds the connector the workers sync through, the
// access checker that onboarding and verify use and the calendar writer
// that calendar writes use, as the Lambdas do:
// app.Protocols hands each tenant to the EWS or the Graph adapter by its
// protocol, and both check every connection with the same policy.
// httpClient sets the EWS connection pool; graphRoots is the certificate
// pool the Graph adapter trusts besides the system's (the demo's
// simulator; nil otherwise).
func newExchangeAccess(policy *urlguard.Policy, httpClient *http.Client, graphRoots *x509.CertPool) app.Protocols {
	opts := ewsmailbox.Options{URLGuard: policy, HTTPClient: httpClient, UserAgent: "mailbridge-local"}
	graph := graphmailbox.NewConnector(graphmailbox.Options{URLGuard: policy, RootCAs: graphRoots, UserAgent: "mailbridge-local"})
	return app.Protocols{
		EWS: app.ProtocolAdapters{
			Connector: ewsmailbox.NewConnector(opts),
			Checker:   ewsmailbox.NewChecker(ewsmailbox.CheckerOptions{Client: opts}),
			Calendar:  ewsmailbox.NewCalendarConnector(opts),
			// Free/busy for POST /tenants/{id}/availability.
			Availability: ewsmailbox.NewAvailabilityConnector(opts),
			Rooms:        ewsmailbox.NewRoomConnector(opts),
			People:       ewsmailbox.NewPeopleConnector(opts),
			CalendarView: ewsmailbox.NewCalendarViewConnector(opts),
			RoomCalendar: ewsmailbox.NewRoomCalendarConnector(opts),
			Content:      ewsmailbox.NewContentConnector(opts, app.DefaultContentMaxBytes),
		},
		Graph: app.ProtocolAdapters{Connector: graph, Checker: graph, Calendar: graph, Availability: graph, Rooms: graph, People: graph, RoomCalendar: graph, Content: graph, CalendarView: graph},
	}
}

// newArchiveContent reads messages' MIME for the archive export, bounded
// by the archive's limit rather than the API's; Graph tenants go through
// graph, the Graph adapter the rest of the run uses (one token cache).
func newArchiveContent(policy *urlguard.Policy, httpClient *http.Client, graph domain.ContentConnector, maxBytes int64) app.Protocols {
	opts := ewsmailbox.Options{URLGuard: policy, HTTPClient: httpClient, UserAgent: "mailbridge-local"}
	return app.Protocols{
		EWS:   app.ProtocolAdapters{Content: ewsmailbox.NewContentConnector(opts, maxBytes)},
		Graph: app.ProtocolAdapters{Content: graph},
	}
}
