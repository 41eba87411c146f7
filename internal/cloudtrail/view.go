package cloudtrail

import (
	"strconv"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// view is one JSON object of a record as the classification and the mapping read it. Two
// kinds exist, chosen by body_format:
//   - mapView (body_format map): the object already decoded, losslessly, into pdata; parts
//     of it are moved, not copied, into log bodies and attributes. One pass over the bytes.
//   - rawView (body_format raw): the object's text and its members; bodies keep the text.
//
// The code that decides what a record is and how it maps is written once, against this
// interface, as generic functions (no allocation for the interface).
type view[V any] interface {
	str(key string) (string, bool)
	boolean(key string) (bool, bool)
	integer(key string) (int64, bool)
	has(key string) bool
	// object returns the member key when it is an object. Views returned by object are valid
	// until object is called again on a view at the same depth.
	object(key string) (V, bool)
	// eachElement calls f for each element of the array member key that is an object, and
	// other for each other element; it reports whether key is an array.
	eachElement(key string, f func(V), other func(index int)) bool
	// eachMember calls f with each member's key, except skip.
	eachMember(skip string, f func(key string))
	// memberCount is how many members eachMember(skip, ...) would see.
	memberCount(skip string) int
	// putAttr stores member key as an attribute named name, unless it is null (REFERENCE §4:
	// absent or null fields produce no attribute).
	putAttr(attrs pcommon.Map, name, key string)
	// toBody stores the object as lr's body: its text in raw mode when text is true, else the
	// decoded value.
	toBody(lr plog.LogRecord, text bool)
	// elementToBody stores element index of array key as lr's body (a non-object element).
	elementToBody(lr plog.LogRecord, key string, index int)
}

// mapView is a decoded object.
type mapView struct {
	m pcommon.Map
	// ptr is the object's JSON Pointer in its document, kept only when the document holds
	// number literals.
	ptr string
	d   *Decoder
	// vd decoded the document (and holds its number literals).
	vd *valueDecoder
}

func (v mapView) str(key string) (string, bool) {
	if x, ok := v.m.Get(key); ok && x.Type() == pcommon.ValueTypeStr {
		return x.Str(), true
	}
	return "", false
}

func (v mapView) boolean(key string) (bool, bool) {
	x, ok := v.m.Get(key)
	if !ok {
		return false, false
	}
	switch x.Type() {
	case pcommon.ValueTypeBool:
		return x.Bool(), true
	case pcommon.ValueTypeStr:
		return boolString(x.Str())
	}
	return false, false
}

func (v mapView) integer(key string) (int64, bool) {
	if x, ok := v.m.Get(key); ok && x.Type() == pcommon.ValueTypeInt {
		return x.Int(), true
	}
	return 0, false
}

func (v mapView) has(key string) bool { _, ok := v.m.Get(key); return ok }

func (v mapView) object(key string) (mapView, bool) {
	if x, ok := v.m.Get(key); ok && x.Type() == pcommon.ValueTypeMap {
		return mapView{m: x.Map(), ptr: v.childPtr(key), d: v.d, vd: v.vd}, true
	}
	return mapView{}, false
}

func (v mapView) childPtr(key string) string {
	if len(v.vd.literals) == 0 {
		return ""
	}
	return v.ptr + "/" + escapePointer(key)
}

func (v mapView) eachElement(key string, f func(mapView), other func(int)) bool {
	x, ok := v.m.Get(key)
	if !ok || x.Type() != pcommon.ValueTypeSlice {
		return false
	}
	base := v.childPtr(key)
	for i, e := range x.Slice().All() {
		if e.Type() != pcommon.ValueTypeMap {
			other(i)
			continue
		}
		var ptr string
		if base != "" {
			ptr = base + "/" + strconv.Itoa(i)
		}
		f(mapView{m: e.Map(), ptr: ptr, d: v.d, vd: v.vd})
	}
	return true
}

func (v mapView) eachMember(skip string, f func(string)) {
	for k := range v.m.All() {
		if k != skip {
			f(k)
		}
	}
}

func (v mapView) memberCount(skip string) int {
	n := v.m.Len()
	if _, ok := v.m.Get(skip); ok {
		n--
	}
	return n
}

func (v mapView) putAttr(attrs pcommon.Map, name, key string) {
	if x, ok := v.m.Get(key); ok && x.Type() != pcommon.ValueTypeEmpty {
		x.CopyTo(attrs.PutEmpty(name))
	}
}

// toBody moves the object into the body and lists the number literals inside it.
func (v mapView) toBody(lr plog.LogRecord, _ bool) {
	v.m.MoveTo(lr.Body().SetEmptyMap())
	putLiterals(v.vd, lr.Attributes(), v.ptr)
}

func (v mapView) elementToBody(lr plog.LogRecord, key string, index int) {
	if x, ok := v.m.Get(key); ok && x.Type() == pcommon.ValueTypeSlice && index < x.Slice().Len() {
		x.Slice().At(index).CopyTo(lr.Body())
		putLiterals(v.vd, lr.Attributes(), v.childPtr(key)+"/"+strconv.Itoa(index))
	}
}

// rawView is an object's text and its members.
type rawView struct {
	raw []byte
	ms  []member
	d   *Decoder
}

func (v rawView) str(key string) (string, bool)    { return rawString(find(v.ms, key)) }
func (v rawView) boolean(key string) (bool, bool)  { return rawBool(find(v.ms, key)) }
func (v rawView) integer(key string) (int64, bool) { return rawInt(find(v.ms, key)) }
func (v rawView) has(key string) bool              { return find(v.ms, key) != nil }
func (v rawView) object(key string) (rawView, bool) {
	m, ok := findMember(v.ms, key)
	if !ok {
		return rawView{}, false
	}
	if m.n >= 0 {
		return rawView{raw: m.raw, ms: v.d.arena[m.first : m.first+m.n], d: v.d}, true
	}
	return v.d.rawObject(m.raw)
}

func (v rawView) eachElement(key string, f func(rawView), other func(int)) bool {
	arr := find(v.ms, key)
	if len(arr) == 0 || arr[0] != '[' {
		return false
	}
	forEachElement(arr, func(i int, raw []byte) {
		if e, ok := v.d.rawObject(raw); ok {
			f(e)
		} else {
			other(i)
		}
	})
	return true
}

func (v rawView) eachMember(skip string, f func(string)) {
	for _, m := range v.ms {
		if m.key != skip {
			f(m.key)
		}
	}
}

func (v rawView) memberCount(skip string) int {
	n := 0
	for _, m := range v.ms {
		if m.key != skip {
			n++
		}
	}
	return n
}

func (v rawView) putAttr(attrs pcommon.Map, name, key string) {
	if raw := find(v.ms, key); raw != nil && string(raw) != "null" {
		v.d.decodeRaw(raw, attrs.PutEmpty(name))
	}
}

func (v rawView) toBody(lr plog.LogRecord, text bool) {
	if text {
		lr.Body().SetStr(bytesToString(v.raw))
		return
	}
	v.d.decodeRaw(v.raw, lr.Body())
	putLiterals(&v.d.vd, lr.Attributes(), "")
}

func (v rawView) elementToBody(lr plog.LogRecord, key string, index int) {
	forEachElement(find(v.ms, key), func(i int, raw []byte) {
		if i == index {
			v.d.decodeRaw(raw, lr.Body())
			putLiterals(&v.d.vd, lr.Attributes(), "")
		}
	})
}

// rawObject scans a validated object that was not scanned with its parent.
func (d *Decoder) rawObject(raw []byte) (rawView, bool) {
	if !isObject(raw) {
		return rawView{}, false
	}
	sc := jsonscan.New(raw, false)
	first, n, err := d.scanTree(&sc, 0)
	if err != nil {
		return rawView{}, false
	}
	return rawView{raw: raw, ms: d.arena[first : first+n], d: d}, true
}

// decodeRaw decodes one validated raw value into v (raw mode: never in place, so that every
// record text stays intact).
func (d *Decoder) decodeRaw(raw []byte, v pcommon.Value) {
	d.vd.reset(raw, false)
	_ = d.vd.decode(v) // raw was validated
}

// putLiterals lists, as the KeyNumberLiterals attribute, the number literals vd found under
// the JSON Pointer prefix, relative to it.
func putLiterals(vd *valueDecoder, attrs pcommon.Map, prefix string) {
	var s pcommon.Slice
	for _, p := range vd.literalsUnder(prefix) {
		if !strings.HasPrefix(p, prefix) || len(p) > len(prefix) && p[len(prefix)] != '/' {
			continue
		}
		if s == (pcommon.Slice{}) {
			s = attrs.PutEmptySlice(KeyNumberLiterals)
		}
		s.AppendEmpty().SetStr(p[len(prefix):])
	}
}

func escapePointer(key string) string {
	if !strings.ContainsAny(key, "~/") {
		return key
	}
	return string(AppendPointerToken(nil, key))
}

// AppendPointerToken appends key as a JSON Pointer reference token (RFC 6901: '~' becomes
// "~0", '/' becomes "~1"), the form of the paths in KeyNumberLiterals.
func AppendPointerToken(dst []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '~':
			dst = append(dst, '~', '0')
		case '/':
			dst = append(dst, '~', '1')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
