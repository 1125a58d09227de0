package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

// report is what infra/deploytest/rehearse.py writes
// (MAILBRIDGE_REHEARSAL_OUT): what the stacks created, per stage.
type report struct {
	Region      string `json:"region"`
	Credentials struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
		SessionToken    string `json:"sessionToken"`
	} `json:"credentials"`
	Stages map[string]*stack `json:"stages"`
	// summary is rehearse.py's line on what it created.
	summary string
}

// stack is one stage's stack as CloudFormation created it.
type stack struct {
	Name      string              `json:"stack"`
	Outputs   map[string]string   `json:"outputs"`
	Resources map[string]resource `json:"resources"` // by logical id
	Functions map[string]function `json:"functions"` // by logical id
	Schedules map[string]schedule `json:"schedules"` // by logical id, from the template (moto skips them)
}

type resource struct {
	Type       string `json:"type"`
	PhysicalID string `json:"physicalId"`
}

// function is a created function: its name, timeout and the environment
// CloudFormation resolved from the template (Ref and GetAtt answered by
// moto with the created resources).
type function struct {
	Name           string            `json:"name"`
	TimeoutSeconds int               `json:"timeoutSeconds"`
	Environment    map[string]string `json:"environment"`
	QueueMappings  []queueMapping    `json:"queueMappings"`
}

// queueMapping is an SQS event source mapping the stack created: moto
// keeps it but never polls the queue, so the test polls as it would.
type queueMapping struct {
	QueueARN              string   `json:"queueArn"`
	BatchSize             int32    `json:"batchSize"`
	FunctionResponseTypes []string `json:"functionResponseTypes"`
}

// mapping returns f's one event source mapping, which must be from the
// queue queueURL, in batches SQS can deliver in one receive, reporting
// partial batch failures (without that, Lambda would delete a whole batch
// whose handler asked for some messages back).
func (f function) mapping(t *testing.T, region, queueURL string) queueMapping {
	t.Helper()
	if len(f.QueueMappings) != 1 {
		t.Fatalf("%s: %d SQS event source mappings, want one (from %s): %+v", f.Name, len(f.QueueMappings), queueURL, f.QueueMappings)
	}
	m := f.QueueMappings[0]
	if want := queueARN(t, region, queueURL); m.QueueARN != want {
		t.Fatalf("%s is invoked by the queue %s, not %s, the queue its environment names", f.Name, m.QueueARN, want)
	}
	if m.BatchSize < 1 || m.BatchSize > 10 {
		t.Fatalf("%s: batch size %d; want 1 to 10 (one receive)", f.Name, m.BatchSize)
	}
	if !slices.Contains(m.FunctionResponseTypes, "ReportBatchItemFailures") {
		t.Fatalf("%s: its queue mapping does not report batch item failures (FunctionResponseTypes %v): the messages its handler hands back would be deleted", f.Name, m.FunctionResponseTypes)
	}
	return m
}

type schedule struct {
	Function string `json:"function"`
	Input    string `json:"input"`
}

// createStacks runs rehearse.py against moto_server, in an account of its
// own (moto keeps accounts apart, so a second run, or another test using
// the same moto_server, sees none of it), and returns what it created.
// MAILBRIDGE_TEMPLATE, when set, rehearses another template.
func createStacks(t *testing.T, moto string) *report {
	t.Helper()
	account := fmt.Sprintf("%012d", rand.Int64N(1e12))
	out := filepath.Join(t.TempDir(), "stacks.json")
	cmd := exec.Command("python3", filepath.Join(repoRoot(t), "infra", "deploytest", "rehearse.py"))
	cmd.Env = append(os.Environ(), standin.EnvMoto+"="+moto, "MAILBRIDGE_REHEARSAL_ACCOUNT="+account, "MAILBRIDGE_REHEARSAL_OUT="+out)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rehearse.py (the stacks on moto's CloudFormation): %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := report{summary: strings.TrimSpace(string(b))}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("rehearse.py's report: %v", err)
	}
	return &r
}

// stage returns the stack of stage s.
func (r *report) stage(t *testing.T, s string) *stack {
	t.Helper()
	st, ok := r.Stages[s]
	if !ok {
		t.Fatalf("no stack for stage %q (samconfig.toml's environments give %v)", s, mapKeys(r.Stages))
	}
	return st
}

// resource returns the physical id of the stack's resource id, failing the
// test when the template does not create it (or creates another type).
func (s *stack) resource(t *testing.T, id, typ string) string {
	t.Helper()
	r, ok := s.Resources[id]
	if !ok || r.PhysicalID == "" {
		t.Fatalf("stack %s: the template creates no %s %s (resources: %v)", s.Name, typ, id, mapKeys(s.Resources))
	}
	if r.Type != typ {
		t.Fatalf("stack %s: %s is a %s, want %s", s.Name, id, r.Type, typ)
	}
	return r.PhysicalID
}

// function returns the stack's function id, failing the test when the
// template does not create it.
func (s *stack) function(t *testing.T, id string) function {
	t.Helper()
	s.resource(t, id, "AWS::Lambda::Function")
	f, ok := s.Functions[id]
	if !ok {
		t.Fatalf("stack %s: function %s has no configuration in moto", s.Name, id)
	}
	return f
}

// env returns variable v of function f's environment, failing the test
// when the template does not set it.
func (f function) env(t *testing.T, v string) string {
	t.Helper()
	val, ok := f.Environment[v]
	if !ok || val == "" {
		t.Fatalf("the template sets no %s for %s (its environment: %v)", v, f.Name, mapKeys(f.Environment))
	}
	return val
}

// awsConfig is an SDK configuration for the rehearsal's account on moto,
// for the test's own checks.
func (r *report) awsConfig(moto string) aws.Config {
	cfg := standin.AWSConfig()
	cfg.Region = r.Region
	cfg.BaseEndpoint = aws.String(moto)
	c := r.Credentials
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Source: "rehearsal"}, nil
	})
	return cfg
}

// pointSDKAt makes every AWS SDK configuration loaded from the environment
// in this process (lambdaenv.Load, as in Lambda) reach moto_server with the
// rehearsal account's credentials, as a function's role would give them.
func (r *report) pointSDKAt(t *testing.T, moto string) {
	t.Setenv("AWS_ENDPOINT_URL", moto)
	t.Setenv("AWS_REGION", r.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", r.Credentials.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", r.Credentials.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", r.Credentials.SessionToken)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
}

func mapKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func repoRoot(t *testing.T) string {
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

// invokeContext is the context Lambda gives an invocation: its deadline is
// the function's timeout.
func invokeContext(t *testing.T, f function) context.Context {
	t.Helper()
	timeout := time.Duration(f.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		t.Fatalf("%s has no timeout", f.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}
