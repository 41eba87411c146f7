package openobserveexporter

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFlattenRaw feeds arbitrary bytes to the raw walker, the decoder of untrusted record
// text. It must never panic, must accept exactly the single JSON objects, and must always
// produce a valid JSON row.
func FuzzFlattenRaw(f *testing.F) {
	for _, name := range []string{"eventbridge-cloudtrail-cloud-custodian.ndjson", "cloudwatch-logs-subscription-cloudtrail-otel.ndjson"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(string(line))
		}
	}
	for _, s := range []string{`{}`, `{"a":"\u00e9\ud83d\ude00"}`, `{"a":[{"b":null}]}`, `{"userIdentity":{"sessionContext":{"x":1}}}`, "{\"a\":\"\xff\"}", `{"a":1e400}`, `[]`, `{"a":}`} {
		f.Add(s)
	}
	r := newRowEncoder(3, maphash.MakeSeed())
	f.Fuzz(func(t *testing.T, s string) {
		r.startRow()
		r.cloudTrail = true
		ok := r.flattenRaw(s)
		trimmed := bytes.TrimSpace([]byte(s))
		isObject := json.Valid([]byte(s)) && len(trimmed) > 0 && trimmed[0] == '{'
		if ok != isObject && nesting(trimmed) <= maxRawNesting {
			t.Fatalf("flattenRaw(%q) = %v, but json.Valid says object=%v", s, ok, isObject)
		}
		if !ok {
			return
		}
		r.finishRow()
		if !json.Valid(r.buf) {
			t.Fatalf("invalid row for %q: %s", s, r.buf)
		}
	})
}

func nesting(b []byte) int {
	depth, most := 0, 0
	for _, c := range b {
		switch c {
		case '{', '[':
			depth++
			most = max(most, depth)
		case '}', ']':
			depth--
		}
	}
	return most
}
