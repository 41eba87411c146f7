package cloudtrail

import (
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// eventTimeLayouts are the forms eventTime takes in real data besides CloudTrail's own
// "2006-01-02T15:04:05Z": data-lake exports with a space and nanoseconds, hybrids with a
// space and a zone, LookupEvents' offsets. A value without a zone is UTC.
var eventTimeLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// parseEventTime parses a CloudTrail eventTime; ok is false for anything that is not a date
// a log record can carry (see representable).
func parseEventTime(s string) (time.Time, bool) {
	if t, ok := parseFast(s); ok {
		return t, representable(t)
	}
	for _, layout := range eventTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, representable(t)
		}
	}
	return time.Time{}, false
}

// Timestamps count nanoseconds since 1970 (pcommon.NewTimestampFromTime goes through int64):
// a time before 1970 or after 2262-04-11 would wrap around to a wrong one.
var (
	earliestTime = time.Unix(0, 0)
	latestTime   = time.Unix(0, math.MaxInt64)
)

func representable(t time.Time) bool {
	return !t.Before(earliestTime) && !t.After(latestTime)
}

// timestampFromMillis is a CloudWatch Logs timestamp (milliseconds since 1970), 0 when it
// has none a log record can carry.
func timestampFromMillis(ms int64) pcommon.Timestamp {
	if ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0
	}
	return pcommon.Timestamp(ms * int64(time.Millisecond))
}

// parseFast parses "YYYY-MM-DD", 'T' or ' ', "HH:MM:SS", an optional fraction of up to nine
// digits, then "Z", "±HH:MM" or nothing (UTC): every form in real data, without the cost of
// time.Parse (which also allocates an error for each layout that does not match).
func parseFast(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		}
		frac := rest[1:i]
		if len(frac) == 0 || len(frac) > 9 {
			return time.Time{}, false
		}
		nsec, _ = digits(frac)
		for range 9 - len(frac) {
			nsec *= 10
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "" || rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := digits(rest[1:3])
		om, okm := digits(rest[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
