package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// finishedFile is a finished file of the archive.
type finishedFile struct {
	path    string
	size    int64
	modTime time.Time
}

// listArchive returns the finished files below root, oldest first, and the bytes held by
// in-progress files. Only files named by this exporter are considered.
func listArchive(root string) ([]finishedFile, int64, error) {
	var (
		files   []finishedFile
		partial int64
		errs    []error
	)
	for _, top := range []string{cloudTrailTop, otlpTop} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			name := d.Name()
			inProgress := strings.HasPrefix(name, partialPrefix) && strings.HasSuffix(name, partialSuffix)
			finished := !strings.HasPrefix(name, partialPrefix) &&
				(strings.HasSuffix(name, cloudTrailSuffix) || strings.HasSuffix(name, otlpSuffix))
			if !inProgress && !finished {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				return nil
			}
			if inProgress {
				partial += info.Size()
				return nil
			}
			files = append(files, finishedFile{path: path, size: info.Size(), modTime: info.ModTime()})
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	slices.SortFunc(files, func(a, b finishedFile) int {
		if c := a.modTime.Compare(b.modTime); c != 0 {
			return c
		}
		return cmp.Compare(a.path, b.path)
	})
	return files, partial, errors.Join(errs...)
}

// enforceRetention removes finished files older than retention (by modification time), then
// the oldest finished files while the archive holds more than max_total_size bytes (in-progress
// files count but are never removed), then the directories this left empty. It walks the
// archive without the lock: finished files are never written again.
func (e *localStorageExporter) enforceRetention() {
	if e.cfg.Retention == 0 && e.cfg.MaxTotalSize == 0 {
		return
	}
	e.retentionMu.Lock()
	defer e.retentionMu.Unlock()
	now := e.now()
	root := e.rootDir()
	files, total, err := listArchive(root)
	if err != nil {
		e.logger.Warn("retention: scan the archive", zap.String("directory", root), zap.Error(err))
	}
	for _, f := range files {
		total += f.size
	}
	var removedDirs []string
	removed := 0
	for _, f := range files {
		expired := e.cfg.Retention > 0 && now.Sub(f.modTime) > e.cfg.Retention
		over := e.cfg.MaxTotalSize > 0 && total > e.cfg.MaxTotalSize
		if !expired && !over {
			break
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			e.logger.Error("retention: remove a file", zap.String("path", f.path), zap.Error(err))
			continue
		}
		total -= f.size
		removed++
		removedDirs = append(removedDirs, filepath.Dir(f.path))
		e.logger.Debug("retention: removed a file", zap.String("path", f.path),
			zap.Bool("expired", expired), zap.Bool("over_max_total_size", over))
	}
	if removed == 0 {
		return
	}
	e.telemetry.ExporterLocalstorageFilesRemoved.Add(context.Background(), int64(removed))
	e.logger.Info("retention removed files", zap.Int("files", removed), zap.Int64("archive_bytes", total))
	e.pruneDirs(root, removedDirs)
}

// rootDir is the archive root (absolute once started).
func (e *localStorageExporter) rootDir() string {
	if !e.acquireUnlessStopped() {
		return e.archive.root // only the maintenance goroutine can be stopped here; Start is done
	}
	defer e.release()
	return e.archive.root
}

// pruneDirs removes the empty directories among dirs and their parents below the archive's
// top-level folders. It holds the lock so that no file is being created meanwhile.
func (e *localStorageExporter) pruneDirs(root string, dirs []string) {
	if !e.acquireUnlessStopped() {
		return
	}
	defer e.release()
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	for _, dir := range slices.Backward(dirs) {
		for d := dir; ; d = filepath.Dir(d) {
			parent := filepath.Dir(d)
			if parent == root || parent == d || !strings.HasPrefix(d, root+string(filepath.Separator)) {
				break
			}
			if os.Remove(d) != nil {
				break
			}
			delete(e.archive.dirs, d)
		}
	}
}
