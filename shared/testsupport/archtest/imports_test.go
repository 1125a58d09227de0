package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/mailbridge/mailbridge"

// rule: what a package matching from may import of the project's packages.
// The first rule whose from matches a package applies. Patterns are
// path.Match patterns over the path inside the module ("*" is one path
// element); a trailing "/..." matches a folder and everything under it.
// Only production imports are checked: tests wire whatever they exercise.
type rule struct {
	from  string
	allow []string
	why   string
}

// coreAnd: the domain and what else a rule allows.
func coreAnd(more ...string) []string { return append([]string{"shared/domain"}, more...) }

var (
	platform = "shared/platform/*"
	// Wiring may use every production package; never test support, and no
	// command imports another one (functions/internal is their shared setup).
	wiring = []string{"shared/domain", "shared/app", "shared/api", platform,
		"shared/exchange/*", "shared/aws/*", "shared/local/*", "functions/internal/..."}
)

var rules = []rule{
	{"shared/domain", nil, "the core's types and ports depend on nothing, so every layer can use them"},
	{"shared/app", []string{"shared/domain", "shared/platform/readcache", "shared/platform/redact"}, "use cases see only the domain's ports (and a plain cache and the one credential scrubber), so they run the same on AWS, locally and in tests"},
	{"shared/platform/*", coreAnd(platform), "shared infrastructure sits under every adapter, so it cannot depend on any of them"},
	{"shared/api", coreAnd("shared/app", platform), "the HTTP API drives the use cases; stores and protocols reach it only through the domain's ports"},
	{"shared/exchange/ews", coreAnd(platform), "the EWS client speaks the protocol and knows no adapter"},
	{"shared/exchange/graph", coreAnd(platform), "the Graph client speaks the protocol and knows no adapter"},
	{"shared/exchange/ewssim", coreAnd(platform), "the EWS simulator is Exchange's stand-in; clients reach it over HTTP only"},
	{"shared/exchange/graphsim", coreAnd(platform, "shared/exchange/ewssim"), "the Graph front-end serves the EWS simulator's mailbox store, so both show one mailbox"},
	{"shared/exchange/ews?*", coreAnd(platform, "shared/exchange/ews"), "an EWS adapter sits on the EWS client, not on another adapter"},
	{"shared/exchange/graph?*", coreAnd(platform, "shared/exchange/graph"), "a Graph adapter sits on the Graph client, not on another adapter"},
	{"shared/exchange/*", coreAnd(platform), "any other Exchange package: core and platform only"},
	{"shared/aws/*", coreAnd(platform), "an AWS adapter implements a domain port over one service; it never reaches another adapter group"},
	{"shared/local/localretry", coreAnd("shared/app", platform), "it drives the calendar retry use case in the one-process run (Step Functions does on AWS), so it uses app's result type"},
	{"shared/local/*", coreAnd(platform), "a local adapter is the embedded twin of an AWS one; it never reaches another adapter group"},
	{"shared/testsupport/*", []string{"shared/..."}, "test support builds fixtures from any shared package, never from wiring"},
	{"functions/internal/*", wiring, "the Lambdas' shared configuration and adapter setup is wiring"},
	{"functions/*", wiring, "a Lambda's main wires adapters to use cases"},
	{"scripts/*", wiring, "the local run and the operator's tools wire adapters to use cases"},
}

// exception: one import that breaks a rule today, with the reason it is
// tolerated. An exception that no longer matches an import fails the test,
// so each one is deleted when its reason goes away.
type exception struct {
	from, to, why string
}

// exceptions to the rules, each with its reason; none today (a stale one
// fails the test).
var exceptions = []exception{}

// pkg is one package of the module, its path relative to the module.
type pkg struct {
	path    string
	name    string
	imports []string // the project's packages it imports (production files only)
}

func match(pattern, p string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == prefix || strings.HasPrefix(p, prefix+"/")
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

// checkImports returns one line per import that breaks its package's rule
// (and per package no rule covers), and per exception that matched nothing.
func checkImports(pkgs []pkg, rules []rule, exceptions []exception) []string {
	var bad []string
	used := make([]bool, len(exceptions))
	for _, p := range pkgs {
		i := slices.IndexFunc(rules, func(r rule) bool { return match(r.from, p.path) })
		if i < 0 {
			bad = append(bad, fmt.Sprintf("%s: no import rule covers this package; add one to the table in imports_test.go", p.path))
			continue
		}
		r := rules[i]
		for _, imp := range p.imports {
			if slices.ContainsFunc(r.allow, func(a string) bool { return match(a, imp) }) {
				continue
			}
			if e := slices.IndexFunc(exceptions, func(e exception) bool { return e.from == p.path && e.to == imp }); e >= 0 {
				used[e] = true
				continue
			}
			allowed := "nothing of the project"
			if len(r.allow) > 0 {
				allowed = strings.Join(r.allow, ", ")
			}
			bad = append(bad, fmt.Sprintf("%s imports %s: breaks rule %q (%s); it may import: %s", p.path, imp, r.from, r.why, allowed))
		}
	}
	for i, e := range exceptions {
		if !used[i] {
			bad = append(bad, fmt.Sprintf("exception %s -> %s (%s) no longer matches an import: delete it", e.from, e.to, e.why))
		}
	}
	return bad
}

// checkNames: a package is named after its folder, so nothing needs an
// import alias, and no two library packages share a name. Commands (package
// main) live only under functions/ and scripts/.
func checkNames(pkgs []pkg) []string {
	var bad []string
	byName := map[string]string{}
	for _, p := range pkgs {
		if p.name == "main" {
			if !match("functions/...", p.path) && !match("scripts/...", p.path) {
				bad = append(bad, fmt.Sprintf("%s: package main outside functions/ and scripts/", p.path))
			}
			continue
		}
		if base := path.Base(p.path); p.name != base {
			bad = append(bad, fmt.Sprintf("%s: package %s is not named after its folder %s", p.path, p.name, base))
		}
		if other, ok := byName[p.name]; ok {
			bad = append(bad, fmt.Sprintf("%s and %s are both package %s: one needs a name of its own", other, p.path, p.name))
		}
		byName[p.name] = p.path
	}
	return bad
}

// checkAliases reports each import of a project package under another name
// (a blank import is fine). file names the source in the messages.
func checkAliases(file string, src []byte) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		if s.Name != nil && s.Name.Name != "_" && (p == module || strings.HasPrefix(p, module+"/")) {
			bad = append(bad, fmt.Sprintf("%s imports %s as %s: import it under its own name", file, p, s.Name.Name))
		}
	}
	return bad, nil
}

// --- the module as it is -----------------------------------------------------

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func loadPackages(t *testing.T, root string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Imports,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath, Name string
			Imports          []string
			Error            *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		q := pkg{path: rel, name: p.Name}
		for _, imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				q.imports = append(q.imports, r)
			}
		}
		pkgs = append(pkgs, q)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages; is the module root %s?", len(pkgs), root)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	for _, line := range checkImports(loadPackages(t, moduleRoot(t)), rules, exceptions) {
		t.Error(line)
	}
}

func TestPackageNames(t *testing.T) {
	for _, line := range checkNames(loadPackages(t, moduleRoot(t))) {
		t.Error(line)
	}
}

func TestNoImportAliases(t *testing.T) {
	root := moduleRoot(t)
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// Hidden folders (caches, the run's data), testdata and build output hold no module code.
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		bad, err := checkAliases(filepath.ToSlash(rel), src)
		if err != nil {
			return err
		}
		files++
		for _, line := range bad {
			t.Error(line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d Go files under %s", files, root)
	}
}

// --- the checker on a made-up module -----------------------------------------

func TestCheckImportsCatchesBrokenRules(t *testing.T) {
	graph := []pkg{
		{path: "shared/domain"},
		{path: "shared/app", imports: []string{"shared/domain", "shared/platform/readcache"}},
		{path: "shared/api", imports: []string{"shared/app", "shared/domain", "shared/platform/urlguard"}},
		{path: "shared/platform/secretcache", imports: []string{"shared/domain", "shared/platform/readcache"}},
		{path: "shared/exchange/ews"},
		{path: "shared/exchange/graph", imports: []string{"shared/domain"}},
		{path: "shared/exchange/ewssim", imports: []string{"shared/domain"}},
		{path: "shared/exchange/graphsim", imports: []string{"shared/domain", "shared/exchange/ewssim"}},
		{path: "shared/exchange/ewsmailbox", imports: []string{"shared/domain", "shared/exchange/ews", "shared/platform/urlguard"}},
		{path: "shared/exchange/graphmailbox", imports: []string{"shared/domain", "shared/exchange/graph"}},
		{path: "shared/aws/dynamostore", imports: []string{"shared/domain", "shared/platform/storeplan"}},
		{path: "shared/local/boltstore", imports: []string{"shared/domain", "shared/platform/storeplan"}},
		{path: "shared/local/localretry", imports: []string{"shared/app", "shared/domain"}},
		{path: "shared/testsupport/standin", imports: []string{"shared/exchange/ewssim", "shared/testsupport/golden"}},
		{path: "functions/internal/lambdaenv", imports: []string{"shared/aws/dynamostore", "shared/platform/urlguard"}},
		{path: "functions/api", imports: []string{"functions/internal/lambdaenv", "shared/api", "shared/exchange/ewsmailbox"}},
		{path: "scripts/local", imports: []string{"shared/api", "shared/local/boltstore", "shared/exchange/ewssim"}},
	}
	if bad := checkImports(graph, rules, nil); len(bad) != 0 {
		t.Fatalf("a module that keeps the rules broke them:\n%s", strings.Join(bad, "\n"))
	}

	for _, c := range []struct {
		from, to, rule string
	}{
		{"shared/domain", "shared/app", `rule "shared/domain"`},
		{"shared/app", "shared/aws/dynamostore", `rule "shared/app"`},
		{"shared/app", "shared/platform/urlguard", `rule "shared/app"`},
		{"shared/platform/secretcache", "shared/local/boltstore", `rule "shared/platform/*"`},
		{"shared/api", "shared/exchange/ewsmailbox", `rule "shared/api"`},
		{"shared/exchange/ews", "shared/exchange/ewssim", `rule "shared/exchange/ews"`},
		{"shared/exchange/ewssim", "shared/exchange/graphsim", `rule "shared/exchange/ewssim"`},
		{"shared/exchange/ewsmailbox", "shared/exchange/graph", `rule "shared/exchange/ews?*"`},
		{"shared/exchange/ewsmailbox", "shared/exchange/ewssim", `rule "shared/exchange/ews?*"`},
		{"shared/exchange/graphmailbox", "shared/exchange/ews", `rule "shared/exchange/graph?*"`},
		{"shared/exchange/graphmailbox", "shared/app", `rule "shared/exchange/graph?*"`},
		{"shared/aws/dynamostore", "shared/local/boltstore", `rule "shared/aws/*"`},
		{"shared/local/boltstore", "shared/aws/dynamostore", `rule "shared/local/*"`},
		{"shared/local/boltstore", "shared/app", `rule "shared/local/*"`},
		{"shared/aws/dynamostore", "shared/exchange/ews", `rule "shared/aws/*"`},
		{"shared/api", "shared/testsupport/golden", `rule "shared/api"`},
		{"functions/api", "shared/testsupport/standin", `rule "functions/*"`},
		{"functions/api", "functions/syncworker", `rule "functions/*"`},
		{"scripts/local", "scripts/ewsctl", `rule "scripts/*"`},
		{"shared/testsupport/standin", "functions/internal/lambdaenv", `rule "shared/testsupport/*"`},
	} {
		broken := slices.Clone(graph)
		i := slices.IndexFunc(broken, func(p pkg) bool { return p.path == c.from })
		broken[i].imports = append(slices.Clone(broken[i].imports), c.to)
		bad := checkImports(broken, rules, nil)
		want := c.from + " imports " + c.to + ": breaks " + c.rule
		if len(bad) != 1 || !strings.HasPrefix(bad[0], want) {
			t.Errorf("%s -> %s: got %q, want one line starting %q", c.from, c.to, bad, want)
		}
	}

	// A package no rule covers is reported, so a new folder gets a rule.
	if bad := checkImports(append(slices.Clone(graph), pkg{path: "shared/newlayer"}), rules, nil); len(bad) != 1 || !strings.Contains(bad[0], "no import rule covers") {
		t.Errorf("uncovered package: got %q", bad)
	}

	// An exception lets its one import through, and is reported once stale.
	broken := append(slices.Clone(graph), pkg{path: "shared/exchange/ewsprobe", imports: []string{"shared/exchange/ewsaccess"}})
	exc := []exception{{"shared/exchange/ewsprobe", "shared/exchange/ewsaccess", "until x"}}
	if bad := checkImports(broken, rules, exc); len(bad) != 0 {
		t.Errorf("excepted import: got %q", bad)
	}
	if bad := checkImports(graph, rules, exc); len(bad) != 1 || !strings.Contains(bad[0], "no longer matches an import: delete it") {
		t.Errorf("stale exception: got %q", bad)
	}
}

func TestCheckNamesCatchesBadNames(t *testing.T) {
	good := []pkg{{path: "shared/domain", name: "domain"}, {path: "functions/api", name: "main"}, {path: "scripts/local", name: "main"}}
	if bad := checkNames(good); len(bad) != 0 {
		t.Fatalf("good names reported: %q", bad)
	}
	for _, c := range []struct {
		pkgs []pkg
		want string
	}{
		{[]pkg{{path: "shared/testsupport/standin", name: "teststandin"}}, "not named after its folder"},
		{[]pkg{{path: "shared/aws/queue", name: "queue"}, {path: "shared/local/queue", name: "queue"}}, "are both package queue"},
		{[]pkg{{path: "shared/app", name: "main"}}, "package main outside"},
	} {
		if bad := checkNames(c.pkgs); len(bad) != 1 || !strings.Contains(bad[0], c.want) {
			t.Errorf("%v: got %q, want one line containing %q", c.pkgs, bad, c.want)
		}
	}
}

func TestCheckAliasesCatchesAliases(t *testing.T) {
	src := `package x

import (
	"fmt"
	sdk "github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/app"
	emfw "github.com/mailbridge/mailbridge/shared/aws/emf"
)
`
	bad, err := checkAliases("x.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || !strings.Contains(bad[0], "shared/aws/emf as emfw") {
		t.Errorf("got %q, want the emfw alias only", bad)
	}
}
