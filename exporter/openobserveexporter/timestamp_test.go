package openobserveexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseEventTime(t *testing.T) {
	at := func(s string) int64 {
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts.UnixMicro()
	}
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2024-01-02T03:04:05Z", at("2024-01-02T03:04:05Z"), true},
		{"2024-01-02t03:04:05z", at("2024-01-02T03:04:05Z"), true},
		{"2024-01-02T03:04:05.123456789Z", at("2024-01-02T03:04:05.123456Z"), true},
		{"2024-01-02T03:04:05.5+02:00", at("2024-01-02T01:04:05.5Z"), true},
		{"2024-12-12 16:04:32.000000000", at("2024-12-12T16:04:32Z"), true}, // Panther data lake: no zone, UTC
		{"2021-05-20 15:53:47Z", at("2021-05-20T15:53:47Z"), true},
		{"2022-02-08 09:19:05+11:00", at("2022-02-07T22:19:05Z"), true}, // LookupEvents
		{"2022-02-08T09:19:05-0330", at("2022-02-08T12:49:05Z"), true},
		{"2024-02-29T00:00:00Z", at("2024-02-29T00:00:00Z"), true},
		{"1969-12-31T23:59:59Z", -1_000_000, true},
		{"2023-02-29T00:00:00Z", 0, false},
		{"2024-13-01T00:00:00Z", 0, false},
		{"2024-01-02T24:00:00Z", 0, false},
		{"2024-01-02T03:04:05.Z", 0, false},
		{"2024-01-02T03:04:05 UTC", 0, false},
		{"2024-01-02", 0, false},
		{"redacted", 0, false},
		{"...", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseEventTime(tt.in)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func FuzzParseEventTime(f *testing.F) {
	for _, s := range []string{"2024-01-02T03:04:05Z", "2024-12-12 16:04:32.000000000", "2022-02-08 09:19:05+11:00", "redacted"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseEventTime(s)
		if !ok {
			return
		}
		// Whatever is accepted reads the same as the standard library reads its RFC 3339 form.
		if len(s) >= 19 && (s[len(s)-1] == 'Z' || s[len(s)-1] == 'z') && (s[10] == 'T' || s[10] == 't') {
			if ts, err := time.Parse(time.RFC3339Nano, s); err == nil && ts.UnixMicro() != got {
				t.Fatalf("%q: got %d, time.Parse %d", s, got, ts.UnixMicro())
			}
		}
	})
}
