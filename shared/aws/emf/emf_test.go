package emf

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// One line, the Stage the only dimension, each metric declared and valued.
func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	Write(&buf, "prod", time.Unix(1700000000, 0), Metric{"A", 3}, Metric{"B", 0})
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("%q: want one line", buf.String())
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Stage string
		A, B  int
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	cw := doc.AWS.CloudWatchMetrics
	if doc.Stage != "prod" || doc.A != 3 || doc.B != 0 || doc.AWS.Timestamp != 1700000000000 ||
		len(cw) != 1 || cw[0].Namespace != "Mailbridge" || len(cw[0].Dimensions) != 1 || cw[0].Dimensions[0][0] != "Stage" ||
		len(cw[0].Metrics) != 2 || cw[0].Metrics[1].Name != "B" || cw[0].Metrics[1].Unit != "Count" {
		t.Fatalf("EMF line %s", buf.String())
	}
}
