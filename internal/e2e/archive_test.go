package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The local archive's layout (see exporter/localstorageexporter).
const (
	archiveCloudTrailDir = "AWSLogs" // AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz
	archiveOTLPDir       = "otlp"    // otlp/YYYY/MM/DD/*.jsonl.gz
	numberLiteralsKey    = "aws.cloudtrail.number_literals"
)

// archivedRecord is one CloudTrail record of the archive.
type archivedRecord struct {
	value any    // decoded with json.Number
	file  string // relative to the archive root
}

// readCloudTrailArchive returns every record of the finished CloudTrail log files under dir,
// and fails the test on an unfinished (in-progress) file: it reads an archive whose collector
// has stopped.
func readCloudTrailArchive(t *testing.T, dir string) []archivedRecord {
	t.Helper()
	var out []archivedRecord
	root := filepath.Join(dir, archiveCloudTrailDir)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == root {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if !strings.HasSuffix(d.Name(), ".json.gz") || strings.HasPrefix(d.Name(), ".") {
			return fmt.Errorf("unexpected file in the archive: %s", rel)
		}
		records, err := readCloudTrailFile(path)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		for _, r := range records {
			out = append(out, archivedRecord{value: r, file: rel})
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// countFiles is the number of distinct files records come from.
func countFiles(records []archivedRecord) int {
	files := map[string]bool{}
	for _, r := range records {
		files[r.file] = true
	}
	return len(files)
}

// readCloudTrailFile decodes a CloudTrail log file: gzip (one or more members) of exactly one
// {"Records":[...]} object.
func readCloudTrailFile(path string) ([]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var file struct {
		Records []any `json:"Records"`
	}
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("not a CloudTrail log file: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the Records object")
	}
	if file.Records == nil {
		return nil, errors.New("no Records array")
	}
	return file.Records, nil
}

// readOTLPFiles returns the logs of every finished OTLP JSON lines file under dir/otlp.
func readOTLPFiles(t *testing.T, dir string) []plog.Logs {
	t.Helper()
	var out []plog.Logs
	root := filepath.Join(dir, archiveOTLPDir)
	var um plog.JSONUnmarshaler
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == root {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if !strings.HasSuffix(d.Name(), ".jsonl.gz") || strings.HasPrefix(d.Name(), ".") {
			return fmt.Errorf("unexpected file in the archive: %s", rel)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: gzip: %w", rel, err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 256<<20)
		for n := 1; sc.Scan(); n++ {
			ld, err := um.UnmarshalLogs(sc.Bytes())
			if err != nil {
				return fmt.Errorf("%s: line %d: %w", rel, n, err)
			}
			out = append(out, ld)
		}
		return sc.Err()
	})
	require.NoError(t, err)
	return out
}

// otlpRecord is a log record with its resource.
type otlpRecord struct {
	resource pcommon.Resource
	record   plog.LogRecord
}

func allRecords(logs []plog.Logs) []otlpRecord {
	var out []otlpRecord
	for _, ld := range logs {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, otlpRecord{resource: rl.Resource(), record: lr})
				}
			}
		}
	}
	return out
}

// decodeJSON decodes one JSON value keeping numbers as their text.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// canonical returns a text that two JSON values share exactly when they are equal: object
// members in any order, numbers by exact decimal value (1.5e3 = 1500 = 1500.0), strings and
// everything else exactly.
func canonical(v any) string {
	var b strings.Builder
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case json.Number:
		writeNumber(b, string(v))
	case string:
		b.WriteString(strconv.Quote(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprintf(b, "!%T(%v)", v, v) // never equal to a JSON value
	}
}

// writeNumber writes a JSON number as an exact rational.
func writeNumber(b *strings.Builder, literal string) {
	r, ok := new(big.Rat).SetString(literal)
	if !ok {
		b.WriteString("!number(" + literal + ")")
		return
	}
	b.WriteString("#" + r.RatString())
}

// canonicalBody is canonical for a log record body that holds a JSON value: strings listed
// as number literals (JSON Pointers in the aws.cloudtrail.number_literals attribute) are the
// numbers they spell, and doubles are compared by their shortest decimal form.
func canonicalBody(lr plog.LogRecord) string {
	literals := map[string]bool{}
	if v, ok := lr.Attributes().Get(numberLiteralsKey); ok && v.Type() == pcommon.ValueTypeSlice {
		for _, p := range v.Slice().All() {
			literals[p.Str()] = true
		}
	}
	var b strings.Builder
	writeCanonicalValue(&b, lr.Body(), "", literals)
	return b.String()
}

func writeCanonicalValue(b *strings.Builder, v pcommon.Value, pointer string, literals map[string]bool) {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		m := v.Map()
		keys := make([]string, 0, m.Len())
		for k := range m.All() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			e, _ := m.Get(k)
			writeCanonicalValue(b, e, pointer+"/"+escapePointer(k), literals)
		}
		b.WriteByte('}')
	case pcommon.ValueTypeSlice:
		b.WriteByte('[')
		for i, e := range v.Slice().All() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonicalValue(b, e, pointer+"/"+strconv.Itoa(i), literals)
		}
		b.WriteByte(']')
	case pcommon.ValueTypeStr:
		if literals[pointer] {
			writeNumber(b, v.Str())
		} else {
			b.WriteString(strconv.Quote(v.Str()))
		}
	case pcommon.ValueTypeInt:
		writeNumber(b, strconv.FormatInt(v.Int(), 10))
	case pcommon.ValueTypeDouble:
		writeNumber(b, strconv.FormatFloat(v.Double(), 'g', -1, 64))
	case pcommon.ValueTypeBool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case pcommon.ValueTypeEmpty:
		b.WriteString("null")
	default:
		fmt.Fprintf(b, "!%s", v.Type())
	}
}

func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// multiset counts values by their canonical text; where tells the first place each was seen.
type multiset struct {
	count map[string]int
	where map[string]string
}

func newMultiset() *multiset {
	return &multiset{count: map[string]int{}, where: map[string]string{}}
}

func (m *multiset) add(key, where string) {
	m.count[key]++
	if _, ok := m.where[key]; !ok {
		m.where[key] = where
	}
}

func (m *multiset) total() int {
	n := 0
	for _, c := range m.count {
		n += c
	}
	return n
}

// difference compares got with want: what want has more of (missing), what got has that
// want lacks entirely (unexpected), and how many extra copies got has of values want has
// (duplicates).
func difference(want, got *multiset) (missing, unexpected []string, duplicates int) {
	for k, w := range want.count {
		switch g := got.count[k]; {
		case g < w:
			missing = append(missing, fmt.Sprintf("%d of %d missing: %s: %.300s", w-g, w, want.where[k], k))
		case g > w:
			duplicates += g - w
		}
	}
	for k, g := range got.count {
		if want.count[k] == 0 {
			unexpected = append(unexpected, fmt.Sprintf("%d unexpected: %s: %.300s", g, got.where[k], k))
		}
	}
	slices.Sort(missing)
	slices.Sort(unexpected)
	return missing, unexpected, duplicates
}

// requireSameRecords fails the test unless got holds exactly the values of want, each as
// often (duplicates too when allowDuplicates is false); it returns the number of duplicates.
func requireSameRecords(t *testing.T, want, got *multiset, allowDuplicates bool) int {
	t.Helper()
	missing, unexpected, duplicates := difference(want, got)
	const show = 10
	if len(missing) > 0 {
		t.Errorf("%d distinct records missing (%d of %d records stored); the first:\n%s",
			len(missing), got.total(), want.total(), strings.Join(missing[:min(show, len(missing))], "\n"))
	}
	if len(unexpected) > 0 {
		t.Errorf("%d distinct records that were never sent (or were altered); the first:\n%s",
			len(unexpected), strings.Join(unexpected[:min(show, len(unexpected))], "\n"))
	}
	if !allowDuplicates && duplicates > 0 {
		t.Errorf("%d duplicate records", duplicates)
	}
	if t.Failed() {
		t.FailNow()
	}
	return duplicates
}

// archiveMultiset is the multiset of the records of a CloudTrail archive.
func archiveMultiset(records []archivedRecord) *multiset {
	m := newMultiset()
	for _, r := range records {
		m.add(canonical(r.value), r.file)
	}
	return m
}
