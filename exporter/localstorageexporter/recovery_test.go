package localstorageexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter/internal/metadata"
)

// gzipMember compresses s into one gzip member.
func gzipMember(t testing.TB, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := io.WriteString(zw, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func appendToFile(t testing.TB, path string, data []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// twoBatches are acknowledged batches of CloudTrail records of one account, region and day.
func twoBatches(t testing.TB) ([]sourceRecord, []sourceRecord) {
	records := loadRecords(t, "eventbridge-cloudtrail-cloud-custodian.ndjson")
	for i := range records {
		records[i].account, records[i].region, records[i].eventTime = "123456789012", "us-east-1", observedTime
	}
	return records[:4], records[4:]
}

func TestStartRecoversFilesLeftInProgress(t *testing.T) {
	torn := func(t testing.TB) []byte {
		m := gzipMember(t, `,{"eventVersion":"1.08","eventName":"Lost"}`)
		return m[:len(m)/2]
	}
	tests := []struct {
		name   string
		tamper func(t testing.TB, path string) // what the crash left at the end of the file
	}{
		{name: "a clean end after the last acknowledged batch", tamper: func(testing.TB, string) {}},
		{name: "a torn member after the last acknowledged batch", tamper: func(t testing.TB, p string) { appendToFile(t, p, torn(t)) }},
		{name: "a torn gzip header", tamper: func(t testing.TB, p string) { appendToFile(t, p, []byte{0x1f, 0x8b, 8}) }},
		{name: "zeros the file system left after the last write", tamper: func(t testing.TB, p string) { appendToFile(t, p, make([]byte, 4096)) }},
		{name: "garbage after the last member", tamper: func(t testing.TB, p string) { appendToFile(t, p, []byte("garbage")) }},
		{name: "a complete member whose checksum does not match", tamper: func(t testing.TB, p string) {
			m := gzipMember(t, `,{"eventName":"Corrupt"}`)
			m[len(m)-8] ^= 0xff
			appendToFile(t, p, m)
		}},
		{name: "the closing member written but the rename not done", tamper: func(t testing.TB, p string) {
			appendToFile(t, p, gzipMember(t, recordsClose))
		}},
		{name: "a torn closing member", tamper: func(t testing.TB, p string) {
			m := gzipMember(t, recordsClose)
			appendToFile(t, p, m[:len(m)-3])
		}},
	}
	for _, tt := range tests {
		t.Run("start recovers "+tt.name, func(t *testing.T) {
			first, second := twoBatches(t)
			cfg := testConfig(t)
			e := startTestExporter(t, cfg, hooks{})
			require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
			require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, second, true)))
			crash(t, e)
			partials := inProgress(t, cfg.Directory)
			require.Len(t, partials, 1)
			tt.tamper(t, filepath.Join(cfg.Directory, partials[0]))

			restarted := startTestExporter(t, cfg, hooks{})
			assert.Empty(t, inProgress(t, cfg.Directory), "start finalises every file")
			require.NoError(t, restarted.shutdown(context.Background()))
			got := readCloudTrailFiles(t, cfg.Directory)
			want := append(sourceRaws(first), sourceRaws(second)...)
			assert.Equal(t, canonicalMultiset(t, want), canonicalMultiset(t, archivedRaws(got)),
				"every acknowledged record, and nothing else")
		})
	}
}

func TestRecoveryAtEveryCutPointKeepsTheAcknowledgedBatches(t *testing.T) {
	// kill -9 can stop a write at any byte: cut the file of a crashed exporter at every
	// point of its last batch and recover it.
	for _, format := range []Format{FormatCloudTrail, FormatOTLPJSON} {
		t.Run("a "+string(format)+" file cut anywhere in its last batch recovers to the batches before", func(t *testing.T) {
			first, second := twoBatches(t)
			cfg := testConfig(t, func(c *Config) { c.Format = format })
			e := startTestExporter(t, cfg, hooks{})
			require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
			var afterFirst int64
			for _, af := range e.archive.open {
				afterFirst = af.size
			}
			require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, second, false)))
			crash(t, e)
			partials := inProgress(t, cfg.Directory)
			require.Len(t, partials, 1)
			data, err := os.ReadFile(filepath.Join(cfg.Directory, partials[0]))
			require.NoError(t, err)
			require.Greater(t, int64(len(data)), afterFirst)

			a := newArchive(t.TempDir(), false, zap.NewNop(), openOSFile)
			cuts := []int64{afterFirst, afterFirst + 1, int64(len(data)) - 1, int64(len(data))}
			for c := afterFirst + 2; c < int64(len(data))-1; c += 13 {
				cuts = append(cuts, c)
			}
			for _, cut := range cuts {
				name := filepath.Join(a.root, filepath.Base(partials[0]))
				require.NoError(t, os.WriteFile(name, data[:cut], 0o600))
				ok, err := a.recoverFile(name)
				require.NoError(t, err)
				require.True(t, ok)
				final, _ := finalName(name)
				want := len(first)
				if cut == int64(len(data)) {
					want += len(second)
				}
				if format == FormatCloudTrail {
					raw := readGzip(t, final)
					require.Truef(t, json.Valid(raw), "cut at %d: invalid JSON", cut)
					assert.Lenf(t, readCloudTrailFiles(t, a.root), want, "cut at %d", cut)
				} else {
					assert.Equalf(t, want, countRecords(readOTLPFiles(t, a.root)), "cut at %d", cut)
				}
				require.NoError(t, os.Remove(final))
			}
		})
	}
}

func TestRecoveryRemovesFilesWithoutCompleteData(t *testing.T) {
	tests := []struct {
		name string
		data func(t testing.TB) []byte
	}{
		{"an empty file", func(testing.TB) []byte { return nil }},
		{"half of a first member", func(t testing.TB) []byte { m := gzipMember(t, recordsOpen+`{"a":1}`); return m[:len(m)/2] }},
		{"bytes that are not gzip", func(testing.TB) []byte { return []byte("not gzip at all") }},
	}
	for _, tt := range tests {
		t.Run("start removes "+tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			dir := filepath.Join(cfg.Directory, cloudTrailTop, "123456789012", "CloudTrail", "us-east-1", "2025", "01", "02")
			require.NoError(t, os.MkdirAll(dir, 0o750))
			name := filepath.Join(dir, ".123456789012_CloudTrail_us-east-1_20250102T0304Z_AAAAAAAAAAAAAAAA.json.gz.partial")
			require.NoError(t, os.WriteFile(name, tt.data(t), 0o600))
			e := startTestExporter(t, cfg, hooks{})
			require.NoError(t, e.shutdown(context.Background()))
			assert.Empty(t, listFiles(t, cfg.Directory))
		})
	}
}

func TestRecoveryLeavesOtherFilesAlone(t *testing.T) {
	cfg := testConfig(t)
	dir := filepath.Join(cfg.Directory, otlpTop, "2025", "01", "02")
	require.NoError(t, os.MkdirAll(dir, 0o750))
	for _, n := range []string{"notes.partial", ".hidden", "logs.jsonl.gz.partial"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600))
	}
	e := startTestExporter(t, cfg, hooks{})
	require.NoError(t, e.shutdown(context.Background()))
	assert.Len(t, listFiles(t, cfg.Directory), 3)
}

// failingFS injects write failures into the files the exporter creates.
type failingFS struct {
	mu     sync.Mutex
	budget int64 // bytes that can still be written; < 0 means unlimited
	err    error // returned once the budget is spent
	open   error // returned by open when set
}

func (f *failingFS) set(budget int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.budget, f.err = budget, err
}

func (f *failingFS) openFile(path string, flag int, perm os.FileMode) (fileHandle, error) {
	f.mu.Lock()
	openErr := f.open
	f.mu.Unlock()
	if openErr != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: openErr}
	}
	file, err := os.OpenFile(path, flag, perm)
	if err != nil {
		return nil, err
	}
	return &failingFile{File: file, fs: f}, nil
}

type failingFile struct {
	*os.File
	fs *failingFS
}

func (f *failingFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	budget, werr := f.fs.budget, f.fs.err
	if budget >= 0 {
		f.fs.budget = max(0, budget-int64(len(p)))
	}
	f.fs.mu.Unlock()
	if budget < 0 || int64(len(p)) <= budget {
		return f.File.Write(p)
	}
	n, err := f.File.Write(p[:budget]) // a torn write, as a full disk leaves it
	if err != nil {
		return n, err
	}
	return n, &fs.PathError{Op: "write", Path: f.Name(), Err: werr}
}

func TestFailedWritesAreReturnedAndRolledBack(t *testing.T) {
	tests := []struct {
		name   string
		budget int64
		err    error
		open   error
		// otherPartition sends the failing batch to a new file.
		otherPartition bool
	}{
		{name: "a full disk before the first byte", budget: 0, err: syscall.ENOSPC},
		{name: "a full disk inside the gzip header", budget: 5, err: syscall.ENOSPC},
		{name: "a full disk in the middle of a member", budget: 300, err: syscall.ENOSPC},
		{name: "an I/O error in the middle of a member", budget: 1000, err: syscall.EIO},
		{name: "a full disk while writing a new file", budget: 100, err: syscall.ENOSPC, otherPartition: true},
		{name: "a permission error when creating a new file", budget: -1, open: syscall.EACCES, otherPartition: true},
	}
	for _, tt := range tests {
		t.Run(tt.name+" fails the batch and leaves readable files", func(t *testing.T) {
			first, second := twoBatches(t)
			failing := &failingFS{budget: -1}
			cfg := testConfig(t)
			exp, err := newFactory(hooks{now: defaultHooks().now, openFile: failing.openFile}).
				CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(context.Background(), nil))
			defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

			require.NoError(t, exp.ConsumeLogs(context.Background(), buildLogs(t, first, false)))
			partials := inProgress(t, cfg.Directory)
			require.Len(t, partials, 1)
			before, err := os.ReadFile(filepath.Join(cfg.Directory, partials[0]))
			require.NoError(t, err)

			failed := buildLogs(t, second, false)
			if tt.otherPartition {
				failed = buildLogs(t, withAccount(second, "999999999999"), false)
			}
			failing.set(tt.budget, tt.err)
			failing.mu.Lock()
			failing.open = tt.open
			failing.mu.Unlock()
			err = exp.ConsumeLogs(context.Background(), failed)
			require.Error(t, err)
			want := tt.err
			if tt.open != nil {
				want = tt.open
			}
			assert.ErrorIs(t, err, want)
			assert.False(t, consumererror.IsPermanent(err), "the sender must retry")

			after, err := os.ReadFile(filepath.Join(cfg.Directory, partials[0]))
			require.NoError(t, err)
			assert.Equal(t, before, after, "the failed batch is rolled back")
			assert.Equal(t, partials, inProgress(t, cfg.Directory), "a file created by the failed batch is removed")

			failing.set(-1, nil)
			failing.mu.Lock()
			failing.open = nil
			failing.mu.Unlock()
			require.NoError(t, exp.ConsumeLogs(context.Background(), failed), "the retry succeeds")
			require.NoError(t, exp.Shutdown(context.Background()))
			got := readCloudTrailFiles(t, cfg.Directory)
			wantRaws := append(sourceRaws(first), sourceRaws(second)...)
			assert.Equal(t, canonicalMultiset(t, wantRaws), canonicalMultiset(t, archivedRaws(got)),
				"the failed batch is stored once, by its retry")
		})
	}
}

func TestAFailedRollbackLeavesTheFileForRecovery(t *testing.T) {
	first, second := twoBatches(t)
	failing := &failingFS{budget: -1}
	cfg := testConfig(t)
	e := startTestExporter(t, cfg, hooks{openFile: failing.openFile})
	require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
	for _, af := range e.archive.open {
		af.f = &untruncatable{fileHandle: af.f}
	}
	failing.set(200, syscall.ENOSPC)
	require.ErrorIs(t, e.consumeLogs(context.Background(), buildLogs(t, second, false)), syscall.ENOSPC)
	assert.Empty(t, e.archive.open, "the file is no longer written")
	require.Len(t, e.archive.orphans, 1)

	failing.set(-1, nil)
	e.maintain()
	assert.Empty(t, e.archive.orphans, "maintenance finalises it")
	assert.Empty(t, inProgress(t, cfg.Directory))
	assert.Equal(t, canonicalMultiset(t, sourceRaws(first)), canonicalMultiset(t, archivedRaws(readCloudTrailFiles(t, cfg.Directory))))
}

type untruncatable struct{ fileHandle }

func (u *untruncatable) Truncate(int64) error { return errors.New("truncate refused") }

func TestReadOnlyDirectoryFailsTheBatch(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	cfg := testConfig(t)
	e := startTestExporter(t, cfg, hooks{})
	require.NoError(t, os.Chmod(cfg.Directory, 0o500))
	t.Cleanup(func() { _ = os.Chmod(cfg.Directory, 0o700) })
	first, _ := twoBatches(t)
	err := e.consumeLogs(context.Background(), buildLogs(t, first, false))
	require.ErrorIs(t, err, fs.ErrPermission)
	assert.False(t, consumererror.IsPermanent(err))
}

func withAccount(records []sourceRecord, account string) []sourceRecord {
	out := make([]sourceRecord, len(records))
	for i, r := range records {
		r.account = account
		out[i] = r
	}
	return out
}

func TestAFullDiskAtShutdownLeavesTheFileForTheNextStart(t *testing.T) {
	first, _ := twoBatches(t)
	failing := &failingFS{budget: -1}
	cfg := testConfig(t)
	e := startTestExporter(t, cfg, hooks{openFile: failing.openFile})
	require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
	failing.set(3, syscall.ENOSPC)
	require.ErrorIs(t, e.shutdown(context.Background()), syscall.ENOSPC)
	require.Len(t, inProgress(t, cfg.Directory), 1, "the file is left in progress, rolled back to its complete members")

	restarted := startTestExporter(t, cfg, hooks{})
	require.NoError(t, restarted.shutdown(context.Background()))
	assert.Empty(t, inProgress(t, cfg.Directory))
	assert.Equal(t, canonicalMultiset(t, sourceRaws(first)), canonicalMultiset(t, archivedRaws(readCloudTrailFiles(t, cfg.Directory))))
}

func FuzzScanMembers(f *testing.F) {
	open := gzipMember(f, recordsOpen+`{"a":1}`)
	more := gzipMember(f, `,{"b":2}`)
	closing := gzipMember(f, recordsClose)
	f.Add([]byte{})
	f.Add(open)
	f.Add(append(slices.Clone(open), more[:len(more)/2]...))
	f.Add(append(append(slices.Clone(open), more...), closing...))
	f.Add(append(slices.Clone(open), 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		good, closed, err := scanMembers(bytes.NewReader(data))
		require.NoError(t, err, "a bytes.Reader never fails to read")
		require.GreaterOrEqual(t, good, int64(0))
		require.LessOrEqual(t, good, int64(len(data)))
		again, closedAgain, err := scanMembers(bytes.NewReader(data[:good]))
		require.NoError(t, err)
		assert.Equal(t, good, again, "the kept prefix is made of complete members")
		assert.Equal(t, closed, closedAgain)
		if good > 0 {
			zr, err := gzip.NewReader(bytes.NewReader(data[:good]))
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, zr)
			require.NoError(t, err, "the kept prefix decompresses")
		}
	})
}

// flakyReadDir is a readDir hook failing with EIO for the directories whose path ends with
// suffix while failing is set.
type flakyReadDir struct {
	mu      sync.Mutex
	suffix  string
	failing bool
	calls   int
}

func (f *flakyReadDir) readDir(dir string) ([]fs.DirEntry, error) {
	f.mu.Lock()
	f.calls++
	fail := f.failing && strings.HasSuffix(filepath.ToSlash(dir), f.suffix)
	f.mu.Unlock()
	if fail {
		return nil, &fs.PathError{Op: "readdirent", Path: dir, Err: syscall.EIO}
	}
	return os.ReadDir(dir)
}

func (f *flakyReadDir) set(failing bool) (calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = failing
	return f.calls
}

func TestAnUnreadableDirectoryDoesNotHideTheOtherInProgressFiles(t *testing.T) {
	first, second := twoBatches(t)
	second = onDay(second, observedTime.AddDate(0, 0, 1))
	cfg := testConfig(t)
	e := startTestExporter(t, cfg, hooks{})
	require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, first, false)))
	require.NoError(t, e.consumeLogs(context.Background(), buildLogs(t, second, false)))
	crash(t, e)
	require.Len(t, inProgress(t, cfg.Directory), 2)

	// 2025/01/02 is scanned before 2025/01/03.
	flaky := &flakyReadDir{suffix: "2025/01/02", failing: true}
	restarted := startTestExporter(t, cfg, hooks{readDir: flaky.readDir})
	left := inProgress(t, cfg.Directory)
	require.Len(t, left, 1, "start recovers the files of the directories it could read")
	assert.Contains(t, filepath.ToSlash(left[0]), "2025/01/02/")

	flaky.set(false)
	restarted.maintain()
	assert.Empty(t, inProgress(t, cfg.Directory), "maintenance scans again and recovers the rest")
	calls := flaky.set(false)
	restarted.maintain()
	assert.Equal(t, calls, flaky.set(false), "a complete scan is not repeated")

	require.NoError(t, restarted.shutdown(context.Background()))
	want := append(sourceRaws(first), sourceRaws(second)...)
	assert.Equal(t, canonicalMultiset(t, want), canonicalMultiset(t, archivedRaws(readCloudTrailFiles(t, cfg.Directory))))
}
