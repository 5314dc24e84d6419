package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Score is a placement preference. Values at or beyond ±Infinity are clamped.
type Score int

// Infinity is Pacemaker's INFINITY: a score that means "must" (or "must not"
// when negative).
const Infinity Score = 1000000

// AddScores adds two scores with Pacemaker's rules: -Infinity dominates,
// then +Infinity, otherwise the sum clamped to ±Infinity.
func AddScores(a, b Score) Score {
	switch {
	case a <= -Infinity || b <= -Infinity:
		return -Infinity
	case a >= Infinity || b >= Infinity:
		return Infinity
	}
	s := a + b
	if s > Infinity {
		return Infinity
	}
	if s < -Infinity {
		return -Infinity
	}
	return s
}

// String renders the score as Pacemaker prints it (INFINITY, -INFINITY or a
// decimal number).
func (s Score) String() string {
	switch {
	case s >= Infinity:
		return "INFINITY"
	case s <= -Infinity:
		return "-INFINITY"
	}
	return strconv.Itoa(int(s))
}

// ParseScore reads "INFINITY", "+INFINITY", "-INFINITY", "red"/"yellow"/
// "green" are not handled here (they depend on node-health options) — only
// integers and the infinity words. Numbers beyond ±Infinity are clamped.
func ParseScore(s string) (Score, error) {
	t := strings.TrimSpace(s)
	switch strings.ToUpper(t) {
	case "INFINITY", "+INFINITY":
		return Infinity, nil
	case "-INFINITY":
		return -Infinity, nil
	case "":
		return 0, fmt.Errorf("empty score")
	}
	// Pacemaker accepts a leading integer and ignores trailing garbage
	// (char2score uses strtol); we are stricter but accept a decimal part.
	if i := strings.IndexByte(t, '.'); i > 0 {
		t = t[:i]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("score %q is not a number or INFINITY", s)
	}
	if n > int64(Infinity) {
		return Infinity, nil
	}
	if n < -int64(Infinity) {
		return -Infinity, nil
	}
	return Score(n), nil
}

// UnmarshalText reads a score as ParseScore does (INFINITY, -INFINITY or
// an integer), so YAML configurations may write "score: INFINITY" as the
// CLI does.
func (s *Score) UnmarshalText(b []byte) error {
	v, err := ParseScore(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// UnmarshalJSON reads a score written as a number or as a string
// ("INFINITY", "-INFINITY", "100"). Scores are written as numbers.
func (s *Score) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		str, err := strconv.Unquote(string(b))
		if err != nil {
			return fmt.Errorf("score %s: %w", b, err)
		}
		return s.UnmarshalText([]byte(str))
	}
	if string(b) == "null" {
		return nil
	}
	return s.UnmarshalText(b)
}
