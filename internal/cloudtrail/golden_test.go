package cloudtrail

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

// TestMappingGolden pins the whole mapping of a representative set of real records: an
// EventBridge API call, a console sign-in with MFA, an Insight, an error, a service event
// without a userIdentity type, an S3 data event through CloudWatch Logs, a non-CloudTrail
// event and an invalid record. Regenerate with UPDATE_GOLDEN=1.
func TestMappingGolden(t *testing.T) {
	eb := readLines(t, "eventbridge-cloudtrail-cloud-custodian.ndjson")
	otel := readLines(t, "otel-contrib-awslogsencoding-cloudtrail.ndjson")
	other := readLines(t, "eventbridge-non-cloudtrail-cloud-custodian.ndjson")
	cwl, err := os.ReadFile(filepath.Join(testdataDir, "cloudwatch-logs-subscription-cloudtrail-otel.ndjson"))
	require.NoError(t, err)
	records := [][]byte{eb[0], otel[3], otel[4], otel[5], otel[6], replay.Gzip(cwl), other[0], []byte("not json")}

	for _, tc := range []struct {
		name string
		raw  bool
	}{{"map", false}, {"raw", true}} {
		t.Run("body_format "+tc.name, func(t *testing.T) {
			logs, _ := decodeAll(t, Options{RawBody: tc.raw, ScopeName: "golden", ScopeVersion: "test"}, records...)
			file := filepath.Join("testdata", "golden-"+tc.name+".yaml")
			if os.Getenv("UPDATE_GOLDEN") != "" {
				require.NoError(t, golden.WriteLogs(t, file, logs))
			}
			want, err := golden.ReadLogs(file)
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(want, logs))
		})
	}
}
