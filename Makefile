# tandem: the two commands a new machine needs are `make run` and `make test`.
GO        ?= go
BIN       := bin/tandem
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 60s
# Each package's tests run in parallel up to GOMAXPROCS; -p 2 keeps two
# packages' suites (real SIP and RTP sockets) from starving each other on a
# 2-core machine.
TESTFLAGS ?= -count=1 -p 2 -timeout 14m

.PHONY: all build run test lint vet fmt-check fuzz bench bench-rtp bench-sip clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tandem

# Runs the daemon on its embedded defaults (./var, API 127.0.0.1:8080,
# admin 127.0.0.1:9090). Pass a config with: make run ARGS='-config configs/tandem.yaml'
run: build
	./$(BIN) -log-format console $(ARGS)

test: lint
	$(GO) test $(TESTFLAGS) ./...

lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# A short run of every fuzz target (FUZZTIME each).
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# Go benchmarks (allocations included).
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

# Side-by-side media benchmark against Sipwise rtpengine.
bench-rtp:
	./bench/rtp/run.sh

# SIP calls-per-second benchmark against Kamailio.
bench-sip:
	./bench/sip/run.sh

clean:
	rm -rf bin
