package awsfirehosecloudtrailreceiver

import (
	"bytes"
	"errors"
	"io"
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
