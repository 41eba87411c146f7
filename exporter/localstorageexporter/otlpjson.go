package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"fmt"
	"io"

	"go.opentelemetry.io/collector/pdata/plog"
)

// otlpLineSize bounds, in OTLP protobuf bytes, the logs one OTLP JSON line holds, so that
// encoding a large batch never needs more than about one line of memory. A single larger
// record gets a line of its own.
const otlpLineSize = 2 << 20

var newline = []byte{'\n'}

// recordRef locates a log record in a plog.Logs.
type recordRef struct {
	rl, sl, lr int32
	kind       recordBody // how the cloudtrail format stores it
}

// otlpLines writes logs as OTLP JSON lines: each line is one plog.JSONMarshaler document
// followed by '\n'.
type otlpLines struct {
	marshaler plog.JSONMarshaler
	sizer     plog.ProtoMarshaler
}

// writeAll writes every record of ld.
func (o *otlpLines) writeAll(w io.Writer, ld plog.Logs) error {
	if o.sizer.LogsSize(ld) <= otlpLineSize {
		return o.writeLine(w, ld)
	}
	return o.writeRefs(w, ld, allRecords(ld))
}

// writeRefs writes the records refs points at, in order, in lines of about otlpLineSize.
func (o *otlpLines) writeRefs(w io.Writer, ld plog.Logs, refs []recordRef) error {
	var (
		chunk        plog.Logs
		size         int
		curRL, curSL int32 = -1, -1
		dstRL        plog.ResourceLogs
		dstSL        plog.ScopeLogs
	)
	for _, r := range refs {
		if size >= otlpLineSize {
			if err := o.writeLine(w, chunk); err != nil {
				return err
			}
			size, curRL = 0, -1
		}
		if size == 0 && curRL == -1 {
			chunk = plog.NewLogs()
		}
		srcRL := ld.ResourceLogs().At(int(r.rl))
		if r.rl != curRL {
			dstRL = chunk.ResourceLogs().AppendEmpty()
			srcRL.Resource().CopyTo(dstRL.Resource())
			dstRL.SetSchemaUrl(srcRL.SchemaUrl())
			curRL, curSL = r.rl, -1
		}
		srcSL := srcRL.ScopeLogs().At(int(r.sl))
		if r.sl != curSL {
			dstSL = dstRL.ScopeLogs().AppendEmpty()
			srcSL.Scope().CopyTo(dstSL.Scope())
			dstSL.SetSchemaUrl(srcSL.SchemaUrl())
			curSL = r.sl
		}
		lr := srcSL.LogRecords().At(int(r.lr))
		lr.CopyTo(dstSL.LogRecords().AppendEmpty())
		size += o.sizer.LogRecordSize(lr) + 1
	}
	if curRL == -1 {
		return nil
	}
	return o.writeLine(w, chunk)
}

func (o *otlpLines) writeLine(w io.Writer, ld plog.Logs) error {
	line, err := o.marshaler.MarshalLogs(ld)
	if err != nil {
		return fmt.Errorf("marshal otlp json: %w", err)
	}
	if _, err := w.Write(line); err != nil {
		return err
	}
	_, err = w.Write(newline)
	return err
}

// allRecords lists every record of ld.
func allRecords(ld plog.Logs) []recordRef {
	refs := make([]recordRef, 0, ld.LogRecordCount())
	for i, rl := range ld.ResourceLogs().All() {
		for j, sl := range rl.ScopeLogs().All() {
			for k := range sl.LogRecords().Len() {
				refs = append(refs, recordRef{rl: int32(i), sl: int32(j), lr: int32(k)})
			}
		}
	}
	return refs
}
