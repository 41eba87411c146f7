package cloudtrail

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// valueDecoder turns one JSON value, already validated by jsonscan.Skip, into a pcommon.Value
// without loss: every key, null, empty map and string is kept; strings alias the scanner's
// buffer; numbers become Int, Double or (when neither holds the literal's exact decimal value)
// the literal text, whose JSON Pointer is appended to literals.
type valueDecoder struct {
	sc       jsonscan.Scanner
	cells    *cells // where string and map values are allocated
	path     []pathElem
	literals []string
	// sizes remembers how many members the last object at the same depth under a key of the
	// same length had, to size the next one up front: CloudTrail records are regular, and
	// growing maps one append at a time was the largest allocation cost. (A map keyed by the
	// key itself cost more to look up than it saved.)
	sizes [sizeDepths][sizeKeyLens]uint8
}

const (
	sizeDepths  = 8
	sizeKeyLens = 32
)

// sizeSlot is where the size hint of an object under key at depth lives, or nil.
func (d *valueDecoder) sizeSlot(depth int, key string) *uint8 {
	if depth >= sizeDepths || len(key) >= sizeKeyLens {
		return nil
	}
	return &d.sizes[depth][len(key)]
}

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
}

// newDocument forgets the paths and literals of the previous document.
func (d *valueDecoder) newDocument() {
	d.path = d.path[:0]
	d.literals = d.literals[:0]
}

// decode reads the next value into v.
func (d *valueDecoder) decode(v pcommon.Value) error {
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
		d.setNumber(v, lit, kind)
	}
	return nil
}

// errTooDeep stops hostile nesting before it exhausts the stack.
var errTooDeep = fmt.Errorf("nesting deeper than %d", jsonscan.MaxDepth)

func (d *valueDecoder) decodeObject(m pcommon.Map) error {
	if len(d.path) >= jsonscan.MaxDepth {
		return errTooDeep
	}
	d.sc.Consume('{')
	var under string // the key this object sits under ("" at the top)
	if n := len(d.path); n > 0 {
		under = d.path[n-1].key
	}
	hint := d.sizeSlot(len(d.path), under)
	if hint != nil && *hint > 0 && d.sc.Peek() != '}' { // {} needs no room
		m.EnsureCapacity(int(*hint))
	}
	d.path = append(d.path, pathElem{index: -1})
	top := len(d.path) - 1
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
			// size that would make hostile input quadratic. Finish the object as Go values
			// and build it in one go (JSON objects are unordered; only this object's key
			// order is lost).
			if err := d.finishBigObject(m, k); err != nil {
				return err
			}
			break
		}
		if err := d.decode(m.PutEmpty(k)); err != nil {
			return err
		}
	}
	d.path = d.path[:top]
	if hint != nil {
		*hint = uint8(min(m.Len(), maxSizeHint))
	}
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

// bigObject is the member count past which an object is built through pcommon.Map.FromRaw.
const bigObject = 256

// finishBigObject decodes the rest of the object whose member key the scanner is at (its
// key already read) into Go values, then rebuilds m from them.
func (d *valueDecoder) finishBigObject(m pcommon.Map, key string) error {
	members := m.AsRaw()
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
		v, err := d.decodeAny()
		if err != nil {
			return err
		}
		members[key] = v // the last of duplicate keys wins, as with PutEmpty
	}
	return m.FromRaw(members)
}

// decodeAny reads the next value as a Go value for pcommon's FromRaw, with decode's rules.
func (d *valueDecoder) decodeAny() (any, error) {
	switch c := d.sc.Peek(); c {
	case '{', '[':
		if len(d.path) >= jsonscan.MaxDepth {
			return nil, errTooDeep
		}
		d.sc.Consume(c)
		d.path = append(d.path, pathElem{index: -1})
		top := len(d.path) - 1
		var obj map[string]any
		var arr []any
		if c == '{' {
			obj = map[string]any{}
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		for i := 0; ; i++ {
			more, err := d.sc.More(closing, i == 0)
			if err != nil {
				return nil, err
			}
			if !more {
				break
			}
			if c == '{' {
				k, err := d.sc.Key()
				if err != nil {
					return nil, err
				}
				d.path[top].key = k
				v, err := d.decodeAny()
				if err != nil {
					return nil, err
				}
				obj[k] = v
				continue
			}
			d.path[top].index = i
			v, err := d.decodeAny()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		d.path = d.path[:top]
		if c == '{' {
			return obj, nil
		}
		if arr == nil {
			arr = []any{}
		}
		return arr, nil
	case '"':
		return d.sc.String()
	case 't', 'f', 'n':
		b, err := d.sc.Literal()
		if err != nil || b == 'n' {
			return nil, err
		}
		return b == 't', nil
	default:
		lit, kind, err := d.sc.Number()
		if err != nil {
			return nil, err
		}
		v := pcommon.NewValueEmpty()
		d.setNumber(v, lit, kind)
		return v.AsRaw(), nil
	}
}

// maxSizeHint bounds a size hint: a key whose objects vary (requestParameters) must not make
// every later object over-allocate.
const maxSizeHint = 24

// setNumber stores a number literal exactly: Int when it is an integer that fits int64,
// Double when a float64 holds exactly its decimal value, else the literal text.
func (d *valueDecoder) setNumber(v pcommon.Value, lit []byte, kind jsonscan.NumberKind) {
	text := bytesToString(lit)
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
	if f == 0 && zeroDigits(text) {
		// Every zero literal (0.0, -0e5) is exactly zero; keep the sign as parsed. A literal
		// that underflows to zero (1e-400) is not.
		return f, true
	}
	var lit big.Rat
	if _, ok := lit.SetString(text); !ok {
		return 0, false
	}
	var got big.Rat
	got.SetFloat64(f)
	return f, lit.Cmp(&got) == 0
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
func (d *valueDecoder) pointer() string {
	var b strings.Builder
	for _, e := range d.path {
		b.WriteByte('/')
		if e.index >= 0 {
			b.WriteString(strconv.Itoa(e.index))
		} else {
			b.WriteString(escapePointer(e.key))
		}
	}
	return b.String()
}
