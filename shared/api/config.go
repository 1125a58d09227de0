package api

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/mailbridge/mailbridge/shared/app"
)

var callerARN = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[A-Za-z0-9+=,.@_/:-]+(/\*)?$`)

// ParseCallerTenants reads the CallerTenants mapping from its deployment
// setting (MAILBRIDGE_CALLER_TENANTS), a JSON object from caller ARN (the
// userArn API Gateway reports for a SigV4-signed request) to tenant ids:
//
//	{"arn:aws:sts::123456789012:assumed-role/ops/alice": ["*"],
//	 "arn:aws:sts::123456789012:assumed-role/contoso-app/*": ["contoso"]}
//
// An empty setting returns nil: every caller IAM lets in reaches every
// tenant.
func ParseCallerTenants(s string) (map[string][]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string][]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("caller tenants: not a JSON object of ARN to tenant ids: %w", err)
	}
	for arn, ids := range m {
		if !callerARN.MatchString(arn) {
			return nil, fmt.Errorf("caller tenants: %q is not an IAM or STS ARN", arn)
		}
		for _, id := range ids {
			if id != "*" && app.ValidateTenantID(id) != nil {
				return nil, fmt.Errorf("caller tenants: %q for %s is not a tenant id or \"*\"", id, arn)
			}
		}
	}
	return m, nil
}
