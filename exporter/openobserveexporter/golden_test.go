package openobserveexporter

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRowsMatchGoldenFiles pins the exact rows sent for the real EventBridge and CloudWatch
// Logs events. Regenerate with UPDATE_GOLDEN=1 after an intended change, and review the diff.
func TestRowsMatchGoldenFiles(t *testing.T) {
	cfg := testConfig()
	wideWindow(cfg)
	e := newTestLogsExporter(t, cfg)
	for _, tt := range []struct{ path, golden string }{
		{"eventbridge", "eventbridge.rows.ndjson"},
		{"cloudwatch", "cloudwatch.rows.ndjson"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			for _, raw := range []bool{false, true} {
				rows := encodeRows(t, e, buildLogs(t, allRealRecords(t)[tt.path], buildOptions{raw: raw}))
				got := append(bytes.Join(rows, []byte("\n")), '\n')
				file := filepath.Join("testdata", "golden", tt.golden)
				if os.Getenv("UPDATE_GOLDEN") != "" && !raw {
					require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
					require.NoError(t, os.WriteFile(file, got, 0o644))
				}
				want, err := os.ReadFile(file)
				require.NoError(t, err)
				assert.Equal(t, string(want), string(got), "raw body: %v", raw)
			}
		})
	}
}
