package cloudtrail

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

// BenchmarkDecode decodes every real CloudTrail record, EventBridge-wrapped, on one
// goroutine without HTTP or base64: the record-decoding share of the receiver's cost. The
// encoding/json case is the baseline the JSON machinery was chosen against: the standard
// library into map[string]any, then pcommon.Map.FromRaw (and it is not even lossless).
func BenchmarkDecode(b *testing.B) {
	var events [][]byte
	total := 0
	for _, rec := range realRecords(b) {
		ev, err := replay.EventBridgeEvent(rec)
		require.NoError(b, err)
		events = append(events, ev)
		total += len(ev)
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events))/1000, "µs/event")
		b.ReportMetric(float64(b.N*len(events)), "events")
	}
	bufs := make([][]byte, len(events))
	for _, raw := range []bool{false, true} {
		b.Run("ours/body_format="+map[bool]string{false: "map", true: "raw"}[raw], func(b *testing.B) {
			d := NewDecoder(Options{RawBody: raw})
			b.ReportAllocs()
			b.SetBytes(int64(total))
			for b.Loop() {
				for i, e := range events {
					bufs[i] = append(bufs[i][:0], e...)
				}
				d.Begin(Request{Received: time.Unix(1, 0)})
				for i, buf := range bufs {
					d.AddRecord(i, buf)
				}
				d.Finish()
			}
			report(b)
		})
	}
	b.Run("encoding/json+FromRaw", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(total))
		for b.Loop() {
			logs := plog.NewLogs()
			lrs := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			for _, e := range events {
				var env struct {
					Detail map[string]any `json:"detail"`
				}
				dec := json.NewDecoder(bytes.NewReader(e))
				dec.UseNumber()
				if err := dec.Decode(&env); err != nil {
					b.Fatal(err)
				}
				_ = lrs.AppendEmpty().Body().SetEmptyMap().FromRaw(env.Detail)
			}
		}
		report(b)
	})
}
