package cloudtrail

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// BenchmarkHostileBigObject decodes a record whose requestParameters is one object of 200,000
// members (past bigObject, where bigObjectMembers takes over), of scalars or of small
// containers: hostile input, which must stay linear and within pdata's own memory cost.
func BenchmarkHostileBigObject(b *testing.B) {
	for _, member := range []string{`1`, `"s"`, `[{"a":1}]`, `{"a":{"b":[1]}}`} {
		var in bytes.Buffer
		in.WriteString(`{"eventVersion":"1.08","eventName":"A","requestParameters":{`)
		for i := range 200_000 {
			if i > 0 {
				in.WriteByte(',')
			}
			fmt.Fprintf(&in, `"k%d":%s`, i, member)
		}
		in.WriteString(`}}`)
		b.Run(member, func(b *testing.B) {
			b.SetBytes(int64(in.Len()))
			b.ReportAllocs()
			d := NewDecoder(Options{})
			for b.Loop() {
				d.Begin(Request{RequestID: "r", Received: time.Unix(1700000000, 0)})
				d.AddRecord(0, bytes.Clone(in.Bytes()))
				d.Finish()
			}
		})
	}
}
