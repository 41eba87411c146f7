package cloudtrail

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEventTimeForms(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for in, want := range map[string]time.Time{
		"2024-01-02T03:04:05Z":                utc("2024-01-02T03:04:05Z"),
		"2024-12-12 16:04:32.000000000":       utc("2024-12-12T16:04:32Z"),
		"2021-05-20 15:53:47Z":                utc("2021-05-20T15:53:47Z"),
		"2022-02-08 09:19:05+11:00":           utc("2022-02-07T22:19:05Z"),
		"2024-01-02T03:04:05.123Z":            utc("2024-01-02T03:04:05.123Z"),
		"2024-01-02T03:04:05.5-02:30":         utc("2024-01-02T05:34:05.5Z"),
		"2024-02-29T00:00:00Z":                utc("2024-02-29T00:00:00Z"),
		"2024-01-02T03:04:05.123456789+00:00": utc("2024-01-02T03:04:05.123456789Z"),
	} {
		got, ok := parseEventTime(in)
		if assert.True(t, ok, in) {
			assert.True(t, want.Equal(got), "%s: got %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"redacted", "...", "", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-02T24:00:00Z", "2024-01-02T03:04:05.Z", "2024-01-02T03:04:05+1100", "Jul 19, 2023 9:25:09 PM",
		"0001-01-01T00:00:00Z", "1960-06-01T00:00:00Z", "2300-01-01T00:00:00Z", "2262-04-11T23:47:17Z"} { // beyond a timestamp's range
		_, ok := parseEventTime(bad)
		assert.False(t, ok, "%q is not a date", bad)
	}
}
