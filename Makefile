# slipway — GitOps for Kubernetes through pull requests.

GO       ?= go
BIN      := bin/slipway
# Test cluster binaries (kube-apiserver, etcd, kwok, ...) are built once into
# this cache and reused; tools/testbin/build.sh skips the build when current.
TESTBIN  ?= $(or $(SLIPWAY_TESTBIN),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/slipway/testbin)
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X github.com/slipwayhq/slipway/internal/version.Version=$(VERSION) \
            -X github.com/slipwayhq/slipway/internal/version.Commit=$(COMMIT)
TESTFLAGS ?= -count=1 -timeout 30m

export SLIPWAY_TESTBIN := $(TESTBIN)

.PHONY: all build static test test-short testbin lint bench clean demo soak

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/slipway

## static: the release binary, as the Dockerfile builds it: no cgo, so it
## runs on distroless/static (cmd/slipway's TestStaticBuild checks that)
static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/slipway

## testbin: build the test control plane (first time ~5 min on 2 cores)
testbin:
	tools/testbin/build.sh "$(TESTBIN)"

## test: every test, against a real kube-apiserver and the GitHub simulator,
## then a one-minute chaos soak (about 2 minutes in all; see soak) with a
## fixed seed, so that a failure in CI replays (TEST_SOAK_SEED= for a new
## one each run)
TEST_SOAK_SEED ?= 1
test: testbin
	$(GO) test $(TESTFLAGS) ./...
	$(MAKE) --no-print-directory soak SOAK_DURATION=1m SOAK_SEED=$(TEST_SOAK_SEED)

## test-short: the fast lane, no testbin: every package whose tests do not
## import testenv (githubsim, parsers, renderers, policy, the workflows' unit
## tests). Nothing is skipped: the packages that need a kube-apiserver are
## left out whole, and `make test` runs them.
SHORT_PKGS = $(shell $(GO) list -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | grep -v 'internal/testkit/testenv' | cut -d' ' -f1)
test-short:
	$(GO) test $(TESTFLAGS) $(SHORT_PKGS)

## demo: play a pull request from plan to production on this machine, offline
## (a real control plane, githubsim, slipway serve); DEMO_PACE=0 for no pauses
DEMO_PACE ?= 1.5s
demo: testbin build
	$(GO) build -trimpath -o bin/slipway-demo ./cmd/slipway-demo
	bin/slipway-demo --slipway $(BIN) --html bin/slipway-demo.html --pace $(DEMO_PACE)

## soak: the chaos soak (internal/soak): three replicas on Leases, one
## control plane, githubsim, random events and faults, then the invariants.
## SOAK_DURATION (10m), SOAK_SEED replays a run, SOAK_FAULT=<name> builds
## slipway with -tags soakfault and that fault on, to see its check fail.
## slipway-soak builds slipway itself, once, into a temp dir.
SOAK_DURATION ?= 10m
soak: testbin
	$(GO) build -trimpath -o bin/slipway-soak ./cmd/slipway-soak
	SOAK_DURATION=$(SOAK_DURATION) SOAK_SEED=$(SOAK_SEED) SOAK_FAULT=$(SOAK_FAULT) bin/slipway-soak

lint:
	@out="$$(gofmt -l *.go cmd internal deploy tools templates 2>/dev/null)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: testbin
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
