package openobserveexporter

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/config/configcompression"
)

// defaultGzipLevel is used when compression_params.level is not set. CloudTrail JSON is so
// repetitive that the fastest level still shrinks it about tenfold, at several times the
// speed of the default level (see README, "Speed").
const defaultGzipLevel = gzip.BestSpeed

// zstdWindow is the history a zstd encoder keeps, and so most of its memory: an encoder that
// has compressed a request holds about 2.7 MiB at the fastest level instead of about 8.6 MiB
// with the library's 8 MiB window, for the same ratio on CloudTrail JSON, whose repetitions are
// close together (gzip's window is 32 KiB).
const zstdWindow = 1 << 20

// compressor compresses request bodies with pooled encoders (klauspost/compress, the same
// formats as the standard library, faster).
type compressor struct {
	encoding string // Content-Encoding; empty for none
	writers  sync.Pool
	zstd     *zstd.Encoder // safe for concurrent EncodeAll calls
	bufs     sync.Pool
}

type resetWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

func newCompressor(t configcompression.Type, level configcompression.Level) (*compressor, error) {
	c := &compressor{bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
	switch t {
	case "", compressionNone:
		return c, nil
	case configcompression.TypeGzip, configcompression.TypeDeflate:
		lvl := int(level)
		if lvl == 0 {
			lvl = defaultGzipLevel
		}
		gzipFormat := t == configcompression.TypeGzip
		// Validate the level once; the pool's constructor cannot report errors.
		var err error
		if gzipFormat {
			_, err = gzip.NewWriterLevel(io.Discard, lvl)
		} else {
			_, err = zlib.NewWriterLevel(io.Discard, lvl)
		}
		if err != nil {
			return nil, fmt.Errorf("compression_params.level: %w", err)
		}
		c.encoding = string(t)
		c.writers.New = func() any {
			if gzipFormat {
				w, _ := gzip.NewWriterLevel(nil, lvl)
				return w
			}
			w, _ := zlib.NewWriterLevel(nil, lvl)
			return w
		}
		return c, nil
	case configcompression.TypeZstd:
		// The Encoder keeps this many encoders and lends one to each EncodeAll, so pushes of
		// different queue consumers compress in parallel; more than GOMAXPROCS would only hold
		// memory, compression being CPU-bound. Memory: at most that many times what one encoder
		// keeps (see zstdWindow); an encoder never used holds about 0.3 MiB.
		opts := []zstd.EOption{zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithWindowSize(zstdWindow)}
		if level != 0 {
			opts = append(opts, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(int(level))))
		} else {
			opts = append(opts, zstd.WithEncoderLevel(zstd.SpeedFastest))
		}
		enc, err := zstd.NewWriter(nil, opts...)
		if err != nil {
			return nil, fmt.Errorf("compression_params.level: %w", err)
		}
		c.encoding = string(t)
		c.zstd = enc
		return c, nil
	default:
		return nil, fmt.Errorf("compression %q is not accepted by OpenObserve", t)
	}
}

// compress returns the payload to send, its Content-Encoding, and a function that releases
// the payload's buffer. The payload never aliases body: the HTTP transport may still read it
// after the response came back, while body is reused at once.
func (c *compressor) compress(body []byte) ([]byte, string, func()) {
	buf := c.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	release := func() {
		if buf.Cap() <= 64<<20 {
			c.bufs.Put(buf)
		}
	}
	if c.encoding == "" {
		buf.Write(body)
		return buf.Bytes(), "", release
	}
	if c.zstd != nil {
		out := c.zstd.EncodeAll(body, buf.AvailableBuffer()[:0])
		return out, c.encoding, func() {
			if cap(out) > buf.Cap() {
				buf = bytes.NewBuffer(out[:0]) // keep the grown capacity
			}
			release()
		}
	}
	w := c.writers.Get().(resetWriter)
	w.Reset(buf)
	// Writing to a bytes.Buffer cannot fail.
	_, _ = w.Write(body)
	_ = w.Close()
	c.writers.Put(w)
	return buf.Bytes(), c.encoding, release
}

// requestBody is a request body that releases its buffer once nothing can read it any more:
// the sender holds one reference until client.Do has returned (GetBody is only called before
// that), and every reader the transport asked for holds one until it is closed, which may
// happen later, from another goroutine.
type requestBody struct {
	data    []byte
	refs    atomic.Int32
	release func()
}

// newRequestBody returns a body holding the sender's reference; drop it with unref.
func newRequestBody(data []byte, release func()) *requestBody {
	b := &requestBody{data: data, release: release}
	b.refs.Store(1)
	return b
}

// reader returns a new reader of the body; each one must be closed.
func (b *requestBody) reader() io.ReadCloser {
	b.refs.Add(1)
	return &bodyReader{Reader: bytes.NewReader(b.data), body: b}
}

// unref drops one reference; the last one releases the buffer.
func (b *requestBody) unref() {
	if b.refs.Add(-1) == 0 {
		b.release()
	}
}

type bodyReader struct {
	*bytes.Reader
	body   *requestBody
	closed atomic.Bool
}

func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.body.unref()
	}
	return nil
}
