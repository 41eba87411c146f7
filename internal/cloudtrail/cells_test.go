package cloudtrail

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

func TestCellsAreUsedWithThePinnedPdata(t *testing.T) {
	// If pdata changes how it stores values, cellLayout turns cells off and decoding stays
	// correct but slower: this test is the alarm for that.
	require.NotNil(t, layout(), "pdata's value representation is the one cells was written for")
	var c cells
	c.begin()
	assert.True(t, c.on)
}

// decodeRealEvents decodes every real record, EventBridge-wrapped, in one request, with cells on or off.
func decodeRealEvents(t *testing.T, useCells bool) plog.Logs {
	t.Helper()
	d := NewDecoder(Options{ScopeName: "test"})
	d.Begin(Request{RequestID: "req-1", Received: time.Unix(1700000000, 0)})
	require.Equal(t, layout() != nil, d.cells.on)
	d.cells.on = useCells
	for i, rec := range realRecords(t) {
		ev, err := replay.EventBridgeEvent(rec)
		require.NoError(t, err)
		d.AddRecord(i, ev)
	}
	logs, _ := d.Finish()
	return logs
}

func TestCellsBuildTheSameLogsAsPdata(t *testing.T) {
	with, without := decodeRealEvents(t, true), decodeRealEvents(t, false)
	require.Positive(t, with.LogRecordCount())

	var m plog.ProtoMarshaler
	a, err := m.MarshalLogs(with)
	require.NoError(t, err)
	b, err := m.MarshalLogs(without)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(a, b), "the same protobuf encoding")
	var j plog.JSONMarshaler
	a, err = j.MarshalLogs(with)
	require.NoError(t, err)
	b, err = j.MarshalLogs(without)
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(a))
}

func TestValuesInCellsCanBeChangedCopiedAndMovedLikeAnyOther(t *testing.T) {
	logs := decodeRealEvents(t, true)
	runtime.GC()
	lrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	want := lrs.At(0).Body().Map().AsRaw()
	want1 := lrs.At(1).Body().AsRaw()

	// A processor edits the body in every way pdata allows.
	body := lrs.At(0).Body().Map()
	ev, ok := body.Get("eventName")
	require.True(t, ok)
	ev.SetStr("Changed")
	ui, ok := body.Get("userIdentity")
	require.True(t, ok)
	ui.Map().PutStr("added", "yes")
	ui.Map().PutInt("n", 7)
	body.PutEmptyMap("new").PutStr("k", "v")
	body.Remove("eventSource")

	// Copies and moves are independent of the original.
	cp := plog.NewLogRecord()
	lrs.At(0).CopyTo(cp)
	moved := plog.NewLogRecord()
	lrs.At(1).MoveTo(moved)
	runtime.GC()

	got := cp.Body().Map().AsRaw()
	assert.Equal(t, "Changed", got["eventName"])
	assert.NotContains(t, got, "eventSource")
	assert.Equal(t, map[string]any{"k": "v"}, got["new"])
	gotUI := got["userIdentity"].(map[string]any)
	assert.Equal(t, "yes", gotUI["added"])
	assert.Equal(t, int64(7), gotUI["n"])
	assert.Equal(t, want["requestParameters"], got["requestParameters"], "untouched members survive")

	ev.SetStr("Again")
	assert.Equal(t, "Changed", cp.Body().Map().AsRaw()["eventName"], "the copy has cells of its own")

	// The logs survive a protobuf round trip (what an exporter queue does).
	raw, err := (&plog.ProtoMarshaler{}).MarshalLogs(logs)
	require.NoError(t, err)
	back, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(raw)
	require.NoError(t, err)
	require.Equal(t, logs.LogRecordCount(), back.LogRecordCount())
	backFirst := back.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, lrs.At(0).Body().AsRaw(), backFirst.Body().AsRaw())
	assert.Equal(t, want1, moved.Body().AsRaw(), "a moved record keeps its cells")
}

func TestCellsStepAsideWhenPdataPoolsItsObjects(t *testing.T) {
	const gate = "pdata.useProtoPooling"
	require.NoError(t, featuregate.GlobalRegistry().Set(gate, true))
	t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(gate, false)) })

	var c cells
	c.begin()
	assert.False(t, c.on, "pooled objects go back to pdata's pools; cells must not be among them")
	v := pcommon.NewValueEmpty()
	c.setEmptyMap(v)
	c.putStr(v.Map(), "k", "v")
	assert.Equal(t, map[string]any{"k": "v"}, v.AsRaw())
}

func TestCellsCanBeTurnedOffByTheirFeatureGate(t *testing.T) {
	require.NoError(t, featuregate.GlobalRegistry().Set(CellsGate.ID(), false))
	t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(CellsGate.ID(), true)) })
	d := NewDecoder(Options{})
	d.Begin(Request{Received: time.Unix(1, 0)})
	assert.False(t, d.cells.on)
	d.AddRecord(0, []byte(`{"eventVersion":"1.08","eventName":"A","userIdentity":{"type":"Root"},"resources":[{"ARN":"x"}]}`))
	logs, _ := d.Finish()
	body := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map().AsRaw()
	assert.Equal(t, map[string]any{"type": "Root"}, body["userIdentity"])
	assert.Equal(t, []any{map[string]any{"ARN": "x"}}, body["resources"])
}

func TestCellBlocksGrowAndAreForgottenAfterARequest(t *testing.T) {
	var c cells
	c.begin()
	require.True(t, c.on)
	m := c.setEmptyMap(pcommon.NewValueEmpty())
	for i := range 1000 {
		c.putStr(m, string(rune('a'+i%26))+string(rune('a'+i/26)), "v")
	}
	assert.Equal(t, cellBlockMax, c.size, "blocks grow to the largest size")
	assert.Equal(t, 1000, m.Len())
	c.release()
	assert.Nil(t, c.strs)
	assert.Nil(t, c.maps)
	assert.Zero(t, c.size)
}

func TestArraysInCellsGrowAndCopyLikePdatasOwn(t *testing.T) {
	var c cells
	c.begin()
	require.True(t, c.on)
	v := pcommon.NewValueEmpty()
	s := c.setEmptySlice(v)
	for i := range 100 {
		c.setStr(s.AppendEmpty(), string(rune('a'+i%26)))
	}
	c.setEmptyMap(s.AppendEmpty()).PutInt("n", 1)
	runtime.GC()
	require.Equal(t, pcommon.ValueTypeSlice, v.Type())
	require.Equal(t, 101, v.Slice().Len())
	assert.Equal(t, "z", v.Slice().At(25).Str())
	assert.Equal(t, map[string]any{"n": int64(1)}, v.Slice().At(100).Map().AsRaw())
	cp := pcommon.NewValueEmpty()
	v.CopyTo(cp)
	v.Slice().At(0).SetStr("changed")
	assert.Equal(t, "a", cp.Slice().At(0).Str())
	assert.Equal(t, v.Slice().Len(), cp.Slice().Len())
}
