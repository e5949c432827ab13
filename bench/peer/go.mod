module github.com/zkit-go/zkit/bench/peer

go 1.26

require github.com/go-zookeeper/zk v1.0.4

require (
	github.com/zkit-go/zkit v0.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
)

// The harness (bench/internal/harness, standard library only) is shared
// with zkit's own worker, so both libraries are measured by the same code.
replace github.com/zkit-go/zkit => ../..
