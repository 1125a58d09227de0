package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// adapterOps is, per adapter package in shared/aws, every AWS SDK
// operation its code calls (a waiter as "waiter:<Name>"). The test greps
// the adapters for their SDK calls and fails when this table and the code
// differ, so it cannot drift; the call graph (callgraph_test.go) decides
// which of them each function reaches.
var adapterOps = map[string][]string{
	"dynamostore": {"BatchGetItem", "BatchWriteItem", "CreateTable", "DeleteItem", "DeleteTable", "GetItem", "PutItem", "Query", "TransactWriteItems", "UpdateItem", "UpdateTimeToLive", "waiter:TableExists"},
	"emf":         {},
	"s3archive":   {"DeleteObjects", "HeadObject", "ListObjectsV2", "PutObject"},
	"sfnretry":    {"StartExecution"},
	"smsecrets":   {"CreateSecret", "DeleteSecret", "DescribeSecret", "GetSecretValue", "PutSecretValue", "RestoreSecret"},
	"sqsqueue":    {"ChangeMessageVisibility", "SendMessageBatch"},
}

// sdkCall is an SDK operation call as the adapters write it:
// client.Operation(ctx, &service.OperationInput{...}) or (ctx, in).
var (
	sdkCall   = regexp.MustCompile(`\.([A-Z]\w*)\(\s*ctx\s*,\s*(?:&\w+\.(\w+)Input\b|in\b)`)
	sdkWaiter = regexp.MustCompile(`\bNew(\w+)Waiter\(`)
)

func TestAdapterOperationTableMatchesTheCode(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repoRoot(t), "shared", "aws", "*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		seen[name] = true
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		found := map[string]bool{}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range sdkCall.FindAllStringSubmatch(string(src), -1) {
				if m[2] != "" && m[2] != m[1] {
					continue // not an SDK operation (its input type is another's)
				}
				found[m[1]] = true
			}
			for _, m := range sdkWaiter.FindAllStringSubmatch(string(src), -1) {
				found["waiter:"+m[1]] = true
			}
		}
		want, ok := adapterOps[name]
		if !ok {
			t.Errorf("shared/aws/%s is not in adapterOps; its SDK calls: %v", name, keys(found))
			continue
		}
		if got := keys(found); !slices.Equal(got, sorted(want)) {
			t.Errorf("shared/aws/%s calls %v; adapterOps says %v", name, got, sorted(want))
		}
	}
	for name := range adapterOps {
		if !seen[name] {
			t.Errorf("adapterOps names shared/aws/%s, which does not exist", name)
		}
	}
}

// iamActions are the IAM actions an SDK operation needs, called in the
// function or method whose source is decl. A transaction is authorised per
// contained action (there is no TransactWriteItems action), SQS batches as
// their single action, and Secrets Manager needs the KMS key of the secret
// (a customer managed key: the template always gives one) to encrypt and
// decrypt on the caller's behalf.
func iamActions(op Op, decl string) ([]string, error) {
	switch op.Service {
	case "dynamodb":
		switch op.Name {
		case "TransactWriteItems":
			var out []string
			for _, m := range regexp.MustCompile(`\{\s*(Put|Update|Delete|ConditionCheck)\s*:`).FindAllStringSubmatch(decl, -1) {
				out = append(out, "dynamodb:"+m[1]+"Item")
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("%s: TransactWriteItems with no Put, Update, Delete or ConditionCheck item in its source", op.Func)
			}
			return out, nil
		case "TransactGetItems":
			return []string{"dynamodb:GetItem"}, nil
		}
		return []string{"dynamodb:" + op.Name}, nil
	case "sqs":
		return []string{"sqs:" + strings.TrimSuffix(op.Name, "Batch")}, nil
	case "secretsmanager":
		out := []string{"secretsmanager:" + op.Name}
		switch op.Name {
		case "CreateSecret":
			if strings.Contains(decl, "Tags:") {
				out = append(out, "secretsmanager:TagResource")
			}
			out = append(out, "kms:GenerateDataKey", "kms:Decrypt")
		case "PutSecretValue":
			out = append(out, "kms:GenerateDataKey", "kms:Decrypt")
		case "GetSecretValue":
			out = append(out, "kms:Decrypt")
		}
		return out, nil
	case "sfn":
		return []string{"states:" + op.Name}, nil
	case "s3":
		switch op.Name {
		case "HeadObject":
			// GetObject authorises HEAD; without ListBucket a missing key
			// answers 403, not the 404 that says "not archived yet".
			return []string{"s3:GetObject", "s3:ListBucket"}, nil
		case "PutObject":
			// SSE-KMS: S3 asks KMS for a data key as the caller.
			return []string{"s3:PutObject", "kms:GenerateDataKey"}, nil
		case "ListObjectsV2":
			return []string{"s3:ListBucket"}, nil
		case "DeleteObjects":
			// Authorised per key as s3:DeleteObject (no DeleteObjects action).
			return []string{"s3:DeleteObject"}, nil
		}
		return []string{"s3:" + op.Name}, nil
	}
	return nil, fmt.Errorf("%s calls %s, a service this test does not map to IAM actions", op.Func, op)
}

// Managed policies a function's role may carry: Lambda's own logging, the
// SQS poller SAM adds for an SQS event source, and the X-Ray writes SAM
// adds for active tracing (Lambda sends the function's segments under its
// role; the code calls no X-Ray API). SAM adds that policy whenever
// Tracing is Active and cannot be told to use another; its writes
// (PutTraceSegments, PutTelemetryRecords, and reading sampling rules and
// targets) take no resource but "*".
const (
	basicExecution = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	sqsPoller      = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
	xrayWrite      = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
)

// Each function's role grants exactly the IAM actions its code can reach,
// on the resources it uses: no operation without its grant, no grant no
// code path calls.
func TestRolesGrantWhatTheCodeCalls(t *testing.T) {
	tpl := Transformed(t)
	fns := Functions(t, tpl)
	var mains []string
	for _, dir := range fns {
		mains = append(mains, "./functions/"+dir)
	}
	sort.Strings(mains)
	prog := loadProgram(t, mains)
	for id, dir := range fns {
		t.Run(dir, func(t *testing.T) {
			ops, _, err := prog.Reach(modulePath + "/functions/" + dir)
			if err != nil {
				t.Fatal(err)
			}
			need := map[string][]string{} // action -> the calls that need it
			for _, op := range ops {
				adapter, ok := strings.CutPrefix(op.Pkg, modulePath+"/shared/aws/")
				if !ok {
					t.Errorf("%s calls %s outside the AWS adapters (shared/aws)", op.Func, op)
					continue
				}
				if !slices.Contains(adapterOps[adapter], op.Name) {
					t.Errorf("%s calls %s, missing from adapterOps[%q]", op.Func, op, adapter)
				}
				actions, err := iamActions(op, prog.declText(op.Func))
				if err != nil {
					t.Error(err)
					continue
				}
				for _, a := range actions {
					need[a] = append(need[a], op.String()+" in "+shortFunc(op.Func))
				}
			}
			granted := grants(t, tpl, id)
			for a, why := range need {
				if _, ok := granted[a]; !ok {
					t.Errorf("the code can call %s (%s); %s's role does not grant it", a, strings.Join(dedupe(why), ", "), id)
				}
			}
			for a, where := range granted {
				if _, ok := need[a]; !ok {
					t.Errorf("%s's role grants %s (%s), which no code path of the function calls", id, a, where)
				}
			}
		})
	}
}

// grants returns the actions the inline policies of a function's role
// allow, each with the statement that does, after checking the role's
// managed policies and each statement's resources.
func grants(t *testing.T, tpl *Template, fn string) map[string]string {
	t.Helper()
	fr := tpl.Resources[fn]
	roleRefs := Refs(path(fr.Properties, "Role"))
	if len(roleRefs) != 1 || tpl.Resources[roleRefs[0]].Type != "AWS::IAM::Role" {
		t.Fatalf("%s: role %s is not a role of this template", fn, jsonOf(path(fr.Properties, "Role")))
	}
	role := tpl.Resources[roleRefs[0]].Properties
	hasSQSSource := false
	for _, esm := range tpl.OfType("AWS::Lambda::EventSourceMapping") {
		p := tpl.Resources[esm].Properties
		if invokes(tpl, path(p, "FunctionName"), fn) && strings.Contains(jsonOf(Refs(path(p, "EventSourceArn"))), "Queue") {
			hasSQSSource = true
		}
	}
	for _, m := range strs(path(role, "ManagedPolicyArns")) {
		switch {
		case m == basicExecution:
		case m == sqsPoller && hasSQSSource:
		case m == xrayWrite && path(fr.Properties, "TracingConfig", "Mode") == "Active":
		default:
			t.Errorf("%s: managed policy %s", fn, m)
		}
	}
	env, _ := path(fr.Properties, "Environment", "Variables").(map[string]any)
	queues := map[string]bool{}
	for k, v := range env {
		if strings.HasSuffix(k, "_QUEUE_URL") {
			for _, r := range Refs(v) {
				queues[r] = true
			}
		}
	}
	out := map[string]string{}
	policies, _ := path(role, "Policies").([]any)
	for _, pol := range policies {
		stmts, _ := path(pol, "PolicyDocument", "Statement").([]any)
		for i, s := range stmts {
			where := fmt.Sprintf("%v statement %d", path(pol, "PolicyName"), i)
			if sid, ok := path(s, "Sid").(string); ok {
				where = fmt.Sprintf("%v %s", path(pol, "PolicyName"), sid)
			}
			if path(s, "Effect") != "Allow" {
				continue
			}
			res := path(s, "Resource")
			for _, a := range strs(path(s, "Action")) {
				if strings.Contains(a, "*") {
					t.Errorf("%s: %s grants the wildcard %s; name the actions", fn, where, a)
				}
				out[a] = where
				if msg := resourceProblem(a, res, s, env, queues); msg != "" {
					t.Errorf("%s: %s: %s on %s: %s", fn, where, a, jsonOf(res), msg)
				}
			}
		}
	}
	return out
}

// resourceProblem says what is wrong with the resource a statement grants
// action on, "" when nothing is.
func resourceProblem(action string, res, stmt any, env map[string]any, queues map[string]bool) string {
	text := jsonOf(res)
	if text == `"*"` || strings.Contains(text, `"*"`) {
		return "every resource"
	}
	refs := Refs(res)
	switch strings.SplitN(action, ":", 2)[0] {
	case "dynamodb":
		if !slices.Equal(refs, []string{"Table"}) || strings.Contains(text, "/index/") {
			return "want the table alone (it has no index)"
		}
	case "sqs":
		for _, r := range refs {
			if !queues[r] {
				return "a queue the function is not configured with (its *_QUEUE_URL variables)"
			}
		}
	case "secretsmanager":
		if !strings.Contains(text, "secret:mailbridge/${Stage}/tenants/*") {
			return "want the stage's tenant secrets"
		}
	case "kms":
		via := jsonOf(path(stmt, "Condition", "StringEquals", "kms:ViaService"))
		if slices.Equal(refs, []string{"ArchiveKey"}) {
			if !strings.Contains(via, "s3.${AWS::Region}") {
				return "want the archive key usable only through S3 (kms:ViaService)"
			}
			break
		}
		for _, r := range refs {
			if r != "SecretsKey" && r != "SecretsKmsKeyArn" && r != "CreateKmsKey" {
				return "want the secrets key or the archive key"
			}
		}
		if !strings.Contains(via, "secretsmanager.${AWS::Region}") {
			return "want the key usable only through Secrets Manager (kms:ViaService)"
		}
	case "s3":
		// The archive bucket the function is configured with, its objects
		// for object actions, the bucket itself for ListBucket.
		if !slices.Equal(refs, []string{"ArchiveBucket"}) || jsonOf(Refs(env["MAILBRIDGE_ARCHIVE_BUCKET"])) != jsonOf(refs) {
			return "want the archive bucket the function is configured with (MAILBRIDGE_ARCHIVE_BUCKET)"
		}
		objects := strings.Contains(text, "/*")
		if (action == "s3:ListBucket") == objects {
			return "want objects (bucket/*) for object actions, the bucket for ListBucket"
		}
	case "states":
		if text != jsonOf(env["MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN"]) {
			return "want the state machine the function is configured with"
		}
	}
	return ""
}

func shortFunc(key string) string {
	return strings.ReplaceAll(key, modulePath+"/", "")
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func dedupe(s []string) []string {
	out := sorted(s)
	return slices.Compact(out)
}
