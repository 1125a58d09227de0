package deploytest

import (
	"slices"
	"strings"
	"testing"
)

// aliasName is the alias every function's event sources invoke
// (AutoPublishAlias); CodeDeploy moves it from version to version.
const aliasName = "live"

// aliasOf returns the logical id of fn's alias, "" when it has none.
func aliasOf(tpl *Template, fn string) string {
	for _, id := range tpl.OfType("AWS::Lambda::Alias") {
		if slices.Equal(Refs(path(tpl.Resources[id].Properties, "FunctionName")), []string{fn}) {
			return id
		}
	}
	return ""
}

// invokes reports whether expr names fn, directly or through one of its
// aliases.
func invokes(tpl *Template, expr any, fn string) bool {
	for _, r := range Refs(expr) {
		if r == fn {
			return true
		}
		if res, ok := tpl.Resources[r]; ok && res.Type == "AWS::Lambda::Alias" && slices.Contains(Refs(path(res.Properties, "FunctionName")), fn) {
			return true
		}
	}
	return false
}

// gradual are the functions whose deploys must shift traffic step by step:
// steady traffic, so a canary sees errors before every caller does. The
// scheduler (a tick a minute) and the verifier (a run a night) deploy all
// at once: no shifting window would see enough of their invocations.
var gradual = map[string]bool{"ApiFunction": true, "SyncWorkerFunction": true, "CalendarWriterFunction": true}

// Every function deploys through CodeDeploy: a published version, the
// alias "live" moved by a deployment group that rolls back when one of its
// alarms fires, and an alarm on the alias's own errors among them.
func TestFunctionsDeployThroughTheirAliasWithRollback(t *testing.T) {
	tpl := Transformed(t)
	for fn := range Functions(t, tpl) {
		alias := aliasOf(tpl, fn)
		if alias == "" {
			t.Errorf("%s: no alias (AutoPublishAlias)", fn)
			continue
		}
		a := tpl.Resources[alias]
		if path(a.Properties, "Name") != aliasName {
			t.Errorf("%s: alias %s is named %v, want %q", fn, alias, path(a.Properties, "Name"), aliasName)
		}
		if v := Refs(path(a.Properties, "FunctionVersion")); len(v) != 1 || tpl.Resources[v[0]].Type != "AWS::Lambda::Version" || !slices.Equal(Refs(path(tpl.Resources[v[0]].Properties, "FunctionName")), []string{fn}) {
			t.Errorf("%s: alias %s points at %s, not a published version of the function", fn, alias, jsonOf(path(a.Properties, "FunctionVersion")))
		}
		dg := Refs(path(a.UpdatePolicy, "CodeDeployLambdaAliasUpdate", "DeploymentGroupName"))
		if len(dg) != 1 || tpl.Resources[dg[0]].Type != "AWS::CodeDeploy::DeploymentGroup" {
			t.Errorf("%s: alias %s is not updated through a CodeDeploy deployment group (DeploymentPreference)", fn, alias)
			continue
		}
		g := tpl.Resources[dg[0]].Properties
		if path(g, "AlarmConfiguration", "Enabled") != true {
			t.Errorf("%s: deployment group %s does not watch alarms", fn, dg[0])
		}
		events := strs(path(g, "AutoRollbackConfiguration", "Events"))
		if path(g, "AutoRollbackConfiguration", "Enabled") != true || !slices.Contains(events, "DEPLOYMENT_STOP_ON_ALARM") {
			t.Errorf("%s: deployment group %s does not roll back on alarm: %s", fn, dg[0], jsonOf(path(g, "AutoRollbackConfiguration")))
		}
		alarms, _ := path(g, "AlarmConfiguration", "Alarms").([]any)
		onAlias := false
		for _, al := range alarms {
			ref := Refs(path(al, "Name"))
			if len(ref) != 1 || tpl.Resources[ref[0]].Type != "AWS::CloudWatch::Alarm" {
				t.Errorf("%s: deployment group %s alarm %s is not an alarm of this template", fn, dg[0], jsonOf(al))
				continue
			}
			p := tpl.Resources[ref[0]].Properties
			dims := map[string]any{}
			for _, d := range anyList(path(p, "Dimensions")) {
				dims[jsonOf(path(d, "Name"))] = path(d, "Value")
			}
			res := jsonOf(dims[`"Resource"`])
			if path(p, "Namespace") == "AWS/Lambda" && path(p, "MetricName") == "Errors" &&
				slices.Equal(Refs(dims[`"FunctionName"`]), []string{fn}) && strings.Contains(res, ":"+aliasName+`"`) && slices.Contains(Refs(dims[`"Resource"`]), fn) {
				onAlias = true
			}
		}
		if !onAlias {
			t.Errorf("%s: none of deployment group %s's alarms watches the Errors of alias %q", fn, dg[0], aliasName)
		}
		cfg := jsonOf(path(g, "DeploymentConfigName"))
		if gradual[fn] && !strings.Contains(cfg, "Canary") && !strings.Contains(cfg, "Linear") {
			t.Errorf("%s: deployment config %s shifts all traffic at once; want a canary or linear shift", fn, cfg)
		}
		role := Refs(path(g, "ServiceRoleArn"))
		if len(role) != 1 || tpl.Resources[role[0]].Type != "AWS::IAM::Role" {
			t.Errorf("%s: deployment group %s's service role %s is not a role of this template", fn, dg[0], jsonOf(path(g, "ServiceRoleArn")))
		}
	}
}

// Every event source invokes a function through its alias, or traffic
// shifting and rollback would not apply to it: queue mappings, schedules
// (and what their roles may invoke), the API's integration and permission,
// the async invoke config, and the state machine's task.
func TestEventSourcesInvokeTheAlias(t *testing.T) {
	tpl := Transformed(t)
	fns := Functions(t, tpl)
	isFn := func(r string) bool { _, ok := fns[r]; return ok }
	check := func(what string, expr any) {
		t.Helper()
		refs := Refs(expr)
		if len(refs) == 0 {
			t.Errorf("%s: %s names no function of this template", what, jsonOf(expr))
		}
		for _, r := range refs {
			if isFn(r) {
				t.Errorf("%s: invokes %s itself (%s), not its alias", what, r, jsonOf(expr))
			} else if tpl.Resources[r].Type != "AWS::Lambda::Alias" {
				t.Errorf("%s: %s is neither a function nor an alias", what, r)
			}
		}
	}
	n := 0
	for _, id := range tpl.OfType("AWS::Lambda::EventSourceMapping") {
		n++
		check(id, path(tpl.Resources[id].Properties, "FunctionName"))
	}
	for _, id := range tpl.OfType("AWS::Scheduler::Schedule") {
		n++
		p := tpl.Resources[id].Properties
		check(id, path(p, "Target", "Arn"))
		role := Refs(path(p, "Target", "RoleArn"))
		if len(role) != 1 {
			t.Errorf("%s: role %s", id, jsonOf(path(p, "Target", "RoleArn")))
			continue
		}
		for _, pol := range anyList(path(tpl.Resources[role[0]].Properties, "Policies")) {
			for _, s := range anyList(path(pol, "PolicyDocument", "Statement")) {
				if jsonOf(path(p, "Target", "Arn")) != jsonOf(path(s, "Resource")) {
					t.Errorf("%s: role %s grants %s on %s; want the schedule's target alone", id, role[0], jsonOf(path(s, "Action")), jsonOf(path(s, "Resource")))
				}
			}
		}
	}
	for _, id := range tpl.OfType("AWS::Lambda::Permission") {
		n++
		check(id, path(tpl.Resources[id].Properties, "FunctionName"))
	}
	for _, id := range tpl.OfType("AWS::ApiGateway::RestApi") {
		paths, _ := path(tpl.Resources[id].Properties, "Body", "paths").(map[string]any)
		for p, ops := range paths {
			for op, def := range ops.(map[string]any) {
				if integ := path(def, "x-amazon-apigateway-integration"); integ != nil {
					n++
					check(id+" "+p+" "+op, path(integ, "uri"))
				}
			}
		}
	}
	for _, id := range tpl.OfType("AWS::Lambda::EventInvokeConfig") {
		n++
		if q := path(tpl.Resources[id].Properties, "Qualifier"); q != aliasName {
			t.Errorf("%s: qualifier %v; want the alias %q (the config of the version the alias points at)", id, q, aliasName)
		}
	}
	for _, id := range tpl.OfType("AWS::StepFunctions::StateMachine") {
		for k, v := range anyMap(path(tpl.Resources[id].Properties, "DefinitionSubstitutions")) {
			for _, r := range Refs(v) {
				if tpl.Resources[r].Type == "AWS::Lambda::Function" || tpl.Resources[r].Type == "AWS::Lambda::Alias" {
					n++
					check(id+" "+k, v)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no event source found")
	}
}

// The deployment groups share the one role SAM creates for CodeDeploy:
// trusted by CodeDeploy alone, with the managed policy for Lambda
// deployments (shift an alias, read the alarms) and nothing else.
func TestCodeDeployRoleIsSAMsAlone(t *testing.T) {
	tpl := Transformed(t)
	const codeDeployLambda = "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"
	used := map[string]string{}
	for _, id := range tpl.OfType("AWS::CodeDeploy::DeploymentGroup") {
		for _, r := range Refs(path(tpl.Resources[id].Properties, "ServiceRoleArn")) {
			used[r] = id
		}
	}
	if len(used) != 1 {
		t.Fatalf("deployment groups use roles %v; want SAM's one CodeDeploy role", used)
	}
	for role := range used {
		p := tpl.Resources[role].Properties
		if got := strs(path(p, "ManagedPolicyArns")); !slices.Equal(got, []string{codeDeployLambda}) {
			t.Errorf("%s: managed policies %v; want %s alone", role, got, codeDeployLambda)
		}
		if pols := anyList(path(p, "Policies")); len(pols) != 0 {
			t.Errorf("%s: inline policies %s; want none", role, jsonOf(pols))
		}
		for _, s := range anyList(path(p, "AssumeRolePolicyDocument", "Statement")) {
			if got := strs(path(s, "Principal", "Service")); !slices.Equal(got, []string{"codedeploy.amazonaws.com"}) {
				t.Errorf("%s: trusts %v; want codedeploy.amazonaws.com alone", role, got)
			}
		}
	}
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

func anyMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// Every function and the API trace actively with X-Ray, so a request is
// one trace from API Gateway through the function, and a queued job's
// invocation is traced too.
func TestFunctionsAndAPITraceWithXRay(t *testing.T) {
	tpl := Transformed(t)
	for fn := range Functions(t, tpl) {
		if m := path(tpl.Resources[fn].Properties, "TracingConfig", "Mode"); m != "Active" {
			t.Errorf("%s: tracing mode %v, want Active", fn, m)
		}
	}
	stages := tpl.OfType("AWS::ApiGateway::Stage")
	if len(stages) == 0 {
		t.Fatal("no API stage")
	}
	for _, id := range stages {
		if path(tpl.Resources[id].Properties, "TracingEnabled") != true {
			t.Errorf("%s: X-Ray tracing is not enabled", id)
		}
	}
}
