package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The AWS operations a function's code can reach, found from the code:
// the module's packages are type-checked from source (everything else
// from the compiler's export data), and a call graph is walked from the
// function's main. Static calls and method calls on concrete types are
// followed; a call through an interface is followed to the method of that
// name of every type declared in the module's packages the function links
// (class hierarchy analysis, by name: it over-approximates, never misses a
// module implementation); a function or method used as a value is taken as
// called. An AWS operation is a call of a method whose parameter is the
// SDK's <Operation>Input of a service package
// (github.com/aws/aws-sdk-go-v2/service/<service>), on the SDK client or on
// an adapter's interface of it; an SDK paginator counts as its operation.
//
// Package-level variable initialisers and init functions of every module
// package the function links are taken as run (a route table of method
// expressions lives in one). Not followed: calls the SDK makes by itself (a waiter: reaching one fails the test, so
// its operations get added by hand).

const modulePath = "github.com/mailbridge/mailbridge"

// Op is one AWS operation called at one place.
type Op struct {
	Service string // the SDK package name: dynamodb, sqs, secretsmanager, sfn
	Name    string // the operation: GetItem, SendMessageBatch
	Pkg     string // the package whose code calls it
	Func    string // the function or method whose body calls it
}

func (o Op) String() string { return o.Service + ":" + o.Name }

type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	Imports    []string
	Standard   bool
}

type funcBody struct {
	decl *ast.FuncDecl
	body ast.Node // decl.Body, or a package's variable initialisers
	info *types.Info
	pkg  string
	src  []byte // the file, to read the declaration's text
	fset *token.FileSet
}

// program is the module's code as the functions link it.
type program struct {
	pkgs    map[string]*goPackage
	funcs   map[string]*funcBody           // by types.Func.FullName
	methods map[string]map[string][]string // package -> method name -> FullNames of the module's concrete methods
}

var (
	programOnce sync.Once
	theProgram  *program
	programErr  error
)

// loadProgram type-checks the module packages the functions link.
func loadProgram(t *testing.T, mains []string) *program {
	t.Helper()
	programOnce.Do(func() { theProgram, programErr = buildProgram(repoRoot(t), mains) })
	if programErr != nil {
		t.Fatal(programErr)
	}
	return theProgram
}

func buildProgram(root string, mains []string) (*program, error) {
	args := append([]string{"list", "-deps", "-export", "-json"}, mains...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, errb.String())
	}
	p := &program{pkgs: map[string]*goPackage{}, funcs: map[string]*funcBody{}, methods: map[string]map[string][]string{}}
	dec := json.NewDecoder(&out)
	for {
		var gp goPackage
		if err := dec.Decode(&gp); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		p.pkgs[gp.ImportPath] = &gp
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		gp, ok := p.pkgs[path]
		if !ok || gp.Export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(gp.Export)
	})
	for path, gp := range p.pkgs {
		if path != modulePath && !strings.HasPrefix(path, modulePath+"/") {
			continue
		}
		var files []*ast.File
		srcs := map[*ast.File][]byte{}
		for _, name := range gp.GoFiles {
			src, err := os.ReadFile(filepath.Join(gp.Dir, name))
			if err != nil {
				return nil, err
			}
			f, err := parser.ParseFile(fset, filepath.Join(gp.Dir, name), src, 0)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
			srcs[f] = src
		}
		info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Defs: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp}
		tp, err := conf.Check(path, fset, files, info)
		if err != nil {
			return nil, fmt.Errorf("type-checking %s: %v", path, err)
		}
		for _, f := range files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				if fn, ok := info.Defs[fd.Name].(*types.Func); ok {
					p.funcs[fn.FullName()] = &funcBody{decl: fd, body: fd.Body, info: info, pkg: path, src: srcs[f], fset: fset}
				}
			}
		}
		// The package's variable initialisers, as one pseudo-function.
		for _, f := range files {
			for _, d := range f.Decls {
				if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.VAR {
					p.funcs[path+".<var "+fset.Position(gd.Pos()).String()+">"] = &funcBody{body: gd, info: info, pkg: path, src: srcs[f], fset: fset}
				}
			}
		}
		byName := map[string][]string{}
		for _, name := range tp.Scope().Names() {
			tn, ok := tp.Scope().Lookup(name).(*types.TypeName)
			if !ok || types.IsInterface(tn.Type()) {
				continue
			}
			ms := types.NewMethodSet(types.NewPointer(tn.Type()))
			for i := 0; i < ms.Len(); i++ {
				m := ms.At(i).Obj().(*types.Func)
				byName[m.Name()] = append(byName[m.Name()], m.Origin().FullName())
			}
		}
		p.methods[path] = byName
	}
	return p, nil
}

// deps is the import closure of pkg.
func (p *program) deps(pkg string) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		if gp := p.pkgs[path]; gp != nil {
			for _, i := range gp.Imports {
				visit(i)
			}
		}
	}
	visit(pkg)
	return seen
}

var sdkService = regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/([a-z0-9]+)$`)

// sdkOp is the AWS operation fn calls, if it is one: a method taking the
// service's <Name>Input.
func sdkOp(fn *types.Func) (service, name string, ok bool) {
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil {
		return "", "", false
	}
	for i := 0; i < sig.Params().Len(); i++ {
		ptr, isPtr := sig.Params().At(i).Type().(*types.Pointer)
		if !isPtr {
			continue
		}
		named, isNamed := ptr.Elem().(*types.Named)
		if !isNamed || named.Obj().Pkg() == nil {
			continue
		}
		m := sdkService.FindStringSubmatch(named.Obj().Pkg().Path())
		if m != nil && named.Obj().Name() == fn.Name()+"Input" {
			return m[1], fn.Name(), true
		}
	}
	return "", "", false
}

var sdkHelper = regexp.MustCompile(`^New(\w+?)(Paginator|Waiter)$`)

// Reach returns the AWS operations reachable from the main of package
// mainPkg, and the module functions reached.
func (p *program) Reach(mainPkg string) ([]Op, map[string]bool, error) {
	linked := p.deps(mainPkg)
	reached := map[string]bool{}
	ops := map[Op]bool{}
	var problems []string
	work := []string{mainPkg + ".main"}
	for key, fb := range p.funcs {
		if linked[fb.pkg] && (fb.decl == nil || (fb.decl.Recv == nil && fb.decl.Name.Name == "init")) {
			reached[key] = true
			work = append(work, key)
		}
	}
	add := func(key string) {
		if !reached[key] {
			reached[key] = true
			work = append(work, key)
		}
	}
	for len(work) > 0 {
		key := work[len(work)-1]
		work = work[:len(work)-1]
		fb := p.funcs[key]
		if fb == nil {
			continue // outside the module, or an interface's method
		}
		record := func(fn *types.Func) {
			if svc, name, ok := sdkOp(fn); ok {
				ops[Op{Service: svc, Name: name, Pkg: fb.pkg, Func: key}] = true
			}
		}
		ast.Inspect(fb.body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				sel := fb.info.Selections[x]
				if sel == nil {
					return true // a qualified identifier: its Ident is seen below
				}
				fn, ok := sel.Obj().(*types.Func)
				if !ok {
					return true
				}
				record(fn)
				if types.IsInterface(sel.Recv()) {
					for pkg := range linked {
						for _, m := range p.methods[pkg][fn.Name()] {
							add(m)
						}
					}
				} else {
					add(fn.Origin().FullName())
				}
			case *ast.Ident:
				fn, ok := fb.info.Uses[x].(*types.Func)
				if !ok {
					return true
				}
				if fn.Pkg() != nil && sdkService.MatchString(fn.Pkg().Path()) {
					if m := sdkHelper.FindStringSubmatch(fn.Name()); m != nil {
						if m[2] == "Waiter" {
							problems = append(problems, fmt.Sprintf("%s uses the SDK waiter %s, whose operations this test does not know", key, fn.Name()))
						} else {
							ops[Op{Service: sdkService.FindStringSubmatch(fn.Pkg().Path())[1], Name: m[1], Pkg: fb.pkg, Func: key}] = true
						}
					}
				}
				if sig, _ := fn.Type().(*types.Signature); sig != nil && sig.Recv() == nil {
					add(fn.Origin().FullName())
				}
			}
			return true
		})
	}
	var list []Op
	for o := range ops {
		list = append(list, o)
	}
	sort.Slice(list, func(i, j int) bool { return fmt.Sprint(list[i]) < fmt.Sprint(list[j]) })
	if len(problems) > 0 {
		return list, reached, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return list, reached, nil
}

// declText is the source of the function or method key.
func (p *program) declText(key string) string {
	fb := p.funcs[key]
	if fb == nil || fb.decl == nil {
		return ""
	}
	start := fb.fset.Position(fb.decl.Pos()).Offset
	end := fb.fset.Position(fb.decl.End()).Offset
	return string(fb.src[start:end])
}
