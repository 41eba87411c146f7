package openobserveexporter

// parseEventTime reads a CloudTrail eventTime into microseconds since the Unix epoch. It
// accepts the forms found in real data: RFC 3339 ("2024-01-02T03:04:05Z", with or without a
// fraction, "Z" or a numeric offset), the same with a space instead of "T"
// ("2021-05-20 15:53:47Z", "2022-02-08 09:19:05+11:00") and without a zone, read as UTC
// ("2024-12-12 16:04:32.000000000"). Anything else ("redacted", "...") is not a time.
func parseEventTime[S ~string | ~[]byte](s S) (int64, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	if c := s[10]; c != 'T' && c != 't' && c != ' ' {
		return 0, false
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	hour, ok4 := digits(s, 11, 2)
	minute, ok5 := digits(s, 14, 2)
	sec, ok6 := digits(s, 17, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	i := 19
	var micros int64
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		scale := int64(100000)
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			micros += int64(s[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start {
			return 0, false
		}
	}
	var offset int64 // seconds east of UTC
	switch {
	case i == len(s):
	case (s[i] == 'Z' || s[i] == 'z') && i+1 == len(s):
	case s[i] == '+' || s[i] == '-':
		sign := int64(1)
		if s[i] == '-' {
			sign = -1
		}
		rest := len(s) - i - 1
		var oh, om int
		var ok bool
		switch {
		case rest == 5 && s[i+3] == ':':
			oh, ok = digits(s, i+1, 2)
			if ok {
				om, ok = digits(s, i+4, 2)
			}
		case rest == 4:
			oh, ok = digits(s, i+1, 2)
			if ok {
				om, ok = digits(s, i+3, 2)
			}
		case rest == 2:
			oh, ok = digits(s, i+1, 2)
		}
		if !ok || oh > 23 || om > 59 {
			return 0, false
		}
		offset = sign * int64(oh*3600+om*60)
	default:
		return 0, false
	}
	days := daysFromCivil(int64(year), int64(month), int64(day))
	unix := days*86400 + int64(hour*3600+minute*60+sec) - offset
	return unix*1_000_000 + micros, true
}

func digits[S ~string | ~[]byte](s S, at, n int) (int, bool) {
	v := 0
	for i := at; i < at+n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian date.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
