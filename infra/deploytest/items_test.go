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
