package model

import "testing"

func TestBaseID(t *testing.T) {
	for in, want := range map[string]string{"web:1": "web", "web": "web", "db-clone:12": "db-clone", "a:b": "a:b", "x:": "x:"} {
		if got := BaseID(in); got != want {
			t.Errorf("BaseID(%q) = %q, want %q", in, got, want)
		}
	}
}
