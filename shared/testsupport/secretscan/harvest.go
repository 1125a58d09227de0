package secretscan

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// MinSecretLen is the shortest literal Harvest takes for a secret: shorter
// ones ("pw", "x") are placeholders that occur in any text by chance.
const MinSecretLen = 6

// Harvest returns the credentials written as literals in the Go test files
// of dir: every composite literal with a Password, ClientSecret or KeyPEM
// field (a domain.Credential, or a type that mirrors one) set to a string
// literal or a string constant, every string constant or variable whose
// name says it is a secret (testPassword, demoGraphSecret), and every JSON
// "password", "clientSecret" or "keyPem" member in a string literal (a
// request body). The account names beside them are kept, so base64 of
// user:password is looked for too. Credentials built at run time from
// parameters are not seen here: tests Register those.
func Harvest(dir string) ([]domain.Credential, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	var tests []*ast.File
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, af)
		if strings.HasSuffix(f, "_test.go") {
			tests = append(tests, af)
		}
	}
	// Package-level string constants and variables, of every file: a
	// test's literal often names one.
	consts := map[string]string{}
	var out []domain.Credential
	for _, af := range parsed {
		for _, d := range af.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range g.Specs {
				vs, ok := sp.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						break
					}
					if s, ok := stringLit(vs.Values[i]); ok {
						consts[name.Name] = s
						if secretName.MatchString(name.Name) {
							if c, ok := keepSecrets(domain.Credential{Password: s}); ok {
								out = append(out, c)
							}
						}
					}
				}
			}
		}
	}
	for _, af := range tests {
		ast.Inspect(af, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if c, ok := credentialLiteral(n, consts); ok {
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

// secretName is the name of a constant or variable holding a secret.
var secretName = regexp.MustCompile(`(?i)(passw|secret|pwd|apikey|privkey|privatekey)`)

// stringLit is the value of a string literal.
func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

// credentialLiteral reads the string fields of a keyed composite literal,
// set to literals or to the package's string constants.
func credentialLiteral(cl *ast.CompositeLit, consts map[string]string) (domain.Credential, bool) {
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
		v, ok := stringLit(kv.Value)
		if id, isIdent := kv.Value.(*ast.Ident); isIdent {
			v, ok = consts[id.Name]
		}
		if !ok {
			continue
		}
		if dst, ok := fields[k.Name]; ok {
			*dst = v
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
