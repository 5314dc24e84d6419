package model

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rule
	}{
		{"#uname eq n1", Rule{Expressions: []Expr{{Attribute: "#uname", Operation: "eq", Value: "n1"}}}},
		{"pingd lt 1 or not_defined pingd", Rule{BooleanOp: "or", Expressions: []Expr{
			{Attribute: "pingd", Operation: "lt", Value: "1"}, {Attribute: "pingd", Operation: "not_defined"}}}},
		{"a eq integer 1 and b gt version 2.1 or c ne \"x y\"", Rule{BooleanOp: "or",
			Expressions: []Expr{{Attribute: "c", Operation: "ne", Value: "x y"}},
			Rules: []Rule{{BooleanOp: "and", Expressions: []Expr{
				{Attribute: "a", Operation: "eq", Type: "integer", Value: "1"},
				{Attribute: "b", Operation: "gt", Type: "version", Value: "2.1"}}}}}},
		{"defined site and (date gt 2026-01-01 or date-spec hours=9-16 weekdays=1-5)", Rule{BooleanOp: "and",
			Expressions: []Expr{{Attribute: "site", Operation: "defined"}},
			Rules: []Rule{{BooleanOp: "or", Dates: []DateExpr{{Operation: "gt", Start: "2026-01-01"},
				{Operation: "date_spec", Spec: map[string]string{"hours": "9-16", "weekdays": "1-5"}}}}}}},
		{"date in_range 2026-01-01 to duration months=1", Rule{Dates: []DateExpr{{Operation: "in_range", Start: "2026-01-01",
			Duration: map[string]string{"months": "1"}}}}},
		{"date in_range 2026-01-01 to 2026-02-01", Rule{Dates: []DateExpr{{Operation: "in_range", Start: "2026-01-01", End: "2026-02-01"}}}},
	} {
		got, err := ParseRule(tc.in)
		if err != nil {
			t.Errorf("ParseRule(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseRule(%q) =\n%+v\nwant\n%+v", tc.in, got, tc.want)
		}
		// FormatRule writes what ParseRule reads back the same.
		if again, err := ParseRule(FormatRule(got)); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("FormatRule(%q) = %q, read back as %+v (%v)", tc.in, FormatRule(got), again, err)
		}
	}
	for _, in := range []string{"", "pingd", "pingd lq 1", "(a eq 1", "a eq 1 b", "date soon", "date-spec", "and a eq 1", "date in_range x y"} {
		if _, err := ParseRule(in); !errors.Is(err, ErrBadRule) {
			t.Errorf("ParseRule(%q) = %v, want ErrBadRule", in, err)
		}
	}
}
