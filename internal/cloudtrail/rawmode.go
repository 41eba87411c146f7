package cloudtrail

import (
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// addRawDocuments validates each JSON document of data and classifies and maps it from its
// text; CloudTrail records keep their text as the body.
func (d *Decoder) addRawDocuments(index int, data []byte) {
	sc := jsonscan.New(data, false)
	for !sc.AtEnd() {
		start := sc.Pos()
		if sc.Peek() != '{' {
			if err := sc.Skip(); err != nil {
				d.invalid(index, data[start:], ShapeInvalid, ErrorTypeInvalidJSON, err)
				return
			}
			d.stats.Shapes[ShapeOther]++
			lr := d.newRecord(resourceKey{}, EventNameRecord, 0)
			d.decodeRaw(data[start:sc.Pos()], lr.Body())
			putLiterals(&d.vd, lr.Attributes(), "")
			continue
		}
		d.arena = d.arena[:0]
		first, n, err := d.scanTree(&sc, 0) // validates the document
		if err != nil {
			d.invalid(index, data[start:], ShapeInvalid, ErrorTypeInvalidJSON, err)
			return
		}
		addDocument(d, index, rawView{raw: data[start:sc.Pos()], ms: d.arena[first : first+n], d: d})
	}
}
