package graph

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// TestTranslateExchangeIDs: the request as Graph documents it, and the
// documented example answer decoded, next to a per-id failure.
func TestTranslateExchangeIDs(t *testing.T) {
	// The documented example answer (restId to restImmutableEntryId).
	documented := `{
  "value": [
    {
      "sourceId": "{rest-formatted-id-1}",
      "targetId": "{rest-immutable-formatted-id-1}"
    },
    {
      "sourceId": "{rest-formatted-id-2}",
      "targetId": "{rest-immutable-formatted-id-2}"
    }
  ]
}`
	withError := `{"@odata.context":"x","value":[{"sourceId":"a","targetId":"b"},
	  {"sourceId":"gone","errorDetails":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}]}`
	cases := []struct {
		name     string
		body     string
		status   int
		want     []ConvertIDResult
		wantErrs []bool // ConvertErr per result
		wantFail bool
	}{
		{name: "documented example", body: documented, status: 200,
			want: []ConvertIDResult{{SourceID: "{rest-formatted-id-1}", TargetID: "{rest-immutable-formatted-id-1}"},
				{SourceID: "{rest-formatted-id-2}", TargetID: "{rest-immutable-formatted-id-2}"}},
			wantErrs: []bool{false, false}},
		{name: "one id failed", body: withError, status: 200,
			want: []ConvertIDResult{{SourceID: "a", TargetID: "b"},
				{SourceID: "gone", ErrorDetails: &GenericDetail{Code: "ErrorItemNotFound", Message: "The specified object was not found in the store."}}},
			wantErrs: []bool{false, true}},
		{name: "no value", body: `{}`, status: 200, wantFail: true},
		{name: "refused", body: `{"error":{"code":"ErrorInvalidParameter","message":"bad"}}`, status: 400, wantFail: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{answers: []canned{answer(tc.status, []byte(tc.body))}}
			c := newTestClient(t, rec)
			got, err := c.TranslateExchangeIDs(bg, "ann@contoso.com", TranslateRequest{
				InputIDs: []string{"{rest-formatted-id-1}", "{rest-formatted-id-2}"}, SourceIDType: IDFormatREST, TargetIDType: IDFormatRESTImmutable})
			r, body := rec.last(t)
			if r.Method != http.MethodPost || r.URL.Path != "/v1.0/users/ann@contoso.com/translateExchangeIds" {
				t.Fatalf("request %s %s", r.Method, r.URL.Path)
			}
			var sent map[string]any
			if json.Unmarshal(body, &sent) != nil || sent["sourceIdType"] != "restId" || sent["targetIdType"] != "restImmutableEntryId" || len(sent["inputIds"].([]any)) != 2 {
				t.Fatalf("body %s", body)
			}
			if tc.wantFail {
				if err == nil {
					t.Fatalf("no error for %s", tc.body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				if got[i].SourceID != tc.want[i].SourceID || got[i].TargetID != tc.want[i].TargetID ||
					(got[i].ErrorDetails == nil) != (tc.want[i].ErrorDetails == nil) ||
					(got[i].ErrorDetails != nil && *got[i].ErrorDetails != *tc.want[i].ErrorDetails) {
					t.Fatalf("result %d: %+v, want %+v", i, got[i], tc.want[i])
				}
				if (ConvertErr(got[i]) != nil) != tc.wantErrs[i] {
					t.Fatalf("result %d: ConvertErr %v", i, ConvertErr(got[i]))
				}
			}
		})
	}
	t.Run("arguments checked before any request", func(t *testing.T) {
		rec := &recorder{}
		c := newTestClient(t, rec)
		for _, req := range []TranslateRequest{
			{SourceIDType: IDFormatEWS, TargetIDType: IDFormatREST},
			{InputIDs: slices.Repeat([]string{"x"}, MaxTranslateIDs+1), SourceIDType: IDFormatEWS, TargetIDType: IDFormatREST},
			{InputIDs: []string{"x"}},
		} {
			if _, err := c.TranslateExchangeIDs(bg, "u", req); err == nil {
				t.Fatalf("no error for %d ids", len(req.InputIDs))
			}
		}
		if len(rec.reqs) != 0 {
			t.Fatalf("%d requests sent", len(rec.reqs))
		}
	})
}
