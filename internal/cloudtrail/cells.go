package cloudtrail

import (
	"reflect"
	"sync"
	"unsafe"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// pdata keeps every string value and every map value in small heap objects of its own: a
// string costs one allocation, a map two before its members. A CloudTrail event has about 50
// strings, 8 maps and an array, and those allocations were the largest single cost of decoding.
//
// cells hands pdata the same objects carved out of larger blocks, so that a block of 128
// strings costs one allocation. The objects have exactly the layout pdata's own have; only where
// they live differs. This relies on how pdata v1.71 represents a value (an AnyValue holding one
// `any`, whose dynamic type is a pointer to a one-field wrapper struct), so cellLayout checks
// that representation by reflection and by a round trip when the package loads, and every
// setter falls back to pdata's own when the check fails or when pdata's object pooling (feature
// gate pdata.useProtoPooling) is on. Memory stays safe either way: a cell is an ordinary Go
// object that the garbage collector keeps alive as long as any value points into its block.
// One consequence: when a processor later changes a value's type (SetInt on a string, say),
// pdata puts the old wrapper into its object pool whatever the gate says; a cell there keeps
// its block, and the request text its neighbours point into, alive until the pool is emptied,
// within two garbage collections.
type cells struct {
	on   bool
	t    *cellTypes // layout(), when on
	strs []string   // unused string cells of the current block
	maps []listCell // unused map and array cells of the current block
	size int        // cells in the next block (grows to cellBlockMax)
}

// listCell is pdata's map (or array) wrapper, one pointer to the member list, and the member
// list, one slice, side by side; list points at values.
type listCell struct {
	list   unsafe.Pointer
	values struct {
		ptr      unsafe.Pointer
		len, cap int
	}
}

const (
	cellBlockMin = 16
	cellBlockMax = 256
)

// eface is the layout of an `any`.
type eface struct {
	typ, data unsafe.Pointer
}

// valueHeader is the layout of pcommon.Value (checked by cellLayout).
type valueHeader struct {
	orig  *any
	state unsafe.Pointer
}

// CellsGate turns cells off when disabled (--feature-gates=-receiver.awsfirehosecloudtrail.valueCells):
// the way back to pdata's own allocation, should a pdata upgrade or a processor ever disagree
// with them, at about 10 % more CPU per event.
var CellsGate = featuregate.GlobalRegistry().MustRegister(
	"receiver.awsfirehosecloudtrail.valueCells",
	featuregate.StageBeta,
	featuregate.WithRegisterDescription("Allocate the pdata string, map and array values of decoded CloudTrail records in blocks (fewer allocations, less CPU)."),
	featuregate.WithRegisterFromVersion("v0.1.0"),
)

// layout holds the dynamic types pdata stores string and map values under, or nil when
// pdata's representation is not the one cells was written for.
var layout = sync.OnceValue(cellLayout)

type cellTypes struct {
	str, kvlist, array unsafe.Pointer
	pooling            *featuregate.Gate
}

func cellLayout() *cellTypes {
	vt := reflect.TypeFor[pcommon.Value]()
	if vt.Kind() != reflect.Struct || vt.NumField() != 2 || vt.Size() != unsafe.Sizeof(valueHeader{}) {
		return nil
	}
	orig := vt.Field(0).Type
	if vt.Field(0).Offset != 0 || orig.Kind() != reflect.Pointer || orig.Elem().Kind() != reflect.Struct ||
		orig.Elem().NumField() != 1 || orig.Elem().Field(0).Type != reflect.TypeFor[any]() {
		return nil
	}
	strAny := *origOf(pcommon.NewValueStr("cell"))
	mapAny := *origOf(pcommon.NewValueMap())
	arrayAny := *origOf(pcommon.NewValueSlice())
	if !oneField(reflect.TypeOf(strAny), reflect.String) || !isListWrapper(reflect.TypeOf(mapAny)) ||
		!isListWrapper(reflect.TypeOf(arrayAny)) {
		return nil
	}
	t := &cellTypes{
		str:    (*eface)(unsafe.Pointer(&strAny)).typ,
		kvlist: (*eface)(unsafe.Pointer(&mapAny)).typ,
		array:  (*eface)(unsafe.Pointer(&arrayAny)).typ,
	}
	featuregate.GlobalRegistry().VisitAll(func(g *featuregate.Gate) {
		if g.ID() == "pdata.useProtoPooling" {
			t.pooling = g
		}
	})
	if !roundTrip(t) {
		return nil
	}
	return t
}

// oneField tells whether t is a pointer to a struct of exactly one field of the given kind,
// as large as that field.
func oneField(t reflect.Type, kind reflect.Kind) bool {
	return t != nil && t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct &&
		t.Elem().NumField() == 1 && t.Elem().Field(0).Type.Kind() == kind &&
		t.Elem().Size() == t.Elem().Field(0).Type.Size()
}

// isListWrapper tells whether t is a pointer to a one-pointer struct whose pointee is a
// one-slice struct: pdata's map and array representation, which listCell mirrors.
func isListWrapper(t reflect.Type) bool {
	if !oneField(t, reflect.Pointer) {
		return false
	}
	list := t.Elem().Field(0).Type.Elem()
	return list.Kind() == reflect.Struct && list.NumField() == 1 && list.Field(0).Type.Kind() == reflect.Slice &&
		list.Size() == unsafe.Sizeof(listCell{}.values)
}

// roundTrip builds a map with cells and reads it back through pdata's public API.
func roundTrip(t *cellTypes) bool {
	c := cells{on: true}
	v := pcommon.NewValueEmpty()
	m := c.setEmptyMapWith(t, v)
	c.setStrWith(t, m.PutEmpty("a"), "x")
	c.setEmptyMapWith(t, m.PutEmpty("b")).PutStr("c", "y")
	m.PutInt("d", 1)
	c.setStrWith(t, c.setEmptySliceWith(t, m.PutEmpty("e")).AppendEmpty(), "z")
	want := map[string]any{"a": "x", "b": map[string]any{"c": "y"}, "d": int64(1), "e": []any{"z"}}
	return v.Type() == pcommon.ValueTypeMap && reflect.DeepEqual(v.AsRaw(), want)
}

// origOf returns where v's value lives.
func origOf(v pcommon.Value) *any {
	return (*valueHeader)(unsafe.Pointer(&v)).orig
}

// begin decides, once per request, whether cells are used.
func (c *cells) begin() {
	c.t = layout()
	c.on = c.t != nil && (c.t.pooling == nil || !c.t.pooling.IsEnabled()) && CellsGate.IsEnabled()
}

// setStr is v.SetStr(s).
func (c *cells) setStr(v pcommon.Value, s string) {
	if !c.on {
		v.SetStr(s)
		return
	}
	c.setStrWith(c.t, v, s)
}

// putStr is m.PutStr(k, s).
func (c *cells) putStr(m pcommon.Map, k, s string) {
	if !c.on {
		m.PutStr(k, s)
		return
	}
	c.setStrWith(c.t, m.PutEmpty(k), s)
}

// setEmptyMap is v.SetEmptyMap().
func (c *cells) setEmptyMap(v pcommon.Value) pcommon.Map {
	if !c.on {
		return v.SetEmptyMap()
	}
	return c.setEmptyMapWith(c.t, v)
}

// setEmptySlice is v.SetEmptySlice().
func (c *cells) setEmptySlice(v pcommon.Value) pcommon.Slice {
	if !c.on {
		return v.SetEmptySlice()
	}
	return c.setEmptySliceWith(c.t, v)
}

func (c *cells) setStrWith(t *cellTypes, v pcommon.Value, s string) {
	if len(c.strs) == 0 {
		c.strs = make([]string, c.grow())
	}
	cell := &c.strs[0]
	c.strs = c.strs[1:]
	*cell = s
	var x any
	*(*eface)(unsafe.Pointer(&x)) = eface{typ: t.str, data: unsafe.Pointer(cell)}
	*origOf(v) = x
}

func (c *cells) setEmptyMapWith(t *cellTypes, v pcommon.Value) pcommon.Map {
	c.setList(t.kvlist, v)
	return v.Map()
}

func (c *cells) setEmptySliceWith(t *cellTypes, v pcommon.Value) pcommon.Slice {
	c.setList(t.array, v)
	return v.Slice()
}

// setList makes v an empty map or array (typ says which) held in a list cell.
func (c *cells) setList(typ unsafe.Pointer, v pcommon.Value) {
	if len(c.maps) == 0 {
		c.maps = make([]listCell, c.grow()/4)
	}
	cell := &c.maps[0]
	c.maps = c.maps[1:]
	cell.list = unsafe.Pointer(&cell.values)
	var x any
	*(*eface)(unsafe.Pointer(&x)) = eface{typ: typ, data: unsafe.Pointer(&cell.list)}
	*origOf(v) = x
}

// grow returns the size of the next block: small for a small request, doubling up to
// cellBlockMax so that a large one needs few allocations and a block left part-used wastes
// little.
func (c *cells) grow() int {
	c.size = min(max(c.size*2, cellBlockMin), cellBlockMax)
	return c.size
}

// release forgets the current blocks, so that a decoder kept in a pool does not keep the
// last request's values alive through them.
func (c *cells) release() {
	c.strs, c.maps, c.size = nil, nil, 0
}
