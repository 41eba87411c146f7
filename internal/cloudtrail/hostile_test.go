package cloudtrail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

func bothModes(t *testing.T, f func(t *testing.T, raw bool)) {
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("raw=%v", raw), func(t *testing.T) { f(t, raw) })
	}
}

func TestCloudWatchPayloadWithoutOptionalFields(t *testing.T) {
	bothModes(t, func(t *testing.T, raw bool) {
		payload := []byte(`{"messageType":"DATA_MESSAGE","owner":"1","logEvents":[{"id":"1","timestamp":1,"message":"hi"}]}`)
		logs, stats := decodeAll(t, Options{RawBody: raw}, payload)
		assert.Equal(t, 1, stats.Shapes[ShapeCloudWatch])
		require.Equal(t, 1, logs.LogRecordCount())
		res := logs.ResourceLogs().At(0).Resource().Attributes().AsRaw()
		assert.NotContains(t, res, KeyLogGroupNames, "absent fields give no attribute")
		assert.NotContains(t, res, KeySubscriptionFilters)
		assert.Equal(t, "1", res[KeyLogOwner])
	})
}

func TestNumberLiteralsStayWithTheirOwnLogEvent(t *testing.T) {
	// Event 0's message holds a number no double holds; event 1 has no message string, so its
	// body is the event itself, whose "n" is a real string.
	payload := []byte(`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[` +
		`{"id":"0","timestamp":1,"message":"{\"eventVersion\":\"1.08\",\"eventName\":\"A\",\"requestParameters\":{\"n\":12345678901234567890123}}"},` +
		`{"id":"1","timestamp":1,"requestParameters":{"n":"900"}}]}`)
	logs, _ := decodeAll(t, Options{}, payload)
	recs := allRecords(logs)
	require.Len(t, recs, 2)
	for _, lr := range recs {
		lits, has := lr.Attributes().Get(KeyNumberLiterals)
		if lr.EventName() == EventNameLogEvent {
			assert.False(t, has, "the other event's literal must not leak here")
			continue
		}
		require.True(t, has)
		assert.Equal(t, []any{"/requestParameters/n"}, lits.Slice().AsRaw())
	}
}

func TestNumbersThatUnderflowStayLiterals(t *testing.T) {
	logs, _ := decodeAll(t, Options{}, []byte(`{"eventVersion":"1.08","eventName":"A","x":1e-400,"z":0.0e5}`))
	body := allRecords(logs)[0].Body().Map().AsRaw()
	assert.Equal(t, "1e-400", body["x"], "not the double 0")
	assert.Equal(t, 0.0, body["z"], "a zero literal is exactly zero")
}

func TestAHugeObjectDecodesInLinearTimeAndKeepsEveryMember(t *testing.T) {
	for name, n := range map[string]int{
		"through the tape":                    maxTape / 4,
		"as it is read, too big for the tape": 50_000,
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			b.WriteString(`{"eventVersion":"1.08","eventName":"A","requestParameters":{`)
			for i := range n {
				fmt.Fprintf(&b, `"k%d":%d,`, i, i)
			}
			b.WriteString(`"k7":"dup","big":123456789012345678901234567890,"nested":{"a":[1,{"b":null}]}}}`)
			logs, stats := decodeAll(t, Options{}, b.Bytes())
			require.Zero(t, stats.Invalid[ErrorTypeInvalidJSON])
			lr := allRecords(logs)[0]
			rp, ok := lr.Body().Map().Get("requestParameters")
			require.True(t, ok)
			m := rp.Map().AsRaw()
			assert.Len(t, m, n+2, "every member, the duplicate counted once")
			assert.Equal(t, "dup", m["k7"], "the last duplicate wins")
			assert.Equal(t, int64(n-1), m[fmt.Sprintf("k%d", n-1)])
			assert.Equal(t, map[string]any{"a": []any{int64(1), map[string]any{"b": nil}}}, m["nested"])
			lits, _ := lr.Attributes().Get(KeyNumberLiterals)
			assert.Equal(t, []any{"/requestParameters/big"}, lits.Slice().AsRaw())
		})
	}
}

func TestEscapesSurviveAValueTooBigForTheTape(t *testing.T) {
	// The tape gives up on this record after reading (not decoding) its first escaped strings;
	// the record is then read again from its text, which must be intact, even for a decoder
	// that decodes escapes in place.
	var b bytes.Buffer
	b.WriteString(`{"eventVersion":"1.08","eventName":"A","k\"ey":"va\"lue","p\u00e9":"x\ny\\z","items":[`)
	for i := range maxTape {
		fmt.Fprintf(&b, `%d,`, i)
	}
	b.WriteString(`"l\/ast"]}`)
	check := func(t *testing.T, body map[string]any) {
		assert.Equal(t, `va"lue`, body[`k"ey`])
		assert.Equal(t, "x\ny\\z", body["p\u00e9"])
		items := body["items"].([]any)
		require.Len(t, items, maxTape+1)
		assert.Equal(t, "l/ast", items[maxTape])
	}
	t.Run("a record", func(t *testing.T) {
		logs, stats := decodeAll(t, Options{}, bytes.Clone(b.Bytes()))
		require.Zero(t, stats.Invalid[ErrorTypeInvalidJSON])
		check(t, allRecords(logs)[0].Body().Map().AsRaw())
	})
	t.Run("in place", func(t *testing.T) {
		vd := valueDecoder{cells: &cells{}}
		vd.reset(bytes.Clone(b.Bytes()), true)
		v := pcommon.NewValueEmpty()
		require.NoError(t, vd.decode(v))
		check(t, v.Map().AsRaw())
	})
}

func TestDecompressionIsBudgetedPerRequest(t *testing.T) {
	payload, err := replay.CloudWatchLogsPayload([][]byte{[]byte(`{"eventVersion":"1.08","eventName":"A"}`)}, replay.CloudWatchOptions{LogGroup: "g", LogStream: "s"})
	require.NoError(t, err)
	gz := replay.Gzip(payload)
	// Room for two payloads, not three.
	logs, stats := decodeAll(t, Options{MaxRecordSize: int64(len(payload))*2 + 10}, gz, gz, gz)
	assert.Equal(t, 1, stats.Invalid[ErrorTypeTooLarge])
	assert.Equal(t, 3, logs.LogRecordCount(), "the third is kept as an invalid record")
}

func TestRawModeRefusesWhatItCouldNotDecode(t *testing.T) {
	// 515 levels: beyond the decoder's limit of 512 from the document's root.
	deep := strings.Repeat(`{"a":`, 515) + "1" + strings.Repeat("}", 515)
	for _, raw := range []bool{false, true} {
		logs, stats := decodeAll(t, Options{RawBody: raw}, []byte(deep))
		assert.Equal(t, 1, stats.Invalid[ErrorTypeInvalidJSON], "raw=%v", raw)
		assert.Equal(t, deep, allRecords(logs)[0].Body().Str(), "raw=%v: kept whole", raw)
	}
}

func TestFinishReleasesTheRequestBuffers(t *testing.T) {
	d := NewDecoder(Options{})
	d.Begin(Request{})
	d.AddRecord(0, []byte(`{"eventVersion":"1.08","eventName":"A","userIdentity":{"type":"Root"}}`))
	d.Finish()
	assert.Empty(t, d.vd.sc.Buf(), "the scanner forgot the buffer")
	for _, e := range d.vd.path[:cap(d.vd.path)] {
		assert.Empty(t, e.key)
	}
	assert.Equal(t, 0, d.doc.Map().Len())
}

func TestEventBridgeFastPathFallsBackCleanly(t *testing.T) {
	ct := []byte(`{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.sts","account":"1","time":"2024-01-02T03:04:05Z","region":"r","resources":[],"detail":{"eventVersion":"1.08","eventType":"AwsApiCall","eventName":"A"}}`)
	for name, doc := range map[string]string{
		"an event without detail":                               `{"version":"0","id":"2","detail-type":"AWS API Call via CloudTrail","source":"aws.sts"}`,
		"a non-CloudTrail event":                                `{"version":"0","id":"3","detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{"severity":5}}`,
		"a CloudTrail detail-type with a non-CloudTrail detail": `{"version":"0","id":"4","detail-type":"AWS API Call via CloudTrail","detail":{"x":1}}`,
		"broken JSON":                                           `{"version":"0","id":"5","detail":{"eventName":`,
	} {
		t.Run(name+" after a CloudTrail event leaves nothing of it behind", func(t *testing.T) {
			logs, _ := decodeAll(t, Options{}, ct, []byte(doc), ct)
			recs := allRecords(logs)
			require.Len(t, recs, 3)
			var other int
			for _, lr := range recs {
				if lr.EventName() == "aws.cloudtrail.api_call" {
					id, _ := lr.Attributes().Get(KeyEventBridgeID)
					assert.Equal(t, "1", id.Str())
					continue
				}
				other++
				_, leaked := lr.Attributes().Get(KeyEventBridgeID)
				if lr.EventName() != EventNameInvalidRecord && lr.EventName() != EventNameEventBridge {
					assert.False(t, leaked, "no envelope attributes of another event")
				}
				assert.NotContains(t, fmt.Sprint(lr.Body().AsRaw()), "AwsApiCall", "no body of another event")
			}
			assert.Equal(t, 1, other)
		})
	}
}

// FuzzValueDecoderAgreesWithEncodingJSON decodes any valid JSON value through the tape, and
// again with a tape of 4 tokens (so that decodeStream and the tape take turns), and compares
// both with encoding/json value by value.
func FuzzValueDecoderAgreesWithEncodingJSON(f *testing.F) {
	for _, rec := range realRecords(f)[:40] {
		f.Add(rec)
	}
	f.Add([]byte(`{"a":[1,2.5,1e400,-0.0,"x\"y",{"k\u00e9":null}],"a":true,"b\\c":{}}`))
	f.Add([]byte(`[[[["deep"]]],[],{}]`))
	f.Add(bigObjectSeed(bigObject + 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !utf8.Valid(data) {
			return // encoding/json replaces invalid UTF-8; we refuse it (pdata strings are UTF-8)
		}
		var want any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&want))
		for _, limit := range []int{0, 4} {
			for _, inPlace := range []bool{false, true} {
				vd := valueDecoder{cells: &cells{}, tapeLimit: limit}
				vd.cells.begin()
				vd.reset(bytes.Clone(data), inPlace)
				v := pcommon.NewValueEmpty()
				if err := vd.decode(v); err != nil {
					require.ErrorIs(t, err, errTooDeep, "limit %d", limit)
					continue
				}
				where := fmt.Sprintf("limit %d, in place %v", limit, inPlace)
				assertSameValue(t, want, v, "", vd.literals, where)
				assertLiteralsAreNumbers(t, want, vd.literals, where)
			}
		}
	})
}

// bigObjectSeed is an object of n members past which bigObjectMembers takes over: repeated
// keys (a number literal, an object holding one, an escaped key) replaced before and after
// that point, and a big object nested in it.
func bigObjectSeed(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"dup":1e400,"obj":{"x":1e400},"k\u00e9":"first"`)
	for k := range n {
		fmt.Fprintf(&b, `,"k%d":[%d,{"v":"%d"}]`, k, k, k)
		if k == bigObject/2 {
			b.WriteString(`,"dup":"5","nested":{`)
			for j := range bigObject + 3 {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"n%d":%d.5`, j%(bigObject+1), j)
			}
			b.WriteString(`}`)
		}
	}
	b.WriteString(`,"obj":{"x":"y","z":12345678901234567890123},"ké":"last","dup":null}`)
	return []byte(b.String())
}

func TestNestedBigValuesAreNotReadOverAndOver(t *testing.T) {
	// Each of the 200 nested arrays holds more tokens than the tape: once the tape has filled,
	// every one of them is read as it comes, not tokenised again level after level.
	const depth, width, tapeLimit = 200, 1000, 64
	in := []byte(strings.Repeat(`[`, depth) + strings.Repeat(`0,`, width) + `"x\"y"` + strings.Repeat(`]`, depth))
	vd := valueDecoder{cells: &cells{}, tapeLimit: tapeLimit}
	vd.reset(in, false)
	v := pcommon.NewValueEmpty()
	require.NoError(t, vd.decode(v))
	total := depth + width + 1
	assert.LessOrEqual(t, vd.tokens, 2*total, "tokens read for a value of %d", total)
	inner := v
	for range depth - 1 {
		inner = inner.Slice().At(0)
	}
	require.Equal(t, width+1, inner.Slice().Len())
	assert.Equal(t, `x"y`, inner.Slice().At(width).Str())
	assert.Empty(t, vd.tooBig)
}

func TestObjectsOfUpTo256KeysKeepTheirOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members int
		dups    int
	}{
		{name: "256 keys", members: 256},
		{name: "300 members, 256 distinct keys (duplicates take no room)", members: 300, dups: 44},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			b.WriteString("{")
			for i := range tc.members {
				if i > 0 {
					b.WriteString(",")
				}
				key := i
				if i >= tc.dups {
					key = i - tc.dups // the first dups keys come twice
				}
				fmt.Fprintf(&b, `"k%03d":%d`, key, i)
			}
			b.WriteString("}")
			vd := valueDecoder{cells: &cells{}}
			vd.reset(b.Bytes(), false)
			v := pcommon.NewValueEmpty()
			require.NoError(t, vd.decode(v))
			var keys []string
			for k := range v.Map().All() {
				keys = append(keys, k)
			}
			require.Len(t, keys, tc.members-tc.dups)
			for i, k := range keys {
				require.Equal(t, fmt.Sprintf("k%03d", i), k, "in the order of the text")
			}
		})
	}
}

func TestNumbersWithHugeExponentsCostLittle(t *testing.T) {
	// 1e-999999 underflows to 0; deciding that it is not exactly 0 must not compute 10^999999
	// (which took 17 ms and 40 allocations a number).
	const n = 200
	var b bytes.Buffer
	b.WriteString(`{"eventVersion":"1.08","eventName":"A","requestParameters":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("1e-999999")
	}
	b.WriteString(`]}`)
	vd := valueDecoder{cells: &cells{}}
	vd.reset(b.Bytes(), false)
	v := pcommon.NewValueEmpty()
	allocs := testing.AllocsPerRun(1, func() {
		vd.reset(b.Bytes(), false)
		require.NoError(t, vd.decode(v))
	})
	rp, _ := v.Map().Get("requestParameters")
	require.Equal(t, n, rp.Slice().Len())
	assert.Equal(t, "1e-999999", rp.Slice().At(0).Str(), "kept as its literal")
	assert.Len(t, vd.literals, n)
	// big.Rat would allocate hundreds of words per number; the decision takes none.
	assert.Less(t, allocs, float64(10*n))
}

func TestNestedBigObjectsAreBuiltOnce(t *testing.T) {
	// Each level holds the next level first, then 256 more keys: every level outgrows
	// bigObject after its nested object is built. Converting what was built to Go values at
	// every level made the work grow with depth × size; it is now moved, not copied.
	const depth = 60
	var b strings.Builder
	for range depth {
		b.WriteString(`{"a":`)
	}
	b.WriteString(`"bottom"`)
	for range depth {
		for k := range bigObject {
			fmt.Fprintf(&b, `,"k%d":%d`, k, k)
		}
		b.WriteString(`}`)
	}
	for _, limit := range []int{0, 64} { // through the tape, and as it is read
		vd := valueDecoder{cells: &cells{}, tapeLimit: limit}
		vd.reset([]byte(b.String()), false)
		v := pcommon.NewValueEmpty()
		allocs := testing.AllocsPerRun(1, func() {
			vd.reset([]byte(b.String()), false)
			require.NoError(t, vd.decode(v))
		})
		inner := v
		for range depth {
			require.Equal(t, bigObject+1, inner.Map().Len())
			inner, _ = inner.Map().Get("a")
		}
		assert.Equal(t, "bottom", inner.Str())
		// Built once, a member costs a few allocations; converted at every level it cost
		// about depth/2 times as many.
		assert.Less(t, allocs, float64(12*depth*(bigObject+1)), "tape limit %d", limit)
	}
}

func TestReduceLiteralKeepsTheValue(t *testing.T) {
	for in, want := range map[string]string{
		"1.5":          "15e-1",
		"100":          "1e2",
		"-0.00120e5":   "-12e1",
		"7E+3":         "7e3",
		"84.410596421": "84410596421e-9",
	} {
		got, ok := reduceLiteral(in)
		require.True(t, ok, in)
		assert.Equal(t, want, got, in)
		var a, b big.Rat
		_, okA := a.SetString(in)
		_, okB := b.SetString(got)
		require.True(t, okA && okB)
		assert.Zero(t, a.Cmp(&b), "%s and %s are the same number", in, got)
	}
	_, ok := reduceLiteral("1." + strings.Repeat("3", maxExactDigits))
	assert.False(t, ok, "more significant digits than any float64 has")
	_, ok = reduceLiteral("1e99999999999999999999")
	assert.False(t, ok, "an exponent beyond int")
}

func TestLongNumberLiteralsCostLittle(t *testing.T) {
	// big.Rat is quadratic in a literal's length: 1 MiB of digits took over a second.
	long := "1." + strings.Repeat("3", 1<<20)
	zeros := "1." + strings.Repeat("0", 1<<20)
	for _, lit := range []string{long, zeros} {
		allocs := testing.AllocsPerRun(2, func() { exactFloat(lit) })
		assert.Less(t, allocs, 30.0, "%.10s…", lit)
	}
	f, ok := exactFloat(zeros)
	assert.True(t, ok, "1.000… is exactly 1")
	assert.Equal(t, 1.0, f)
	_, ok = exactFloat(long)
	assert.False(t, ok, "1.333… (a million 3s) is no float64")
}

func TestEachRecordOfALargeFileListsOnlyItsOwnLiterals(t *testing.T) {
	// Past litIndexMin literals a document's are indexed by record (a scan of all for each
	// record was quadratic: 40k records took 6 s).
	const n = 5 * litIndexMin
	var recs [][]byte
	for i := range n {
		recs = append(recs, fmt.Appendf(nil, `{"eventVersion":"1.08","eventName":"E%d","x":1e400,"y":[%d,1e40%d]}`, i, i, i%10))
	}
	logs, _ := decodeAll(t, Options{}, replay.RecordsFile(recs))
	all := allRecords(logs)
	require.Len(t, all, n)
	for i, lr := range all {
		lits, ok := lr.Attributes().Get(KeyNumberLiterals)
		require.True(t, ok, "record %d", i)
		assert.Equal(t, []any{"/x", "/y/1"}, lits.Slice().AsRaw(), "record %d: 1e400 to 1e409 are beyond float64", i)
	}
}

// assertLiteralsAreNumbers checks that each listed JSON Pointer, once, leads to a number in
// want (as encoding/json read it, the last of repeated keys winning).
func assertLiteralsAreNumbers(t *testing.T, want any, literals []string, where string) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range literals {
		require.False(t, seen[p], "%s: %s listed twice", where, p)
		seen[p] = true
		v := want
		for _, tok := range strings.Split(p, "/")[1:] {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch c := v.(type) {
			case map[string]any:
				v = c[tok]
			case []any:
				i, err := strconv.Atoi(tok)
				require.NoError(t, err, "%s: %s", where, p)
				require.Less(t, i, len(c), "%s: %s", where, p)
				v = c[i]
			default:
				t.Fatalf("%s: %s leads nowhere", where, p)
			}
		}
		_, isNumber := v.(json.Number)
		require.True(t, isNumber, "%s: %s is listed as a number literal but is %T", where, p, v)
	}
}

func TestARepeatedKeyTakesItsNumberLiteralsAlong(t *testing.T) {
	for in, want := range map[string][]string{
		`{"a":1e400,"a":"5"}`:               nil,
		`{"a":"5","a":1e400}`:               {"/a"},
		`{"a":1e400,"a":1e401}`:             {"/a"},
		`{"a":{"b":1e400},"a":{"c":1}}`:     nil,
		`{"a":[1e400],"a":["5"],"b":1e400}`: {"/b"},
		`{"x":{"a":1e400,"b":1e400,"a":2}}`: {"/x/b"},
		`{"a~b/c":1e400,"a~b/c":3}`:         nil,
	} {
		for _, limit := range []int{0, 2} {
			vd := valueDecoder{cells: &cells{}, tapeLimit: limit}
			vd.reset([]byte(in), false)
			require.NoError(t, vd.decode(pcommon.NewValueEmpty()))
			got := slices.Clone(vd.literals)
			if len(got) == 0 {
				got = nil
			}
			assert.Equal(t, want, got, "%s, tape limit %d", in, limit)
		}
	}
	// Past bigObject members, through bigObjectMembers.
	var b strings.Builder
	b.WriteString(`{"a":1e400`)
	for k := range bigObject {
		fmt.Fprintf(&b, `,"k%d":%d`, k, k)
	}
	b.WriteString(`,"a":"5","z":{"q":1e400,"q":0}}`)
	for _, limit := range []int{0, 64} {
		vd := valueDecoder{cells: &cells{}, tapeLimit: limit}
		vd.reset([]byte(b.String()), false)
		require.NoError(t, vd.decode(pcommon.NewValueEmpty()))
		assert.Empty(t, vd.literals, "tape limit %d", limit)
	}
}

func TestARepeatedEventBridgeDetailTakesItsNumberLiteralsAlong(t *testing.T) {
	env := `{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"1",` +
		`"time":"2020-01-01T00:00:00Z","region":"us-east-1","resources":[],` +
		`"detail":{"eventVersion":"1.08","eventName":"A","x":1e400},"detail":{"eventVersion":"1.08","eventName":"A","x":"5"}}`
	logs, _ := decodeAll(t, Options{}, []byte(env))
	lr := allRecords(logs)[0]
	x, _ := lr.Body().Map().Get("x")
	assert.Equal(t, "5", x.Str())
	_, listed := lr.Attributes().Get(KeyNumberLiterals)
	assert.False(t, listed, "the string 5 is not a number literal")
}
