# zkit: `make demo` and `make test` are all a fresh Debian/Ubuntu machine needs
# (with Go installed). test, bench and interop first make sure ZooKeeper is
# installed; demo does too unless ZK_SERVERS names servers to use.

GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)

.PHONY: zookeeper interop test demo bench fmt vet

zookeeper:
	@bash scripts/zookeeper.sh

# Curator (Java) and kazoo (Python), which the lock's interop tests contend
# with; ZKIT_INTEROP=skip skips them.
# (After zookeeper: two apt-get runs at once would collide under make -j.)
interop: zookeeper
	@bash scripts/interop.sh

# bench/peer is a module of its own (it names go-zookeeper): its interop
# test runs go-zookeeper's Lock against zkit's.
test: zookeeper interop
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...  # zktest builds there too, for ZK_SERVERS
	GOOS=darwin $(GO) vet ./...
	$(GO) test -race -count=1 ./...
	cd bench/peer && $(GO) vet ./... && $(GO) test -race -count=1 ./...

# With ZK_SERVERS set, the demo uses those servers and needs no install.
demo:
	@if [ -z "$$ZK_SERVERS" ]; then bash scripts/zookeeper.sh; fi
	$(GO) run ./examples/demo

bench: zookeeper
	$(GO) run ./bench

fmt:
	$(GO) fmt ./...

vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
