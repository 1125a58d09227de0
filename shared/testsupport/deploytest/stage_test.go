package deploytest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mailbridge/mailbridge/shared/aws/smsecrets"
	"github.com/mailbridge/mailbridge/shared/platform/storeplan"
)

// goStagePattern reads the stage rule of the functions
// (functions/internal/lambdaenv: var stagePattern = regexp.MustCompile(`…`)).
func goStagePattern(t *testing.T) string {
	t.Helper()
	file := filepath.Join(repoRoot(t), "functions", "internal", "lambdaenv", "lambdaenv.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := ""
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "stagePattern" || len(vs.Values) != 1 {
			return true
		}
		if call, ok := vs.Values[0].(*ast.CallExpr); ok && len(call.Args) == 1 {
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				found, _ = strconv.Unquote(lit.Value)
			}
		}
		return false
	})
	if found == "" {
		t.Fatalf("%s: no var stagePattern = regexp.MustCompile(literal)", file)
	}
	return found
}

// One rule for stage names: the template's AllowedPattern is the
// functions' pattern, character for character, and every stage it admits
// makes valid secret names (smsecrets refuses the others at start-up).
func TestStageRuleIsSharedByTemplateAndCode(t *testing.T) {
	tpl := Transformed(t)
	tplPattern, _ := tpl.Parameters["Stage"]["AllowedPattern"].(string)
	goPattern := goStagePattern(t)
	if tplPattern != goPattern {
		t.Fatalf("template.yaml's Stage AllowedPattern %q differs from lambdaenv's stagePattern %q", tplPattern, goPattern)
	}
	re := regexp.MustCompile(tplPattern)
	if def, _ := tpl.Parameters["Stage"]["Default"].(string); !re.MatchString(def) {
		t.Errorf("the Stage default %q does not match its own pattern", def)
	}
	// Every string of up to two characters from an alphabet wider than the
	// rule's, and the edges of its length.
	alphabet := "az09-_.A/"
	var stages []string
	for _, a := range alphabet {
		stages = append(stages, string(a))
		for _, b := range alphabet {
			stages = append(stages, string(a)+string(b))
		}
	}
	stages = append(stages, strings.Repeat("a", 20), strings.Repeat("a", 21), "a"+strings.Repeat("-", 19), "-"+strings.Repeat("a", 19), "prod-eu-1")
	admitted := 0
	for _, s := range stages {
		if !re.MatchString(s) {
			continue
		}
		admitted++
		if err := storeplan.CheckTenantID(s); err != nil {
			t.Errorf("stage %q: the template admits it, the secret name rule refuses it: %v", s, err)
		}
		if _, err := smsecrets.New(nil, smsecrets.Options{Stage: s}); err != nil {
			t.Errorf("stage %q: the template admits it, the secret store refuses it: %v", s, err)
		}
	}
	if admitted == 0 {
		t.Fatal("the pattern admits none of the test stages")
	}
	for _, bad := range []string{"-dev", "Dev", "", strings.Repeat("a", 21), "dev_1"} {
		if re.MatchString(bad) {
			t.Errorf("stage %q is admitted", bad)
		}
	}
}
