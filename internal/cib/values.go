package cib

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a Pacemaker interval or timeout: a number with an
// optional unit ("10s", "1min", "500ms", "2h", "60" — a bare number is
// seconds) or an ISO 8601 duration ("PT10S", "P1DT2H"). Like Pacemaker it
// ignores whitespace around the unit and a fractional part of the number
// ("1.5s" is 1s), and accepts unit words by prefix (ms/msec, us/usec,
// s/sec, m/min, h/hr). Negative values are invalid.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if t[0] == 'P' {
		return parseISODuration(t)
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if j := strings.IndexByte(num, '.'); j >= 0 {
		num = num[:j]
	}
	if num == "" {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	var mul time.Duration
	switch {
	case unit == "":
		mul = time.Second
	case strings.HasPrefix(unit, "ms"):
		mul = time.Millisecond
	case strings.HasPrefix(unit, "us"):
		mul = time.Microsecond
	case strings.HasPrefix(unit, "s"):
		mul = time.Second
	case strings.HasPrefix(unit, "m"):
		mul = time.Minute
	case strings.HasPrefix(unit, "h"):
		mul = time.Hour
	default:
		return 0, fmt.Errorf("invalid duration %q: unknown unit %q", s, unit)
	}
	if n > int64(1<<63-1)/int64(mul) {
		return 0, fmt.Errorf("duration %q is too large", s)
	}
	return time.Duration(n) * mul, nil
}

// parseISODuration reads PnYnMnWnDTnHnMnS (years are 365 days, months 30).
// Like Pacemaker it accepts hours and seconds without the T ("P40S"); M is
// months before T and minutes after it.
func parseISODuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("invalid ISO 8601 duration %q", s)
	var total time.Duration
	inTime, any := false, false
	rest := s[1:]
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, bad
			}
			inTime = true
			rest = rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, bad
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, bad
		}
		var unit time.Duration
		switch u := rest[i]; {
		case !inTime && u == 'Y':
			unit = 365 * 24 * time.Hour
		case !inTime && u == 'M':
			unit = 30 * 24 * time.Hour
		case !inTime && u == 'W':
			unit = 7 * 24 * time.Hour
		case !inTime && u == 'D':
			unit = 24 * time.Hour
		case u == 'H':
			unit = time.Hour
		case inTime && u == 'M':
			unit = time.Minute
		case u == 'S':
			unit = time.Second
		default:
			return 0, bad
		}
		if n > int64(1<<63-1)/int64(unit) || total > time.Duration(1<<63-1)-time.Duration(n)*unit {
			return 0, fmt.Errorf("duration %q is too large", s)
		}
		total += time.Duration(n) * unit
		any = true
		rest = rest[i+1:]
	}
	if !any {
		return 0, bad
	}
	return total, nil
}

// parseBool reads a Pacemaker boolean (crm_str_to_boolean: true/on/yes/y/1
// and false/off/no/n/0, any case).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes", "y", "1":
		return true, nil
	case "false", "off", "no", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", s)
}

// normRole maps Pacemaker's legacy role names to the current ones
// (Master -> Promoted, Slave -> Unpromoted); other values are kept.
func normRole(s string) string {
	switch strings.ToLower(s) {
	case "master", "promoted":
		return "Promoted"
	case "slave", "unpromoted":
		return "Unpromoted"
	case "started":
		return "Started"
	case "stopped":
		return "Stopped"
	}
	return s
}
