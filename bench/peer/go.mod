module github.com/zkit-go/zkit/bench/peer

go 1.26

require github.com/go-zookeeper/zk v1.0.4

require github.com/zkit-go/zkit v0.0.0

// The harness (bench/internal/harness, standard library only) is shared
// with zkit's own worker, so both libraries are measured by the same code.
replace github.com/zkit-go/zkit => ../..
