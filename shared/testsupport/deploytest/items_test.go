package deploytest

import (
	"strings"
	"testing"
)

// API Gateway must invoke the API function under a resource-based
// permission: integration credentials of the caller's own (SAM's default
// for AWS_IAM, "arn:aws:iam::*:user/*") make every caller that may not
// invoke the Lambda itself get 500.
func TestAPIInvokesFunctionWithoutCallerCredentials(t *testing.T) {
	tpl := Transformed(t)
	for _, id := range tpl.OfType("AWS::ApiGateway::RestApi") {
		paths, _ := path(tpl.Resources[id].Properties, "Body", "paths").(map[string]any)
		if len(paths) == 0 {
			t.Fatalf("%s: no paths in the body", id)
		}
		for p, ops := range paths {
			for op, def := range ops.(map[string]any) {
				integ := path(def, "x-amazon-apigateway-integration")
				if integ == nil {
					continue
				}
				if c := path(integ, "credentials"); c != nil {
					t.Errorf("%s %s %s: integration credentials %s; want none (the function's resource-based permission)", id, p, op, jsonOf(c))
				}
				fns := Refs(path(integ, "uri"))
				for _, fn := range fns {
					if !hasAPIPermission(tpl, fn, id) {
						t.Errorf("%s %s %s: %s has no lambda:InvokeFunction permission for apigateway.amazonaws.com from this API", id, p, op, fn)
					}
				}
			}
		}
	}
}

func hasAPIPermission(tpl *Template, fn, api string) bool {
	for _, id := range tpl.OfType("AWS::Lambda::Permission") {
		p := tpl.Resources[id].Properties
		if path(p, "Action") == "lambda:InvokeFunction" && path(p, "Principal") == "apigateway.amazonaws.com" &&
			strings.Join(Refs(path(p, "FunctionName")), ",") == fn && contains(Refs(path(p, "SourceArn")), api) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Schedule names are unique per schedule group: each must carry the
// stage (or live in a stage's own group), or a second stage in the same
// account and region fails to create.
func TestScheduleNamesCarryTheStage(t *testing.T) {
	tpl := Transformed(t)
	ids := tpl.OfType("AWS::Scheduler::Schedule")
	if len(ids) == 0 {
		t.Fatal("no schedules")
	}
	for _, id := range ids {
		p := tpl.Resources[id].Properties
		if !contains(Refs(path(p, "Name")), "Stage") && !contains(Refs(path(p, "GroupName")), "Stage") {
			t.Errorf("schedule %s: name %s in group %s: neither depends on the Stage parameter", id, jsonOf(path(p, "Name")), jsonOf(path(p, "GroupName")))
		}
	}
}

// Every topic an alarm publishes to is either unencrypted or encrypted
// with a key of this template whose policy lets CloudWatch use it: with
// the AWS managed key (alias/aws/sns) CloudWatch's publishes fail and no
// alarm e-mail arrives.
func TestAlarmTopicsAcceptCloudWatch(t *testing.T) {
	tpl := Transformed(t)
	topics := map[string]bool{}
	for _, id := range tpl.OfType("AWS::CloudWatch::Alarm") {
		for _, a := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
			for _, ref := range Refs(path(tpl.Resources[id].Properties, a)) {
				topics[ref] = true
			}
		}
	}
	if len(topics) == 0 {
		t.Fatal("no alarm publishes to a topic")
	}
	for topic := range topics {
		r, ok := tpl.Resources[topic]
		if !ok || r.Type != "AWS::SNS::Topic" {
			t.Errorf("alarm action %s is not a topic of this template", topic)
			continue
		}
		key := path(r.Properties, "KmsMasterKeyId")
		if key == nil {
			continue
		}
		refs := Refs(key)
		if len(refs) != 1 || tpl.Resources[refs[0]].Type != "AWS::KMS::Key" {
			t.Errorf("topic %s: key %s is not a customer managed key of this template", topic, jsonOf(key))
			continue
		}
		if !keyAllows(tpl.Resources[refs[0]].Properties, "cloudwatch.amazonaws.com", "kms:Decrypt", "kms:GenerateDataKey*") {
			t.Errorf("topic %s: the policy of key %s does not allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*", topic, refs[0])
		}
	}
}

// keyAllows reports whether a key policy allows service every action.
func keyAllows(props map[string]any, service string, actions ...string) bool {
	stmts, _ := path(props, "KeyPolicy", "Statement").([]any)
	for _, want := range actions {
		ok := false
		for _, s := range stmts {
			if path(s, "Effect") != "Allow" || !contains(strs(path(s, "Principal", "Service")), service) {
				continue
			}
			ok = ok || contains(strs(path(s, "Action")), want)
		}
		if !ok {
			return false
		}
	}
	return true
}

// strs is a string or a list of strings as a list.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// An alarm on an API Gateway metric must name an API of this template by
// the name the API actually gets, or it watches a metric that never exists.
func TestAPIAlarmsNameTheAPI(t *testing.T) {
	tpl := Transformed(t)
	names := map[string]bool{}
	for _, id := range tpl.OfType("AWS::ApiGateway::RestApi") {
		n := path(tpl.Resources[id].Properties, "Name")
		if n == nil {
			n = path(tpl.Resources[id].Properties, "Body", "info", "title")
		}
		names[jsonOf(n)] = true
	}
	found := 0
	for _, id := range tpl.OfType("AWS::CloudWatch::Alarm") {
		p := tpl.Resources[id].Properties
		if path(p, "Namespace") != "AWS/ApiGateway" {
			continue
		}
		found++
		dims, _ := path(p, "Dimensions").([]any)
		for _, d := range dims {
			if path(d, "Name") == "ApiName" && !names[jsonOf(path(d, "Value"))] {
				t.Errorf("alarm %s: ApiName %s; the template's APIs are named %v", id, jsonOf(path(d, "Value")), names)
			}
		}
	}
	if found == 0 {
		t.Error("no alarm on the API")
	}
}

// Every function logs to a log group of the stack's that keeps its logs
// LogRetentionDays; a group Lambda creates on its own keeps them forever.
func TestFunctionLogsKeepLogRetentionDays(t *testing.T) {
	tpl := Transformed(t)
	for id := range Functions(t, tpl) {
		lc := path(tpl.Resources[id].Properties, "LoggingConfig")
		group := Refs(path(lc, "LogGroup"))
		if len(group) != 1 || tpl.Resources[group[0]].Type != "AWS::Logs::LogGroup" {
			t.Errorf("%s: LoggingConfig %s names no log group of this template", id, jsonOf(lc))
			continue
		}
		g := tpl.Resources[group[0]].Properties
		if jsonOf(path(g, "RetentionInDays")) != `{"Ref":"LogRetentionDays"}` {
			t.Errorf("%s: log group %s keeps logs %s, want the LogRetentionDays parameter", id, group[0], jsonOf(path(g, "RetentionInDays")))
		}
		if path(lc, "LogFormat") != "JSON" {
			t.Errorf("%s: log format %v, want JSON (the functions log JSON lines)", id, path(lc, "LogFormat"))
		}
	}
}

// A tick the scheduler function fails is retried by Lambda (the schedule
// invokes asynchronously; its RetryPolicy covers only the hand-over). The
// retry resends the tick's deduplication ids, which stop duplicates only
// within SQS FIFO's 5-minute deduplication interval, so Lambda must give up
// on a tick before then.
func TestSchedulerTickRetriesEndWithinTheDeduplicationInterval(t *testing.T) {
	tpl := Transformed(t)
	found := false
	for _, id := range tpl.OfType("AWS::Lambda::EventInvokeConfig") {
		p := tpl.Resources[id].Properties
		if !contains(Refs(path(p, "FunctionName")), "SchedulerFunction") {
			continue
		}
		found = true
		if age, _ := path(p, "MaximumEventAgeInSeconds").(float64); age <= 0 || age >= 300 {
			t.Errorf("%s: MaximumEventAgeInSeconds %v, want under 300", id, path(p, "MaximumEventAgeInSeconds"))
		}
	}
	if !found {
		t.Error("SchedulerFunction has no EventInvokeConfig: Lambda would retry a failed tick for up to 6 hours")
	}
}
