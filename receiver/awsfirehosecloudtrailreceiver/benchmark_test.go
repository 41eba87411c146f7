package awsfirehosecloudtrailreceiver

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadata"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/firehose"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

// benchBodies wraps every real CloudTrail record as an EventBridge event and packs them into
// Firehose request bodies of about bodySize bytes. It returns the bodies and the events in each.
func benchBodies(b *testing.B, bodySize int) ([][]byte, []int) {
	b.Helper()
	var events [][]byte
	files, err := filepath.Glob("../../testdata/cloudtrail/*.ndjson")
	require.NoError(b, err)
	for _, file := range files {
		base := filepath.Base(file)
		if strings.HasPrefix(base, "eventbridge-non") || strings.HasPrefix(base, "cloudwatch") || strings.HasPrefix(base, "plaso-lookupevents-wrapper") {
			continue
		}
		f, err := os.Open(file)
		require.NoError(b, err)
		lines, err := replay.ReadNDJSON(f)
		f.Close()
		require.NoError(b, err)
		for _, line := range lines {
			if strings.HasPrefix(base, "eventbridge-") {
				events = append(events, line)
				continue
			}
			ev, err := replay.EventBridgeEvent(line)
			require.NoError(b, err)
			events = append(events, ev)
		}
	}
	var bodies [][]byte
	var counts []int
	for i := 0; i < len(events); {
		var batch [][]byte
		size := 0
		// base64 grows data by 4/3; each record adds {"data":""}, (12 bytes).
		for ; i < len(events) && size+len(events[i])*4/3+12 < bodySize; i++ {
			batch = append(batch, events[i])
			size += len(events[i])*4/3 + 12
		}
		bodies = append(bodies, replay.RequestBody(fmt.Sprintf("req-%d", len(bodies)), time.Now(), batch))
		counts = append(counts, len(batch))
	}
	// Repeat the corpus until there are enough distinct-id bodies to keep workers busy.
	for len(bodies) < 64 {
		n := len(bodies)
		for j := 0; j < n; j++ {
			bodies = append(bodies, bytes.Replace(bodies[j], []byte(`"req-`), []byte(`"rep`+strconv.Itoa(len(bodies))+`-`), 1))
			counts = append(counts, counts[j])
		}
	}
	return bodies, counts
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHandler is the benchmark that matters: ~1 MiB Firehose bodies of real
// EventBridge-wrapped CloudTrail events through the HTTP handler into a no-op consumer,
// concurrently. It reports process CPU per event (all goroutines, GC included), events/s,
// body MB/s and allocations per event.
// The last case turns the value cells off (feature gate receiver.awsfirehosecloudtrail.valueCells),
// to measure what they save against pdata's own allocation.
func BenchmarkHandler(b *testing.B) {
	for _, c := range []struct {
		format string
		cells  bool
	}{{BodyFormatMap, true}, {BodyFormatRaw, true}, {BodyFormatMap, false}} {
		format := c.format
		name := "body_format=" + format
		if !c.cells {
			name += "/valueCells=off"
		}
		b.Run(name, func(b *testing.B) {
			if !c.cells {
				require.NoError(b, featuregate.GlobalRegistry().Set(cloudtrail.CellsGate.ID(), false))
				b.Cleanup(func() { require.NoError(b, featuregate.GlobalRegistry().Set(cloudtrail.CellsGate.ID(), true)) })
			}
			bodies, counts := benchBodies(b, 1<<20)
			cfg := testConfig()
			cfg.BodyFormat = format
			cfg.Deduplication.Enabled = false // the same bodies are sent again and again
			r, err := newReceiver(cfg, receivertestSettings(), consumertest.NewNop())
			require.NoError(b, err)
			h := r.handler
			var totalEvents, totalBytes int64
			var mu sync.Mutex
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				var events, bytesIn int64
				for pb.Next() {
					i := int(next.Add(1)) % len(bodies)
					// The handler reads the body into a buffer of its own, as from a socket.
					req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bodies[i]))
					req.Header.Set(firehose.HeaderAccessKey, testKey)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
					}
					events += int64(counts[i])
					bytesIn += int64(len(bodies[i]))
				}
				mu.Lock()
				totalEvents += events
				totalBytes += bytesIn
				mu.Unlock()
			})
			cpu := cpuTime() - cpu0
			b.StopTimer()
			elapsed := b.Elapsed()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(totalEvents)/1000, "cpu-µs/event")
			b.ReportMetric(float64(totalEvents)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(totalBytes)/elapsed.Seconds()/1e6, "body-MB/s")
			b.ReportMetric(float64(totalEvents)/float64(b.N), "events/op")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
		})
	}
}

func receivertestSettings() receiver.Settings { return receivertest.NewNopSettings(metadata.Type) }

// largeBody builds a Firehose body of about size bytes and at most 10,000 records (Firehose's
// limits) from real events: each record is a CloudTrail log file of several real records.
func largeBody(b *testing.B, size int) ([]byte, int) {
	b.Helper()
	bodies, _ := benchBodies(b, 1<<30) // one body holding every real event once
	var events [][]byte
	req, err := firehose.ParseRequest(bytes.Clone(bodies[0]), nil)
	require.NoError(b, err)
	for _, r := range req.Records {
		events = append(events, r.Data)
	}
	eventBytes := 0
	for _, e := range events {
		eventBytes += len(e)
	}
	// base64 adds a third: fill size with at most 10,000 records of whole events.
	perRecord := (size*3/4/10000)/(eventBytes/len(events)) + 1
	var records [][]byte
	total, n := 0, 0
	for i := 0; total < size*3/4 && len(records) < 10000; i++ {
		batch := make([][]byte, 0, perRecord)
		for j := 0; j < perRecord; j++ {
			detail := events[(i*perRecord+j)%len(events)]
			batch = append(batch, detail)
		}
		rec := replay.RecordsFile(batch)
		records = append(records, rec)
		total += len(rec)
		n += perRecord
	}
	return replay.RequestBody("large", time.Now(), records), n
}

// peakRSS reads the process's resident-set high-water mark.
func peakRSS(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(b, err)
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			require.NoError(b, err)
			return kb << 10
		}
	}
	b.Skip("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkLargeRequests sends 64 MiB Firehose bodies: one at a time (reporting bytes
// allocated per body byte, the transient heap a request needs) and four at once (reporting
// the process's peak RSS).
func BenchmarkLargeRequests(b *testing.B) {
	for _, format := range []string{BodyFormatMap, BodyFormatRaw} {
		b.Run("body_format="+format, func(b *testing.B) { benchmarkLargeRequests(b, format) })
	}
}

func benchmarkLargeRequests(b *testing.B, format string) {
	body, events := largeBody(b, 64<<20)
	send := func(h http.Handler, id string) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(firehose.HeaderAccessKey, testKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
	cfg := testConfig()
	cfg.Deduplication.Enabled = false
	cfg.BodyFormat = format
	r, err := newReceiver(cfg, receivertestSettings(), consumertest.NewNop())
	require.NoError(b, err)
	b.Run("one 64 MiB request", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for b.Loop() {
			send(r.handler, "one")
		}
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(body)), "alloc-bytes/body-byte")
		b.ReportMetric(float64(len(body))/(1<<20), "body-MiB")
		b.ReportMetric(float64(events), "events")
	})
	b.Run("four concurrent 64 MiB requests", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() { send(r.handler, strconv.Itoa(i)) })
			}
			wg.Wait()
		}
		b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MiB")
	})
}
