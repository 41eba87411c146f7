package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter/internal/metadata"
)

const (
	// maxOpenFiles bounds the in-progress files kept open; beyond it the least recently
	// written ones are finalised after each batch.
	maxOpenFiles = 128
	// encodeFlushSize is how much encoded JSON is gathered before it goes to the compressor.
	encodeFlushSize = 64 << 10
	// maxKeptBuffer is the largest encoding buffer kept between batches.
	maxKeptBuffer = 1 << 20
	// maxParallelSyncs bounds the fsyncs a batch runs at once.
	maxParallelSyncs = 16
)

var errNotRunning = errors.New("localstorage exporter is not running")

// localStorageExporter stores logs in an archive of local files.
type localStorageExporter struct {
	cfg         *Config
	logger      *zap.Logger
	telemetry   *metadata.TelemetryBuilder
	now         func() time.Time
	formatAttrs map[Format]metric.MeasurementOption

	// lock is a one-slot semaphore (so that waiting for it honours a context). It guards
	// archive, otlp, started and stopped.
	lock             chan struct{}
	archive          *archive
	otlp             otlpLines
	started, stopped bool

	retentionMu sync.Mutex    // one retention pass at a time
	kick        chan struct{} // asks the maintenance goroutine for a retention pass
	stop        chan struct{} // closed by Shutdown
	stopOnce    sync.Once
	wg          sync.WaitGroup
}

// hooks are the test doubles newFactory injects.
type hooks struct {
	now      func() time.Time
	openFile openFileFunc
}

func defaultHooks() hooks {
	return hooks{now: time.Now, openFile: openOSFile}
}

func newLocalStorageExporter(cfg *Config, set exporter.Settings, h hooks) (*localStorageExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("create telemetry: %w", err)
	}
	attrs := make(map[Format]metric.MeasurementOption, 2)
	for _, f := range []Format{FormatCloudTrail, FormatOTLPJSON} {
		attrs[f] = metric.WithAttributeSet(attribute.NewSet(attribute.String("format", string(f))))
	}
	return &localStorageExporter{
		cfg:         cfg,
		logger:      set.Logger,
		telemetry:   tb,
		now:         h.now,
		formatAttrs: attrs,
		lock:        make(chan struct{}, 1),
		archive:     newArchive(filepath.Clean(cfg.Directory), cfg.Fsync, set.Logger, h.openFile),
		kick:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
	}, nil
}

func (e *localStorageExporter) acquire(ctx context.Context) error {
	select {
	case e.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *localStorageExporter) release() { <-e.lock }

// acquireUnlessStopped waits for the lock unless Shutdown started.
func (e *localStorageExporter) acquireUnlessStopped() bool {
	select {
	case e.lock <- struct{}{}:
		return true
	case <-e.stop:
		return false
	}
}

// start creates the directory, finalises the files an earlier run left in progress and
// starts the maintenance goroutine (age rotation and retention).
func (e *localStorageExporter) start(ctx context.Context, _ component.Host) error {
	if err := e.acquire(ctx); err != nil {
		return err
	}
	defer e.release()
	if e.stopped {
		return errNotRunning
	}
	if e.started {
		return nil
	}
	a := e.archive
	root, err := filepath.Abs(a.root)
	if err != nil {
		return fmt.Errorf("directory %s: %w", a.root, err)
	}
	a.root = root
	if err := a.mkdir(root); err != nil {
		return fmt.Errorf("create directory %s: %w", root, err)
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return fmt.Errorf("directory %s: not a directory (%v)", root, err)
	}
	paths, err := findInProgress(root)
	if err != nil {
		e.logger.Error("scan for in-progress files", zap.String("directory", root), zap.Error(err))
	}
	recovered := 0
	for _, p := range paths {
		ok, err := a.recoverFile(p)
		if err != nil {
			e.logger.Error("recover an in-progress file; it is retried later", zap.String("path", p), zap.Error(err))
			a.addOrphan(p)
			continue
		}
		if ok {
			recovered++
			e.telemetry.ExporterLocalstorageFilesRecovered.Add(ctx, 1)
			e.telemetry.ExporterLocalstorageFilesFinalized.Add(ctx, 1, e.formatAttrs[formatOfPath(p)])
		}
	}
	e.logger.Info("local storage ready", zap.String("directory", root), zap.String("format", string(e.cfg.Format)),
		zap.Bool("fsync", e.cfg.Fsync), zap.Int("recovered_files", recovered))
	e.started = true
	e.wg.Add(1)
	go e.run()
	return nil
}

// shutdown stops the maintenance goroutine and finalises every open file. It is safe without
// start and idempotent.
func (e *localStorageExporter) shutdown(ctx context.Context) error {
	e.stopOnce.Do(func() { close(e.stop) })
	e.wg.Wait()
	if err := e.acquire(ctx); err != nil {
		return err
	}
	defer e.release()
	if e.stopped {
		return nil
	}
	e.stopped = true
	defer e.telemetry.Shutdown()
	if !e.started {
		return nil
	}
	var errs []error
	for _, af := range e.archive.open {
		if err := e.finalize(ctx, af); err != nil {
			errs = append(errs, err)
		}
	}
	for _, af := range e.archive.open {
		// Finalising failed (the error is in errs): the file keeps its complete members.
		e.archive.orphan(af)
	}
	for _, f := range e.archive.retryOrphans() {
		e.telemetry.ExporterLocalstorageFilesFinalized.Add(ctx, 1, e.formatAttrs[f])
	}
	if n := len(e.archive.orphans); n > 0 {
		e.logger.Error("in-progress files are left for recovery on the next start", zap.Strings("paths", e.archive.orphans))
		errs = append(errs, fmt.Errorf("%d in-progress files are left for recovery on the next start", n))
	}
	return errors.Join(errs...)
}

func (e *localStorageExporter) maintenanceInterval() time.Duration {
	return min(time.Minute, max(time.Second, e.cfg.MaxFileAge/2))
}

// run finalises aged files and enforces retention until shutdown.
func (e *localStorageExporter) run() {
	defer e.wg.Done()
	ticker := time.NewTicker(e.maintenanceInterval())
	defer ticker.Stop()
	e.enforceRetention()
	for {
		select {
		case <-e.stop:
			return
		case <-ticker.C:
			e.maintain()
		case <-e.kick:
			e.enforceRetention()
		}
	}
}

// maintain finalises files older than max_file_age, retries files left by failed writes and
// enforces retention.
func (e *localStorageExporter) maintain() {
	if !e.acquireUnlessStopped() {
		return
	}
	now := e.now()
	ctx := context.Background()
	for _, af := range e.archive.open {
		if now.Sub(af.created) >= e.cfg.MaxFileAge {
			_ = e.finalize(ctx, af)
		}
	}
	for _, f := range e.archive.retryOrphans() {
		e.telemetry.ExporterLocalstorageFilesFinalized.Add(ctx, 1, e.formatAttrs[f])
	}
	e.release()
	e.enforceRetention()
}

// requestRetention asks the maintenance goroutine for a retention pass without waiting.
func (e *localStorageExporter) requestRetention() {
	if e.cfg.Retention == 0 && e.cfg.MaxTotalSize == 0 {
		return
	}
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// finalize finalises af, counting and logging the outcome. The lock is held.
func (e *localStorageExporter) finalize(ctx context.Context, af *archiveFile) error {
	if err := e.archive.finalize(af); err != nil {
		e.logger.Error("finalise a file", zap.String("path", af.partialPath), zap.Error(err))
		return err
	}
	e.telemetry.ExporterLocalstorageFilesFinalized.Add(ctx, 1, e.formatAttrs[af.key.format])
	return nil
}

// group is the part of a batch that goes to one file.
type group struct {
	key   fileKey
	stamp time.Time   // names the file if one is created: the first record's time, or now
	refs  []recordRef // the records, in batch order; nil when all
	all   bool        // every record of the batch (format otlp_json)
}

func (g *group) count(ld plog.Logs) int64 {
	if g.all {
		return int64(ld.LogRecordCount())
	}
	return int64(len(g.refs))
}

// plan splits a batch into the files its records go to. It reads ld only.
func (e *localStorageExporter) plan(ld plog.Logs, now time.Time) []*group {
	otlpKey := fileKey{format: FormatOTLPJSON, day: dayOf(now)}
	if e.cfg.Format == FormatOTLPJSON {
		return []*group{{key: otlpKey, stamp: now, all: true}}
	}
	var groups []*group
	index := make(map[fileKey]*group)
	add := func(key fileKey, stamp time.Time, ref recordRef) {
		g := index[key]
		if g == nil {
			g = &group{key: key, stamp: stamp}
			index[key] = g
			groups = append(groups, g)
		}
		g.refs = append(g.refs, ref)
	}
	var days dayNames
	for i, rl := range ld.ResourceLogs().All() {
		account, region := resourceAccountRegion(rl.Resource())
		for j, sl := range rl.ScopeLogs().All() {
			for k, lr := range sl.LogRecords().All() {
				ref := recordRef{rl: int32(i), sl: int32(j), lr: int32(k), kind: classifyRecord(lr)} //nolint:gosec // pdata slices are far below 2^31
				if ref.kind == bodyOther {
					add(otlpKey, now, ref)
					continue
				}
				t := recordTime(lr, now)
				add(fileKey{format: FormatCloudTrail, account: account, region: region, day: days.of(t)}, t, ref)
			}
		}
	}
	return groups
}

// dayNames formats days, reusing the last string: records of a batch mostly share a day.
type dayNames struct {
	y    int
	m    time.Month
	d    int
	name string
}

func (n *dayNames) of(t time.Time) string {
	y, m, d := t.UTC().Date()
	if n.name == "" || y != n.y || m != n.m || d != n.d {
		n.y, n.m, n.d, n.name = y, m, d, dayOf(t)
	}
	return n.name
}

// consumeLogs stores a batch and returns once it is on disk. A failed batch is rolled back
// from every file it touched and its error returned (not permanent: the sender retries).
func (e *localStorageExporter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	if ld.LogRecordCount() == 0 {
		return nil
	}
	now := e.now()
	groups := e.plan(ld, now)
	if err := e.acquire(ctx); err != nil {
		return err
	}
	defer e.release()
	if !e.started || e.stopped {
		return errNotRunning
	}
	if err := e.writeBatch(ctx, ld, groups, now); err != nil {
		e.telemetry.ExporterLocalstorageWriteErrors.Add(ctx, 1)
		e.logger.Error("storing logs failed; the batch was rolled back and the error returned to the sender",
			zap.String("directory", e.archive.root), zap.Int("log_records", ld.LogRecordCount()), zap.Error(err))
		return err
	}
	return nil
}

// touched is a file a batch wrote to, with what rolls it back.
type touched struct {
	af      *archiveFile
	size    int64 // size before the batch
	created bool  // created by the batch
	records int64
	bytes   int64
}

func (e *localStorageExporter) writeBatch(ctx context.Context, ld plog.Logs, groups []*group, now time.Time) error {
	a := e.archive
	ts := make([]touched, 0, len(groups))
	fail := func(err error) error {
		for i := len(ts) - 1; i >= 0; i-- {
			if ts[i].created {
				a.discard(ts[i].af)
			} else {
				a.rollback(ts[i].af, ts[i].size)
			}
		}
		return err
	}
	for _, g := range groups {
		af, created, err := e.fileFor(ctx, g, now)
		if err != nil {
			return fail(err)
		}
		ts = append(ts, touched{af: af, size: af.size, created: created, records: g.count(ld)})
		n, err := a.appendMember(af, func(w io.Writer) error { return e.encode(w, ld, g, af) })
		ts[len(ts)-1].bytes = n
		if err != nil {
			return fail(err)
		}
	}
	if err := e.syncBatch(ts); err != nil {
		return fail(err)
	}
	// The batch is stored.
	for _, t := range ts {
		t.af.records += t.records
		t.af.lastWrite = now
		t.af.dirDirty = false
		e.telemetry.ExporterLocalstorageRecordsWritten.Add(ctx, t.records, e.formatAttrs[t.af.key.format])
		e.telemetry.ExporterLocalstorageBytesWritten.Add(ctx, t.bytes, e.formatAttrs[t.af.key.format])
	}
	if cap(a.enc.buf) > maxKeptBuffer {
		a.enc.buf = nil
	}
	finalized := false
	for _, t := range ts {
		if t.af.size >= e.cfg.MaxFileSize && a.open[t.af.key] == t.af {
			finalized = e.finalize(ctx, t.af) == nil || finalized
		}
	}
	for len(a.open) > maxOpenFiles {
		var oldest *archiveFile
		for _, af := range a.open {
			if oldest == nil || af.lastWrite.Before(oldest.lastWrite) {
				oldest = af
			}
		}
		if e.finalize(ctx, oldest) != nil && a.open[oldest.key] == oldest {
			break
		}
		finalized = true
	}
	if finalized {
		e.requestRetention()
	}
	return nil
}

// syncBatch makes the files a batch wrote, and the directory entries of the files it created,
// durable. Several files are synced in parallel so that the file system can commit them
// together.
func (e *localStorageExporter) syncBatch(ts []touched) error {
	a := e.archive
	if !a.fsync {
		return nil
	}
	var dirs []string
	for _, t := range ts {
		if t.af.dirDirty && !slices.Contains(dirs, t.af.dir) {
			dirs = append(dirs, t.af.dir)
		}
	}
	n := len(ts) + len(dirs)
	errs := make([]error, n)
	syncOne := func(i int) {
		if i < len(ts) {
			errs[i] = a.syncFile(ts[i].af)
		} else {
			errs[i] = a.syncDir(dirs[i-len(ts)])
		}
	}
	if n == 1 {
		syncOne(0)
		return errs[0]
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, maxParallelSyncs) {
		wg.Go(func() {
			for i := range next {
				syncOne(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// fileFor returns the open file of g's key, finalising it first when it reached max_file_age,
// or creates one.
func (e *localStorageExporter) fileFor(ctx context.Context, g *group, now time.Time) (*archiveFile, bool, error) {
	a := e.archive
	if af := a.open[g.key]; af != nil {
		if now.Sub(af.created) < e.cfg.MaxFileAge {
			return af, false, nil
		}
		if e.finalize(ctx, af) != nil && a.open[g.key] == af {
			// Still usable: rotation is retried later.
			return af, false, nil
		}
	}
	af, err := a.createFile(g.key, g.stamp, now)
	if err != nil {
		return nil, false, err
	}
	return af, true, nil
}

// encode writes g's records in af's format.
func (e *localStorageExporter) encode(w io.Writer, ld plog.Logs, g *group, af *archiveFile) error {
	if g.key.format == FormatOTLPJSON {
		if g.all {
			return e.otlp.writeAll(w, ld)
		}
		return e.otlp.writeRefs(w, ld, g.refs)
	}
	enc := &e.archive.enc
	enc.buf = enc.buf[:0]
	if af.records == 0 {
		enc.buf = append(enc.buf, recordsOpen...)
	} else {
		enc.buf = append(enc.buf, ',')
	}
	for i, r := range g.refs {
		if i > 0 {
			enc.buf = append(enc.buf, ',')
		}
		lr := ld.ResourceLogs().At(int(r.rl)).ScopeLogs().At(int(r.sl)).LogRecords().At(int(r.lr))
		enc.appendRecord(lr, r.kind)
		if len(enc.buf) >= encodeFlushSize {
			if _, err := w.Write(enc.buf); err != nil {
				return err
			}
			enc.buf = enc.buf[:0]
		}
	}
	_, err := w.Write(enc.buf)
	return err
}
