package localstorageexporter

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"

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
	t.Run("logs are refused once shutdown began, even when it gave up waiting for the writer", func(t *testing.T) {
		cfg := testConfig(t)
		e := newTestExporter(t, cfg, hooks{})
		require.NoError(t, e.start(context.Background(), nil))
		require.NoError(t, e.acquire(context.Background())) // a batch is being written
		expired, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, e.shutdown(expired), context.Canceled)
		e.release()

		require.ErrorIs(t, e.consumeLogs(context.Background(), otherRecords()), errNotRunning)
		assert.Empty(t, listFiles(t, cfg.Directory), "no file is created that nobody would finalise")
		require.ErrorIs(t, e.start(context.Background(), nil), errNotRunning)
		require.NoError(t, e.shutdown(context.Background()), "shutdown can be called again")
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

// handleCounter is an openFile hook that counts the files the exporter holds open, notes the
// ones closed with writes that were not synced and can fail the n-th file created.
type handleCounter struct {
	mu         sync.Mutex
	open       int
	maxOpen    int
	created    int
	failCreate int // the created file (1-based) that fails with ENOSPC; 0 for none
	writes     int
	failWrite  int      // the write (1-based) that fails with ENOSPC; 0 for none
	unsynced   []string // files closed with unsynced writes
}

func (c *handleCounter) openFile(path string, flag int, perm os.FileMode) (fileHandle, error) {
	c.mu.Lock()
	if flag&os.O_CREATE != 0 {
		c.created++
		if c.created == c.failCreate {
			c.mu.Unlock()
			return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.ENOSPC}
		}
	}
	c.mu.Unlock()
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open++
	c.maxOpen = max(c.maxOpen, c.open)
	c.mu.Unlock()
	return &countedFile{File: f, c: c}, nil
}

type countedFile struct {
	*os.File
	c     *handleCounter
	dirty bool
}

func (f *countedFile) Write(p []byte) (int, error) {
	f.c.mu.Lock()
	f.c.writes++
	fail := f.c.writes == f.c.failWrite
	f.c.mu.Unlock()
	if fail {
		return 0, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.dirty = true
	return f.File.Write(p)
}

func (f *countedFile) Sync() error {
	err := f.File.Sync()
	if err == nil {
		f.dirty = false
	}
	return err
}

func (f *countedFile) Close() error {
	f.c.mu.Lock()
	f.c.open--
	if f.dirty {
		f.c.unsynced = append(f.c.unsynced, f.Name())
	}
	f.c.mu.Unlock()
	return f.File.Close()
}

// recordsOnDays is one CloudTrail record per day for n days, of one account and region.
func recordsOnDays(t testing.TB, n int) []sourceRecord {
	template := loadRecords(t, "otel-contrib-awslogsencoding-cloudtrail.ndjson")[0]
	template.account, template.region = "123456789012", "us-east-1"
	out := make([]sourceRecord, n)
	for i := range out {
		r := template
		r.eventTime = time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		out[i] = r
	}
	return out
}

// recordsPerDir counts the archived CloudTrail records by directory.
func recordsPerDir(t testing.TB, root string) map[string]int {
	out := map[string]int{}
	for _, r := range readCloudTrailFiles(t, root) {
		out[filepath.ToSlash(r.dir)]++
	}
	return out
}

func TestABatchNeverHoldsMoreThanMaxOpenFilesOpen(t *testing.T) {
	const days = 2*maxOpenFiles + 50
	t.Run("a batch spanning more days than the limit is stored, syncing each file before closing it", func(t *testing.T) {
		counter := &handleCounter{}
		clock := newFakeClock()
		cfg := testConfig(t)
		e := startTestExporter(t, cfg, hooks{now: clock.now, openFile: counter.openFile})
		idle := withAccount(recordsOnDays(t, 1), "000000000000")
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, idle, false)))
		clock.advance(time.Second)

		records := recordsOnDays(t, days)
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, records, false)))
		assert.LessOrEqual(t, counter.maxOpen, maxOpenFiles, "files open at once")
		assert.LessOrEqual(t, len(e.archive.open), maxOpenFiles)
		assert.LessOrEqual(t, len(inProgress(t, cfg.Directory)), maxOpenFiles)
		assert.Contains(t, recordsPerDir(t, cfg.Directory), "AWSLogs/000000000000/CloudTrail/us-east-1/2020/01/01",
			"the file the batch did not write is finalised first")

		require.NoError(t, e.shutdown(context.Background()))
		assert.Empty(t, inProgress(t, cfg.Directory))
		assert.Empty(t, counter.unsynced, "every file is synced before it is closed")
		perDir := recordsPerDir(t, cfg.Directory)
		assert.Len(t, perDir, days+1)
		for dir, n := range perDir {
			assert.Equalf(t, 1, n, "%s holds each of its records once", dir)
		}
	})
	t.Run("a batch failing after files were closed mid-batch leaves them as before and its retry stores it once", func(t *testing.T) {
		counter := &handleCounter{}
		cfg := testConfig(t)
		e := startTestExporter(t, cfg, hooks{openFile: counter.openFile})
		records := recordsOnDays(t, days)
		// An acknowledged batch in the first day's file, which the failing batch extends.
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, records[:1], false)))
		partials := inProgress(t, cfg.Directory)
		require.Len(t, partials, 1)
		before, err := os.ReadFile(filepath.Join(cfg.Directory, partials[0]))
		require.NoError(t, err)

		counter.mu.Lock()
		counter.failCreate = counter.created + maxOpenFiles + 50 // after the first checkpoint
		counter.mu.Unlock()
		err = e.consumeLogs(context.Background(), buildLogs(t, records, false))
		require.ErrorIs(t, err, syscall.ENOSPC)
		assert.False(t, consumererror.IsPermanent(err), "the sender must retry")
		assert.LessOrEqual(t, counter.maxOpen, maxOpenFiles, "files open at once")
		assert.Equal(t, partials, listFiles(t, cfg.Directory), "the files the batch created are removed and nothing became visible")
		after, err := os.ReadFile(filepath.Join(cfg.Directory, partials[0]))
		require.NoError(t, err)
		assert.Equal(t, before, after, "the file the batch extended is truncated back")

		e.maintain()
		assert.Empty(t, inProgress(t, cfg.Directory), "maintenance finalises the file the batch extended")
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, records, false)), "the retry succeeds")
		require.NoError(t, e.shutdown(context.Background()))
		perDir := recordsPerDir(t, cfg.Directory)
		assert.Len(t, perDir, days)
		for dir, n := range perDir {
			want := 1
			if strings.HasSuffix(dir, "2020/01/01") {
				want = 2 // the first batch and the retry
			}
			assert.Equalf(t, want, n, "%s", dir)
		}
	})
	t.Run("a batch failing while it closes files mid-batch leaves the file it extended to be finalised whole", func(t *testing.T) {
		counter := &handleCounter{}
		cfg := testConfig(t)
		e := startTestExporter(t, cfg, hooks{openFile: counter.openFile})
		records := recordsOnDays(t, maxOpenFiles+1)
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, records[:1], false)))

		// One write per member: the batch's members in the file it extends and in 127 new
		// files, then, for the 129th file, the closing members: the extended file's, then
		// the first new file's, which fails.
		counter.mu.Lock()
		counter.failWrite = counter.writes + maxOpenFiles + 2
		counter.mu.Unlock()
		require.ErrorIs(t, e.consumeLogs(context.Background(), buildLogs(t, records, false)), syscall.ENOSPC)
		require.Len(t, inProgress(t, cfg.Directory), 1)

		require.NoError(t, e.shutdown(context.Background()))
		perDir := recordsPerDir(t, cfg.Directory) // every file is one valid {"Records":[...]} document
		assert.Equal(t, map[string]int{"AWSLogs/123456789012/CloudTrail/us-east-1/2020/01/01": 1}, perDir)
	})
}

// dirSyncRecorder is a syncDir hook that records the directories synced.
type dirSyncRecorder struct {
	mu   sync.Mutex
	dirs []string
}

func (r *dirSyncRecorder) syncDir(dir string) error {
	r.mu.Lock()
	r.dirs = append(r.dirs, dir)
	r.mu.Unlock()
	return syncOSDir(dir)
}

// take returns the directories synced since the last call, relative to root, slash-separated.
func (r *dirSyncRecorder) take(t testing.TB, root string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.dirs))
	for _, d := range r.dirs {
		rel, err := filepath.Rel(root, d)
		require.NoError(t, err)
		out = append(out, filepath.ToSlash(rel))
	}
	r.dirs = nil
	return out
}

// ancestry is rel and each of its parents up to ".", the root.
func ancestry(rel string) []string {
	out := []string{rel}
	for rel != "." {
		rel = path.Dir(rel)
		out = append(out, rel)
	}
	return out
}

func onDay(records []sourceRecord, day time.Time) []sourceRecord {
	out := slices.Clone(records)
	for i := range out {
		out[i].eventTime = day
	}
	return out
}

func TestDirectoriesAreDurableUpToTheRoot(t *testing.T) {
	const dayDir = "AWSLogs/123456789012/CloudTrail/us-east-1/2025/01/02"
	t.Run("a directory an earlier run created is synced with its ancestors before the first batch in it is acknowledged", func(t *testing.T) {
		cfg := testConfig(t)
		// An earlier run created the directories and was killed before it synced their parents.
		require.NoError(t, os.MkdirAll(filepath.Join(cfg.Directory, filepath.FromSlash(dayDir)), 0o750))
		rec := &dirSyncRecorder{}
		e := startTestExporter(t, cfg, hooks{syncDir: rec.syncDir})
		rec.take(t, cfg.Directory)
		first, _ := twoBatches(t)
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
		assert.Subset(t, rec.take(t, cfg.Directory), ancestry(dayDir))
	})
	t.Run("a new directory below directories already used syncs only itself and its parent", func(t *testing.T) {
		cfg := testConfig(t)
		rec := &dirSyncRecorder{}
		e := startTestExporter(t, cfg, hooks{syncDir: rec.syncDir})
		first, second := twoBatches(t)
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
		assert.Subset(t, rec.take(t, cfg.Directory), ancestry(dayDir))
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, onDay(second, observedTime.AddDate(0, 0, 1)), false)))
		assert.ElementsMatch(t, []string{"AWSLogs/123456789012/CloudTrail/us-east-1/2025/01/03", "AWSLogs/123456789012/CloudTrail/us-east-1/2025/01"},
			rec.take(t, cfg.Directory))
	})
	t.Run("directories removed from outside are created again and synced", func(t *testing.T) {
		cfg := testConfig(t, func(c *Config) { c.MaxFileSize = 1 }) // every batch is finalised
		rec := &dirSyncRecorder{}
		e := startTestExporter(t, cfg, hooks{syncDir: rec.syncDir})
		first, second := twoBatches(t)
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
		require.NoError(t, os.RemoveAll(filepath.Join(cfg.Directory, cloudTrailTop)))
		rec.take(t, cfg.Directory)

		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, second, false)))
		assert.Subset(t, rec.take(t, cfg.Directory), ancestry(dayDir))
		require.NoError(t, e.shutdown(context.Background()))
		assert.Equal(t, canonicalMultiset(t, sourceRaws(second)), canonicalMultiset(t, archivedRaws(readCloudTrailFiles(t, cfg.Directory))))
	})
	t.Run("a file removed from outside while open is not written on", func(t *testing.T) {
		cfg := testConfig(t) // nothing is finalised: the first batch's file stays open
		e := startTestExporter(t, cfg, hooks{})
		first, second := twoBatches(t)
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
		require.NoError(t, os.RemoveAll(filepath.Join(cfg.Directory, cloudTrailTop)))

		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, second, false)))
		require.NoError(t, e.shutdown(context.Background()))
		assert.Equal(t, canonicalMultiset(t, sourceRaws(second)), canonicalMultiset(t, archivedRaws(readCloudTrailFiles(t, cfg.Directory))),
			"the second batch, acknowledged after the removal, is on disk")
	})
	t.Run("a file removed while a batch is written to it fails the batch, and the retry is kept", func(t *testing.T) {
		cfg := testConfig(t)
		var remove atomic.Bool
		open := func(path string, flag int, perm os.FileMode) (fileHandle, error) {
			f, err := os.OpenFile(path, flag, perm)
			if err != nil {
				return nil, err
			}
			return &removingFile{File: f, remove: &remove}, nil
		}
		e := startTestExporter(t, cfg, hooks{openFile: open})
		first, second := twoBatches(t)
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
		remove.Store(true) // the next write removes its file first
		err := e.consumeLogs(context.Background(), buildLogs(t, second, false))
		require.ErrorIs(t, err, errGone)
		assert.False(t, consumererror.IsPermanent(err), "the sender retries")

		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, second, false)), "the retry goes to a new file")
		require.NoError(t, e.shutdown(context.Background()))
		assert.Equal(t, canonicalMultiset(t, sourceRaws(second)), canonicalMultiset(t, archivedRaws(readCloudTrailFiles(t, cfg.Directory))))
	})
	t.Run("a file replaced from outside is never published under the exporter's name", func(t *testing.T) {
		cfg := testConfig(t)
		e := startTestExporter(t, cfg, hooks{})
		first, _ := twoBatches(t)
		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
		partials := findFiles(t, cfg.Directory, partialSuffix)
		require.Len(t, partials, 1)
		require.NoError(t, os.Remove(partials[0]))
		require.NoError(t, os.WriteFile(partials[0], []byte("someone else's"), 0o600))

		require.ErrorIs(t, e.shutdown(context.Background()), errGone)
		assert.Empty(t, findFiles(t, cfg.Directory, cloudTrailSuffix), "nothing published")
		got, err := os.ReadFile(partials[0])
		require.NoError(t, err)
		assert.Equal(t, "someone else's", string(got), "the other file is left alone")
	})
	t.Run("a file a checkpoint closed and that is then removed fails the batch", func(t *testing.T) {
		// One batch over maxOpenFiles+1 days: creating the last file checkpoints the others,
		// which are renamed only once the batch is stored. The first of them is removed then.
		cfg := testConfig(t)
		var first string
		opened := 0
		open := func(path string, flag int, perm os.FileMode) (fileHandle, error) {
			if opened++; opened == 1 {
				first = path
			} else if opened == maxOpenFiles+1 {
				require.NoError(t, os.Remove(first))
			}
			return openOSFile(path, flag, perm)
		}
		e := startTestExporter(t, cfg, hooks{openFile: open})
		one, _ := twoBatches(t)
		var records []sourceRecord
		for d := range maxOpenFiles + 1 {
			records = append(records, onDay(one[:1], observedTime.AddDate(0, 0, d))...)
		}
		err := e.consumeLogs(context.Background(), buildLogs(t, records, false))
		require.ErrorIs(t, err, errGone, "not acknowledged: one of its files is gone")

		require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, records, false)), "the retry")
		require.NoError(t, e.shutdown(context.Background()))
		assert.Equal(t, canonicalMultiset(t, sourceRaws(records)), canonicalMultiset(t, archivedRaws(readCloudTrailFiles(t, cfg.Directory))),
			"every record once: the failed batch left nothing behind")
	})
	t.Run("the directory cache stays bounded", func(t *testing.T) {
		a := newArchive(t.TempDir(), false, zap.NewNop(), openOSFile)
		for i := range maxCachedDirs + 100 {
			require.NoError(t, a.ensureDir(filepath.Join(a.root, strconv.Itoa(i))))
		}
		assert.LessOrEqual(t, len(a.dirs), maxCachedDirs)
		assert.Contains(t, a.dirs, filepath.Join(a.root, strconv.Itoa(maxCachedDirs+99)), "the last directory used is cached")
	})
}

// removingFile removes its own path before a write while remove is set (once).
type removingFile struct {
	*os.File
	remove *atomic.Bool
}

func (f *removingFile) Write(p []byte) (int, error) {
	if f.remove.CompareAndSwap(true, false) {
		if err := os.Remove(f.Name()); err != nil {
			return 0, err
		}
	}
	return f.File.Write(p)
}

// findFiles lists the files below dir whose names end with suffix.
func findFiles(t *testing.T, dir, suffix string) []string {
	t.Helper()
	var found []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, suffix) {
			found = append(found, path)
		}
		return err
	}))
	return found
}
