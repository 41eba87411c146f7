package openobserveexporter

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/pdata/plog"
)

// benchCorpus is every real CloudTrail event of testdata (473), as the receiver delivers them.
func benchCorpus(b *testing.B, raw bool) (plog.Logs, int, int64) {
	var records []testRecord
	var size int64
	for _, name := range []string{"eventbridge", "cloudwatch", "bare"} {
		for _, rec := range allRealRecords(b)[name] {
			records = append(records, rec)
			size += int64(len(rec.json))
		}
	}
	return buildLogs(b, records, buildOptions{raw: raw}), len(records), size
}

// BenchmarkFlattenEncode measures the exporter's path from plog.Logs to request bodies:
// flattening, JSON encoding, column and size accounting, batching. One op is one push of the
// 473 real events; the HTTP round trip is replaced by a stub that accepts everything.
// Variants add the compression the request would get.
func BenchmarkFlattenEncode(b *testing.B) {
	cases := []struct {
		name        string
		raw         bool
		compression configcompression.Type
		level       configcompression.Level
	}{
		{"map_body", false, compressionNone, 0},
		{"raw_body", true, compressionNone, 0},
		{"map_body+gzip1", false, configcompression.TypeGzip, 1},
		{"map_body+gzip6", false, configcompression.TypeGzip, 6},
		{"map_body+zstd_fastest", false, configcompression.TypeZstd, 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ld, n, size := benchCorpus(b, c.raw)
			cfg := testConfig()
			wideWindow(cfg)
			cfg.Compression = c.compression
			cfg.CompressionParams.Level = c.level
			e := newTestLogsExporter(b, cfg)
			var wire, body int64
			e.post = func(_ context.Context, _ *batch, payload []byte, rows int) sendResult {
				out, _, release := e.compressor.compress(payload)
				if c.compression != compressionNone {
					wire += int64(len(out))
				}
				body += int64(len(payload))
				release()
				return sendResult{kind: resultStored, stored: rows}
			}
			ctx := context.Background()
			require.NoError(b, e.pushLogs(ctx, ld))
			wire, body = 0, 0
			b.SetBytes(size)
			b.ReportAllocs()
			cpuBefore := processCPU()
			b.ResetTimer()
			for b.Loop() {
				if err := e.pushLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// CPU time, unlike wall time, does not grow when other jobs share the cores; it
			// includes the garbage collector's work on other threads.
			cpuPerEvent := float64(processCPU()-cpuBefore) / float64(b.N) / float64(n)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/event")
			b.ReportMetric(cpuPerEvent, "cpu-ns/event")
			b.ReportMetric(1e9/cpuPerEvent, "events/cpu-s")
			if c.compression != compressionNone {
				b.ReportMetric(float64(body)/float64(wire), "ratio")
			}
		})
	}
}

// BenchmarkCompressParallel compresses one request body (the 473 real events, encoded as the
// exporter sends them) from every P at once, as the sending queue's consumers do. With -cpu 2
// on two cores, a compressor that serialises its callers shows the throughput of one.
func BenchmarkCompressParallel(b *testing.B) {
	ld, _, _ := benchCorpus(b, false)
	cfg := testConfig()
	wideWindow(cfg)
	body := []byte{'['}
	for i, row := range encodeRows(b, newTestLogsExporter(b, cfg), ld) {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, row...)
	}
	body = append(body, ']')
	for _, c := range []struct {
		name        string
		compression configcompression.Type
	}{
		{"gzip1", configcompression.TypeGzip},
		{"zstd_fastest", configcompression.TypeZstd},
	} {
		b.Run(c.name, func(b *testing.B) {
			comp, err := newCompressor(c.compression, 0)
			require.NoError(b, err)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					out, _, release := comp.compress(body)
					if len(out) == 0 {
						b.Error("nothing compressed")
					}
					release()
				}
			})
		})
	}
}

func BenchmarkParseEventTime(b *testing.B) {
	for _, s := range []string{"2024-01-02T03:04:05Z", "2024-12-12 16:04:32.000000000"} {
		b.Run(fmt.Sprintf("%q", s), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := parseEventTime(s); !ok {
					b.Fatal("not parsed")
				}
			}
		})
	}
}

// processCPU returns the user and system CPU time the process has used, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
