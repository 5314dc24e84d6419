// Package testenv reads the knobs the long tests take from the
// environment (how many runs, clients, rounds), one way for every test
// package: a positive whole number, or the test's default when unset.
package testenv

import (
	"os"
	"strconv"
	"testing"
)

// Count returns the positive whole number in the environment variable
// name, or def when it is unset or empty. Anything else ends the test with
// one line naming the variable.
func Count(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}
