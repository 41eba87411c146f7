package cloudtrail

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// valueDecoder turns one JSON value, already validated by jsonscan.Skip, into a pcommon.Value
// without loss: every key, null, empty map and string is kept; strings alias the scanner's
// buffer; numbers become Int, Double or (when neither holds the literal's exact decimal value)
// the literal text, whose JSON Pointer is appended to literals.
//
// A value is read in two passes: tokenize lists its tokens on the tape, with every object's and
// array's member count, then build makes the pdata value from the tape, each map and slice
// allocated once at its exact size (growing them one append at a time used to be the largest
// allocation cost, and left a third of the memory unused or as garbage). A value of more than
// maxTape tokens is decoded as it is read instead (decodeStream), its members again in two
// passes.
type valueDecoder struct {
	sc        jsonscan.Scanner
	cells     *cells // where string and map values are allocated
	path      []pathElem
	literals  []string
	tape      []token
	tapeLimit int // tests lower the tape below maxTape (0: no lower) to exercise decodeStream
	// tooBig holds the start offsets of the objects and arrays that were open when the tape
	// last filled up, outermost last: each is known to be too big for the tape, so decode
	// reads it as it comes without trying the tape again (which made nested big values cost
	// their depth times the tape).
	tooBig []int
	// tokens counts the tokens tokenize has read, to test that no text is read over and over.
	tokens int
	// litIndex groups literals by their first litSegs pointer segments, for putLiterals on a
	// document with many literals split into many records (a scan of all for each record was
	// quadratic); litCount is len(literals) when it was built.
	litIndex map[string][]string
	litSegs  int
	litCount int
}

// token is one JSON value on the tape. Strings and keys with escapes keep their JSON text
// (quotes included) until build decodes them, so that tokenize never modifies the input and a
// value too large for the tape can be read again.
type token struct {
	key    string // an object member's key
	text   string // a string, or a number's literal
	n      int32  // objects and arrays: the members that follow, each with its own members
	kind   byte   // '{', '[', '"', 't', 'f', 'n' (null), '0' (number)
	num    jsonscan.NumberKind
	esc    bool // text is a string's JSON text
	keyEsc bool // key is the key's JSON text
}

// maxTape bounds the tape (about 40 bytes a token): CloudTrail records have a few hundred
// tokens; a larger value (a big records file) is decoded as it is read.
const maxTape = 1 << 15

var errTapeFull = errors.New("value too large for the tape")

type pathElem struct {
	key   string
	index int // -1 for object members
}

func (d *valueDecoder) reset(buf []byte, inPlace bool) {
	d.sc = jsonscan.New(buf, inPlace)
	d.newDocument()
}

// release drops the references to the last input.
func (d *valueDecoder) release() {
	d.sc = jsonscan.Scanner{}
	clear(d.path[:cap(d.path)])
	d.path = d.path[:0]
	d.literals = d.literals[:0]
	if cap(d.tape) > keptTape {
		d.tape = nil // a pooled decoder does not keep a big value's tape
	} else {
		clear(d.tape[:cap(d.tape)])
		d.tape = d.tape[:0]
	}
	d.tooBig = d.tooBig[:0]
	d.litIndex = nil
}

// keptTape is the tape capacity a decoder keeps between requests: a few CloudTrail records.
const keptTape = 4096

// newDocument forgets the paths and literals of the previous document.
func (d *valueDecoder) newDocument() {
	d.path = d.path[:0]
	d.literals = d.literals[:0]
	d.tooBig = d.tooBig[:0]
	d.litIndex = nil
}

// literalsUnder returns the literals that may lie under the JSON Pointer prefix: all of them
// when they are few, else those sharing its segments, from an index built once per document.
func (d *valueDecoder) literalsUnder(prefix string) []string {
	if len(d.literals) <= litIndexMin || prefix == "" {
		return d.literals
	}
	segs := strings.Count(prefix, "/")
	if d.litIndex == nil || d.litSegs != segs || d.litCount != len(d.literals) {
		d.litIndex, d.litSegs, d.litCount = make(map[string][]string), segs, len(d.literals)
		for _, p := range d.literals {
			key := p
			for i, n := 1, 0; i < len(p); i++ {
				if p[i] == '/' {
					if n++; n == segs {
						key = p[:i]
						break
					}
				}
			}
			d.litIndex[key] = append(d.litIndex[key], p)
		}
	}
	return d.litIndex[prefix]
}

// litIndexMin is the number of literals past which literalsUnder indexes them.
const litIndexMin = 16

// decode reads the next value into v.
func (d *valueDecoder) decode(v pcommon.Value) error {
	d.sc.Peek() // to the value's first byte, where tokenize records a container's start
	start := d.sc.Pos()
	for n := len(d.tooBig); n > 0 && d.tooBig[n-1] <= start; n-- {
		top := d.tooBig[n-1]
		d.tooBig = d.tooBig[:n-1] // this one, or a stale one from before it
		if top == start {
			return d.decodeStream(v)
		}
	}
	d.tape = d.tape[:0]
	switch err := d.tokenize("", false, len(d.path)); err {
	case nil:
		i := 0
		d.build(v, &i)
		return nil
	case errTapeFull:
		// tokenize listed the containers it left open, this value's last.
		d.tooBig = d.tooBig[:len(d.tooBig)-1]
		d.sc.Seek(start)
		return d.decodeStream(v)
	default:
		return err
	}
}

// tokenize appends the next value, a member under key (or an element, key ""), and its
// members to the tape. depth counts the objects and arrays around it.
func (d *valueDecoder) tokenize(key string, keyEsc bool, depth int) error {
	if len(d.tape) >= maxTape || d.tapeLimit > 0 && len(d.tape) >= d.tapeLimit {
		return errTapeFull
	}
	d.tokens++
	t := token{key: key, keyEsc: keyEsc}
	switch c := d.sc.Peek(); c {
	case '{', '[':
		if depth >= jsonscan.MaxDepth {
			return errTooDeep
		}
		start := d.sc.Pos()
		d.sc.Consume(c)
		at := len(d.tape)
		t.kind = c
		d.tape = append(d.tape, t)
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		n := int32(0)
		for first := true; ; first = false {
			more, err := d.sc.More(closing, first)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			var k []byte
			var kEsc bool
			if c == '{' {
				if k, kEsc, err = d.sc.KeyOrRaw(); err != nil {
					return err
				}
			}
			if err := d.tokenize(bytesToString(k), kEsc, depth+1); err != nil {
				if err == errTapeFull {
					d.tooBig = append(d.tooBig, start)
				}
				return err
			}
			n++
		}
		d.tape[at].n = n
		return nil
	case '"':
		b, esc, err := d.sc.StringOrRaw()
		if err != nil {
			return err
		}
		t.kind, t.text, t.esc = '"', bytesToString(b), esc
	case 't', 'f', 'n':
		b, err := d.sc.Literal()
		if err != nil {
			return err
		}
		t.kind = b
	default:
		lit, kind, err := d.sc.Number()
		if err != nil {
			return err
		}
		t.kind, t.text, t.num = '0', bytesToString(lit), kind
	}
	d.tape = append(d.tape, t)
	return nil
}

// build makes v the value at tape[*i] and moves *i past it and its members.
func (d *valueDecoder) build(v pcommon.Value, i *int) {
	t := &d.tape[*i]
	*i++
	switch t.kind {
	case '{':
		m := d.cells.setEmptyMap(v)
		if t.n == 0 {
			return
		}
		m.EnsureCapacity(min(int(t.n), bigObject))
		d.path = append(d.path, pathElem{index: -1})
		top := len(d.path) - 1
		r := replacedKeys{from: len(d.literals)}
		for j := range int(t.n) {
			k := d.keyAt(*i)
			d.path[top].key = k
			if m.Len() >= bigObject {
				// As in decodeObject: past this many keys PutEmpty would make hostile input
				// quadratic; the rest goes through bigObjectMembers.
				d.finishBigObjectFromTape(m, int(t.n)-j, i, &r)
				break
			}
			n := m.Len()
			v := m.PutEmpty(k)
			if m.Len() == n {
				d.noteReplaced(&r, k)
			}
			d.build(v, i)
		}
		d.dropReplaced(&r)
		d.path = d.path[:top]
	case '[':
		s := d.cells.setEmptySlice(v)
		if t.n == 0 {
			return
		}
		s.EnsureCapacity(int(t.n))
		d.path = append(d.path, pathElem{key: d.under()})
		top := len(d.path) - 1
		for j := range int(t.n) {
			d.path[top].index = j
			d.build(s.AppendEmpty(), i)
		}
		d.path = d.path[:top]
	case '"':
		d.cells.setStr(v, d.textAt(t))
	case 't', 'f':
		v.SetBool(t.kind == 't')
	case '0':
		d.setNumber(v, t.text, t.num)
	}
	// 'n': null stays an empty value
}

// keyAt is the key of the member at tape[i], its escapes decoded.
func (d *valueDecoder) keyAt(i int) string {
	t := &d.tape[i]
	if t.keyEsc {
		t.key, t.keyEsc = d.unescape(t.key), false
	}
	return t.key
}

// textAt is a string token's value, its escapes decoded.
func (d *valueDecoder) textAt(t *token) string {
	if t.esc {
		t.text, t.esc = d.unescape(t.text), false
	}
	return t.text
}

// unescape decodes a string's JSON text, checked by tokenize, the way the scanner would have.
func (d *valueDecoder) unescape(raw string) string {
	b := unsafe.Slice(unsafe.StringData(raw), len(raw))
	sc := jsonscan.New(b, d.sc.InPlace())
	s, _ := sc.String()
	return s
}

// under is the key of the innermost object member being decoded ("" at the top).
func (d *valueDecoder) under() string {
	if n := len(d.path); n > 0 {
		return d.path[n-1].key
	}
	return ""
}

// finishBigObjectFromTape is finishBigObject reading the object's last n members from the
// tape; the path's last element is the object's.
func (d *valueDecoder) finishBigObjectFromTape(m pcommon.Map, n int, i *int, r *replacedKeys) {
	b := startBigObject(m, n)
	top := len(d.path) - 1
	for range n {
		k := d.keyAt(*i)
		d.path[top].key = k
		d.build(b.member(d, r, k), i)
	}
	b.finish(m)
}

// bigObjectMembers holds the members of an object that outgrew bigObject members, in a
// pcommon.Slice, found by key in a Go map. pcommon.Map.PutEmpty looks for every new key among
// the earlier ones, which would make hostile input quadratic; FromRaw does not, so finish has
// FromRaw make one empty member per key and moves each value into its member (a pointer each,
// no copy). JSON objects are unordered; only such an object's key order is lost, FromRaw
// following a Go map's.
type bigObjectMembers struct {
	values pcommon.Slice
	index  map[string]int // key → its value's index in values
}

// startBigObject moves the members m has so far out of it.
func startBigObject(m pcommon.Map, more int) bigObjectMembers {
	b := bigObjectMembers{values: pcommon.NewSlice(), index: make(map[string]int, m.Len()+more)}
	b.values.EnsureCapacity(m.Len() + more)
	for k, v := range m.All() {
		b.index[k] = b.values.Len()
		v.MoveTo(b.values.AppendEmpty())
	}
	return b
}

// member is a new empty value for the member k, to be filled before the next member is asked
// for. The last of repeated keys wins, as with PutEmpty, and takes the number literals of the
// value it replaced along (r).
func (b bigObjectMembers) member(d *valueDecoder, r *replacedKeys, k string) pcommon.Value {
	n := len(b.index)
	b.index[k] = b.values.Len()
	if len(b.index) == n { // k came before
		d.noteReplaced(r, k)
	}
	return b.values.AppendEmpty()
}

// finish makes m the object.
func (b bigObjectMembers) finish(m pcommon.Map) {
	keys := make(map[string]any, len(b.index))
	for k := range b.index {
		keys[k] = nil // an empty value
	}
	_ = m.FromRaw(keys) // nil is a value FromRaw takes
	for k, dst := range m.All() {
		b.values.At(b.index[k]).MoveTo(dst)
	}
}

// decodeStream reads the next value into v as it goes, for values too large for the tape.
func (d *valueDecoder) decodeStream(v pcommon.Value) error {
	switch c := d.sc.Peek(); c {
	case '{':
		return d.decodeObject(d.cells.setEmptyMap(v))
	case '[':
		return d.decodeArray(d.cells.setEmptySlice(v))
	case '"':
		s, err := d.sc.String()
		if err != nil {
			return err
		}
		d.cells.setStr(v, s)
	case 't', 'f', 'n':
		b, err := d.sc.Literal()
		if err != nil {
			return err
		}
		if b != 'n' {
			v.SetBool(b == 't')
		}
	default:
		lit, kind, err := d.sc.Number()
		if err != nil {
			return err
		}
		d.setNumber(v, bytesToString(lit), kind)
	}
	return nil
}

// replacedKeys tracks, in one object, the keys that came again: the last of repeated keys wins
// (as with PutEmpty), so the number literals of the values it replaced must go too, or an
// exporter would write a later string "5" as the number 5. start holds, by escaped key, where
// in literals the key's last value began; dropReplaced removes the older literals under those
// keys in one pass at the object's end.
type replacedKeys struct {
	from  int // len(literals) when the object began
	start map[string]int
}

func (d *valueDecoder) noteReplaced(r *replacedKeys, key string) {
	if r.start == nil {
		r.start = map[string]int{}
	}
	r.start[escapePointer(key)] = len(d.literals)
}

// dropReplaced removes the literals of replaced values; the path's last element is the
// object's member slot.
func (d *valueDecoder) dropReplaced(r *replacedKeys) {
	if r.start == nil {
		return
	}
	prefix := pointerOf(d.path[:len(d.path)-1]) + "/"
	kept := d.literals[:r.from]
	for i := r.from; i < len(d.literals); i++ {
		l := d.literals[i]
		if strings.HasPrefix(l, prefix) {
			seg := l[len(prefix):]
			if j := strings.IndexByte(seg, '/'); j >= 0 {
				seg = seg[:j]
			}
			if start, ok := r.start[seg]; ok && i < start {
				continue
			}
		}
		kept = append(kept, l)
	}
	clear(d.literals[len(kept):])
	d.literals = kept
}

// errTooDeep stops hostile nesting before it exhausts the stack.
var errTooDeep = fmt.Errorf("nesting deeper than %d", jsonscan.MaxDepth)

func (d *valueDecoder) decodeObject(m pcommon.Map) error {
	if len(d.path) >= jsonscan.MaxDepth {
		return errTooDeep
	}
	d.sc.Consume('{')
	d.path = append(d.path, pathElem{index: -1})
	top := len(d.path) - 1
	r := replacedKeys{from: len(d.literals)}
	for first := true; ; first = false {
		more, err := d.sc.More('}', first)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		k, err := d.sc.Key()
		if err != nil {
			return err
		}
		d.path[top].key = k
		if m.Len() >= bigObject {
			// pcommon.Map.PutEmpty looks for the key among those already there; past this
			// size that would make hostile input quadratic. Finish the object through
			// bigObjectMembers (JSON objects are unordered; only this object's key order
			// is lost).
			if err := d.finishBigObject(m, k, &r); err != nil {
				return err
			}
			break
		}
		n := m.Len()
		v := m.PutEmpty(k)
		if m.Len() == n {
			d.noteReplaced(&r, k)
		}
		if err := d.decode(v); err != nil {
			return err
		}
	}
	d.dropReplaced(&r)
	d.path = d.path[:top]
	return nil
}

func (d *valueDecoder) decodeArray(s pcommon.Slice) error {
	if len(d.path) >= jsonscan.MaxDepth {
		return errTooDeep
	}
	d.sc.Consume('[')
	var under string
	if n := len(d.path); n > 0 {
		under = d.path[n-1].key
	}
	d.path = append(d.path, pathElem{key: under})
	top := len(d.path) - 1
	for i := 0; ; i++ {
		more, err := d.sc.More(']', i == 0)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		d.path[top].index = i
		if err := d.decode(s.AppendEmpty()); err != nil {
			return err
		}
	}
	d.path = d.path[:top]
	return nil
}

// bigObject is the member count past which an object is finished through bigObjectMembers.
const bigObject = 256

// finishBigObject decodes the rest of the object whose member key the scanner is at (its
// key already read) as bigObjectMembers, then makes m the object.
func (d *valueDecoder) finishBigObject(m pcommon.Map, key string, r *replacedKeys) error {
	b := startBigObject(m, bigObject)
	top := len(d.path) - 1
	for first := true; ; first = false {
		if !first {
			more, err := d.sc.More('}', false)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			if key, err = d.sc.Key(); err != nil {
				return err
			}
			d.path[top].key = key
		}
		if err := d.decode(b.member(d, r, key)); err != nil {
			return err
		}
	}
	b.finish(m)
	return nil
}

// setNumber stores a number literal exactly: Int when it is an integer that fits int64,
// Double when a float64 holds exactly its decimal value, else the literal text.
func (d *valueDecoder) setNumber(v pcommon.Value, text string, kind jsonscan.NumberKind) {
	if kind == jsonscan.Integer {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			v.SetInt(n)
			return
		}
	}
	if f, ok := exactFloat(text); ok {
		v.SetDouble(f)
		return
	}
	d.cells.setStr(v, text)
	d.literals = append(d.literals, d.pointer())
}

// exactFloat parses a JSON number literal and reports whether the float64 equals the
// literal's decimal value exactly.
func exactFloat(text string) (float64, bool) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	if f == 0 {
		// Every zero literal (0.0, -0e5) is exactly zero; keep the sign as parsed. A literal
		// that underflows to zero (1e-400) is not, and is decided here: big.Rat would build
		// 10^999999 for the ten bytes 1e-999999 (17 ms each).
		return f, zeroDigits(text)
	}
	reduced, ok := reduceLiteral(text)
	if !ok {
		return 0, false
	}
	var lit big.Rat
	if _, ok := lit.SetString(reduced); !ok {
		return 0, false
	}
	var got big.Rat
	got.SetFloat64(f)
	// The exporters write a double as strconv's shortest literal that reads back as it, so a
	// Double must also be that literal's number: 1000000000000000.25 is a float64 exactly, but
	// reads back from 1.0000000000000002e+15, which is another number. Such a literal stays text.
	return f, lit.Cmp(&got) == 0 && shortestIs(f, reduced)
}

// shortestIs reports whether strconv's shortest literal for f (f != 0) is the number a
// literal in reduceLiteral's form stands for.
func shortestIs(f float64, reduced string) bool {
	var buf, outBuf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // [-]d[.ddd]e±dd, no trailing zeros
	i := bytes.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(string(s[i+1:]))
	mant := s[:i]
	out := outBuf[:0]
	digits := 0
	for _, c := range mant {
		if c != '.' {
			out = append(out, c)
			if c != '-' {
				digits++
			}
		}
	}
	out = append(out, 'e')
	return string(strconv.AppendInt(out, int64(exp-(digits-1)), 10)) == reduced
}

// maxExactDigits is the most significant decimal digits the exact value of a float64 has (767,
// for some subnormals): a literal with more equals none.
const maxExactDigits = 767

// reduceLiteral rewrites a number literal whose value is finite and not zero as its significant
// digits and a decimal exponent (-0.00120e5 → -12e1), so that big.Rat's work is bounded by what
// a float64 can hold, not by the literal's length (big.Rat is quadratic in it: a 4 KiB gzip
// record of one 4 MiB literal took 21 s). It reports false when the literal has more
// significant digits than maxExactDigits, or an exponent beyond int (then so many digits would
// be needed to bring the value back within float64 range that the first rule applies).
func reduceLiteral(text string) (string, bool) {
	neg := strings.HasPrefix(text, "-")
	if neg {
		text = text[1:]
	}
	mant, exp := text, 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		e, err := strconv.Atoi(text[i+1:])
		if err != nil {
			return "", false
		}
		mant, exp = text[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digit := func(i int) byte { // the i-th digit of intPart followed by frac
		if i < len(intPart) {
			return intPart[i]
		}
		return frac[i-len(intPart)]
	}
	n := len(intPart) + len(frac)
	first, last := 0, n-1
	for first < n && digit(first) == '0' {
		first++
	}
	for last > first && digit(last) == '0' {
		last--
	}
	if first == n || last-first+1 > maxExactDigits {
		return "", false
	}
	b := make([]byte, 0, last-first+24)
	if neg {
		b = append(b, '-')
	}
	for i := first; i <= last; i++ {
		b = append(b, digit(i))
	}
	b = append(b, 'e')
	b = strconv.AppendInt(b, int64(exp)-int64(len(frac))+int64(n-1-last), 10)
	return string(b), true
}

// zeroDigits reports whether every digit of a number literal's mantissa is 0.
func zeroDigits(text string) bool {
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == 'e' || c == 'E':
			return true
		case c >= '1' && c <= '9':
			return false
		}
	}
	return true
}

// pointer renders the current path as an RFC 6901 JSON Pointer.
func (d *valueDecoder) pointer() string { return pointerOf(d.path) }

func pointerOf(path []pathElem) string {
	var b strings.Builder
	for _, e := range path {
		b.WriteByte('/')
		if e.index >= 0 {
			b.WriteString(strconv.Itoa(e.index))
		} else {
			b.WriteString(escapePointer(e.key))
		}
	}
	return b.String()
}
