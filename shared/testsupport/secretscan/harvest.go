package secretscan

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// MinSecretLen is the shortest literal Harvest takes for a secret: shorter
// ones ("pw", "x") are placeholders that occur in any text by chance.
const MinSecretLen = 6

// Harvest returns the credentials written as literals in the Go test files
// of dir: every composite literal with a Password, ClientSecret or KeyPEM
// field (a domain.Credential, or a type that mirrors one), and every JSON
// "password", "clientSecret" or "keyPem" member in a string literal (a
// request body). The account names beside them are kept, so base64 of
// user:password is looked for too. Credentials built at run time from
// parameters are not seen here: tests Register those.
func Harvest(dir string) ([]domain.Credential, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	var out []domain.Credential
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		ast.Inspect(af, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if c, ok := credentialLiteral(n); ok {
					out = append(out, c)
				}
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if s, err := strconv.Unquote(n.Value); err == nil {
						out = append(out, jsonCredentials(s)...)
					}
				}
			}
			return true
		})
	}
	return out, nil
}

// credentialLiteral reads the string fields of a keyed composite literal.
func credentialLiteral(cl *ast.CompositeLit) (domain.Credential, bool) {
	var c domain.Credential
	fields := map[string]*string{
		"Username": &c.Username, "Domain": &c.Domain, "ClientID": &c.ClientID,
		"Password": &c.Password, "ClientSecret": &c.ClientSecret, "KeyPEM": &c.KeyPEM,
	}
	for _, e := range cl.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		k, ok := kv.Key.(*ast.Ident)
		if !ok {
			continue
		}
		v, ok := kv.Value.(*ast.BasicLit)
		if !ok || v.Kind != token.STRING {
			continue
		}
		if dst, ok := fields[k.Name]; ok {
			*dst, _ = strconv.Unquote(v.Value)
		}
	}
	return keepSecrets(c)
}

var (
	jsonSecret = regexp.MustCompile(`"(password|clientSecret|keyPem)"\s*:\s*("(?:[^"\\]|\\.)*")`)
	jsonUser   = regexp.MustCompile(`"(username|clientId)"\s*:\s*("(?:[^"\\]|\\.)*")`)
)

// jsonCredentials finds credential members in a JSON text (a request body
// written in a test).
func jsonCredentials(s string) []domain.Credential {
	var users []string
	for _, m := range jsonUser.FindAllStringSubmatch(s, -1) {
		var u string
		if json.Unmarshal([]byte(m[2]), &u) == nil {
			users = append(users, u)
		}
	}
	var out []domain.Credential
	for _, m := range jsonSecret.FindAllStringSubmatch(s, -1) {
		var v string
		if json.Unmarshal([]byte(m[2]), &v) != nil {
			continue
		}
		c := domain.Credential{Password: v}
		if len(users) > 0 {
			c.Username = users[0]
		}
		if c, ok := keepSecrets(c); ok {
			out = append(out, c)
		}
	}
	return out
}

// keepSecrets drops secret values too short to be told from chance text.
func keepSecrets(c domain.Credential) (domain.Credential, bool) {
	for _, s := range []*string{&c.Password, &c.ClientSecret, &c.KeyPEM} {
		if len(*s) < MinSecretLen {
			*s = ""
		}
	}
	return c, len(c.SecretValues()) > 0
}
