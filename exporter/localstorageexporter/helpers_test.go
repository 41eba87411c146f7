package localstorageexporter

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter/internal/metadata"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
)

// observedTime is the ObservedTimestamp of every test record.
var observedTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 6, 7, 8, 9, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testConfig is the default configuration writing below a temporary directory.
func testConfig(t testing.TB, mutate ...func(*Config)) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	for _, m := range mutate {
		m(cfg)
	}
	return cfg
}

// newTestExporter creates an exporter (not started) with test hooks.
func newTestExporter(t testing.TB, cfg *Config, h hooks) *localStorageExporter {
	if h.now == nil {
		h.now = time.Now
	}
	if h.openFile == nil {
		h.openFile = openOSFile
	}
	e, err := newLocalStorageExporter(cfg, exportertest.NewNopSettings(metadata.Type), h)
	require.NoError(t, err)
	return e
}

// startTestExporter creates and starts an exporter and shuts it down at the end of the test.
func startTestExporter(t testing.TB, cfg *Config, h hooks) *localStorageExporter {
	e := newTestExporter(t, cfg, h)
	require.NoError(t, e.start(context.Background(), nil))
	t.Cleanup(func() { _ = e.shutdown(context.Background()) })
	return e
}

// crash stops an exporter the way kill -9 does: file handles are closed, nothing is finalised.
func crash(t testing.TB, e *localStorageExporter) {
	e.stopOnce.Do(func() { close(e.stop) })
	e.wg.Wait()
	require.NoError(t, e.acquire(context.Background()))
	defer e.release()
	for _, af := range e.archive.open {
		require.NoError(t, af.close())
	}
	clear(e.archive.open)
	e.stopped = true
	e.telemetry.Shutdown()
}

// sourceRecord is one CloudTrail record of the test data.
type sourceRecord struct {
	raw       []byte // the record's JSON text (a line, or an EventBridge event's detail)
	account   string
	region    string
	eventTime time.Time // zero when eventTime is absent or not RFC 3339
	eventType string
}

// loadRecords reads an ndjson file of CloudTrail records or EventBridge events.
func loadRecords(t testing.TB, name string) []sourceRecord {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var out []sourceRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		raw := slices.Clone(line)
		var envelope struct {
			Detail  json.RawMessage `json:"detail"`
			Account string          `json:"account"`
			Region  string          `json:"region"`
		}
		_ = json.Unmarshal(raw, &envelope)
		if len(envelope.Detail) > 0 {
			raw = envelope.Detail
		}
		var fields struct {
			RecipientAccountID any `json:"recipientAccountId"`
			AWSRegion          any `json:"awsRegion"`
			EventTime          any `json:"eventTime"`
			EventType          any `json:"eventType"`
			UserIdentity       any `json:"userIdentity"`
		}
		require.NoError(t, json.Unmarshal(raw, &fields))
		r := sourceRecord{raw: raw}
		r.account = firstString(fields.RecipientAccountID, accountOf(fields.UserIdentity), envelope.Account)
		r.region = firstString(fields.AWSRegion, envelope.Region)
		r.eventType, _ = fields.EventType.(string)
		if s, ok := fields.EventTime.(string); ok {
			if ts, err := time.Parse(time.RFC3339, s); err == nil {
				r.eventTime = ts
			}
		}
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

func accountOf(userIdentity any) any {
	if m, ok := userIdentity.(map[string]any); ok {
		return m["accountId"]
	}
	return nil
}

func firstString(vs ...any) string {
	for _, v := range vs {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// expectedDir is where the archive must place r, relative to the root.
func (r sourceRecord) expectedDir() string {
	// Sanitising is tested on its own (TestPathComponentIsSafe).
	account := pathComponent(pcommon.NewValueStr(r.account), true)
	region := pathComponent(pcommon.NewValueStr(r.region), true)
	t := r.eventTime
	if t.IsZero() {
		t = observedTime
	}
	return filepath.Join(cloudTrailTop, account, "CloudTrail", region, filepath.FromSlash(t.UTC().Format("2006/01/02")))
}

// buildLogs turns records into logs the way the receiver does: one ResourceLogs per account
// and region, bodies as maps (with number literals) or, raw, as the JSON text.
func buildLogs(t testing.TB, records []sourceRecord, raw bool) plog.Logs {
	ld := plog.NewLogs()
	byResource := map[[2]string]plog.LogRecordSlice{}
	for _, r := range records {
		key := [2]string{r.account, r.region}
		lrs, ok := byResource[key]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			attrs := rl.Resource().Attributes()
			attrs.PutStr(cloudtrail.KeyCloudProvider, "aws")
			if r.account != "" {
				attrs.PutStr(cloudtrail.KeyCloudAccountID, r.account)
			}
			if r.region != "" {
				attrs.PutStr(cloudtrail.KeyCloudRegion, r.region)
			}
			lrs = rl.ScopeLogs().AppendEmpty().LogRecords()
			byResource[key] = lrs
		}
		lr := lrs.AppendEmpty()
		lr.SetEventName(cloudtrail.EventNamePrefix + "api_call")
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observedTime))
		if !r.eventTime.IsZero() {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(r.eventTime))
		}
		if raw {
			lr.Body().SetStr(string(r.raw))
			continue
		}
		literals := decodeJSON(t, r.raw, lr.Body())
		if len(literals) > 0 {
			s := lr.Attributes().PutEmptySlice(cloudtrail.KeyNumberLiterals)
			for _, p := range literals {
				s.AppendEmpty().SetStr(p)
			}
		}
	}
	return ld
}

// decodeJSON decodes one JSON value into v following the data model: objects keep their key
// order; an integer literal that fits int64 is an Int; else a float exactly equal to the
// literal's decimal value is a Double; else the literal text is a string and its JSON Pointer
// is returned.
func decodeJSON(t testing.TB, data []byte, v pcommon.Value) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var literals []string
	var walk func(v pcommon.Value, ptr string)
	walk = func(v pcommon.Value, ptr string) {
		tok, err := dec.Token()
		require.NoError(t, err)
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				m := v.SetEmptyMap()
				for dec.More() {
					kt, err := dec.Token()
					require.NoError(t, err)
					k := kt.(string)
					walk(m.PutEmpty(k), ptr+"/"+string(cloudtrail.AppendPointerToken(nil, k)))
				}
			case '[':
				s := v.SetEmptySlice()
				for i := 0; dec.More(); i++ {
					walk(s.AppendEmpty(), ptr+"/"+strconv.Itoa(i))
				}
			}
			_, err := dec.Token() // the closing delimiter
			require.NoError(t, err)
		case string:
			v.SetStr(x)
		case bool:
			v.SetBool(x)
		case nil:
		case json.Number:
			lit := string(x)
			if !strings.ContainsAny(lit, ".eE") {
				if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
					v.SetInt(i)
					return
				}
			}
			if f, ok := exactFloat(lit); ok {
				v.SetDouble(f)
				return
			}
			v.SetStr(lit)
			literals = append(literals, ptr)
		}
	}
	walk(v, "")
	return literals
}

// exactFloat returns the float64 whose value is exactly the literal's decimal value, if any.
func exactFloat(lit string) (float64, bool) {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return 0, false
	}
	want, ok := new(big.Rat).SetString(lit)
	if !ok {
		return 0, false
	}
	got := new(big.Rat).SetFloat64(f)
	if got == nil || got.Cmp(want) != 0 {
		return f, false
	}
	// As the receiver decides: a Double only when the shortest literal of it, which writers
	// print, is the same number too.
	shortest, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	return f, shortest.Cmp(want) == 0
}

// canonical renders a JSON value so that two renderings are equal exactly when the values
// are equal value for value, in key order, numbers that int64 or float64 hold exactly being
// compared by value and every other number literal by its text.
func canonical(t testing.TB, data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		switch x := tok.(type) {
		case json.Delim:
			b.WriteString(x.String())
		case string:
			b.WriteString(strconv.Quote(x))
		case json.Number:
			lit := string(x)
			_, isInt := strconv.ParseInt(lit, 10, 64)
			if _, exact := exactFloat(lit); isInt == nil || exact {
				r, _ := new(big.Rat).SetString(lit)
				b.WriteString("n:" + r.RatString())
			} else {
				b.WriteString("lit:" + lit)
			}
		case bool:
			b.WriteString(strconv.FormatBool(x))
		case nil:
			b.WriteString("null")
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// archivedRecord is a record read back from a CloudTrail log file of the archive.
type archivedRecord struct {
	dir  string // relative to the root
	file string
	raw  []byte
}

// readGzip decompresses a whole (multi-member) gzip file.
func readGzip(t testing.TB, path string) []byte {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err, path)
	data, err := io.ReadAll(zr)
	require.NoError(t, err, path)
	return data
}

// listFiles returns the regular files below root (relative paths), sorted.
func listFiles(t testing.TB, root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, rel)
		}
		return nil
	})
	require.NoError(t, err)
	slices.Sort(out)
	return out
}

// inProgress lists the in-progress files below root.
func inProgress(t testing.TB, root string) []string {
	var out []string
	for _, f := range listFiles(t, root) {
		if strings.HasSuffix(f, partialSuffix) {
			out = append(out, f)
		}
	}
	return out
}

// readCloudTrailFiles reads every finished CloudTrail log file below root, requiring each to
// be exactly one valid {"Records":[...]} document.
func readCloudTrailFiles(t testing.TB, root string) []archivedRecord {
	var out []archivedRecord
	for _, rel := range listFiles(t, root) {
		if !strings.HasSuffix(rel, cloudTrailSuffix) {
			continue
		}
		data := readGzip(t, filepath.Join(root, rel))
		require.Truef(t, json.Valid(data), "%s is not valid JSON", rel)
		var doc struct {
			Records []json.RawMessage `json:"Records"`
		}
		require.NoError(t, json.Unmarshal(data, &doc), rel)
		require.NotEmpty(t, doc.Records, rel)
		for _, r := range doc.Records {
			out = append(out, archivedRecord{dir: filepath.Dir(rel), file: filepath.Base(rel), raw: r})
		}
	}
	return out
}

// readOTLPFiles reads every finished OTLP JSON lines file below root into one plog.Logs per line.
func readOTLPFiles(t testing.TB, root string) []plog.Logs {
	var out []plog.Logs
	var u plog.JSONUnmarshaler
	for _, rel := range listFiles(t, root) {
		if !strings.HasSuffix(rel, otlpSuffix) {
			continue
		}
		data := readGzip(t, filepath.Join(root, rel))
		require.True(t, bytes.HasSuffix(data, []byte("\n")), rel)
		for line := range bytes.Lines(data) {
			ld, err := u.UnmarshalLogs(bytes.TrimSuffix(line, []byte("\n")))
			require.NoError(t, err, rel)
			out = append(out, ld)
		}
	}
	return out
}

// countRecords counts the log records of several logs.
func countRecords(lds []plog.Logs) int {
	n := 0
	for _, ld := range lds {
		n += ld.LogRecordCount()
	}
	return n
}

// canonicalMultiset renders raw records canonically, sorted.
func canonicalMultiset(t testing.TB, raws [][]byte) []string {
	out := make([]string, len(raws))
	for i, r := range raws {
		out[i] = canonical(t, r)
	}
	slices.Sort(out)
	return out
}

func sourceRaws(records []sourceRecord) [][]byte {
	out := make([][]byte, len(records))
	for i, r := range records {
		out[i] = r.raw
	}
	return out
}

func archivedRaws(records []archivedRecord) [][]byte {
	out := make([][]byte, len(records))
	for i, r := range records {
		out[i] = r.raw
	}
	return out
}

func filepathToSlash(p string) string { return filepath.ToSlash(p) }
