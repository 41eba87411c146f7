package localstorageexporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkConsumeLogs stores the 461 Panther CloudTrail records as one batch per operation;
// the bytes per operation are the records' JSON text.
func BenchmarkConsumeLogs(b *testing.B) {
	records := loadRecords(b, "panther-analysis-cloudtrail.ndjson")
	var size int64
	for _, r := range records {
		size += int64(len(r.raw))
	}
	// As one account's trail sends them: one account, region and day, hence one file.
	onePartition := make([]sourceRecord, len(records))
	for i, r := range records {
		r.account, r.region, r.eventTime = "123456789012", "us-east-1", observedTime
		onePartition[i] = r
	}
	cases := []struct {
		name    string
		format  Format
		records []sourceRecord
		raw     bool
		fsync   bool
	}{
		{name: "format=cloudtrail/files=1/body=map/fsync=true", format: FormatCloudTrail, records: onePartition, fsync: true},
		{name: "format=cloudtrail/files=1/body=map/fsync=false", format: FormatCloudTrail, records: onePartition},
		{name: "format=cloudtrail/files=1/body=raw/fsync=false", format: FormatCloudTrail, records: onePartition, raw: true},
		{name: "format=cloudtrail/files=88/body=map/fsync=true", format: FormatCloudTrail, records: records, fsync: true},
		{name: "format=cloudtrail/files=88/body=map/fsync=false", format: FormatCloudTrail, records: records},
		{name: "format=otlp_json/files=1/body=map/fsync=true", format: FormatOTLPJSON, records: records, fsync: true},
		{name: "format=otlp_json/files=1/body=map/fsync=false", format: FormatOTLPJSON, records: records},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			cfg := testConfig(b, func(c *Config) {
				c.Format = bc.format
				c.Fsync = bc.fsync
			})
			e := startTestExporter(b, cfg, hooks{})
			ld := buildLogs(b, bc.records, bc.raw)
			ld.MarkReadOnly()
			ctx := context.Background()
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if err := e.consumeLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var written int64
			for _, af := range e.archive.open {
				written += af.size
			}
			for _, f := range listFiles(b, cfg.Directory) {
				if info, err := os.Stat(filepath.Join(cfg.Directory, f)); err == nil && !strings.HasSuffix(f, partialSuffix) {
					written += info.Size()
				}
			}
			b.ReportMetric(float64(size*int64(b.N))/float64(written), "compression")
		})
	}
}
