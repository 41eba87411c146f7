package replay

import (
	"bytes"
	"os"
	"testing"
	"time"
)

func benchmarkRecords(b *testing.B) ([][]byte, int64) {
	records := ndjsonRecords(b, otelRecordsFile)
	var n int64
	for _, r := range records {
		n += int64(len(r))
	}
	return records, n
}

func BenchmarkEventBridgeEvent(b *testing.B) {
	records, n := benchmarkRecords(b)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range records {
			if _, err := EventBridgeEvent(r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCloudWatchLogsPayload(b *testing.B) {
	records, n := benchmarkRecords(b)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CloudWatchLogsPayload(records, CloudWatchOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRequestBody(b *testing.B) {
	records, n := benchmarkRecords(b)
	id, now := newUUID(), time.Now()
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		RequestBody(id, now, records)
	}
}

func BenchmarkReadEvents(b *testing.B) {
	raw, err := os.ReadFile(plasoRecordsFile)
	if err != nil {
		b.Fatal(err)
	}
	zipped := Gzip(raw)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ReadEvents(bytes.NewReader(zipped), "b", func(Event) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
