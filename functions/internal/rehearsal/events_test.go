package rehearsal

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// caller is the IAM identity API Gateway authenticated (AWS_IAM
// authorizer): an operator's role session.
type caller struct {
	account, arn, accessKey string
}

// apiEvent is the event API Gateway sends the api function for a REST API
// proxy integration with IAM auth (the shape of aws-lambda-go's
// events/testdata/apigw-request.json): the raw path, the resource it
// matched, headers in both forms, and the caller's identity in the request
// context. It goes through JSON, as lambda.Start would decode it.
func apiEvent(t *testing.T, stage string, c caller, method, resource, path, query, body string) events.APIGatewayProxyRequest {
	t.Helper()
	headers := map[string]string{"Host": "abc123.execute-api.us-east-1.amazonaws.com", "User-Agent": "rehearsal", "Accept": "application/json"}
	if body != "" {
		headers["Content-Type"] = "application/json"
	}
	multi := map[string][]string{}
	for k, v := range headers {
		multi[k] = []string{v}
	}
	var qs map[string]string
	var mqs map[string][]string
	if query != "" {
		v, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		qs, mqs = map[string]string{}, map[string][]string(v)
		for k, vs := range v {
			qs[k] = vs[len(vs)-1]
		}
	}
	params := map[string]string{}
	rp, pp := strings.Split(resource, "/"), strings.Split(path, "/")
	for i, seg := range rp {
		if strings.HasPrefix(seg, "{") && i < len(pp) {
			params[strings.Trim(seg, "{}")] = pp[i]
		}
	}
	now := time.Now()
	ev := map[string]any{
		"resource": resource, "path": path, "httpMethod": method,
		"headers": headers, "multiValueHeaders": multi,
		"queryStringParameters": qs, "multiValueQueryStringParameters": mqs,
		"pathParameters": params, "stageVariables": nil,
		"requestContext": map[string]any{
			"accountId": c.account, "resourceId": "r3pmxh", "stage": stage,
			"requestId": fmt.Sprintf("c6af9ac6-7b61-11e6-9a41-%012d", now.UnixNano()%1e12),
			"identity": map[string]any{
				"cognitoIdentityPoolId": nil, "accountId": c.account, "cognitoIdentityId": nil,
				"caller": "AROAEXAMPLE:rehearsal", "apiKey": nil, "sourceIp": "203.0.113.7",
				"cognitoAuthenticationType": nil, "cognitoAuthenticationProvider": nil,
				"userArn": c.arn, "userAgent": "rehearsal", "user": "AROAEXAMPLE:rehearsal", "accessKey": c.accessKey,
			},
			"resourcePath": resource, "httpMethod": method, "apiId": "abc123",
			"path": "/" + stage + path, "protocol": "HTTP/1.1",
			"requestTime": now.UTC().Format("02/Jan/2006:15:04:05 -0700"), "requestTimeEpoch": now.UnixMilli(),
		},
		"body": nullable(body), "isBase64Encoded": false,
	}
	return roundTrip[events.APIGatewayProxyRequest](t, ev)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// sqsEvent is the event Lambda's event source mapping delivers for the
// messages it received from queue queueARN: each message's body, receipt
// handle and system attributes as SQS gave them.
func sqsEvent(t *testing.T, region, queueARN string, msgs []types.Message) events.SQSEvent {
	t.Helper()
	var records []map[string]any
	for _, m := range msgs {
		attrs := map[string]string{}
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		sum := md5.Sum([]byte(*m.Body))
		records = append(records, map[string]any{
			"messageId": *m.MessageId, "receiptHandle": *m.ReceiptHandle, "body": *m.Body,
			"attributes": attrs, "messageAttributes": map[string]any{}, "md5OfBody": hex.EncodeToString(sum[:]),
			"eventSource": "aws:sqs", "eventSourceARN": queueARN, "awsRegion": region,
		})
	}
	return roundTrip[events.SQSEvent](t, map[string]any{"Records": records})
}

// roundTrip encodes v as JSON and decodes it as T, as the Lambda runtime
// hands an event to a handler.
func roundTrip[T any](t *testing.T, v any) T {
	t.Helper()
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// queueARN is the ARN of the queue at url (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME).
func queueARN(t *testing.T, region, queueURL string) string {
	t.Helper()
	u, err := url.Parse(queueURL)
	if err != nil {
		t.Fatalf("%q is not an SQS queue URL: %v", queueURL, err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		t.Fatalf("%q is not an SQS queue URL", queueURL)
	}
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, parts[0], parts[1])
}
