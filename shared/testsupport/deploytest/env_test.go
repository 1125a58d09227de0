package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// configRead is a read of an environment variable through the strict
// loader (shared/platform/config) as the wiring and lambdaenv write it:
// r.Int("MAILBRIDGE_X", …), config.Parse(r, "MAILBRIDGE_X", …).
var configRead = regexp.MustCompile(`(?:\br\.(\w+)|\bconfig\.(Parse\w*))\(\s*(?:r\s*,\s*)?"(MAILBRIDGE_\w+)"`)

// leftToDefault are variables the functions read that the template leaves
// to the code's default, with why: tuning knobs with no parameter.
var leftToDefault = map[string]string{
	"MAILBRIDGE_MAILBOXES_PER_MESSAGE": "scheduler tuning; the default (10) is the design point",
	"MAILBRIDGE_BATCH_CONCURRENCY":     "worker tuning; the default (100) matches GOMEMLIMIT and the memory size",
	"MAILBRIDGE_ARCHIVE_MAX_BYTES":     "archive tuning; the default (25 MB) keeps two MIME reads at once within the sync worker's 256 MB",
	"MAILBRIDGE_CONTENT_MAX_BYTES":     "behind API Gateway the content routes answer at most 4.67 MB whatever it says (its 6 MB response limit); it matters for the local run",
}

// reads returns the variables a function reads (its main.go, the package
// that wires it, functions/internal/<dir>fn, when it has one, and
// lambdaenv, which every function loads), each with whether it is
// required (no default).
func reads(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	wiring, err := filepath.Glob(filepath.Join(repoRoot(t), "functions", "internal", dir+"fn", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{
		filepath.Join(repoRoot(t), "functions", dir, "main.go"),
		filepath.Join(repoRoot(t), "functions", "internal", "lambdaenv", "lambdaenv.go"),
	}
	for _, f := range wiring {
		if !strings.HasSuffix(f, "_test.go") {
			files = append(files, f)
		}
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range configRead.FindAllStringSubmatch(string(src), -1) {
			method := m[1] + m[2]
			out[m[3]] = out[m[3]] || strings.HasPrefix(method, "Required") || method == "ParseRequired"
		}
	}
	if len(out) == 0 {
		t.Fatalf("functions/%s: no configuration read found", dir)
	}
	return out
}

// Every variable a function reads is set for it by the template (or left
// to its default on purpose), and every MAILBRIDGE_ variable the template
// sets for a function is one it reads.
func TestFunctionEnvironmentMatchesWhatTheCodeReads(t *testing.T) {
	tpl := Transformed(t)
	for id, dir := range Functions(t, tpl) {
		vars, _ := path(tpl.Resources[id].Properties, "Environment", "Variables").(map[string]any)
		read := reads(t, dir)
		for v, required := range read {
			if _, set := vars[v]; set {
				continue
			}
			if _, ok := leftToDefault[v]; ok && !required {
				continue
			}
			t.Errorf("%s reads %s (required: %v); the template does not set it", id, v, required)
		}
		for v := range vars {
			if _, ok := read[v]; !ok && strings.HasPrefix(v, "MAILBRIDGE_") {
				t.Errorf("the template sets %s for %s, which does not read it", v, id)
			}
		}
	}
}

// The values the template gives each function are ones its parsers
// accept: each function is built and started with the environment the
// template resolves to, for the defaults and for parameters at their
// edges, and must reach lambda.Start (which then finds no Lambda runtime)
// instead of refusing to start.
func TestFunctionsStartWithTheTemplatesEnvironment(t *testing.T) {
	tpl := Transformed(t)
	fns := Functions(t, tpl)
	bin := t.TempDir()
	var names []string
	for id := range fns {
		names = append(names, id)
	}
	sort.Strings(names)
	for _, id := range names {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, fns[id]), "./functions/"+fns[id])
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", fns[id], err, out)
		}
	}
	paramSets := []map[string]string{
		{}, // the defaults
		{
			"Stage": "a", "AllowedPrivateCidrs": "10.20.0.0/16,192.168.1.0/24", "AuditRetentionDays": "1", "FeedRetentionDays": "3650",
			"SecretsKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			"CallerTenants":    `{"arn:aws:iam::123456789012:role/mailbridge-ops/*": ["*"], "arn:aws:iam::123456789012:user/acme-sync": ["acme"]}`,
		},
		{"Stage": "prod-eu-west-1-abcde", "AuditRetentionDays": "3650", "FeedRetentionDays": "1"},
	}
	for i, params := range paramSets {
		r := &resolver{tpl: tpl, params: params}
		for _, id := range names {
			t.Run(fmt.Sprintf("%s/params%d", fns[id], i), func(t *testing.T) {
				vars, _ := path(tpl.Resources[id].Properties, "Environment", "Variables").(map[string]any)
				env := []string{"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
				for k, v := range vars {
					val, err := r.eval(v)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					env = append(env, k+"="+val)
				}
				cmd := exec.Command(filepath.Join(bin, fns[id]))
				cmd.Env = env
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				_ = cmd.Run()
				if strings.Contains(stdout.String(), "cannot start") || !strings.Contains(stderr.String(), "expected AWS Lambda environment variables") {
					t.Errorf("with %v the function does not start:\nstdout: %s\nstderr: %s\nenvironment: %v", params, stdout.String(), stderr.String(), env)
				}
			})
		}
	}
}

// resolver evaluates the intrinsic functions of the transformed template
// for one set of parameter values, with the physical ids CloudFormation
// would give (account 123456789012, us-east-1).
type resolver struct {
	tpl    *Template
	params map[string]string
}

const (
	region  = "us-east-1"
	account = "123456789012"
	keyID   = "0f0e0d0c-1111-2222-3333-444455556666"
)

func (r *resolver) param(name string) (string, error) {
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	p, ok := r.tpl.Parameters[name]
	if !ok {
		return "", fmt.Errorf("no parameter %s", name)
	}
	if d, ok := p["Default"]; ok {
		return fmt.Sprint(d), nil
	}
	return "", fmt.Errorf("parameter %s has no value", name)
}

func (r *resolver) ref(name string) (string, error) {
	switch name {
	case "AWS::Region":
		return region, nil
	case "AWS::AccountId":
		return account, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return "mailbridge", nil
	}
	res, ok := r.tpl.Resources[name]
	if !ok {
		return r.param(name)
	}
	switch res.Type {
	case "AWS::SQS::Queue":
		n, err := r.eval(path(res.Properties, "QueueName"))
		return "https://sqs." + region + ".amazonaws.com/" + account + "/" + n, err
	case "AWS::DynamoDB::Table":
		return r.eval(path(res.Properties, "TableName"))
	case "AWS::KMS::Key":
		return keyID, nil
	case "AWS::S3::Bucket":
		// CloudFormation names a bucket it names itself like this.
		return "mailbridge-archivebucket-1a2b3c4d5e6f", nil
	}
	return name, nil
}

func (r *resolver) getAtt(name, attr string) (string, error) {
	res, ok := r.tpl.Resources[name]
	if !ok {
		return "", fmt.Errorf("GetAtt of unknown %s", name)
	}
	switch res.Type + "." + attr {
	case "AWS::SQS::Queue.QueueName":
		return r.eval(path(res.Properties, "QueueName"))
	case "AWS::SQS::Queue.Arn":
		n, err := r.eval(path(res.Properties, "QueueName"))
		return "arn:aws:sqs:" + region + ":" + account + ":" + n, err
	case "AWS::DynamoDB::Table.Arn":
		n, err := r.eval(path(res.Properties, "TableName"))
		return "arn:aws:dynamodb:" + region + ":" + account + ":table/" + n, err
	case "AWS::S3::Bucket.Arn":
		return "arn:aws:s3:::mailbridge-archivebucket-1a2b3c4d5e6f", nil
	case "AWS::KMS::Key.Arn":
		return "arn:aws:kms:" + region + ":" + account + ":key/" + keyID, nil
	case "AWS::Lambda::Function.Arn":
		n, err := r.eval(path(res.Properties, "FunctionName"))
		return "arn:aws:lambda:" + region + ":" + account + ":function:" + n, err
	}
	return "", fmt.Errorf("GetAtt %s.%s (%s) not known to the resolver", name, attr, res.Type)
}

func (r *resolver) condition(name string) (bool, error) {
	c, ok := r.tpl.Conditions[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	return r.cond(c)
}

func (r *resolver) cond(c any) (bool, error) {
	m, _ := c.(map[string]any)
	if eq, ok := m["Fn::Equals"].([]any); ok && len(eq) == 2 {
		a, err := r.eval(eq[0])
		if err != nil {
			return false, err
		}
		b, err := r.eval(eq[1])
		return a == b, err
	}
	if not, ok := m["Fn::Not"].([]any); ok && len(not) == 1 {
		v, err := r.cond(not[0])
		return !v, err
	}
	if name, ok := m["Condition"].(string); ok {
		return r.condition(name)
	}
	return false, fmt.Errorf("condition %s not known to the resolver", jsonOf(c))
}

func (r *resolver) eval(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64, bool:
		return fmt.Sprint(x), nil
	case map[string]any:
		if len(x) != 1 {
			break
		}
		if name, ok := x["Ref"].(string); ok {
			return r.ref(name)
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return r.getAtt(fmt.Sprint(g[0]), fmt.Sprint(g[1]))
		}
		if f, ok := x["Fn::If"].([]any); ok && len(f) == 3 {
			c, err := r.condition(fmt.Sprint(f[0]))
			if err != nil {
				return "", err
			}
			if c {
				return r.eval(f[1])
			}
			return r.eval(f[2])
		}
		if s, ok := x["Fn::Sub"]; ok {
			str, vars := s, map[string]any{}
			if l, ok := s.([]any); ok && len(l) == 2 {
				str = l[0]
				vars, _ = l[1].(map[string]any)
			}
			var firstErr error
			out := subVar.ReplaceAllStringFunc(fmt.Sprint(str), func(m string) string {
				name := m[2 : len(m)-1]
				var val string
				var err error
				if e, ok := vars[name]; ok {
					val, err = r.eval(e)
				} else if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
					val, err = r.getAtt(res, attr)
				} else {
					val, err = r.ref(name)
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				return val
			})
			return out, firstErr
		}
	}
	b, _ := json.Marshal(v)
	return "", fmt.Errorf("expression %s not known to the resolver", b)
}
