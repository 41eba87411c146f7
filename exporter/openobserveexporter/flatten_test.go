package openobserveexporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/openobserveexporter/internal/metadata"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/openobservetest"
)

// testNow is the clock of the translation tests: every real event is older than the window.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "http://localhost:5080"
	cfg.Username, cfg.Password = openobservetest.DefaultUser, openobservetest.DefaultPassword
	return cfg
}

// wideWindow makes every real event fall inside the ingestion window.
func wideWindow(cfg *Config) {
	cfg.MaxEventAge = 100 * 365 * 24 * time.Hour
	cfg.MaxEventFuture = 100 * 365 * 24 * time.Hour
}

func newTestLogsExporter(t testing.TB, cfg *Config) *logsExporter {
	t.Helper()
	e, err := newLogsExporter(cfg, exportertest.NewNopSettings(metadata.Type), func() time.Time { return testNow })
	require.NoError(t, err)
	return e
}

// encodeRows encodes every log record of ld and returns the rows as JSON texts.
func encodeRows(t testing.TB, e *logsExporter, ld plog.Logs) [][]byte {
	t.Helper()
	st := e.newPushState()
	st.reset(ld.LogRecordCount())
	var rows [][]byte
	for i := range ld.ResourceLogs().Len() {
		rl := ld.ResourceLogs().At(i)
		rc := resourceCache{res: rl.Resource()}
		for j := range rl.ScopeLogs().Len() {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := range lrs.Len() {
				if st.encode(lrs.At(k), &rc) {
					rows = append(rows, bytes.Clone(st.row.buf))
				} else {
					rows = append(rows, nil)
				}
			}
		}
	}
	return rows
}

func decodeRow(t testing.TB, row []byte) map[string]any {
	t.Helper()
	require.True(t, json.Valid(row), "%s", row)
	dec := json.NewDecoder(bytes.NewReader(row))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// sameValue compares two decoded JSON scalars; numbers by value and by kind (integer or
// float), which is what OpenObserve infers a column's type from.
func sameValue(a, b any) bool {
	na, aNum := a.(json.Number)
	nb, bNum := b.(json.Number)
	if aNum != bNum {
		return false
	}
	if !aNum {
		return a == b
	}
	isFloat := func(n json.Number) bool { return strings.ContainsAny(string(n), ".eE") }
	ra, okA := new(big.Rat).SetString(string(na))
	rb, okB := new(big.Rat).SetString(string(nb))
	return okA && okB && ra.Cmp(rb) == 0 && isFloat(na) == isFloat(nb)
}

func allRealRecords(t testing.TB) map[string][]testRecord {
	return map[string][]testRecord{
		"eventbridge": eventBridgeRecords(t, "eventbridge-cloudtrail-cloud-custodian.ndjson"),
		"cloudwatch":  cloudWatchRecords(t, "cloudwatch-logs-subscription-cloudtrail-otel.ndjson"),
		"bare":        bareRecords(t, "panther-analysis-cloudtrail.ndjson"),
	}
}

// TestCloudTrailRowsAreOpenObservesFlatteningOfTheBareRecord checks every real record, with
// map and raw bodies: each column OpenObserve would store for the bare record is sent with the
// same value, except that sessionContext is kept whole; the only other columns are metadata.
func TestCloudTrailRowsAreOpenObservesFlatteningOfTheBareRecord(t *testing.T) {
	cfg := testConfig()
	wideWindow(cfg)
	e := newTestLogsExporter(t, cfg)
	for path, records := range allRealRecords(t) {
		for _, raw := range []bool{false, true} {
			name := path + "/map"
			if raw {
				name = path + "/raw"
			}
			t.Run(name, func(t *testing.T) {
				ld, order := buildLogsOrdered(t, records, buildOptions{raw: raw})
				rows := encodeRows(t, e, ld)
				require.Len(t, rows, len(records))
				for n, i := range order {
					assertRowIsOpenObservesFlattening(t, records[i].json, rows[n], raw, fmt.Sprintf("record %d", i))
				}
			})
		}
	}
}

// assertRowIsOpenObservesFlattening checks that row has each column OpenObserve would store for
// the bare record with the same value, except that sessionContext is kept whole, and that its
// only other columns are metadata.
func assertRowIsOpenObservesFlattening(t *testing.T, record, row []byte, raw bool, where string) {
	t.Helper()
	want, err := openobservetest.Flatten(record, 3)
	require.NoError(t, err)
	got := decodeRow(t, row)
	for k, v := range want {
		if strings.HasPrefix(k, colSessionContext+"_") {
			assert.NotContains(t, got, k, "%s: sessionContext is sent whole", where)
			continue
		}
		if !assert.Contains(t, got, k, where) {
			continue
		}
		// Map bodies hold exactly representable numbers as doubles, whose literal text is
		// gone: inside JSON text they are compared by value. Raw bodies keep the text exactly.
		same := sameValue(v, got[k]) || (!raw && jsonEquivalent(v, got[k]))
		assert.True(t, same, "%s, %s: want %v (%T), got %v (%T)", where, k, v, v, got[k], got[k])
	}
	for k := range got {
		if _, ok := want[k]; ok {
			continue
		}
		switch {
		case strings.HasPrefix(k, "_"), k == colSessionContext, k == colLogGroup, k == colLogStream, k == colSubscriptionFilters:
		default:
			t.Errorf("%s: unexpected column %q", where, k)
		}
	}
	checkSessionContext(t, record, got)
}

// checkSessionContext checks useridentity_sessioncontext is the compact JSON of the whole
// sessionContext object, and is absent when that object is empty.
func checkSessionContext(t *testing.T, record []byte, row map[string]any) {
	t.Helper()
	// Keys match exactly (encoding/json's struct fields would also take "userIdentitY").
	var top, ui map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(record, &top))
	_ = json.Unmarshal(top["userIdentity"], &ui) // not an object: no sessionContext
	sc := ui["sessionContext"]
	if len(sc) == 0 || sc[0] != '{' {
		return // no sessionContext object: the comparison with OpenObserve's flattening covers the column
	}
	if string(bytes.Join(bytes.Fields(sc), nil)) == "{}" {
		assert.NotContains(t, row, colSessionContext)
		return
	}
	want, err := openobservetest.CompactJSON(sc)
	require.NoError(t, err)
	assert.Equal(t, want, row[colSessionContext])
	if bytes.Contains(sc, []byte(`"mfaAuthenticated":"false"`)) {
		assert.Contains(t, row[colSessionContext], `"mfaAuthenticated":"false"`, "the MFA panels search this text")
	}
}

// oneRecord builds a plog.Logs of one CloudTrail log record with the given body and
// number literals.
func oneRecord(t testing.TB, body string, literals ...string) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(cloudtrail.EventNamePrefix + "api_call")
	require.NoError(t, decodeJSONValue([]byte(body), lr.Body(), nil))
	if len(literals) > 0 {
		sl := lr.Attributes().PutEmptySlice(cloudtrail.KeyNumberLiterals)
		for _, l := range literals {
			sl.AppendEmpty().SetStr(l)
		}
	}
	return ld
}

func TestFlatteningRules(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		literals []string
		level    int
		want     map[string]string // column → JSON text of the value
		absent   []string
	}{
		{
			name: "keys are lower-cased and other characters become underscores",
			body: `{"requestParameters":{"x-amz-acl":"private","Availability Zone":"a","caf\u00e9":1}}`,
			want: map[string]string{"requestparameters_x_amz_acl": `"private"`, "requestparameters_availability_zone": `"a"`, "requestparameters_caf_": `1`},
		},
		{
			name:   "nulls, empty objects and empty arrays are dropped (as OpenObserve drops them), empty strings kept",
			body:   `{"a":null,"b":{},"c":[],"d":"","e":{"f":null,"g":[ ]},"h":[[],{}]}`,
			want:   map[string]string{"d": `""`, "h": `"[[],{}]"`},
			absent: []string{"a", "b", "c", "e", "e_f", "e_g"},
		},
		{
			name:  "objects at the flatten level are compact JSON text",
			body:  `{"a":{"b":{"c":{"d":1,"e":[1,2]}}}}`,
			level: 3,
			want:  map[string]string{"a_b_c": `"{\"d\":1,\"e\":[1,2]}"`},
		},
		{
			name:  "level 0 flattens everything but arrays",
			body:  `{"a":{"b":{"c":{"d":1,"e":[1,2]}}}}`,
			level: 0,
			want:  map[string]string{"a_b_c_d": `1`, "a_b_c_e": `"[1,2]"`},
		},
		{
			name: "the last of two colliding keys wins",
			body: `{"requestParameters":{"x-amz-acl":"first","x_amz_acl":"second"},"z":1}`,
			want: map[string]string{"requestparameters_x_amz_acl": `"second"`, "z": `1`},
		},
		{
			name:   "top-level columns never start with an underscore",
			body:   `{"@timestamp":"2024-01-01T00:00:00Z","_id":"x","@":"y"}`,
			want:   map[string]string{"timestamp": `"2024-01-01T00:00:00Z"`, "id": `"x"`, unnamedColumn: `"y"`},
			absent: []string{"_id"},
		},
		{
			name:     "number literals are written as bare numbers, also inside JSON text",
			body:     `{"average":"84.410596421","big":"123456789012345678901234567","nested":{"list":["1e400"]}}`,
			literals: []string{"/average", "/big", "/nested/list/0"},
			want:     map[string]string{"average": `84.410596421`, "big": `123456789012345678901234567`, "nested_list": `"[1e400]"`},
		},
		{
			name:     "a listed pointer that is not a number stays a string",
			body:     `{"a":"not a number"}`,
			literals: []string{"/a"},
			want:     map[string]string{"a": `"not a number"`},
		},
		{
			name: "floats stay floats",
			body: `{"a":500.0,"b":1.666275403e+12,"c":0.5,"d":7}`,
			want: map[string]string{"a": `500.0`, "b": `1666275403000.0`, "c": `0.5`, "d": `7`},
		},
		{
			name: "no HTML escaping",
			body: `{"a":"<sensitiveDataRemoved> & more","b":["<x>"]}`,
			want: map[string]string{"a": `"<sensitiveDataRemoved> & more"`, "b": `"[\"<x>\"]"`},
		},
		{
			name: "sessionContext is kept whole",
			body: `{"userIdentity":{"type":"AssumedRole","sessionContext":{"attributes":{"mfaAuthenticated":"false"},"webIdFederationData":{}}}}`,
			want: map[string]string{
				"useridentity_type":           `"AssumedRole"`,
				"useridentity_sessioncontext": `"{\"attributes\":{\"mfaAuthenticated\":\"false\"},\"webIdFederationData\":{}}"`,
			},
			absent: []string{"useridentity_sessioncontext_attributes"},
		},
		{
			name:   "an empty sessionContext is dropped like any empty object",
			body:   `{"userIdentity":{"sessionContext":{}}}`,
			absent: []string{"useridentity_sessioncontext"},
		},
		{
			name: "a sessionContext that is not an object is written as it is",
			body: `{"userIdentity":{"sessionContext":"redacted"}}`,
			want: map[string]string{"useridentity_sessioncontext": `"redacted"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.FlattenLevel = 3
			if tt.name == "level 0 flattens everything but arrays" {
				cfg.FlattenLevel = 0
			}
			e := newTestLogsExporter(t, cfg)
			rows := encodeRows(t, e, oneRecord(t, tt.body, tt.literals...))
			require.Len(t, rows, 1)
			got := map[string]json.RawMessage{}
			require.NoError(t, json.Unmarshal(rows[0], &got), "%s", rows[0])
			for k, v := range tt.want {
				assert.Equal(t, v, string(got[k]), "column %s in %s", k, rows[0])
			}
			for _, k := range tt.absent {
				assert.NotContains(t, got, k)
			}
		})
	}
}

func TestRawBodiesAreFlattenedLikeMapBodies(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]string
	}{
		{
			name: "escapes are decoded and written canonically",
			body: `{"a":"\u003csensitiveDataRemoved\u003e","b":{"c":{"d":{"p":"x\u003dy\n"}}},"k\u0041":1}`,
			want: map[string]string{"a": `"<sensitiveDataRemoved>"`, "b_c_d": `"{\"p\":\"x=y\\n\"}"`, "ka": `1`},
		},
		{
			name: "whitespace is removed from JSON text",
			body: "{\n  \"userIdentity\": {\n    \"sessionContext\": { \"attributes\": { \"mfaAuthenticated\": \"false\" } }\n  }\n}",
			want: map[string]string{"useridentity_sessioncontext": `"{\"attributes\":{\"mfaAuthenticated\":\"false\"}}"`},
		},
		{
			name: "number literals are copied as written",
			body: `{"a":1.666275403e+12,"b":84.410596421,"c":[500.0]}`,
			want: map[string]string{"a": `1.666275403e+12`, "b": `84.410596421`, "c": `"[500.0]"`},
		},
		{
			name: "surrogate pairs and invalid UTF-8",
			body: "{\"a\":\"\\ud83d\\ude00\",\"b\":\"\\ud800x\",\"c\":\"\xff\"}",
			want: map[string]string{"a": `"😀"`, "b": `"` + "\uFFFD" + `x"`, "c": `"\ufffd"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestLogsExporter(t, testConfig())
			ld := oneRecord(t, `{}`)
			ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr(tt.body)
			rows := encodeRows(t, e, ld)
			got := map[string]json.RawMessage{}
			require.NoError(t, json.Unmarshal(rows[0], &got), "%s", rows[0])
			for k, v := range tt.want {
				assert.Equal(t, v, string(got[k]), "column %s in %s", k, rows[0])
			}
		})
	}
}

func TestRawBodiesThatAreNotOneJSONObjectAreSentGenerically(t *testing.T) {
	for _, body := range []string{`not json`, `[1,2]`, `{"a":1} {"b":2}`, `{"a":}`, `{"a":"unterminated}`, `{"a":tru}`, `{"a":01}`, strings.Repeat("[", 2000)} {
		e := newTestLogsExporter(t, testConfig())
		ld := oneRecord(t, `{}`)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr(body)
		rows := encodeRows(t, e, ld)
		got := decodeRow(t, rows[0])
		assert.Equal(t, body, got[colBody], "the text is kept in body")
		assert.Equal(t, cloudtrail.EventNamePrefix+"api_call", got[colEventName])
	}
}

func TestGenericRecordsFlattenResourceAttributesAndBody(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr(cloudtrail.KeyOpenObserveStream, "routed")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()

	withMap := lrs.AppendEmpty()
	withMap.SetTimestamp(pcommon.NewTimestampFromTime(testNow.Add(-time.Minute)))
	withMap.SetEventName(cloudtrail.EventNameEventBridge)
	withMap.SetSeverityNumber(plog.SeverityNumberInfo)
	withMap.Attributes().PutStr("http.method", "GET")
	withMap.Attributes().PutStr("_private", "x")
	require.NoError(t, decodeJSONValue([]byte(`{"detail-type":"GuardDuty Finding","detail":{"severity":8,"service":{"action":{"x":1}}},"http.method":"body wins"}`), withMap.Body(), nil))

	withString := lrs.AppendEmpty()
	withString.SetObservedTimestamp(pcommon.NewTimestampFromTime(testNow.Add(-2 * time.Minute)))
	withString.SetSeverityText("WARN")
	withString.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	withString.Body().SetStr("plain text")

	withBytes := lrs.AppendEmpty()
	withBytes.Body().SetEmptyBytes().FromRaw([]byte{0xff, 0x00})

	rows := encodeRows(t, newTestLogsExporter(t, testConfig()), ld)
	first := decodeRow(t, rows[0])
	assert.Equal(t, "checkout", first["service_name"])
	assert.NotContains(t, first, "openobserve_stream", "routing attributes are not columns")
	assert.Equal(t, "body wins", first["http_method"], "the body wins a collision with an attribute")
	assert.Equal(t, "x", first["private"])
	assert.Equal(t, "GuardDuty Finding", first["detail_type"])
	assert.Equal(t, json.Number("8"), first["detail_severity"])
	assert.Equal(t, `{"x":1}`, first["detail_service_action"])
	assert.Equal(t, cloudtrail.EventNameEventBridge, first[colEventName])
	assert.Equal(t, "Info", first[colSeverity])
	assert.Equal(t, json.Number(itoa(testNow.Add(-time.Minute).UnixMicro())), first[colTimestamp])

	second := decodeRow(t, rows[1])
	assert.Equal(t, "plain text", second[colBody])
	assert.Equal(t, "WARN", second[colSeverity])
	assert.Equal(t, "0102030405060708090a0b0c0d0e0f10", second[colTraceID])
	assert.Equal(t, json.Number(itoa(testNow.Add(-2*time.Minute).UnixMicro())), second[colTimestamp], "observed time when there is no time")

	third := decodeRow(t, rows[2])
	assert.Equal(t, "/wA=", third[colBody])
	assert.Equal(t, json.Number(itoa(testNow.UnixMicro())), third[colTimestamp], "export time when there is neither")
}

func TestCloudTrailMetadataGoesUnderReservedNames(t *testing.T) {
	ld := buildLogs(t, cloudWatchRecords(t, "cloudwatch-logs-subscription-cloudtrail-otel.ndjson"), buildOptions{org: "acme", stream: "ct"})
	rl := ld.ResourceLogs().At(0)
	rl.Resource().Attributes().PutStr("env", "prod") // a Firehose common attribute
	rl.ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr("added.by.processor", "yes")
	cfg := testConfig()
	wideWindow(cfg)
	row := decodeRow(t, encodeRows(t, newTestLogsExporter(t, cfg), ld)[0])
	assert.Equal(t, "/aws/cloudtrail/logs", row[colLogGroup])
	assert.Equal(t, "123456789010_CloudTrail_us-east-1", row[colLogStream])
	assert.Equal(t, `["CloudTrailLogSubscription"]`, row[colSubscriptionFilters])
	assert.Equal(t, "123456789010", row[colCloudWatchOwner])
	assert.Equal(t, "eventId1", row[colCloudWatchEventID])
	assert.Equal(t, "prod", row["_resource_env"])
	assert.Equal(t, "yes", row["_attr_added_by_processor"])
	assert.Equal(t, "arn:aws:firehose:us-east-1:123456789012:deliverystream/cloudtrail", row[colFirehoseARN])
	for k := range row {
		assert.False(t, strings.HasPrefix(k, "cloud_") || strings.HasPrefix(k, "openobserve") || strings.HasPrefix(k, "rpc_") || strings.HasPrefix(k, "aws_"),
			"%s repeats the record or the routing", k)
	}
}

// jsonEquivalent reports whether two strings hold the same JSON value, numbers compared by
// value and kind.
func jsonEquivalent(a, b any) bool {
	sa, okA := a.(string)
	sb, okB := b.(string)
	if !okA || !okB {
		return false
	}
	decode := func(s string) (any, bool) {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		return v, dec.Decode(&v) == nil
	}
	va, okA := decode(sa)
	vb, okB := decode(sb)
	return okA && okB && deepSame(va, vb)
}

func deepSame(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !deepSame(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepSame(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return sameValue(a, b)
	}
}

func itoa(i int64) string { return big.NewInt(i).String() }

func TestStreamNamesAreFormattedAsOpenObserveFormatsThem(t *testing.T) {
	for in, want := range map[string]string{
		"cloudtrail_events":      "cloudtrail_events",
		"AWS -- Orgs.CloudTrail": "aws_orgs_cloudtrail",
		"a::b":                   "a::b",
		" x ":                    "_x_", // OpenObserve does not trim
		"k\u00e9y/\u00e9":        "k_y_",
	} {
		assert.Equal(t, want, formatStreamName(in), "%q", in)
		assert.Equal(t, openobservetest.FormatStreamName(in), formatStreamName(in), "%q: the test server agrees", in)
	}
}

func TestManyNumberLiteralsAreAllWrittenAsNumbers(t *testing.T) {
	// Past litSetMin the pointers are looked up in a set (a scan for each was quadratic: a
	// record with 80k literals took 6.6 s).
	const n = 3 * litSetMin
	var items, lits []string
	for i := range n {
		items = append(items, `"1e40`+strconv.Itoa(i%10)+`"`)
		lits = append(lits, "/a/"+strconv.Itoa(i))
	}
	body := `{"a":[` + strings.Join(items, ",") + `],"b":"1e400"}`
	e := newTestLogsExporter(t, testConfig())
	rows := encodeRows(t, e, oneRecord(t, body, lits...))
	row := decodeRow(t, rows[0])
	assert.Equal(t, "["+strings.ReplaceAll(strings.Join(items, ","), `"`, "")+"]", row["a"], "every literal is a number again")
	assert.Equal(t, "1e400", row["b"], "a string not listed stays a string")
}
