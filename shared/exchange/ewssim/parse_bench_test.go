package ewssim

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParseEnvelope parses the client's own requests (the golden
// requests of shared/exchange/ews) as the simulator does for every call.
func BenchmarkParseEnvelope(b *testing.B) {
	for _, name := range []string{
		"GetItem-message-impersonation", "GetItem-calendar-extended-impersonation",
		"SyncFolderItems-inbox-impersonation", "SyncFolderHierarchy-initial-impersonation",
	} {
		data, err := os.ReadFile(filepath.Join("..", "ews", "testdata", "requests", name+".xml"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, e := parseEnvelope(data); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
