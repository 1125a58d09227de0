package deploytest

import (
	"strings"
	"testing"
)

// The archive bucket (archive export) holds whole messages: it is
// encrypted with the stack's archive key, closed to the public, reached
// over TLS only, and its objects expire after ArchiveRetentionDays
// (incomplete uploads after a day). moto's CloudFormation does not apply
// the lifecycle rule or the public access block, so they are checked here.
func TestArchiveBucketIsPrivateEncryptedAndExpires(t *testing.T) {
	tpl := Transformed(t)
	b, ok := tpl.Resources["ArchiveBucket"]
	if !ok || b.Type != "AWS::S3::Bucket" {
		t.Fatal("the template has no ArchiveBucket")
	}
	p := b.Properties
	rules, _ := path(p, "BucketEncryption", "ServerSideEncryptionConfiguration").([]any)
	if len(rules) != 1 || path(rules[0], "ServerSideEncryptionByDefault", "SSEAlgorithm") != "aws:kms" ||
		jsonOf(Refs(path(rules[0], "ServerSideEncryptionByDefault", "KMSMasterKeyID"))) != `["ArchiveKey"]` {
		t.Errorf("encryption %s; want aws:kms with ArchiveKey", jsonOf(path(p, "BucketEncryption")))
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if path(p, "PublicAccessBlockConfiguration", k) != true {
			t.Errorf("PublicAccessBlockConfiguration.%s is not true", k)
		}
	}
	lc, _ := path(p, "LifecycleConfiguration", "Rules").([]any)
	if len(lc) != 1 || path(lc[0], "Status") != "Enabled" || jsonOf(Refs(path(lc[0], "ExpirationInDays"))) != `["ArchiveRetentionDays"]` ||
		path(lc[0], "AbortIncompleteMultipartUpload", "DaysAfterInitiation") == nil {
		t.Errorf("lifecycle %s; want one enabled rule expiring after ArchiveRetentionDays and aborting incomplete uploads", jsonOf(lc))
	}
	if b.DeletionPolicy != "Retain" {
		t.Errorf("DeletionPolicy %q; want Retain (an archive outlives its stack)", b.DeletionPolicy)
	}
	tls := false
	for _, id := range tpl.OfType("AWS::S3::BucketPolicy") {
		bp := tpl.Resources[id].Properties
		if jsonOf(Refs(path(bp, "Bucket"))) != `["ArchiveBucket"]` {
			continue
		}
		stmts, _ := path(bp, "PolicyDocument", "Statement").([]any)
		for _, s := range stmts {
			if path(s, "Effect") == "Deny" && strings.Contains(jsonOf(path(s, "Condition")), `"aws:SecureTransport":"false"`) {
				tls = true
			}
		}
	}
	if !tls {
		t.Error("no bucket policy denies the archive bucket over plain HTTP")
	}
}
