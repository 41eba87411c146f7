package awsfirehosecloudtrailreceiver

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errStalled = errors.New("read timeout")

// stalledAfter gives n bytes, then fails as a client cut off by read_timeout does.
func stalledAfter(n int) io.Reader {
	return io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), n)), iotest.ErrReader(errStalled))
}

func TestAClientHoldsMemoryForWhatItSentNotForWhatItClaimed(t *testing.T) {
	const claimed = 90 << 20
	for _, sent := range []int{0, 1, 100 << 10, firstRead + 1, 3 << 20, 20 << 20} {
		buf, err := readAll(stalledAfter(sent), claimed)
		require.ErrorIs(t, err, errStalled)
		assert.Len(t, buf, sent)
		assert.LessOrEqual(t, cap(buf), max(firstRead, growth*sent*4/3), "%d bytes sent of %d claimed", sent, claimed)
	}
}

func TestAnHonestBodyFitsItsBufferExactly(t *testing.T) {
	for _, size := range []int{1, 511, 512, 513, firstRead, firstRead + 1, 9 << 20, 64 << 20} {
		body := bytes.Repeat([]byte{'a', 'b', 'c'}, size/3+1)[:size]
		for name, r := range map[string]io.Reader{
			"whole reads": bytes.NewReader(body),
			"half reads":  iotest.HalfReader(bytes.NewReader(body)),
			"data at EOF": iotest.DataErrReader(bytes.NewReader(body)),
		} {
			buf, err := readAll(r, int64(size))
			require.NoError(t, err)
			require.True(t, bytes.Equal(body, buf), "%s, %d bytes", name, size)
			assert.Equal(t, size, cap(buf), "%s, %d bytes: no growth at the end", name, size)
		}
	}
}

func TestABodyLargerOrSmallerThanClaimedIsReadWhole(t *testing.T) {
	for _, tc := range []struct{ size, hint int }{{0, 100}, {10, 100}, {100, 10}, {5 << 20, 64 << 10}, {3 << 20, 40 << 20}} {
		body := bytes.Repeat([]byte{'z'}, tc.size)
		buf, err := readAll(iotest.HalfReader(bytes.NewReader(body)), int64(tc.hint))
		require.NoError(t, err)
		assert.Len(t, buf, tc.size, "%+v", tc)
		assert.LessOrEqual(t, cap(buf), max(tc.hint, 2*tc.size+512, 1024), "%+v", tc)
	}
}

func TestABodyCutShortIsAnErrorWhereverItEnds(t *testing.T) {
	const hint = 1024
	for _, sent := range []int{0, 100, hint - 1, hint, hint + 1, hint + 100, hint + 600, 3 * hint} {
		r := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), sent)), iotest.ErrReader(io.ErrUnexpectedEOF))
		_, err := readAll(r, hint)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "%d bytes of %d", sent, hint)
	}
}

func TestATruncatedGzipBodyIsRefusedWhateverItsSize(t *testing.T) {
	h := &handler{maxBody: 1 << 20}
	for pad := 0; pad < 1200; pad += 7 {
		plain := []byte(`{"requestId":"r","timestamp":1,"records":[{"data":"` + strings.Repeat("QUFB", pad/4) + `"}]}`)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, err := zw.Write(plain)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		cut := gz.Bytes()[:gz.Len()-8] // without the CRC-32 and length trailer
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(cut))
		req.Header.Set("Content-Encoding", "gzip")
		body, rerr := h.readBody(req)
		if assert.NotNil(t, rerr, "pad %d: %d bytes of gzip accepted as %d bytes", pad, len(cut), len(body)) {
			assert.Equal(t, http.StatusBadRequest, rerr.status, "pad %d: %s", pad, rerr.msg)
		}
	}
}
