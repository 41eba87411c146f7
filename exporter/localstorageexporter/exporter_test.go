package localstorageexporter

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter/internal/metadata"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter/internal/metadatatest"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
)

var testFiles = []string{
	"eventbridge-cloudtrail-cloud-custodian.ndjson",
	"otel-contrib-awslogsencoding-cloudtrail.ndjson",
	"panther-analysis-cloudtrail.ndjson",
}

var cloudTrailFileName = regexp.MustCompile(`^([0-9A-Za-z-]+)_CloudTrail_([0-9A-Za-z-]+)_(\d{8})T\d{4}Z_[A-Z2-7]{16}\.json\.gz$`)

func TestCloudTrailFilesHoldTheRecordsValueForValue(t *testing.T) {
	for _, name := range testFiles {
		for _, raw := range []bool{false, true} {
			bodyFormat := "map"
			if raw {
				bodyFormat = "raw"
			}
			t.Run(name+" with "+bodyFormat+" bodies reads back record for record", func(t *testing.T) {
				records := loadRecords(t, name)
				cfg := testConfig(t)
				e := startTestExporter(t, cfg, hooks{})
				ld := buildLogs(t, records, raw)
				ld.MarkReadOnly()
				require.NoError(t, e.consumeLogs(context.Background(), ld))
				require.NoError(t, e.shutdown(context.Background()))

				assert.Empty(t, inProgress(t, cfg.Directory), "shutdown finalises every file")
				got := readCloudTrailFiles(t, cfg.Directory)
				require.Len(t, got, len(records))
				assert.Equal(t, canonicalMultiset(t, sourceRaws(records)), canonicalMultiset(t, archivedRaws(got)))
				if raw {
					want := sourceRaws(records)
					gotRaw := archivedRaws(got)
					slices.SortFunc(want, bytes.Compare)
					slices.SortFunc(gotRaw, bytes.Compare)
					assert.Equal(t, want, gotRaw, "raw bodies are copied byte for byte")
				}

				wantDirs := map[string][]string{}
				for _, r := range records {
					c := canonical(t, r.raw)
					wantDirs[c] = append(wantDirs[c], r.expectedDir())
				}
				for _, r := range got {
					c := canonical(t, r.raw)
					assert.Contains(t, wantDirs[c], r.dir, "the record is filed by account, region and eventTime")
					m := cloudTrailFileName.FindStringSubmatch(r.file)
					require.NotNil(t, m, r.file)
					parts := strings.Split(filepath.ToSlash(r.dir), "/")
					assert.Equal(t, []string{parts[1], parts[3], parts[4] + parts[5] + parts[6]}, m[1:], "the name repeats account, region and day")
				}
				assert.Empty(t, readOTLPFiles(t, cfg.Directory), "every record is a CloudTrail record")
			})
		}
	}
}

func TestTheTestDataExercisesNumberLiterals(t *testing.T) {
	// Guards the test above: some records hold numbers no int64 or float64 holds exactly.
	ld := buildLogs(t, loadRecords(t, "otel-contrib-awslogsencoding-cloudtrail.ndjson"), false)
	withLiterals := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if _, ok := lr.Attributes().Get(cloudtrail.KeyNumberLiterals); ok {
					withLiterals++
				}
			}
		}
	}
	assert.Positive(t, withLiterals)
}

// otherRecords is a batch of log records that are not CloudTrail records.
func otherRecords() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(cloudtrail.KeyCloudAccountID, "123456789012")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("awsfirehosecloudtrail")
	eb := sl.LogRecords().AppendEmpty()
	eb.SetEventName(cloudtrail.EventNameEventBridge)
	eb.Body().SetEmptyMap().PutStr("detail-type", "GuardDuty Finding")
	inv := sl.LogRecords().AppendEmpty()
	inv.SetEventName(cloudtrail.EventNameInvalidRecord)
	inv.Body().SetEmptyBytes().FromRaw([]byte{0x1f, 0x8b, 0})
	inv.Attributes().PutStr(cloudtrail.KeyErrorType, cloudtrail.ErrorTypeInvalidGzip)
	notObject := sl.LogRecords().AppendEmpty()
	notObject.SetEventName(cloudtrail.EventNamePrefix + "api_call")
	notObject.Body().SetStr("not json")
	plain := sl.LogRecords().AppendEmpty()
	plain.Body().SetStr("test log message")
	plain.SetTimestamp(pcommon.NewTimestampFromTime(observedTime))
	return ld
}

func TestRecordsThatAreNotCloudTrailGoToOTLPFilesBeside(t *testing.T) {
	cfg := testConfig(t)
	clock := newFakeClock()
	e := startTestExporter(t, cfg, hooks{now: clock.now})

	records := loadRecords(t, "otel-contrib-awslogsencoding-cloudtrail.ndjson")
	ld := buildLogs(t, records, false)
	other := otherRecords()
	other.ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty())
	ld.MarkReadOnly()
	require.NoError(t, e.consumeLogs(context.Background(), ld))
	require.NoError(t, e.shutdown(context.Background()))

	got := readCloudTrailFiles(t, cfg.Directory)
	assert.Equal(t, canonicalMultiset(t, sourceRaws(records)), canonicalMultiset(t, archivedRaws(got)))
	lines := readOTLPFiles(t, cfg.Directory)
	require.Len(t, lines, 1)
	require.NoError(t, plogtest.CompareLogs(other, lines[0]))
	otlpFiles := slices.DeleteFunc(listFiles(t, cfg.Directory), func(f string) bool { return !strings.HasSuffix(f, otlpSuffix) })
	require.Len(t, otlpFiles, 1)
	assert.Regexp(t, `^otlp/2025/06/07/logs_20250607T0809Z_[A-Z2-7]{16}\.jsonl\.gz$`, filepath.ToSlash(otlpFiles[0]),
		"OTLP files are filed by the day they were written")
}

func TestFormatOTLPJSONStoresEveryRecord(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.Format = FormatOTLPJSON })
	e := startTestExporter(t, cfg, hooks{})
	ld := buildLogs(t, loadRecords(t, "eventbridge-cloudtrail-cloud-custodian.ndjson"), false)
	otherRecords().ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty())
	ld.MarkReadOnly()
	require.NoError(t, e.consumeLogs(context.Background(), ld))
	require.NoError(t, e.consumeLogs(context.Background(), ld))
	require.NoError(t, e.shutdown(context.Background()))

	assert.Empty(t, readCloudTrailFiles(t, cfg.Directory))
	lines := readOTLPFiles(t, cfg.Directory)
	require.Len(t, lines, 2, "one line per batch")
	for _, line := range lines {
		require.NoError(t, plogtest.CompareLogs(ld, line))
	}
}

func TestLargeBatchesAreSplitIntoBoundedLines(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.Format = FormatOTLPJSON })
	e := startTestExporter(t, cfg, hooks{})
	ld := plog.NewLogs()
	big := strings.Repeat("x", 100<<10)
	for r := range 3 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutInt("resource", int64(r))
		for s := range 2 {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(fmt.Sprint("scope", s))
			for i := range 20 {
				sl.LogRecords().AppendEmpty().Body().SetStr(fmt.Sprint(r, s, i, big))
			}
		}
	}
	ld.MarkReadOnly()
	require.NoError(t, e.consumeLogs(context.Background(), ld))
	require.NoError(t, e.shutdown(context.Background()))

	lines := readOTLPFiles(t, cfg.Directory)
	assert.Greater(t, len(lines), 1, "a batch larger than one line is split")
	merged := plog.NewLogs()
	for _, line := range lines {
		for _, rl := range line.ResourceLogs().All() {
			rl.CopyTo(merged.ResourceLogs().AppendEmpty())
		}
		assert.LessOrEqual(t, (&plog.ProtoMarshaler{}).LogsSize(line), otlpLineSize+(110<<10))
	}
	var got, want []string
	for _, l := range []plog.Logs{merged, ld} {
		var bodies []string
		for _, rl := range l.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					r, _ := rl.Resource().Attributes().Get("resource")
					bodies = append(bodies, fmt.Sprint(r.Int(), sl.Scope().Name(), lr.Body().Str()[:8]))
				}
			}
		}
		if got == nil {
			got = bodies
		} else {
			want = bodies
		}
	}
	assert.Equal(t, want, got, "every record is kept, in order, with its resource and scope")
}

func TestLifecycle(t *testing.T) {
	newLogs := func(t *testing.T, cfg *Config) (exporter.Logs, *Config) {
		exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		return exp, cfg
	}
	t.Run("start creates the directory and shutdown finalises the open file", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Directory = filepath.Join(cfg.Directory, "a", "b")
		exp, _ := newLogs(t, cfg)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		assert.DirExists(t, cfg.Directory)
		ld := buildLogs(t, loadRecords(t, "otel-contrib-awslogsencoding-cloudtrail.ndjson"), false)
		require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
		assert.NotEmpty(t, inProgress(t, cfg.Directory), "the file stays open between batches")
		require.NoError(t, exp.Shutdown(context.Background()))
		assert.Empty(t, inProgress(t, cfg.Directory))
		assert.Len(t, readCloudTrailFiles(t, cfg.Directory), ld.LogRecordCount())
	})
	t.Run("shutdown without start succeeds and creates nothing", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Directory = filepath.Join(cfg.Directory, "never")
		exp, _ := newLogs(t, cfg)
		require.NoError(t, exp.Shutdown(context.Background()))
		assert.NoDirExists(t, cfg.Directory)
	})
	t.Run("shutdown twice succeeds", func(t *testing.T) {
		exp, _ := newLogs(t, testConfig(t))
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, exp.Shutdown(context.Background()))
		require.NoError(t, exp.Shutdown(context.Background()))
	})
	t.Run("logs after shutdown are refused", func(t *testing.T) {
		exp, _ := newLogs(t, testConfig(t))
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, exp.Shutdown(context.Background()))
		require.ErrorIs(t, exp.ConsumeLogs(context.Background(), otherRecords()), errNotRunning)
	})
	t.Run("an empty batch writes nothing", func(t *testing.T) {
		cfg := testConfig(t)
		exp, _ := newLogs(t, cfg)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, exp.ConsumeLogs(context.Background(), plog.NewLogs()))
		require.NoError(t, exp.Shutdown(context.Background()))
		assert.Empty(t, listFiles(t, cfg.Directory))
	})
	t.Run("start fails when the directory is a file", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Directory = filepath.Join(cfg.Directory, "file")
		require.NoError(t, os.WriteFile(cfg.Directory, nil, 0o600))
		exp, _ := newLogs(t, cfg)
		require.ErrorContains(t, exp.Start(context.Background(), componenttest.NewNopHost()), "not a directory")
		require.NoError(t, exp.Shutdown(context.Background()))
	})
	t.Run("start fails when the directory cannot be created", func(t *testing.T) {
		cfg := testConfig(t)
		file := filepath.Join(cfg.Directory, "file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		cfg.Directory = filepath.Join(file, "sub")
		exp, _ := newLogs(t, cfg)
		require.Error(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, exp.Shutdown(context.Background()))
	})
}

func TestRotation(t *testing.T) {
	records := loadRecords(t, "otel-contrib-awslogsencoding-cloudtrail.ndjson")[:1]
	batch := func(t *testing.T) plog.Logs { return buildLogs(t, records, false) }
	finished := func(t *testing.T, root string) []string {
		return slices.DeleteFunc(listFiles(t, root), func(f string) bool { return strings.HasSuffix(f, partialSuffix) })
	}
	t.Run("a file that reached max_file_size is finalised after the batch", func(t *testing.T) {
		cfg := testConfig(t, func(c *Config) { c.MaxFileSize = 1 })
		e := startTestExporter(t, cfg, hooks{})
		require.NoError(t, e.consumeLogs(context.Background(), batch(t)))
		require.NoError(t, e.consumeLogs(context.Background(), batch(t)))
		assert.Empty(t, inProgress(t, cfg.Directory))
		assert.Len(t, finished(t, cfg.Directory), 2)
		assert.Len(t, readCloudTrailFiles(t, cfg.Directory), 2)
	})
	t.Run("a file below max_file_size keeps growing", func(t *testing.T) {
		cfg := testConfig(t)
		e := startTestExporter(t, cfg, hooks{})
		for range 3 {
			require.NoError(t, e.consumeLogs(context.Background(), batch(t)))
		}
		assert.Len(t, inProgress(t, cfg.Directory), 1)
		require.NoError(t, e.shutdown(context.Background()))
		assert.Len(t, finished(t, cfg.Directory), 1)
		assert.Len(t, readCloudTrailFiles(t, cfg.Directory), 3)
	})
	t.Run("a file older than max_file_age is finalised by maintenance", func(t *testing.T) {
		clock := newFakeClock()
		cfg := testConfig(t)
		e := startTestExporter(t, cfg, hooks{now: clock.now})
		require.NoError(t, e.consumeLogs(context.Background(), batch(t)))
		clock.advance(cfg.MaxFileAge - time.Second)
		e.maintain()
		assert.Len(t, inProgress(t, cfg.Directory), 1, "a younger file stays open")
		clock.advance(time.Second)
		e.maintain()
		assert.Empty(t, inProgress(t, cfg.Directory))
		assert.Len(t, readCloudTrailFiles(t, cfg.Directory), 1)
	})
	t.Run("a file older than max_file_age is finalised before the next write", func(t *testing.T) {
		clock := newFakeClock()
		cfg := testConfig(t)
		e := startTestExporter(t, cfg, hooks{now: clock.now})
		require.NoError(t, e.consumeLogs(context.Background(), batch(t)))
		clock.advance(cfg.MaxFileAge)
		require.NoError(t, e.consumeLogs(context.Background(), batch(t)))
		assert.Len(t, inProgress(t, cfg.Directory), 1)
		assert.Len(t, finished(t, cfg.Directory), 1)
		require.NoError(t, e.shutdown(context.Background()))
		assert.Len(t, finished(t, cfg.Directory), 2)
		assert.Len(t, readCloudTrailFiles(t, cfg.Directory), 2)
	})
	t.Run("open files beyond the limit are finalised least recently written first", func(t *testing.T) {
		clock := newFakeClock()
		cfg := testConfig(t)
		e := startTestExporter(t, cfg, hooks{now: clock.now})
		first := loadRecords(t, "otel-contrib-awslogsencoding-cloudtrail.ndjson")[0]
		first.account = "000000000000"
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, []sourceRecord{first}, false)))
		clock.advance(time.Second)
		var many []sourceRecord
		for i := range maxOpenFiles {
			r := first
			r.account = fmt.Sprintf("%012d", i+1)
			many = append(many, r)
		}
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, many, false)))
		assert.Len(t, inProgress(t, cfg.Directory), maxOpenFiles)
		got := readCloudTrailFiles(t, cfg.Directory)
		require.Len(t, got, 1)
		assert.Contains(t, got[0].dir, "000000000000")
	})
}

func TestConcurrentBatchesAreAllStored(t *testing.T) {
	records := loadRecords(t, "panther-analysis-cloudtrail.ndjson")
	clock := newFakeClock()
	cfg := testConfig(t, func(c *Config) { c.MaxFileSize = 16 << 10 })
	e := startTestExporter(t, cfg, hooks{now: clock.now})
	const workers, batches, perBatch = 6, 10, 7
	var wg sync.WaitGroup
	var want [][]byte
	for w := range workers {
		var mine []plog.Logs
		for b := range batches {
			start := (w*batches + b) * perBatch % (len(records) - perBatch)
			part := records[start : start+perBatch]
			want = append(want, sourceRaws(part)...)
			ld := buildLogs(t, part, false)
			ld.MarkReadOnly()
			mine = append(mine, ld)
		}
		wg.Go(func() {
			for _, ld := range mine {
				assert.NoError(t, e.consumeLogs(context.Background(), ld))
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			clock.advance(cfg.MaxFileAge)
			e.maintain()
		}
	})
	wg.Wait()
	require.NoError(t, e.shutdown(context.Background()))
	got := readCloudTrailFiles(t, cfg.Directory)
	assert.Equal(t, canonicalMultiset(t, want), canonicalMultiset(t, archivedRaws(got)))
}

func TestTelemetryCountsWhatWasStored(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	cfg := testConfig(t)
	e, err := newLocalStorageExporter(cfg, metadatatest.NewSettings(tt), defaultHooks())
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), nil))

	ld := buildLogs(t, loadRecords(t, "otel-contrib-awslogsencoding-cloudtrail.ndjson"), false)
	otherRecords().ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty())
	require.NoError(t, e.consumeLogs(context.Background(), ld))
	require.NoError(t, e.shutdown(context.Background()))

	ctAttrs := attribute.NewSet(attribute.String("format", "cloudtrail"))
	otlpAttrs := attribute.NewSet(attribute.String("format", "otlp_json"))
	metadatatest.AssertEqualExporterLocalstorageRecordsWritten(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: ctAttrs, Value: 8},
		{Attributes: otlpAttrs, Value: 4},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterLocalstorageFilesFinalized(t, tt, []metricdata.DataPoint[int64]{
		{Attributes: ctAttrs, Value: int64(countSuffix(t, cfg.Directory, cloudTrailSuffix))},
		{Attributes: otlpAttrs, Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	got, err := tt.GetMetric("otelcol_exporter_localstorage_bytes_written")
	require.NoError(t, err)
	var written int64
	for _, dp := range got.Data.(metricdata.Sum[int64]).DataPoints {
		written += dp.Value
	}
	var onDisk int64
	for _, f := range listFiles(t, cfg.Directory) {
		info, err := os.Stat(filepath.Join(cfg.Directory, f))
		require.NoError(t, err)
		onDisk += info.Size()
	}
	assert.Positive(t, written)
	assert.Less(t, written, onDisk, "closing members are written at finalisation, not by batches")
}

func countSuffix(t *testing.T, root, suffix string) int {
	n := 0
	for _, f := range listFiles(t, root) {
		if strings.HasSuffix(f, suffix) {
			n++
		}
	}
	return n
}
