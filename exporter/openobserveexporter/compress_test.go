package openobserveexporter

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configcompression"
)

// TestZstdCompressesFromManyCallersWithABoundedWindow compresses bodies larger than the
// encoder's window from several goroutines at once, as the queue's consumers do, and reads
// them back with a decoder that refuses windows over zstdWindow: every frame is intact, and
// none declares a window (the history each encoder keeps) larger than that.
func TestZstdCompressesFromManyCallersWithABoundedWindow(t *testing.T) {
	for _, level := range []configcompression.Level{0, 3, 19} {
		t.Run(fmt.Sprintf("level %d", level), func(t *testing.T) {
			c, err := newCompressor(configcompression.TypeZstd, level)
			require.NoError(t, err)
			dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxWindow(zstdWindow), zstd.WithDecoderConcurrency(1))
			require.NoError(t, err)
			defer dec.Close()

			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					var body bytes.Buffer
					for i := 0; body.Len() < 3*zstdWindow; i++ {
						fmt.Fprintf(&body, `{"caller":%d,"seq":%d,"eventname":"GetObject","useridentity_arn":"arn:aws:sts::123456789012:assumed-role/r%d/s"},`, g, i, i%97)
					}
					out, encoding, release := c.compress(body.Bytes())
					defer release()
					assert.Equal(t, "zstd", encoding)
					got, err := dec.DecodeAll(out, nil)
					if assert.NoError(t, err, "a decoder limited to a %d byte window reads the frame", zstdWindow) {
						assert.Equal(t, body.Bytes(), got)
					}
				})
			}
			wg.Wait()
		})
	}
}
