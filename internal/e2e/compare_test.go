package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The comparison the end-to-end tests rely on; these run under -short too.

func TestCanonicalEqualsExactlyTheEqualJSONValues(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{"member order does not matter", `{"a":1,"b":[true,null]}`, `{"b":[true,null],"a":1}`, true},
		{"a number equals its other spellings", `{"n":[1500,1.5e3,1500.0,15E2]}`, `{"n":[1500,1500,1500,1500]}`, true},
		{"numbers are compared exactly, not as doubles", `{"n":12345678901234567891}`, `{"n":12345678901234567892}`, false},
		{"a numeric string is no number", `{"n":"900"}`, `{"n":900}`, false},
		{"a boolean string is no boolean", `{"b":"true"}`, `{"b":true}`, false},
		{"null is not absent", `{"a":null}`, `{}`, false},
		{"an empty object is not null", `{"a":{}}`, `{"a":null}`, false},
		{"escapes decode", `{"s":"\u003c\u0026"}`, `{"s":"<&"}`, true},
		{"array order matters", `[1,2]`, `[2,1]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := decodeJSON([]byte(tt.a))
			require.NoError(t, err)
			b, err := decodeJSON([]byte(tt.b))
			require.NoError(t, err)
			assert.Equal(t, tt.equal, canonical(a) == canonical(b))
		})
	}
}

func TestCanonicalBodyMatchesTheJSONItHolds(t *testing.T) {
	lr := plog.NewLogRecord()
	m := lr.Body().SetEmptyMap()
	m.PutInt("i", 1500)
	m.PutDouble("d", 0.1)
	m.PutStr("big", "123456789012345678901234567890")
	m.PutStr("s", "123")
	m.PutEmptySlice("a").AppendEmpty().SetBool(true)
	m.PutEmpty("n")
	lr.Attributes().PutEmptySlice(numberLiteralsKey).AppendEmpty().SetStr("/big")

	v, err := decodeJSON([]byte(`{"a":[true],"big":123456789012345678901234567890,"d":1e-1,"i":1.5e3,"n":null,"s":"123"}`))
	require.NoError(t, err)
	assert.Equal(t, canonical(v), canonicalBody(lr))
}

func TestDifferenceTellsMissingUnexpectedAndDuplicates(t *testing.T) {
	want, got := newMultiset(), newMultiset()
	for _, k := range []string{"a", "b", "b", "c"} {
		want.add(k, "sent")
	}
	for _, k := range []string{"a", "a", "b", "d"} {
		got.add(k, "stored")
	}
	missing, unexpected, duplicates := difference(want, got)
	assert.Len(t, missing, 2) // one b, the c
	assert.Len(t, unexpected, 1)
	assert.Equal(t, 1, duplicates) // the second a
}

func TestParsePrometheusTextReadsLabelsAndValues(t *testing.T) {
	m, err := parsePrometheusText([]byte(`# HELP x
# TYPE x counter
otelcol_receiver_accepted_log_records{receiver="awsfirehosecloudtrail",transport="http"} 461
otelcol_x{a="q\"uo,te",b="2"} 1.5e+06
otelcol_y 3
`))
	require.NoError(t, err)
	assert.Equal(t, 461.0, m.value(t, "otelcol_receiver_accepted_log_records", "receiver", "awsfirehosecloudtrail"))
	assert.Equal(t, 1.5e6, m.value(t, "otelcol_x", "a", `q"uo,te`))
	assert.Equal(t, 3.0, m.value(t, "otelcol_y"))
	_, found := m.sum("otelcol_x", "b", "3")
	assert.False(t, found)
}
