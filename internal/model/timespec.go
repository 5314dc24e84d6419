package model

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ParseTimeSpec reads a duration the way Pacemaker's
// crm_parse_interval_spec does ("10s", "1min", "500ms", "60" seconds,
// ISO 8601 "PT10S"), reporting whether it was valid.
func ParseTimeSpec(s string) (time.Duration, bool) {
	t := strings.TrimSpace(strings.ToLower(s))
	if strings.HasPrefix(t, "p") {
		d, err := parseISODuration(t)
		return d, err == nil
	}
	if t == "" || t[0] < '0' || t[0] > '9' {
		return 0, false
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	switch strings.TrimSpace(t[i:]) {
	case "", "s", "sec", "ms", "msec", "us", "usec", "m", "min", "h", "hr":
		return TimeSpec(t), true
	}
	return 0, false
}

// TimeSpec reads a Pacemaker duration like ParseTimeSpec, leniently: an
// unknown unit counts as seconds and what cannot be read at all is 0.
func TimeSpec(s string) time.Duration {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0
	}
	if strings.HasPrefix(s, "p") {
		d, err := parseISODuration(s)
		if err == nil {
			return d
		}
		return 0
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') {
		i++
	}
	n, _ := strconv.ParseInt(s[:i], 10, 64)
	ms := n * 1000
	switch strings.TrimSpace(s[i:]) {
	case "ms", "msec":
		ms = n
	case "us", "usec":
		ms = n / 1000
	case "m", "min":
		ms = n * 60000
	case "h", "hr":
		ms = n * 3600000
	}
	return time.Duration(ms) * time.Millisecond
}

var errBadISODuration = errors.New("bad duration")

// parseISODuration reads an ISO 8601 duration (PnYnMnWnDTnHnMnS; a year
// is 365 days, a month 30).
func parseISODuration(s string) (time.Duration, error) {
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "P") {
		return 0, errBadISODuration
	}
	s = s[1:]
	var d time.Duration
	inTime := false
	num := ""
	for _, c := range s {
		switch {
		case c == 'T':
			inTime = true
		case c >= '0' && c <= '9':
			num += string(c)
		default:
			n, _ := strconv.Atoi(num)
			num = ""
			switch c {
			case 'Y':
				d += time.Duration(n) * 365 * 24 * time.Hour
			case 'M':
				if inTime {
					d += time.Duration(n) * time.Minute
				} else {
					d += time.Duration(n) * 30 * 24 * time.Hour
				}
			case 'W':
				d += time.Duration(n) * 7 * 24 * time.Hour
			case 'D':
				d += time.Duration(n) * 24 * time.Hour
			case 'H':
				d += time.Duration(n) * time.Hour
			case 'S':
				d += time.Duration(n) * time.Second
			}
		}
	}
	return d, nil
}
