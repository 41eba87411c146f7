package firehose

import (
	"bytes"
	"encoding/base64"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkDecodeRecord decodes the base64 of a record the size of a 1 MiB Firehose body's data
// (real CloudTrail text) in place, as ParseRequest does, against encoding/base64 decoding the
// same text into a buffer of its own.
func BenchmarkDecodeRecord(b *testing.B) {
	raw, err := os.ReadFile("../../testdata/cloudtrail/panther-analysis-cloudtrail.ndjson")
	require.NoError(b, err)
	for len(raw) < 3<<18 {
		raw = append(raw, raw...)
	}
	text := []byte(base64.StdEncoding.EncodeToString(raw[:3<<18])) // 1 MiB of base64
	work := make([]byte, len(text))
	b.Run("ours, in place", func(b *testing.B) {
		scratch := new([base64Chunk / 4 * 3]byte)
		copy(work, text)
		rec := decodeRecord(work, scratch)
		require.NoError(b, rec.Err)
		require.True(b, bytes.Equal(rec.Data, raw[:3<<18]))
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			copy(work, text) // the text to decode again (included in both cases)
			if rec := decodeRecord(work, scratch); rec.Err != nil {
				b.Fatal(rec.Err)
			}
		}
	})
	b.Run("encoding/base64", func(b *testing.B) {
		out := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			copy(work, text)
			if _, err := base64.StdEncoding.Decode(out, work); err != nil {
				b.Fatal(err)
			}
		}
	})
}
