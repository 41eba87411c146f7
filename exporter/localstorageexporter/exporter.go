package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// maxOpenFiles bounds the in-progress files open at any time, also within one batch
	// (see writeBatch).
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
	// archive, otlp, started, stopped and rescan.
	lock             chan struct{}
	archive          *archive
	otlp             otlpLines
	started, stopped bool
	rescan           bool // the last scan for in-progress files skipped directories

	retentionMu sync.Mutex    // one retention pass at a time
	kick        chan struct{} // asks the maintenance goroutine for a retention pass
	stop        chan struct{} // closed when Shutdown begins; ConsumeLogs fails from then on
	stopOnce    sync.Once
	wg          sync.WaitGroup
}

// hooks are the test doubles newFactory injects; a nil field takes its default.
type hooks struct {
	now      func() time.Time
	openFile openFileFunc
	syncDir  syncDirFunc
	readDir  readDirFunc
}

func defaultHooks() hooks {
	return hooks{now: time.Now, openFile: openOSFile, syncDir: syncOSDir, readDir: os.ReadDir}
}

func (h hooks) withDefaults() hooks {
	d := defaultHooks()
	if h.now == nil {
		h.now = d.now
	}
	if h.openFile == nil {
		h.openFile = d.openFile
	}
	if h.syncDir == nil {
		h.syncDir = d.syncDir
	}
	if h.readDir == nil {
		h.readDir = d.readDir
	}
	return h
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
	h = h.withDefaults()
	a := newArchive(filepath.Clean(cfg.Directory), cfg.Fsync, set.Logger, h.openFile)
	a.syncDirFn, a.readDir = h.syncDir, h.readDir
	return &localStorageExporter{
		cfg:         cfg,
		logger:      set.Logger,
		telemetry:   tb,
		now:         h.now,
		formatAttrs: attrs,
		lock:        make(chan struct{}, 1),
		archive:     a,
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

// acquireUnlessStopping waits for the lock unless ctx ends or Shutdown begins.
func (e *localStorageExporter) acquireUnlessStopping(ctx context.Context) error {
	select {
	case e.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-e.stop:
		return errNotRunning
	}
}

// stopping reports whether Shutdown has begun (it may still be waiting for the lock).
func (e *localStorageExporter) stopping() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

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
	if e.stopped || e.stopping() {
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
	recovered := e.recoverInProgress(ctx, a.findInProgress)
	e.logger.Info("local storage ready", zap.String("directory", root), zap.String("format", string(e.cfg.Format)),
		zap.Bool("fsync", e.cfg.Fsync), zap.Int("recovered_files", recovered))
	e.started = true
	e.wg.Add(1)
	go e.run()
	return nil
}

// shutdown stops the maintenance goroutine and finalises every open file. It is safe without
// start and idempotent. Closing stop first makes every later ConsumeLogs fail, even when ctx
// ends before the lock is free; calling shutdown again then finalises the files.
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

// maintain finalises files older than max_file_age, retries files left by failed writes,
// repeats the scan for in-progress files while the last one skipped directories and enforces
// retention.
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
	if e.rescan {
		e.recoverInProgress(ctx, e.scanWithoutLock)
	}
	e.release()
	e.enforceRetention()
}

// scanWithoutLock runs findInProgress with the lock released (the walk can be long) and
// drops the files this exporter has open. The lock is held on entry and on return.
func (e *localStorageExporter) scanWithoutLock() ([]string, error) {
	e.release()
	paths, err := e.archive.findInProgress() // root and readDir are only written before start
	// Shutdown waits for the maintenance goroutine before it takes the lock.
	_ = e.acquire(context.Background())
	if e.stopping() {
		return nil, err // Shutdown finalises the orphans; the next start recovers the rest
	}
	open := make(map[string]struct{}, len(e.archive.open))
	for _, af := range e.archive.open {
		open[af.partialPath] = struct{}{}
	}
	// A file this exporter created after the walk and finalised or removed since is gone:
	// recoverFile ignores a path that no longer exists.
	return slices.DeleteFunc(paths, func(p string) bool {
		_, ok := open[p]
		return ok
	}), err
}

// recoverInProgress finalises the in-progress files scan finds (those of an earlier run).
// When the scan skipped directories, it is repeated on the next maintenance tick. The lock
// is held.
func (e *localStorageExporter) recoverInProgress(ctx context.Context, scan func() ([]string, error)) int {
	paths, err := scan()
	e.rescan = err != nil
	if err != nil {
		e.logger.Error("scan for in-progress files: directories were skipped; the scan is repeated on the next maintenance tick",
			zap.String("directory", e.archive.root), zap.Error(err))
	}
	recovered := 0
	for _, p := range paths {
		ok, err := e.archive.recoverFile(p)
		if err != nil {
			e.logger.Error("recover an in-progress file; it is retried later", zap.String("path", p), zap.Error(err))
			e.archive.addOrphan(p)
			continue
		}
		if ok {
			recovered++
			e.telemetry.ExporterLocalstorageFilesRecovered.Add(ctx, 1)
			e.telemetry.ExporterLocalstorageFilesFinalized.Add(ctx, 1, e.formatAttrs[formatOfPath(p)])
		}
	}
	return recovered
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
		if !errors.Is(err, errGone) { // abandon has said so already
			e.logger.Error("finalise a file", zap.String("path", af.partialPath), zap.Error(err))
		}
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
// Once Shutdown has begun, batches are refused.
func (e *localStorageExporter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	if ld.LogRecordCount() == 0 {
		return nil
	}
	if e.stopping() {
		return errNotRunning
	}
	now := e.now()
	groups := e.plan(ld, now)
	if err := e.acquireUnlessStopping(ctx); err != nil {
		return err
	}
	defer e.release()
	if !e.started || e.stopped || e.stopping() {
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

// batch is the state of one writeBatch.
type batch struct {
	seq       uint64
	ts        []touched
	parked    int            // ts[:parked] were synced and closed by checkpoints; renamed once the batch is stored
	idle      []*archiveFile // open files the batch had not written when the limit was first reached, least recently written first
	listed    bool           // idle was listed
	finalized bool           // files were finalised: retention may have work
}

// openFiles are the files b wrote that no checkpoint closed.
func (b *batch) openFiles() []*archiveFile {
	files := make([]*archiveFile, 0, len(b.ts)-b.parked)
	for _, t := range b.ts[b.parked:] {
		files = append(files, t.af)
	}
	return files
}

// writeBatch writes every group and makes the batch durable. At most maxOpenFiles files are
// open at any time: when a group needs a new file and the limit is reached, the files the
// batch has not written are finalised, least recently written first, and when every open file
// holds part of the batch, that part is made durable and those files are closed
// (checkpoint); they are renamed to their final names only once the whole batch is stored,
// and removed or truncated back if it fails.
func (e *localStorageExporter) writeBatch(ctx context.Context, ld plog.Logs, groups []*group, now time.Time) error {
	a := e.archive
	a.batches++
	b := &batch{seq: a.batches, ts: make([]touched, 0, min(len(groups), maxOpenFiles))}
	for _, g := range groups {
		af, created, err := e.fileFor(ctx, b, g, now)
		if err != nil {
			return e.rollbackBatch(b, err)
		}
		af.batch = b.seq
		b.ts = append(b.ts, touched{af: af, size: af.size, created: created, records: g.count(ld)})
		n, err := a.appendMember(af, func(w io.Writer) error { return e.encode(w, ld, g, af) })
		b.ts[len(b.ts)-1].bytes = n
		if err != nil {
			return e.rollbackBatch(b, err)
		}
	}
	open := b.openFiles()
	if err := a.syncFiles(open, true); err != nil {
		return e.rollbackBatch(b, err)
	}
	// A file removed while the batch was written to it holds the batch nowhere anyone can
	// read: refuse the batch, so that the sender retries it into a new file. Files a
	// checkpoint closed (parked) are checked too: they are renamed once the batch is stored.
	touched := slices.Clip(open)
	for _, t := range b.ts[:b.parked] {
		touched = append(touched, t.af)
	}
	if gone := a.goneFiles(touched); len(gone) > 0 {
		for _, af := range gone {
			a.abandon(af)
		}
		return e.rollbackBatch(b, fmt.Errorf("%s: %w", gone[0].partialPath, errGone))
	}
	// The batch is stored.
	e.publishParked(ctx, b)
	for i, t := range b.ts {
		if i >= b.parked {
			t.af.records += t.records
			t.af.lastWrite = now
			t.af.dirDirty = false
		}
		e.telemetry.ExporterLocalstorageRecordsWritten.Add(ctx, t.records, e.formatAttrs[t.af.key.format])
		e.telemetry.ExporterLocalstorageBytesWritten.Add(ctx, t.bytes, e.formatAttrs[t.af.key.format])
	}
	if cap(a.enc.buf) > maxKeptBuffer {
		a.enc.buf = nil
	}
	for _, af := range open {
		if af.size >= e.cfg.MaxFileSize && a.open[af.key] == af {
			b.finalized = e.finalize(ctx, af) == nil || b.finalized
		}
	}
	if b.finalized {
		e.requestRetention()
	}
	return nil
}

// rollbackBatch undoes a failed batch in every file it touched and returns err.
func (e *localStorageExporter) rollbackBatch(b *batch, err error) error {
	a := e.archive
	for i := len(b.ts) - 1; i >= 0; i-- {
		t := b.ts[i]
		switch {
		case t.af.abandoned:
			// nothing at its path is the exporter's any more
		case (i < b.parked || t.created) && a.gone(t.af):
			a.abandon(t.af) // rolled back by path, it would truncate or remove someone else's file
		case i < b.parked:
			a.rollbackClosed(t.af, t.size, t.created)
		case t.created:
			a.discard(t.af)
		default:
			a.rollback(t.af, t.size)
		}
	}
	if b.finalized {
		e.requestRetention()
	}
	return err
}

// makeRoom finalises or closes files until fewer than maxOpenFiles are open, so that b can
// create one more: first the files b has not written, least recently written first, then,
// when every open file holds part of b, a checkpoint.
func (e *localStorageExporter) makeRoom(ctx context.Context, b *batch) error {
	a := e.archive
	for len(a.open) >= maxOpenFiles {
		if !b.listed {
			b.listed = true
			for _, af := range a.open {
				if af.batch != b.seq {
					b.idle = append(b.idle, af)
				}
			}
			slices.SortFunc(b.idle, func(x, y *archiveFile) int {
				if c := x.lastWrite.Compare(y.lastWrite); c != 0 {
					return c
				}
				return strings.Compare(x.partialPath, y.partialPath)
			})
		}
		if len(b.idle) > 0 {
			af := b.idle[0]
			b.idle = b.idle[1:]
			if a.open[af.key] == af && af.batch != b.seq && e.finalize(ctx, af) == nil {
				b.finalized = true
			}
			continue
		}
		if err := e.checkpoint(b); err != nil {
			return err
		}
	}
	return nil
}

// checkpoint makes what b wrote so far durable and closes the files holding it, keeping them
// in progress: a CloudTrail file gets its closing member now, so that once the batch is stored
// only the rename is left (publishParked). Until then a crash leaves them to recovery, like
// any unacknowledged write, and a failure of the batch rolls them back by path
// (archive.rollbackClosed).
func (e *localStorageExporter) checkpoint(b *batch) error {
	a := e.archive
	files := b.openFiles()
	if len(files) == 0 {
		return fmt.Errorf("more than %d files are open and none of them can be finalised", maxOpenFiles)
	}
	for _, af := range files {
		if af.key.format == FormatCloudTrail {
			if _, err := a.appendMember(af, writeRecordsClose); err != nil {
				return fmt.Errorf("finalize: %w", err)
			}
			af.closed = true
		}
	}
	// The directory entries are synced after the rename, by publishParked.
	if err := a.syncFiles(files, false); err != nil {
		return err
	}
	for _, af := range files {
		if err := af.close(); err != nil {
			e.logger.Warn("close a synced file", zap.String("path", af.partialPath), zap.Error(err))
		}
		a.forget(af)
	}
	b.parked = len(b.ts)
	return nil
}

// publishParked renames the files a checkpoint of the stored batch b closed to their final
// names and syncs their directories. A file that cannot be renamed is left for recovery.
func (e *localStorageExporter) publishParked(ctx context.Context, b *batch) {
	a := e.archive
	var dirs []string
	seen := make(map[string]struct{})
	for _, t := range b.ts[:b.parked] {
		if err := os.Rename(t.af.partialPath, t.af.finalPath); err != nil {
			e.logger.Error("finalise a file; it is left for recovery", zap.String("path", t.af.partialPath), zap.Error(err))
			a.addOrphan(t.af.partialPath)
			continue
		}
		b.finalized = true
		e.telemetry.ExporterLocalstorageFilesFinalized.Add(ctx, 1, e.formatAttrs[t.af.key.format])
		if _, ok := seen[t.af.dir]; !ok {
			seen[t.af.dir] = struct{}{}
			dirs = append(dirs, t.af.dir)
		}
	}
	if err := a.syncParallel(len(dirs), func(i int) error { return a.syncDir(dirs[i]) }); err != nil {
		// The renames happened; after a crash the files are at worst found in progress again
		// and finalised by recovery.
		e.logger.Warn("finalize: directory sync failed", zap.Error(err))
	}
}

// syncFiles makes files durable and, with dirs, the directory entries of the new ones.
// Several files are synced in parallel so that the file system can commit them together.
func (a *archive) syncFiles(files []*archiveFile, dirs bool) error {
	if !a.fsync {
		return nil
	}
	var dirty []string
	if dirs {
		seen := make(map[string]struct{})
		for _, af := range files {
			if _, ok := seen[af.dir]; af.dirDirty && !ok {
				seen[af.dir] = struct{}{}
				dirty = append(dirty, af.dir)
			}
		}
	}
	return a.syncParallel(len(files)+len(dirty), func(i int) error {
		if i < len(files) {
			return a.syncFile(files[i])
		}
		return a.syncDir(dirty[i-len(files)])
	})
}

// syncParallel runs sync(0), …, sync(n-1) on up to maxParallelSyncs goroutines.
func (a *archive) syncParallel(n int, syncOne func(i int) error) error {
	if !a.fsync || n == 0 {
		return nil
	}
	if n == 1 {
		return syncOne(0)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, maxParallelSyncs) {
		wg.Go(func() {
			for i := range next {
				errs[i] = syncOne(i)
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
// or creates one, making room for it first.
func (e *localStorageExporter) fileFor(ctx context.Context, b *batch, g *group, now time.Time) (*archiveFile, bool, error) {
	a := e.archive
	if af := a.open[g.key]; af != nil && a.gone(af) {
		a.abandon(af)
	}
	if af := a.open[g.key]; af != nil {
		if now.Sub(af.created) < e.cfg.MaxFileAge {
			return af, false, nil
		}
		if err := e.finalize(ctx, af); err == nil {
			b.finalized = true
		} else if a.open[g.key] == af {
			// Still usable: rotation is retried later.
			return af, false, nil
		}
	}
	if err := e.makeRoom(ctx, b); err != nil {
		return nil, false, err
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
