package api

import "testing"

func TestParseCallerTenants(t *testing.T) {
	m, err := ParseCallerTenants(`{"arn:aws:sts::123456789012:assumed-role/ops/alice":["*"],"arn:aws:iam::123456789012:user/app":["contoso","globex"],"arn:aws:sts::123456789012:assumed-role/contoso-app/*":["contoso"]}`)
	if err != nil || len(m) != 3 || m["arn:aws:iam::123456789012:user/app"][1] != "globex" {
		t.Fatalf("= %v, %v", m, err)
	}
	if m, err := ParseCallerTenants(""); m != nil || err != nil {
		t.Fatalf("empty = %v, %v; want no restriction", m, err)
	}
	for _, bad := range []string{
		`[]`,
		`{"arn:aws:iam::123456789012:user/app":"contoso"}`,
		`{"someone":["contoso"]}`,
		`{"arn:aws:sts::123456789012:assumed-role/*x":["contoso"]}`,
		`{"arn:aws:iam::123456789012:user/app":["Contoso"]}`,
	} {
		if _, err := ParseCallerTenants(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
