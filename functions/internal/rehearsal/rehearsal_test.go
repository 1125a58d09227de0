package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/mailbridge/mailbridge/functions/internal/apifn"
	"github.com/mailbridge/mailbridge/functions/internal/calendarwriterfn"
	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/functions/internal/schedulerfn"
	"github.com/mailbridge/mailbridge/functions/internal/syncworkerfn"
	"github.com/mailbridge/mailbridge/shared/app"
	"github.com/mailbridge/mailbridge/shared/aws/sfnretry"
	"github.com/mailbridge/mailbridge/shared/domain"
	"github.com/mailbridge/mailbridge/shared/exchange/ewssim"
	"github.com/mailbridge/mailbridge/shared/platform/config"
	"github.com/mailbridge/mailbridge/shared/platform/urlguard"
	"github.com/mailbridge/mailbridge/shared/testsupport/standin"
)

func TestMain(m *testing.M) { standin.Main(m) }

// The stage whose functions are run; the other stage of samconfig.toml
// must be left untouched by them.
const (
	stageRun   = "dev"
	stageOther = "prod"
)

// The deploy rehearsal: the template's stacks on moto's CloudFormation,
// then the functions' handlers, in-process, each with the environment
// CloudFormation resolved for it, against the resources the stack created:
// a tenant onboarded through the api handler, one scheduler tick whose
// jobs land on the stack's sync queue, one sync worker batch made of the
// messages received from that queue that fills the stack's table, and a
// calendar write that Exchange fails once, which starts an execution of the
// stack's state machine with the retry time the rule computes from the
// event's start. A resource or variable the template lost fails it, named.
func TestRehearsal(t *testing.T) {
	began := time.Now()
	moto := standin.Moto(t)
	rep := createStacks(t, moto)
	stacksTook := time.Since(began)
	st, other := rep.stage(t, stageRun), rep.stage(t, stageOther)
	cfg := rep.awsConfig(moto)
	rep.pointSDKAt(t, moto)

	// What the stack created, and what each function's environment names.
	table := st.resource(t, "Table", "AWS::DynamoDB::Table")
	syncQueue := st.resource(t, "SyncJobsQueue", "AWS::SQS::Queue")
	calendarQueue := st.resource(t, "CalendarWritesQueue", "AWS::SQS::Queue")
	machine := st.resource(t, "CalendarRetryStateMachine", "AWS::StepFunctions::StateMachine")
	secretsKey := st.resource(t, "SecretsKey", "AWS::KMS::Key")
	apiFn, schedFn, workerFn, writerFn := st.function(t, "ApiFunction"), st.function(t, "SchedulerFunction"), st.function(t, "SyncWorkerFunction"), st.function(t, "CalendarWriterFunction")
	for _, c := range []struct {
		fn        function
		v, target string
	}{
		{apiFn, "MAILBRIDGE_TABLE", table}, {schedFn, "MAILBRIDGE_TABLE", table}, {workerFn, "MAILBRIDGE_TABLE", table}, {writerFn, "MAILBRIDGE_TABLE", table},
		{apiFn, "MAILBRIDGE_CALENDAR_QUEUE_URL", calendarQueue},
		{schedFn, "MAILBRIDGE_SYNC_QUEUE_URL", syncQueue}, {workerFn, "MAILBRIDGE_SYNC_QUEUE_URL", syncQueue},
		{writerFn, "MAILBRIDGE_CALENDAR_RETRY_STATE_MACHINE_ARN", machine},
	} {
		if got := c.fn.env(t, c.v); got != c.target {
			t.Fatalf("%s: %s=%q, not the stack's resource %q", c.fn.Name, c.v, got, c.target)
		}
	}
	// moto's CloudFormation created the table in moto's DynamoDB (not in
	// DynamoDB Local), so the functions use moto's.
	db := dynamodb.NewFromConfig(cfg)
	if _, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)}); err != nil {
		t.Fatalf("table %s is not in moto's DynamoDB: %v", table, err)
	}

	// Exchange: the EWS simulator, three mailboxes with mail, calendar and
	// contacts, a service account that may impersonate them.
	sim := ewssim.New(ewssim.Options{Seed: 11})
	ds, err := sim.Generate(ewssim.GenOptions{Mailboxes: 3, ItemsPerMailbox: 4, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	ewsURL := standin.EWS(t, sim)

	// The one setting the template cannot give: the simulator listens on
	// loopback over http, which the deployment's URL policy refuses (as it
	// must), so the handlers get the local run's dev policy instead.
	dev := func(e *lambdaenv.Env) {
		e.URLPolicy = urlguard.Policy{DevLoopback: true}
		e.Log = slog.New(slog.NewJSONHandler(t.Output(), nil))
	}
	ctx := context.Background()
	api, err := apifn.New(ctx, config.New(config.Map(apiFn.Environment)), dev)
	refused(t, apiFn, err)
	tick, err := schedulerfn.New(ctx, config.New(config.Map(schedFn.Environment)), dev)
	refused(t, schedFn, err)
	worker, err := syncworkerfn.New(ctx, config.New(config.Map(workerFn.Environment)), dev)
	refused(t, workerFn, err)
	writer, err := calendarwriterfn.New(ctx, config.New(config.Map(writerFn.Environment)), dev)
	refused(t, writerFn, err)

	op := caller{account: accountOf(t, syncQueue), accessKey: "ASIAEXAMPLEREHEARSAL"}
	op.arn = "arn:aws:sts::" + op.account + ":assumed-role/mailbridge-onboarding/rehearsal"
	call := func(t *testing.T, method, resource, path, query, body string, want int) map[string]any {
		t.Helper()
		resp, err := api(invokeContext(t, apiFn), apiEvent(t, stageRun, op, method, resource, path, query, body))
		if err != nil {
			t.Fatalf("%s %s: handler error %v", method, path, err)
		}
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, resp.Body, want)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &out); resp.Body != "" && err != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, path, resp.Body)
		}
		return out
	}

	t.Run("api onboards a tenant", func(t *testing.T) {
		cred, err := domain.MarshalCredential(domain.Credential{Kind: domain.AuthBasic, Username: ds.Account.Username, Password: ds.Account.Password})
		if err != nil {
			t.Fatal(err)
		}
		call(t, "POST", "/tenants", "/tenants", "", fmt.Sprintf(`{"id":"acme","displayName":"Acme","ewsUrl":%q,"accessMode":"impersonation","syncIntervalSeconds":60,"credentials":%s}`, ewsURL, cred), 201)
		var boxes []string
		for _, m := range ds.Mailboxes {
			boxes = append(boxes, fmt.Sprintf(`{"address":%q}`, m))
		}
		call(t, "POST", "/tenants/{id}/mailboxes", "/tenants/acme/mailboxes", "", `{"mailboxes":[`+strings.Join(boxes, ",")+`]}`, 200)
		v := call(t, "POST", "/tenants/{id}/verify", "/tenants/acme/verify", "", "", 200)
		if sum, _ := v["summary"].(map[string]any); sum["ok"] != float64(len(ds.Mailboxes)) || len(sum) != 1 {
			t.Errorf("verify against the simulator: summary %v, want all %d mailboxes ok", v["summary"], len(ds.Mailboxes))
		}
		// The credential is in the stack's Secrets Manager, under the
		// stage's name, encrypted with the stack's key.
		sm := secretsmanager.NewFromConfig(cfg)
		sec, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("mailbridge/" + stageRun + "/tenants/acme")})
		if err != nil {
			t.Fatalf("the tenant's secret: %v", err)
		}
		if key := apiFn.env(t, "MAILBRIDGE_SECRETS_KMS_KEY"); aws.ToString(sec.KmsKeyId) != key || !strings.HasSuffix(key, "/"+secretsKey) {
			t.Errorf("the secret is encrypted with %q; want the stack's key %s, as MAILBRIDGE_SECRETS_KMS_KEY (%s) names it", aws.ToString(sec.KmsKeyId), secretsKey, key)
		}
	})

	q := sqs.NewFromConfig(cfg)
	t.Run("scheduler tick puts the jobs on the stack's sync queue", func(t *testing.T) {
		sch, ok := st.Schedules["SchedulerFunctionTick"]
		if !ok || sch.Function != "SchedulerFunction" {
			t.Fatalf("the template has no schedule invoking SchedulerFunction: %+v", st.Schedules)
		}
		// EventBridge Scheduler sends the target's Input with its context
		// attributes filled in.
		input := strings.ReplaceAll(sch.Input, "<aws.scheduler.scheduled-time>", time.Now().UTC().Truncate(time.Minute).Format(time.RFC3339))
		sum, err := tick(invokeContext(t, schedFn), json.RawMessage(input))
		if err != nil {
			t.Fatalf("tick: %v", err)
		}
		if sum.TenantsDue != 1 || sum.Mailboxes != len(ds.Mailboxes) || sum.Enqueued != len(ds.Mailboxes) {
			t.Fatalf("tick %+v, want 1 tenant due and its %d mailboxes enqueued", sum, len(ds.Mailboxes))
		}
	})

	var jobs []types.Message
	changes := 0
	t.Run("sync worker syncs the batch received from the queue into the table", func(t *testing.T) {
		jobs = receive(t, q, syncQueue, workerFn.mapping(t, rep.Region, syncQueue).BatchSize)
		var named []string
		for _, m := range jobs {
			var job struct{ Mailboxes []string }
			if err := json.Unmarshal([]byte(*m.Body), &job); err != nil {
				t.Fatalf("job %s: %v", *m.Body, err)
			}
			named = append(named, job.Mailboxes...)
		}
		if slices.Sort(named); !slices.Equal(named, slices.Sorted(slices.Values(ds.Mailboxes))) {
			t.Fatalf("the queue's jobs name %v, want %v (bodies: %v)", named, ds.Mailboxes, bodies(jobs))
		}
		resp, err := worker(invokeContext(t, workerFn), sqsEvent(t, rep.Region, queueARN(t, rep.Region, syncQueue), jobs))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("sync batch: %+v, %v", resp, err)
		}
		// Every mailbox's feed, read back through the api, holds what
		// Exchange has.
		for _, m := range ds.Mailboxes {
			want := 0
			for _, f := range domain.DefaultFolders {
				items, err := sim.ListItems(m, f)
				if err != nil {
					t.Fatal(err)
				}
				want += len(items)
			}
			page := call(t, "GET", "/tenants/{id}/mailboxes/{address}/changes", "/tenants/acme/mailboxes/"+url.PathEscape(m)+"/changes", "limit=200", "", 200)
			feed, _ := page["changes"].([]any)
			if want == 0 || len(feed) != want {
				t.Errorf("%s: the feed holds %d changes, Exchange %d items", m, len(feed), want)
			}
			changes += len(feed)
		}
	})

	var execution, retryAt string
	t.Run("a calendar write that fails starts the stack's state machine", func(t *testing.T) {
		// Exchange fails the write once, with a transient error.
		sim.InjectFault(ewssim.Fault{Op: "CreateItem", Kind: ewssim.FaultSOAP, Code: "ErrorMailboxStoreUnavailable", Count: 1})
		mailbox := ds.Mailboxes[0]
		start := time.Now().UTC().Add(10 * time.Hour).Truncate(time.Minute)
		accepted := call(t, "POST", "/tenants/{id}/mailboxes/{address}/events", "/tenants/acme/mailboxes/"+url.PathEscape(mailbox)+"/events", "",
			fmt.Sprintf(`{"clientEventId":"trip-42","subject":"Flight to Oslo","start":%q,"end":%q}`, start.Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339)), 202)
		requestID, _ := accepted["requestId"].(string)
		if requestID == "" {
			t.Fatalf("no request id in %v", accepted)
		}
		msgs := receive(t, q, calendarQueue, writerFn.mapping(t, rep.Region, calendarQueue).BatchSize)
		ev := sqsEvent(t, rep.Region, queueARN(t, rep.Region, calendarQueue), msgs)
		raw, _ := json.Marshal(ev)
		before := time.Now()
		out, err := writer(invokeContext(t, writerFn), raw)
		after := time.Now()
		if resp, ok := out.(events.SQSEventResponse); err != nil || !ok || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("calendar writer: %+v, %v", out, err)
		}
		// One execution of the stack's state machine, named after the
		// request and its first retry, whose input waits until the time
		// the calendar retry rule gives for a failure between before and
		// after: half-way to the event's start, 10 hours out.
		sf := sfn.NewFromConfig(cfg)
		list, err := sf.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Executions) != 1 || aws.ToString(list.Executions[0].Name) != sfnretry.ExecutionName(requestID, 1) {
			t.Fatalf("executions of %s: %+v, want one named %s", machine, list.Executions, sfnretry.ExecutionName(requestID, 1))
		}
		exec, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: list.Executions[0].ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		var in sfnretry.Input
		if err := json.Unmarshal([]byte(aws.ToString(exec.Input)), &in); err != nil {
			t.Fatalf("execution input %s: %v", aws.ToString(exec.Input), err)
		}
		at, err := time.Parse(time.RFC3339, in.RetryAt)
		if err != nil {
			t.Fatalf("retryAt %q: %v", in.RetryAt, err)
		}
		earliest := app.NextCalendarRetry(before, start, 0, 0).At.Truncate(time.Second)
		latest := app.NextCalendarRetry(after, start, 0, 0).At.Add(time.Second)
		if in.Request.ID != requestID || in.Request.Mailbox != mailbox || in.Request.ClientEventID != "trip-42" || in.RetriesDone != 1 ||
			at.Before(earliest) || at.After(latest) {
			t.Errorf("execution input %s; want request %s for %s, retry 1, retryAt between %s and %s",
				aws.ToString(exec.Input), requestID, mailbox, earliest.Format(time.RFC3339), latest.Format(time.RFC3339))
		}
		execution, retryAt = aws.ToString(exec.Name), in.RetryAt
	})

	t.Run("the room-release schedule declines a no-show as the room", func(t *testing.T) {
		sch, ok := st.Schedules["CalendarWriterFunctionRoomRelease"]
		if !ok || sch.Function != "CalendarWriterFunction" {
			t.Fatalf("the template has no room-release schedule invoking CalendarWriterFunction: %+v", st.Schedules)
		}
		// A mailbox of the tenant stands in for a room: a policy may list
		// any address; the simulator's impersonation scope covers it.
		room, organizer := ds.Mailboxes[1], ds.Mailboxes[2]
		now := time.Now().UTC().Truncate(time.Minute)
		if _, err := sim.AddItem(room, "calendar", ewssim.Item{Kind: ewssim.KindCalendar, Subject: "No-show", Start: now.Add(-20 * time.Minute), End: now.Add(40 * time.Minute),
			Organizer: ewssim.Address{Email: organizer}, Attendees: []ewssim.Address{{Email: room}}}); err != nil {
			t.Fatal(err)
		}
		call(t, "PATCH", "/tenants/{id}", "/tenants/acme", "", fmt.Sprintf(`{"roomPolicy":{"enabled":true,"rooms":[%q],"checkInMinutes":10}}`, room), 200)
		input := strings.ReplaceAll(sch.Input, "<aws.scheduler.scheduled-time>", now.Format(time.RFC3339))
		out, err := writer(invokeContext(t, writerFn), json.RawMessage(input))
		if sum, ok := out.(app.ReleaseSummary); err != nil || !ok || sum.Released != 1 || sum.Failed != 0 {
			t.Fatalf("room release: %+v, %v", out, err)
		}
		if rs := sim.Responses(); len(rs) != 1 || rs[0].Kind != "DeclineItem" || len(rs[0].To) != 1 || rs[0].To[0] != organizer {
			t.Errorf("responses sent %+v, want the room's decline to %s", rs, organizer)
		}
		audit := call(t, "GET", "/tenants/{id}/audit", "/tenants/acme/audit", "", "", 200)
		released := false
		for _, a := range audit["entries"].([]any) {
			released = released || strings.HasPrefix(a.(map[string]any)["operation"].(string), "room.release")
		}
		if !released {
			t.Error("the release is not in the tenant's audit trail")
		}
	})

	archived := 0
	t.Run("archive export writes a new message's MIME to the stack's bucket", func(t *testing.T) {
		bucket := st.resource(t, "ArchiveBucket", "AWS::S3::Bucket")
		if got := workerFn.env(t, "MAILBRIDGE_ARCHIVE_BUCKET"); got != bucket {
			t.Fatalf("MAILBRIDGE_ARCHIVE_BUCKET=%q, not the stack's bucket %q", got, bucket)
		}
		s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		// What the template asks of the bucket, as moto's CloudFormation made it.
		enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
		if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 ||
			enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms {
			t.Errorf("the archive bucket's default encryption: %+v, %v; want aws:kms", enc, err)
		}
		// moto's CloudFormation leaves out the lifecycle rule and the public
		// access block: shared/testsupport/deploytest checks them in the
		// template (TestArchiveBucketIsPrivateEncryptedAndExpires).

		mailbox := ds.Mailboxes[0]
		on := call(t, "PATCH", "/tenants/{id}", "/tenants/acme", "", `{"archive":{"enabled":true}}`, 200)
		since, err := time.Parse(time.RFC3339Nano, fmt.Sprint(on["archive"].(map[string]any)["since"]))
		if err != nil {
			t.Fatalf("archive since in %v: %v", on["archive"], err)
		}
		ref, err := sim.AddItem(mailbox, "inbox", ewssim.Item{Subject: "Invoice 2207", Received: since.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		job, _ := json.Marshal(domain.SyncJob{TenantID: "acme", Mailbox: mailbox, ID: "archive-rehearsal", Tick: time.Now().UTC().Truncate(time.Minute)})
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(syncQueue), MessageBody: aws.String(string(job)),
			MessageGroupId: aws.String("acme#" + mailbox), MessageDeduplicationId: aws.String("archive-rehearsal")}); err != nil {
			t.Fatal(err)
		}
		msgs := receive(t, q, syncQueue, workerFn.mapping(t, rep.Region, syncQueue).BatchSize)
		// A worker started now: a warm one keeps the tenant it read for a
		// minute (app.DefaultTenantCacheTTL), which since allows for.
		fresh, err := syncworkerfn.New(ctx, config.New(config.Map(workerFn.Environment)), dev)
		refused(t, workerFn, err)
		resp, err := fresh(invokeContext(t, workerFn), sqsEvent(t, rep.Region, queueARN(t, rep.Region, syncQueue), msgs))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("sync batch: %+v, %v", resp, err)
		}
		page := call(t, "GET", "/tenants/{id}/mailboxes/{address}/changes", "/tenants/acme/mailboxes/"+url.PathEscape(mailbox)+"/changes", "limit=200", "", 200)
		key := ""
		for _, c := range page["changes"].([]any) {
			if c.(map[string]any)["itemId"] == ref.ID {
				item, _ := c.(map[string]any)["item"].(map[string]any)
				key, _ = item["archiveKey"].(string)
			}
		}
		if key != domain.ArchiveKey("acme", mailbox, ref.ID) {
			t.Fatalf("the new message's feed entry names archive key %q, want %q", key, domain.ArchiveKey("acme", mailbox, ref.ID))
		}
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("the archived object %s: %v", key, err)
		}
		defer obj.Body.Close()
		got, err := io.ReadAll(obj.Body)
		want, werr := sim.MIMEOf(ref.ID)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Fatalf("the archived object holds %d bytes (%v), Exchange's MIME %d (%v)", len(got), err, len(want), werr)
		}
		if obj.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms {
			t.Errorf("the archived object is encrypted with %q, want aws:kms", obj.ServerSideEncryption)
		}
		list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil || len(list.Contents) != 1 {
			t.Errorf("the bucket holds %d objects (%v), want only the new message (older mail is not archived)", len(list.Contents), err)
		}
		archived = len(list.Contents)
	})

	// Offboarding deletes the tenant's archive: the api function lists and
	// deletes the prefix <tenant>/ in the same bucket, with its own role.
	offboarded := "kept (no offboarding)"
	t.Run("offboarding deletes the tenant's archived messages from the stack's bucket", func(t *testing.T) {
		bucket := st.resource(t, "ArchiveBucket", "AWS::S3::Bucket")
		if got := apiFn.env(t, "MAILBRIDGE_ARCHIVE_BUCKET"); got != bucket {
			t.Fatalf("api function: MAILBRIDGE_ARCHIVE_BUCKET=%q, not the stack's bucket %q", got, bucket)
		}
		s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		left := func() int {
			list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("acme/")})
			if err != nil {
				t.Fatal(err)
			}
			return len(list.Contents)
		}
		if n := left(); n == 0 {
			t.Fatal("nothing archived under acme/ before the offboarding (the archive step failed?)")
		}
		call(t, "DELETE", "/tenants/{id}", "/tenants/acme", "", "", 204)
		if n := left(); n != 0 {
			t.Errorf("%d objects left under acme/ after the offboarding", n)
		}
		call(t, "DELETE", "/tenants/{id}", "/tenants/acme", "", "", 404) // sent again: gone
		offboarded = "then deleted by the offboarding"
	})

	t.Run("the other stage is untouched", func(t *testing.T) {
		for _, id := range []string{"SyncJobsQueue", "CalendarWritesQueue"} {
			u := other.resource(t, id, "AWS::SQS::Queue")
			a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			if err != nil {
				t.Fatal(err)
			}
			if a.Attributes["ApproximateNumberOfMessages"] != "0" || a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
				t.Errorf("stage %s's %s holds messages: %v", stageOther, id, a.Attributes)
			}
		}
		scan, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(other.resource(t, "Table", "AWS::DynamoDB::Table")), Select: "COUNT"})
		if err != nil {
			t.Fatal(err)
		}
		if scan.Count != 0 {
			t.Errorf("stage %s's table holds %d items", stageOther, scan.Count)
		}
	})
	if !t.Failed() {
		// make test prints this line (scripts/test.sh greps it).
		fmt.Printf("deploy %s (%.1f s with moto's start)\ndeploy rehearsal: stage %s's handlers on its resources: 1 tenant onboarded through the api, %d mailboxes enqueued by a tick, "+
			"synced by a worker batch of %d message(s) (%d changes in the feed), a failed calendar write started execution %s (retry at %s), %d new message archived to the stack's bucket, %s; stage %s untouched (%.1f s)\n",
			rep.summary, stacksTook.Seconds(), stageRun, len(ds.Mailboxes), len(jobs), changes, execution, retryAt, archived, offboarded, stageOther, time.Since(began.Add(stacksTook)).Seconds())
	}
}

// refused fails the test when f would not start with its environment.
func refused(t *testing.T, f function, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s refuses to start with the template's environment: %v", f.Name, err)
	}
}

// receive takes up to batch messages from the queue at queueURL, as
// Lambda's event source mapping polls them (with their system attributes).
func receive(t *testing.T, q *sqs.Client, queueURL string, batch int32) []types.Message {
	t.Helper()
	var out []types.Message
	for range 3 {
		r, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: batch - int32(len(out)), WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receiving from %s: %v", queueURL, err)
		}
		out = append(out, r.Messages...)
		if len(out) == int(batch) || len(out) > 0 && len(r.Messages) == 0 {
			break
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no message", queueURL)
	}
	return out
}

func bodies(msgs []types.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, aws.ToString(m.Body))
	}
	return out
}

// accountOf is the account in an SQS queue URL.
func accountOf(t *testing.T, queueURL string) string {
	t.Helper()
	u, err := url.Parse(queueURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.Trim(u.Path, "/"), "/")[0]
}
