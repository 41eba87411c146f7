package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

// memberReader reads a file byte by byte for gzip.Reader, counting what it consumed. Because
// it is an io.ByteReader, gzip.Reader reads no further than the end of the current member,
// so the count is the offset where the member ends.
type memberReader struct {
	r   *bufio.Reader
	n   int64
	err error // the first read error other than io.EOF: an I/O failure, not a torn file
}

func (m *memberReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.n += int64(n)
	m.note(err)
	return n, err
}

func (m *memberReader) ReadByte() (byte, error) {
	c, err := m.r.ReadByte()
	if err == nil {
		m.n++
	}
	m.note(err)
	return c, err
}

func (m *memberReader) note(err error) {
	if err != nil && !errors.Is(err, io.EOF) && m.err == nil {
		m.err = err
	}
}

// memberSink counts a member's decompressed bytes and keeps the last two.
type memberSink struct {
	n    int64
	tail [2]byte
}

func (s *memberSink) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	switch {
	case len(p) >= 2:
		copy(s.tail[:], p[len(p)-2:])
	case len(p) == 1:
		s.tail[0], s.tail[1] = s.tail[1], p[0]
	}
	return len(p), nil
}

// scanMembers returns the length of the longest prefix of r made of complete gzip members
// (each checked against its CRC-32 and length), and whether the last of them is a CloudTrail
// closing member. Anything after that prefix is a torn write. err reports read failures only.
func scanMembers(r io.Reader) (good int64, closed bool, err error) {
	mr := &memberReader{r: bufio.NewReaderSize(r, 64<<10)}
	var zr gzip.Reader
	for {
		// Members start as this exporter writes them (magic, deflate, no reserved flag bits);
		// anything else ends the valid prefix, whatever a lenient reader would make of it.
		hdr, perr := mr.r.Peek(4)
		mr.note(perr)
		if len(hdr) < 4 || hdr[0] != 0x1f || hdr[1] != 0x8b || hdr[2] != 8 || hdr[3]&0xe0 != 0 {
			return good, closed, mr.err
		}
		if zerr := zr.Reset(mr); zerr != nil {
			return good, closed, mr.err
		}
		zr.Multistream(false)
		var sink memberSink
		if _, cerr := io.Copy(&sink, &zr); cerr != nil {
			return good, closed, mr.err
		}
		good = mr.n
		closed = sink.n == int64(len(recordsClose)) && string(sink.tail[:]) == recordsClose
	}
}

// recoverFile finalises an in-progress file left by an earlier run (or by a failed rollback):
// a torn tail is truncated, a CloudTrail log file gets its closing member, and the file is
// renamed to its final name. A file without one complete member holds nothing that was
// acknowledged and is removed. It reports whether a file was finalised.
func (a *archive) recoverFile(path string) (bool, error) {
	final, ok := finalName(path)
	if !ok {
		return false, fmt.Errorf("recover %s: not an in-progress file name", path)
	}
	format := formatOfPath(final)
	f, err := a.openFile(path, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recover %s: %w", path, err)
	}
	osf, ok := f.(io.ReadSeeker)
	if !ok {
		_ = f.Close()
		return false, fmt.Errorf("recover %s: file cannot be read", path)
	}
	good, closed, err := scanMembers(osf)
	if err != nil {
		_ = f.Close()
		return false, fmt.Errorf("recover %s: read: %w", path, err)
	}
	size, err := osf.Seek(0, io.SeekEnd)
	if err != nil {
		_ = f.Close()
		return false, fmt.Errorf("recover %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if good == 0 {
		_ = f.Close()
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("recover %s: remove empty file: %w", path, err)
		}
		a.logger.Info("removed an in-progress file holding no complete data",
			zap.String("path", path), zap.Int64("bytes", size))
		return false, a.syncDir(dir)
	}
	if good < size {
		if err := f.Truncate(good); err != nil {
			_ = f.Close()
			return false, fmt.Errorf("recover %s: truncate torn tail: %w", path, err)
		}
		a.logger.Warn("truncated the torn tail of an in-progress file",
			zap.String("path", path), zap.Int64("kept_bytes", good), zap.Int64("dropped_bytes", size-good))
	}
	af := &archiveFile{
		key:         fileKey{format: format},
		f:           f,
		dir:         dir,
		partialPath: path,
		finalPath:   final,
		size:        good,
		closed:      closed,
	}
	if err := a.finalize(af); err != nil {
		_ = af.close()
		return false, fmt.Errorf("recover %s: %w", path, err)
	}
	a.logger.Info("recovered an in-progress file", zap.String("path", final), zap.Int64("bytes", af.size))
	return true, nil
}

// retryOrphans finalises the in-progress files that a failed write or rename left behind.
func (a *archive) retryOrphans() (finalized []Format) {
	paths := a.orphans
	a.orphans = nil
	for _, p := range paths {
		ok, err := a.recoverFile(p)
		if err != nil {
			a.logger.Error("finalise a file left by a failed write", zap.String("path", p), zap.Error(err))
			a.addOrphan(p)
			continue
		}
		if ok {
			finalized = append(finalized, formatOfPath(p))
		}
	}
	return finalized
}

// formatOfPath tells the format of a file of the archive by its name.
func formatOfPath(path string) Format {
	if strings.HasSuffix(strings.TrimSuffix(path, partialSuffix), cloudTrailSuffix) {
		return FormatCloudTrail
	}
	return FormatOTLPJSON
}

// findInProgress lists the in-progress files below the archive root. A directory that
// cannot be read is skipped (after the entries read before the error) and the walk goes on;
// the errors are returned with the paths found. It reads only root and readDir, which do not
// change after start, so it may run without the lock.
func (a *archive) findInProgress() ([]string, error) {
	var (
		paths []string
		errs  []error
	)
	var walk func(dir string)
	walk = func(dir string) {
		entries, err := a.readDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("scan %s: %w", dir, err))
		}
		for _, d := range entries {
			path := filepath.Join(dir, d.Name())
			switch {
			case d.IsDir():
				walk(path)
			case d.Type().IsRegular():
				if _, ok := finalName(path); ok {
					paths = append(paths, path)
				}
			}
		}
	}
	for _, top := range []string{cloudTrailTop, otlpTop} {
		walk(filepath.Join(a.root, top))
	}
	return paths, errors.Join(errs...)
}
