package openobserveexporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsontest"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/openobservetest"
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

// FuzzRowsAreOpenObservesFlattening builds a CloudTrail log record of any JSON object, with a
// map body and with a raw body, and checks each row against OpenObserve's own flattening of
// the object (openobservetest.Flatten), as TestCloudTrailRowsAreOpenObservesFlatteningOfTheBareRecord
// does for the real records. Objects whose keys repeat, or whose top-level keys start with "_"
// (names this exporter reserves for metadata), are left out: the README says how those differ.
func FuzzRowsAreOpenObservesFlattening(f *testing.F) {
	for _, rec := range bareRecords(f, "panther-analysis-cloudtrail.ndjson")[:20] {
		f.Add(string(rec.json))
	}
	for _, s := range []string{
		`{"userIdentity":{"sessionContext":{"a":1}},"UserIdentity":{"sessionContext":{"b":2}}}`, // left out
		`{"userIdentity":{"sessionContext":{"a":1}},"useridentity_sessioncontext":5}`,           // left out
		`{"a":[],"b":{},"c":null,"d":""}`, `{"A.b":{"C":[1,[]]},"n":1.50}`, `{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"false"}}}}`} {
		f.Add(s)
	}
	cfg := testConfig()
	wideWindow(cfg)
	e := newTestLogsExporter(f, cfg)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || !json.Valid([]byte(s)) || nesting([]byte(s)) > 64 {
			return
		}
		trimmed := strings.TrimSpace(s)
		if trimmed == "" || trimmed[0] != '{' || repeatsOrReservesKeys([]byte(trimmed)) {
			return
		}
		for _, raw := range []bool{false, true} {
			ld := buildLogs(t, []testRecord{{json: []byte(trimmed)}}, buildOptions{raw: raw})
			rows := encodeRows(t, e, ld)
			require.Len(t, rows, 1)
			if rows[0] == nil {
				continue // not sendable (e.g. too many columns): counted, tested elsewhere
			}
			assertRowIsOpenObservesFlattening(t, []byte(trimmed), rows[0], raw, fmt.Sprintf("raw=%v", raw))
		}
	})
}

// repeatsOrReservesKeys tells whether an object repeats a key anywhere, counting keys that
// format to the same column name (userIdentity and UserIdentity: the later wins), or has a
// top-level key that is empty or starts with "_" once formatted (this exporter renames those:
// "_" names are its metadata's) or with "useridentity_" (it would collide with the flattened
// userIdentity, whose sessionContext this exporter keeps whole).
func repeatsOrReservesKeys(data []byte) bool {
	return jsontest.HasRepeatedKeys(data, openobservetest.FormatKey, func(depth int, name string) bool {
		return depth == 0 && (name == "" || name[0] == '_' || strings.HasPrefix(name, "useridentity_"))
	})
}

func TestRepeatsOrReservesKeys(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":1,"a":2}`:                       true,
		`{"a":{"b":[1,{"c":1,"c":2}]}}`:       true,
		`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`: false,
		`{"_x":1}`:                            true,
		`{"@x":1}`:                            true, // formats to "_x"
		`{"a":{"_x":1}}`:                      false,
	} {
		if got := repeatsOrReservesKeys([]byte(in)); got != want {
			t.Errorf("repeatsOrReservesKeys(%s) = %v, want %v", in, got, want)
		}
	}
}
