// Package negative holds the negative test suite of issue 5 ("Security and
// hostile input"): one table of hostile requests and inputs driven through
// the real API handlers (httpapi.Server over an in-memory store), the CIB
// importer and a real OCF agent. Every case states the status and the
// words its refusal must carry; the runner also checks that the
// configuration epoch did not move and that the server still answers.
package negative
