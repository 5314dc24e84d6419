# Paceline build, test and measurement entry points.
GO ?= go

.PHONY: build test conformance bench bench-go bench-failover clean

## build: the paceline binary in bin/
build:
	$(GO) build -o bin/paceline ./cmd/paceline

## test: vet and run every test (the conformance test skips with a notice
## when ../shared/conformance is absent)
test:
	$(GO) vet ./...
	$(GO) test ./...

## conformance: score bin/paceline against Pacemaker 2.1.5 with tsum.py
conformance:
	scripts/conformance.sh

## bench: time bin/paceline against crm_simulate on large synthetic CIBs,
## then the in-process Go benchmark
bench: bench-go
	bench/sched.sh

bench-go:
	$(GO) test ./bench -run '^$$' -bench Schedule -benchtime 3x

## bench-failover: ten runs of the loopback cluster failover (RUNS=N)
bench-failover:
	bench/cluster-failover.sh

clean:
	rm -rf bin out
