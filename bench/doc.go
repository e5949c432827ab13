// Command bench measures zkit under load and contention, side by side with
// github.com/go-zookeeper/zk in the same run against the same server, and
// writes a terminal table, a JSON file with every figure and an HTML report
// with charts.
//
//	go run ./bench                        # every scenario, local standalone server, fsync on
//	go run ./bench --quick                # a smoke run of well under a minute
//	go run ./bench --scenarios lock --contenders 2,50,200
//	ZK_SERVERS=zk1:2181 go run ./bench    # against your own servers
//
// Every measurement runs in a fresh worker process: this binary, re-executed
// with ZKIT_BENCH_WORKER=1, for zkit; bench/peer (its own Go module,
// compiled once per run) for go-zookeeper. Both use the same measuring code
// (bench/internal/harness), so CPU time, allocations and memory are
// the library's own. See bench/README.md.
package main
