// Package emf writes CloudWatch Embedded Metric Format lines: a JSON line on
// a Lambda's stdout that CloudWatch turns into metrics, with no API call.
// Every Mailbridge metric has the Stage as its only dimension: a per-tenant
// or per-mailbox dimension would make each combination a billed custom
// metric, so ids go to log fields instead.
package emf

import (
	"encoding/json"
	"io"
	"time"
)

// Namespace is the CloudWatch namespace of Mailbridge's metrics (the
// template's alarms and dashboard name it too).
const Namespace = "Mailbridge"

// Metric is one count.
type Metric struct {
	Name  string
	Value int
}

// Write writes one EMF line with the metrics, all of unit Count, at at.
// A failed write is ignored: metrics must not fail the invocation.
func Write(out io.Writer, stage string, at time.Time, metrics ...Metric) {
	type def struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	doc := map[string]any{"Stage": stage}
	defs := make([]def, len(metrics))
	for i, m := range metrics {
		defs[i] = def{Name: m.Name, Unit: "Count"}
		doc[m.Name] = m.Value
	}
	doc["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"Stage"}},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return
	}
	_, _ = out.Write(append(b, '\n'))
}
