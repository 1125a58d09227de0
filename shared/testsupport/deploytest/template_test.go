package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the repository's top directory (this package is
// shared/testsupport/deploytest).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// templatePath is the template under test; MAILBRIDGE_TEMPLATE overrides it
// (to show a test failing on a changed copy without editing the real one).
func templatePath(t testing.TB) string {
	if p := os.Getenv("MAILBRIDGE_TEMPLATE"); p != "" {
		return p
	}
	return filepath.Join(repoRoot(t), "template.yaml")
}

// Template is a CloudFormation template decoded from JSON.
type Template struct {
	Parameters map[string]map[string]any
	Conditions map[string]any
	Resources  map[string]Resource
	Outputs    map[string]any
}

// Resource is one resource of a Template.
type Resource struct {
	Type         string
	Condition    string
	Properties   map[string]any
	UpdatePolicy map[string]any
	DependsOn    any
	// DeletionPolicy is Retain, Delete or Snapshot; empty: Delete.
	DeletionPolicy string
}

var (
	transformOnce sync.Once
	transformed   *Template
	transformErr  error
)

// Transformed is template.yaml after the SAM transform, computed once per
// test binary.
func Transformed(t testing.TB) *Template {
	t.Helper()
	transformOnce.Do(func() {
		python := os.Getenv("MAILBRIDGE_PYTHON")
		if python == "" {
			python = "python3"
		}
		cmd := exec.Command(python, filepath.Join(repoRoot(t), "infra", "deploytest", "sam_transform.py"), templatePath(t))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			transformErr = fmt.Errorf("SAM transform (needs python3 with cfn-lint, which ships the SAM translator: pip install cfn-lint): %v\n%s", err, stderr.String())
			return
		}
		var tpl Template
		if err := json.Unmarshal(stdout.Bytes(), &tpl); err != nil {
			transformErr = fmt.Errorf("SAM transform output: %v", err)
			return
		}
		transformed = &tpl
	})
	if transformErr != nil {
		t.Fatal(transformErr)
	}
	return transformed
}

// OfType returns the logical ids of the resources of type typ, sorted.
func (tpl *Template) OfType(typ string) []string {
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Refs lists the logical ids and parameters an expression refers to
// (Ref, Fn::GetAtt, and ${Name} or ${Name.Attr} in Fn::Sub strings, except
// the variables Fn::Sub defines itself and pseudo parameters).
func Refs(v any) []string {
	seen := map[string]bool{}
	var walk func(v any, local map[string]bool)
	walk = func(v any, local map[string]bool) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["Ref"].(string); ok && len(x) == 1 {
				if !strings.HasPrefix(r, "AWS::") && !local[r] {
					seen[r] = true
				}
				return
			}
			if g, ok := x["Fn::GetAtt"].([]any); ok && len(x) == 1 && len(g) > 0 {
				seen[fmt.Sprint(g[0])] = true
				return
			}
			if s, ok := x["Fn::Sub"]; ok && len(x) == 1 {
				str, vars := s, map[string]any(nil)
				if l, ok := s.([]any); ok && len(l) == 2 {
					str = l[0]
					vars, _ = l[1].(map[string]any)
				}
				inner := map[string]bool{}
				for k := range local {
					inner[k] = true
				}
				for k, e := range vars {
					inner[k] = true
					walk(e, local)
				}
				for _, m := range subVar.FindAllStringSubmatch(fmt.Sprint(str), -1) {
					name := strings.SplitN(m[1], ".", 2)[0]
					if !strings.HasPrefix(name, "AWS::") && !inner[name] {
						seen[name] = true
					}
				}
				return
			}
			for _, e := range x {
				walk(e, local)
			}
		case []any:
			for _, e := range x {
				walk(e, local)
			}
		}
	}
	walk(v, nil)
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// jsonOf is v as compact JSON, to compare expressions.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// path reads a nested value: path(m, "A", "B") is m["A"]["B"], nil when absent.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// Functions maps each AWS::Lambda::Function's logical id to its code
// directory under functions/ (the Makefile's build-%Function rule: the
// logical id without "Function", lower-cased).
func Functions(t testing.TB, tpl *Template) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range tpl.OfType("AWS::Lambda::Function") {
		dir := strings.ToLower(strings.TrimSuffix(id, "Function"))
		if _, err := os.Stat(filepath.Join(repoRoot(t), "functions", dir, "main.go")); err != nil {
			t.Fatalf("function %s: no functions/%s/main.go to build it from", id, dir)
		}
		out[id] = dir
	}
	if len(out) == 0 {
		t.Fatal("no AWS::Lambda::Function in the transformed template")
	}
	return out
}

func TestTransformedTemplateHasEveryFunction(t *testing.T) {
	tpl := Transformed(t)
	fns := Functions(t, tpl)
	entries, _ := os.ReadDir(filepath.Join(repoRoot(t), "functions"))
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "internal" {
			continue
		}
		found := false
		for _, dir := range fns {
			found = found || dir == e.Name()
		}
		if !found {
			t.Errorf("functions/%s has no function in template.yaml", e.Name())
		}
	}
}
