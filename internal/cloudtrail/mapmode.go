package cloudtrail

import (
	"bytes"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// addMapDocuments decodes each JSON document of data in one pass, then classifies and maps
// the decoded value. Strings are never unescaped in place, so a document that turns out to
// be malformed still has its original bytes for the invalid record.
func (d *Decoder) addMapDocuments(index int, data []byte) {
	docs := jsonscan.New(data, false)
	for !docs.AtEnd() {
		start := docs.Pos()
		if d.addEnvelope(&docs) {
			continue
		}
		d.vd.sc = docs
		d.vd.newDocument()
		v := d.doc
		err := d.vd.decode(v)
		docs = d.vd.sc // the decoder is reused for CloudWatch Logs messages below
		if err != nil {
			d.invalid(index, data[start:], ShapeInvalid, ErrorTypeInvalidJSON, err)
			return
		}
		if v.Type() != pcommon.ValueTypeMap {
			d.stats.Shapes[ShapeOther]++
			lr := d.newRecord(resourceKey{}, EventNameRecord, 0)
			v.CopyTo(lr.Body())
			putLiterals(&d.vd, lr.Attributes(), "")
			continue
		}
		addDocument(d, index, mapView{m: v.Map(), d: d, vd: &d.vd})
	}
}

// envelopeStarts are how EventBridge writes the start of an event.
var envelopeStarts = [...][]byte{[]byte(`{"version":`), []byte(`{"id":`)}

// addEnvelope is the fast path of map mode for the commonest record, an EventBridge event
// holding a CloudTrail record: it decodes the envelope's fields straight into the log
// record's attributes and the detail into its body, instead of decoding the whole event and
// copying the fields out. It reports false, leaving the scanner where it was, for anything
// else (then the document is decoded the general way, from its intact bytes).
func (d *Decoder) addEnvelope(docs *jsonscan.Scanner) bool {
	docs.SkipSpace()
	rest := docs.Buf()[docs.Pos():]
	if !bytes.HasPrefix(rest, envelopeStarts[0]) && !bytes.HasPrefix(rest, envelopeStarts[1]) {
		return false
	}
	lr := d.envelope
	attrs := lr.Attributes()
	attrs.EnsureCapacity(attributeCapacity)
	vd := &d.vd
	vd.sc = *docs
	vd.newDocument()
	vd.sc.Consume('{')
	vd.path = append(vd.path, pathElem{index: -1})
	ok, hasDetail := true, false
	replaced := replacedKeys{} // a repeated member takes its number literals along
	for first := true; ok; first = false {
		more, err := vd.sc.More('}', first)
		if err != nil || !more {
			ok = err == nil
			break
		}
		k, err := vd.sc.Key()
		if err != nil {
			ok = false
			break
		}
		vd.path[0].key = k
		if k == "detail" {
			if hasDetail {
				vd.noteReplaced(&replaced, k)
			}
			ok, hasDetail = vd.decode(lr.Body()) == nil, true
		} else if vd.sc.Peek() == 'n' {
			// A null member is no attribute. Past an attribute of the same name (a repeated
			// key, or two keys of one name), which one wins is the general path's to say.
			lit, err := vd.sc.Literal()
			_, exists := attrs.Get(envelopeKey(k))
			ok = err == nil && lit == 'n' && !exists
		} else {
			n := attrs.Len()
			v := attrs.PutEmpty(envelopeKey(k))
			if attrs.Len() == n {
				vd.noteReplaced(&replaced, k)
			}
			ok = vd.decode(v) == nil
		}
	}
	vd.dropReplaced(&replaced)
	rec := mapView{m: lr.Body().Map(), d: d, vd: vd}
	if !ok || !hasDetail || lr.Body().Type() != pcommon.ValueTypeMap || !isCloudTrailDetail(envString(attrs, KeyEventBridgeDetail), rec) {
		d.resetEnvelope()
		return false
	}
	*docs = vd.sc
	d.stats.Shapes[ShapeEventBridge]++

	key := recordKey(rec, resourceKey{
		account: envString(attrs, KeyEventBridgePrefix+"account"),
		region:  envString(attrs, KeyEventBridgePrefix+"region"),
	})
	mapCloudTrail(lr, rec, d, literalSlot(vd))
	if lr.Timestamp() == 0 {
		lr.SetTimestamp(timestampOf(envString(attrs, KeyEventBridgePrefix+"time")))
	}
	lr.SetObservedTimestamp(d.observed)
	putLiterals(vd, attrs, "/detail")
	lr.MoveTo(d.recordsFor(key).AppendEmpty()) // leaves d.envelope empty for the next event
	return true
}

// literalSlot is the room to keep for the number-literals attribute: 1 when the value just
// decoded has any.
func literalSlot(vds ...*valueDecoder) int {
	for _, vd := range vds {
		if len(vd.literals) > 0 {
			return 1
		}
	}
	return 0
}

// envString is the string attribute k, or "".
func envString(attrs pcommon.Map, k string) string {
	if v, ok := attrs.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// resetEnvelope empties the envelope record after an event that took the general path.
func (d *Decoder) resetEnvelope() {
	d.envelope.Attributes().Clear()
	d.envelope.Body().SetEmptyMap()
}
