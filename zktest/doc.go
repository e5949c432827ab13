// Package zktest runs real ZooKeeper servers, ensembles and fault-injecting
// proxies for tests and demos, like Curator's TestingServer and
// TestingCluster.
//
// A test starts what it needs and zktest stops it at the end of the test:
//
//	srv := zktest.StartServer(t)             // standalone, on a free port
//	ens := zktest.StartEnsemble(t, 3)        // a quorum of three
//	px := zktest.StartProxy(t, srv.Addr())   // faults between client and server
//	shared := zktest.Shared(t)               // one server for the whole test binary
//
// Programs use NewServer, NewEnsemble and NewProxy, and Close what they get.
//
// Servers are JVMs running org.apache.zookeeper.server.quorum.QuorumPeerMain
// from a local installation, found in $ZOOKEEPER_HOME, in Debian's layout
// (/usr/share/java/zookeeper.jar) or through zkServer.sh on PATH, run by the
// java of $JAVA_HOME or PATH; a ZOOKEEPER_HOME or JAVA_HOME that holds none
// is an error rather than passed over. `make zookeeper` installs both. They
// are tuned for tests: tickTime 100 ms, session timeouts from 200 ms to 60 s,
// forceSync off (see WithFsync), every four-letter word allowed, TTL and
// container nodes on (empty containers go within 100 ms), read-only mode on
// (a read-only server makes new sessions only with
// WithConfig("localSessionsEnabled", "true")), no admin server, and the log
// in a file (see Server.LogPath) whose tail a failing test logs.
//
// Each JVM leads its own process group. The group is killed when the test
// binary exits however it exits, panic, timeout or SIGKILL included, through
// Pdeathsig on Linux and a watchdog process everywhere. Ports come from below
// the kernel's ephemeral range and are reserved across processes with a lock
// file, so test binaries running in parallel never collide; a server that
// still finds its port taken is started again on other ports.
//
// Stop, Kill and Restart act on one server as an operator or a crash would;
// Server.RestartWith brings a server back with another configuration, such
// as other session timeout bounds.
//
// Server.FourLetter asks a server for a four-letter word ("srvr", "cons",
// "mntr", ...), and Server.Watches reads "wchc" into the paths each session
// watches, so a test can check that code holds the watches it should.
//
// With ZK_SERVERS=host:port[,host:port...] set, StartServer and Shared use
// those servers instead of starting any; StartEnsemble always starts its own.
// Starting servers needs a Unix system (process groups and signals keep the
// JVMs from outliving the test binary); elsewhere, such as on Windows, the
// package builds, and tests run against the servers of ZK_SERVERS.
//
// A package that uses Shared stops the shared server with Main:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(zktest.Main(m)) }
package zktest
