package main

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"

	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsaccess"
	"github.com/mailbridge/mailbridge/shared/exchange/ewsprobe"
	"github.com/mailbridge/mailbridge/shared/local/filesecrets"
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

// newExchangeAccess builds the EWS connector the workers sync through and
// the access checker that onboarding and verify use, both on httpClient
// (whose dialer enforces the URL policy).
func newExchangeAccess(httpClient *http.Client) (domain.Connector, domain.AccessChecker) {
	opts := ewsaccess.Options{HTTPClient: httpClient, UserAgent: "mailbridge-local"}
	return ewsaccess.NewConnector(opts), ewsprobe.New(ewsprobe.Options{Client: opts})
}
