# Paceline build, test and measurement entry points.
GO ?= go

.PHONY: build deb test lint race fuzz conformance bench bench-go bench-failover bench-idle bench-vip bench-db soak-cpu soak-leader clean


# The package version (packaging/version.sh: from the latest v* tag, or the
# commit), stamped into the binary: "paceline version" names it.
VERSION ?= $(shell packaging/version.sh)
LDFLAGS = -X github.com/paceline/paceline/internal/version.stamped=$(VERSION)

## build: the paceline binary in bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/paceline ./cmd/paceline

## deb: the Debian package out/paceline_VERSION_ARCH.deb (binary, systemd
## unit, /etc/paceline/paceline.yaml, man pages, bash/zsh completion)
deb:
	GO=$(GO) VERSION=$(VERSION) packaging/build-deb.sh out

## test: vet and run every test (the conformance test skips with a notice
## when ../shared/conformance is absent)
test:
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...

## lint: go vet and staticcheck (pinned; fetched through the module proxy)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## race: the race detector over the packages with concurrency
RACE_PKGS ?= ./internal/consensus ./internal/daemon ./internal/controller ./internal/node ./internal/peer ./internal/fence \
	./internal/testcluster ./internal/executor ./internal/watchdog \
	./internal/agents/... ./internal/httpapi ./internal/pki ./internal/membership \
	./internal/logfile ./internal/metrics
race:
	$(GO) test -race $(RACE_PKGS)

## fuzz: every fuzz target for FUZZTIME each (default 5m), with totals
FUZZTIME ?= 5m
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## conformance: score bin/paceline against Pacemaker 2.1.5 with tsum.py
conformance:
	scripts/conformance.sh

## bench: time bin/paceline against crm_simulate on large synthetic CIBs,
## then the in-process Go benchmark
bench: bench-go
	bench/sched.sh

bench-go:
	$(GO) test ./bench -run '^$$' -bench Schedule -benchtime 3x

## bench-idle: idle CPU of leader and followers with 300 and 1,000
## builtin:dummy resources on 3 loopback nodes, and the time to start
## them (COUNTS="300 1000" IDLE=30; BIN=PATH measures another build)
bench-idle:
	bench/idle-cpu.sh

## bench-failover: ten runs of the loopback cluster failover (RUNS=N)
bench-failover:
	bench/cluster-failover.sh

## bench-vip: VIP failover of paceline, keepalived and Pacemaker on
## namespace hosts (root; RUNS=7 per system and fault, SYSTEMS=...)
bench-vip:
	bench/failover.sh

## bench-db: write unavailability of a replicated PostgreSQL behind a VIP
## when the primary's host is killed, cut off or crashed, with --profile
## fast and the defaults (root; RUNS=5 per fault and profile, FAULTS=...,
## PROFILES=...)
bench-db:
	bench/db.sh

## soak-cpu: ten minutes per profile of both cores busy and no fault,
## counting VIP moves and self-fences (root; MINUTES=10)
soak-cpu:
	bench/soak-cpu.sh

## soak-leader: RUNS (default 25) kills of the leader's agent per profile,
## the leader holding the VIP; fails if any other node was reset (root)
soak-leader:
	bench/soak-leader.sh

clean:
	rm -rf bin out
