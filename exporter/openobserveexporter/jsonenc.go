package openobserveexporter

import (
	"encoding/base64"
	"math"
	"strconv"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

// Hand-written JSON output: no reflection, no HTML escaping (OpenObserve's dashboard searches
// the stored text for `"mfaAuthenticated":"false"`), invalid UTF-8 replaced by U+FFFD so one
// bad string can never make OpenObserve reject a whole request.

// appendJSONFloat appends f the way it reads back as the same float: shortest representation,
// and always with a fraction or exponent, so OpenObserve infers a float column as it would for
// the original literal ("500.0" stays a float). NaN and infinities, which JSON cannot hold,
// are written as strings.
func appendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return jsonwrite.AppendString(dst, strconv.FormatFloat(f, 'g', -1, 64))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		return dst
	}
	for _, c := range dst[start:] {
		if c == '.' {
			return dst
		}
	}
	return append(dst, '.', '0')
}

// appendBase64String appends b as a quoted base64 string, as encoding/json writes []byte.
func appendBase64String(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}
