package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/zap"
)

// Layout of the archive below the configured directory.
const (
	cloudTrailTop    = "AWSLogs"  // AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
	otlpTop          = "otlp"     // otlp/YYYY/MM/DD/
	cloudTrailSuffix = ".json.gz" // finished CloudTrail log files
	otlpSuffix       = ".jsonl.gz"
	// In-progress files are hidden (most tools skip names starting with '.') and carry
	// partialSuffix: "." + final name + ".partial".
	partialPrefix = "."
	partialSuffix = ".partial"

	dirPerm  os.FileMode = 0o750
	filePerm os.FileMode = 0o640

	// maxCachedDirs bounds the directories remembered as created and synced; the cache is
	// emptied when it is full (the next use of a directory syncs its ancestors again).
	maxCachedDirs = 4096
)

// fileHandle is the part of *os.File the writer uses; tests wrap it to inject failures.
type fileHandle interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// openFileFunc opens a file like os.OpenFile.
type openFileFunc func(path string, flag int, perm os.FileMode) (fileHandle, error)

func openOSFile(path string, flag int, perm os.FileMode) (fileHandle, error) {
	f, err := os.OpenFile(path, flag, perm) //nolint:gosec // the path is built from the configured directory and sanitised components
	if err != nil {
		return nil, err
	}
	return f, nil
}

// syncDirFunc makes a directory's entries durable (fsync of the directory).
type syncDirFunc func(dir string) error

func syncOSDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // a directory of the archive
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// readDirFunc lists a directory like os.ReadDir: on error it also returns the entries it read.
type readDirFunc func(dir string) ([]fs.DirEntry, error)

// fileKey names the file a record goes to: one open file per key.
type fileKey struct {
	format  Format // FormatCloudTrail for CloudTrail log files, FormatOTLPJSON otherwise
	account string // CloudTrail only, sanitised
	region  string // CloudTrail only, sanitised
	day     string // YYYY/MM/DD (UTC)
}

func dayOf(t time.Time) string { return t.UTC().Format("2006/01/02") }

// dir is the key's directory relative to the archive root.
func (k fileKey) dir() string {
	if k.format == FormatCloudTrail {
		return filepath.Join(cloudTrailTop, k.account, "CloudTrail", k.region, filepath.FromSlash(k.day))
	}
	return filepath.Join(otlpTop, filepath.FromSlash(k.day))
}

// fileName is a finished file's name: CloudTrail's own naming for CloudTrail log files.
func (k fileKey) fileName(stamp time.Time, id string) string {
	ts := stamp.UTC().Format("20060102T1504Z")
	if k.format == FormatCloudTrail {
		return k.account + "_CloudTrail_" + k.region + "_" + ts + "_" + id + cloudTrailSuffix
	}
	return "logs_" + ts + "_" + id + otlpSuffix
}

// uniqueID is the random part of a file name: 16 characters of [A-Z2-7].
func uniqueID() string { return rand.Text()[:16] }

// archiveFile is an open in-progress file: a sequence of complete gzip members.
type archiveFile struct {
	key         fileKey
	f           fileHandle
	dir         string
	partialPath string
	finalPath   string
	size        int64 // bytes on disk
	records     int64 // records in the file
	closed      bool  // the CloudTrail closing member is already written (recovery, checkpoints)
	dirDirty    bool  // the directory entry still needs an fsync
	created     time.Time
	lastWrite   time.Time
	batch       uint64      // the last batch that wrote to the file (archive.batches)
	info        os.FileInfo // the file as created, to notice it being removed or replaced
	abandoned   bool        // closed and forgotten because it was removed or replaced from outside
}

// archive owns the files below root. Every method needs the exporter's lock.
type archive struct {
	root      string
	fsync     bool
	logger    *zap.Logger
	openFile  openFileFunc
	syncDirFn syncDirFunc
	readDir   readDirFunc

	open map[fileKey]*archiveFile
	// dirs holds the directories below root known to exist and whose entry, and every
	// ancestor's entry up to root, this process made durable. At most maxCachedDirs.
	dirs    map[string]struct{}
	orphans []string // in-progress files that could not be finalised or rolled back
	batches uint64   // batches started, numbering them for archiveFile.batch

	gz  *gzip.Writer
	bw  *bufio.Writer
	enc jsonWriter
}

func newArchive(root string, fsync bool, logger *zap.Logger, openFile openFileFunc) *archive {
	gz, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return &archive{
		root:      root,
		fsync:     fsync,
		logger:    logger,
		openFile:  openFile,
		syncDirFn: syncOSDir,
		readDir:   os.ReadDir,
		open:      make(map[fileKey]*archiveFile),
		dirs:      make(map[string]struct{}),
		gz:        gz,
		bw:        bufio.NewWriterSize(nil, 64<<10),
	}
}

// finalName turns an in-progress file's path into its finished path.
func finalName(partialPath string) (string, bool) {
	dir, base := filepath.Split(partialPath)
	if !strings.HasPrefix(base, partialPrefix) || !strings.HasSuffix(base, partialSuffix) {
		return "", false
	}
	name := strings.TrimSuffix(strings.TrimPrefix(base, partialPrefix), partialSuffix)
	if !strings.HasSuffix(name, cloudTrailSuffix) && !strings.HasSuffix(name, otlpSuffix) {
		return "", false
	}
	return dir + name, true
}

// syncDir makes a directory's entries durable.
func (a *archive) syncDir(dir string) error {
	if !a.fsync || runtime.GOOS == "windows" {
		return nil
	}
	if err := a.syncDirFn(dir); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

func (a *archive) syncFile(af *archiveFile) error {
	if !a.fsync {
		return nil
	}
	if err := af.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", af.partialPath, err)
	}
	return nil
}

// ensureDir creates dir (below root) and its missing parents. The first time this process
// uses a directory it syncs the parent of every level up to and including root, whether it
// created the level or found it: a directory created by an earlier run that was killed before
// it synced the parent may exist now and be lost by a power failure. dir's own entries are
// synced by the batch that creates a file in it (archiveFile.dirDirty).
func (a *archive) ensureDir(dir string) error {
	if _, ok := a.dirs[dir]; ok {
		return nil
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	var synced []string
	for d := dir; d != a.root; {
		if _, ok := a.dirs[d]; ok {
			break // d's entry and its ancestors' are durable
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		if err := a.syncDir(parent); err != nil {
			return fmt.Errorf("create directory %s: %w", dir, err)
		}
		synced = append(synced, d)
		d = parent
	}
	if len(a.dirs)+len(synced) > maxCachedDirs {
		clear(a.dirs)
	}
	for _, d := range synced {
		a.dirs[d] = struct{}{}
	}
	return nil
}

// forgetDirs drops dir and its ancestors below root from the directory cache.
func (a *archive) forgetDirs(dir string) {
	for d := dir; d != a.root; {
		delete(a.dirs, d)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
}

// mkdir creates dir and its missing parents, syncing the parent of each directory it creates.
func (a *archive) mkdir(dir string) error {
	err := os.Mkdir(dir, dirPerm)
	switch {
	case err == nil:
		return a.syncDir(filepath.Dir(dir))
	case errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(dir)
		if parent == dir {
			return err
		}
		if err := a.mkdir(parent); err != nil {
			return err
		}
		return a.mkdir(dir)
	default:
		return err
	}
}

// createFile opens a new in-progress file for key, named after stamp. When the directory
// was removed from outside since it was cached, it is created again and the file retried once.
func (a *archive) createFile(key fileKey, stamp, now time.Time) (*archiveFile, error) {
	dir := filepath.Join(a.root, key.dir())
	af, err := a.createFileIn(dir, key, stamp, now)
	if errors.Is(err, fs.ErrNotExist) {
		a.logger.Warn("a directory of the archive disappeared; creating it again", zap.String("directory", dir), zap.Error(err))
		a.forgetDirs(dir)
		af, err = a.createFileIn(dir, key, stamp, now)
	}
	return af, err
}

func (a *archive) createFileIn(dir string, key fileKey, stamp, now time.Time) (*archiveFile, error) {
	if err := a.ensureDir(dir); err != nil {
		return nil, err
	}
	for range 4 {
		name := key.fileName(stamp, uniqueID())
		partial := filepath.Join(dir, partialPrefix+name+partialSuffix)
		f, err := a.openFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, filePerm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", partial, err)
		}
		af := &archiveFile{
			key:         key,
			f:           f,
			dir:         dir,
			partialPath: partial,
			finalPath:   filepath.Join(dir, name),
			dirDirty:    true,
			created:     now,
			lastWrite:   now,
		}
		if fi, err := statHandle(f, partial); err == nil {
			af.info = fi
		}
		a.open[key] = af
		return af, nil
	}
	return nil, fmt.Errorf("create a file in %s: no free name", dir)
}

// statHandle describes the file f has open (through the handle, so that it is the file and not
// what the path leads to by then), or the file at path when f cannot tell.
func statHandle(f fileHandle, path string) (os.FileInfo, error) {
	if st, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
		return st.Stat()
	}
	return os.Stat(path)
}

// errGone is the error of a batch or a rotation whose file was removed or replaced from outside.
var errGone = errors.New("the file was removed or replaced from outside the exporter")

// goneFiles returns the files among files whose path no longer leads to them.
func (a *archive) goneFiles(files []*archiveFile) []*archiveFile {
	var gone []*archiveFile
	for _, af := range files {
		if a.gone(af) {
			gone = append(gone, af)
		}
	}
	return gone
}

// abandon closes and forgets a file removed or replaced from outside: nothing is truncated,
// removed, renamed or recovered at its path, which is no longer the exporter's.
func (a *archive) abandon(af *archiveFile) {
	a.logger.Error("an open file of the archive was removed or replaced from outside: the records it held are gone; new records go to a new file",
		zap.String("path", af.partialPath))
	_ = af.close()
	a.forget(af)
	af.abandoned = true
}

// gone tells whether af's path no longer leads to the file af has open: removed (an operator
// cleaning up AWSLogs/ by hand) or replaced. Writing on would fsync records into a file no
// one can read, and acknowledge them. Other errors of the check are left to the write.
func (a *archive) gone(af *archiveFile) bool {
	if af.info == nil {
		return false
	}
	fi, err := os.Stat(af.partialPath)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	return !os.SameFile(af.info, fi)
}

// countingWriter counts the bytes that reached the file.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// appendMember appends one complete gzip member holding what encode writes. On error the
// member may be torn: the caller rolls the file back with rollback.
func (a *archive) appendMember(af *archiveFile, encode func(w io.Writer) error) (int64, error) {
	cw := countingWriter{w: af.f}
	a.bw.Reset(&cw)
	a.gz.Reset(a.bw)
	err := encode(a.gz)
	if err == nil {
		err = a.gz.Close()
	}
	if err == nil {
		err = a.bw.Flush()
	}
	af.size += cw.n
	a.bw.Reset(nil)
	a.gz.Reset(nil)
	if err != nil {
		return cw.n, fmt.Errorf("write %s: %w", af.partialPath, err)
	}
	return cw.n, nil
}

// rollback truncates af back to size, dropping a torn or unacknowledged member. A file that
// cannot be truncated is closed and left to recovery.
func (a *archive) rollback(af *archiveFile, size int64) {
	if af.size == size {
		return
	}
	if err := af.f.Truncate(size); err != nil {
		a.logger.Error("roll back a failed write: truncate failed; the file is left for recovery",
			zap.String("path", af.partialPath), zap.Error(err))
		a.orphan(af)
		return
	}
	af.size = size
	af.closed = false // a closing member written by a checkpoint was after size
}

// discard removes a file created by a batch that failed.
func (a *archive) discard(af *archiveFile) {
	_ = af.close()
	a.forget(af)
	if err := os.Remove(af.partialPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.logger.Error("remove the file of a failed write; it is left for recovery",
			zap.String("path", af.partialPath), zap.Error(err))
		a.addOrphan(af.partialPath)
	}
}

// rollbackClosed undoes a failed batch's writes to a file that a checkpoint of the batch
// synced and closed (see localStorageExporter.checkpoint): a file the batch created is
// removed; any other is truncated back to size, its acknowledged members, and left for
// maintenance to finalise. What cannot be undone is left for recovery: at worst the batch,
// which the sender retries, is stored twice.
func (a *archive) rollbackClosed(af *archiveFile, size int64, created bool) {
	if created {
		if err := os.Remove(af.partialPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.logger.Error("remove the file of a failed write; it is left for recovery",
				zap.String("path", af.partialPath), zap.Error(err))
			a.addOrphan(af.partialPath)
		}
		return
	}
	if err := os.Truncate(af.partialPath, size); err != nil {
		a.logger.Error("roll back a failed write: truncate failed; the file is left for recovery",
			zap.String("path", af.partialPath), zap.Error(err))
	}
	a.addOrphan(af.partialPath)
}

// orphan closes af and leaves its in-progress file for recovery.
func (a *archive) orphan(af *archiveFile) {
	_ = af.close()
	a.forget(af)
	a.addOrphan(af.partialPath)
}

func (a *archive) addOrphan(path string) {
	if !slices.Contains(a.orphans, path) {
		a.orphans = append(a.orphans, path)
	}
}

// close closes the file handle once.
func (af *archiveFile) close() error {
	if af.f == nil {
		return nil
	}
	err := af.f.Close()
	af.f = nil
	return err
}

func (a *archive) forget(af *archiveFile) {
	if a.open[af.key] == af {
		delete(a.open, af.key)
	}
}

func writeRecordsClose(w io.Writer) error {
	_, err := io.WriteString(w, recordsClose)
	return err
}

// finalize completes af: the closing member of a CloudTrail log file, fsync, then an atomic
// rename to the final name and an fsync of the directory. When the closing member cannot be
// written, af is rolled back and stays open; when the rename fails it is left for recovery.
func (a *archive) finalize(af *archiveFile) error {
	if a.gone(af) {
		a.abandon(af)
		return fmt.Errorf("finalize %s: %w", af.partialPath, errGone) // never publish what is at the path now
	}
	if af.key.format == FormatCloudTrail && !af.closed {
		size := af.size
		if _, err := a.appendMember(af, writeRecordsClose); err != nil {
			a.rollback(af, size)
			return fmt.Errorf("finalize: %w", err)
		}
		if err := a.syncFile(af); err != nil {
			a.rollback(af, size)
			return fmt.Errorf("finalize: %w", err)
		}
	} else if err := a.syncFile(af); err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	if err := af.close(); err != nil {
		a.logger.Warn("close a finished file", zap.String("path", af.partialPath), zap.Error(err))
	}
	a.forget(af)
	if err := os.Rename(af.partialPath, af.finalPath); err != nil {
		a.addOrphan(af.partialPath)
		return fmt.Errorf("finalize: %w", err)
	}
	if err := a.syncDir(af.dir); err != nil {
		// The rename happened; after a crash the file is at worst found in-progress again
		// and finalised by recovery.
		a.logger.Warn("finalize: directory sync failed", zap.String("path", af.finalPath), zap.Error(err))
	}
	return nil
}
