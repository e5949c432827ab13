package zktest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotInstalled reports that no ZooKeeper installation or no java was found.
// Running `make zookeeper` in the zkit repository installs both.
var ErrNotInstalled = errors.New("zktest: ZooKeeper is not installed: run `make zookeeper` (or scripts/zookeeper.sh), set ZOOKEEPER_HOME, or (for StartServer and Shared, not ensembles) set ZK_SERVERS=host:port")

// Where Debian keeps libzookeeper-java and its dependencies, and java.
// Variables for tests.
var (
	debianJava  = "/usr/share/java"
	defaultJava = "/usr/bin/java"
)

// install is a ZooKeeper installation that can be launched: the java binary
// and the classpath that holds QuorumPeerMain and a logging backend.
type install struct {
	java      string
	classpath []string
}

// findInstall looks for ZooKeeper the way scripts/zookeeper.sh does:
// $ZOOKEEPER_HOME, then Debian's layout, then zkServer.sh (or Homebrew's
// zkServer) on PATH.
func findInstall() (*install, error) {
	if err := canStartServers(); err != nil {
		return nil, err
	}
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	if home := os.Getenv("ZOOKEEPER_HOME"); home != "" {
		// Set on purpose, so a wrong one is an error rather than a reason
		// to use another installation.
		if cp := homeClasspath(home); cp != nil {
			return &install{java: java, classpath: cp}, nil
		}
		return nil, fmt.Errorf("zktest: ZOOKEEPER_HOME=%s holds no ZooKeeper jar (in it, lib/ or libexec/lib/) nor bin/zkServer.sh: %w", home, ErrNotInstalled)
	}
	if cp := debianClasspath(); cp != nil {
		return &install{java: java, classpath: cp}, nil
	}
	// zkServer.sh from a release or Debian; zkServer, Homebrew's wrapper,
	// whose release lies under libexec.
	for _, name := range []string{"zkServer.sh", "zkServer"} {
		script, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if resolved, err := filepath.EvalSymlinks(script); err == nil {
			script = resolved
		}
		if cp := homeClasspath(filepath.Dir(filepath.Dir(script))); cp != nil {
			return &install{java: java, classpath: cp}, nil
		}
	}
	return nil, ErrNotInstalled
}

func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if isFile(p) {
			return p, nil
		}
		return "", fmt.Errorf("zktest: JAVA_HOME=%s has no bin/java: %w", home, ErrNotInstalled)
	}
	if p, err := exec.LookPath("java"); err == nil {
		return p, nil
	}
	if isFile(defaultJava) {
		return defaultJava, nil
	}
	return "", fmt.Errorf("zktest: java not found (on PATH, in JAVA_HOME or at %s): %w", defaultJava, ErrNotInstalled)
}

// homeClasspath returns the jars of a release tarball (home/lib/*.jar and
// home/*.jar), or nil when home holds no ZooKeeper jar.
func homeClasspath(home string) []string {
	var jars []string
	for _, pattern := range []string{"*.jar", "lib/*.jar", "libexec/lib/*.jar"} {
		m, _ := filepath.Glob(filepath.Join(home, pattern))
		jars = append(jars, m...)
	}
	for _, j := range jars {
		base := filepath.Base(j)
		if strings.HasPrefix(base, "zookeeper-3") || base == "zookeeper.jar" {
			return jars
		}
	}
	if isFile(filepath.Join(home, "bin", "zkServer.sh")) {
		// Debian's /usr/share/zookeeper holds only scripts; its jars are
		// in /usr/share/java.
		return debianClasspath()
	}
	return nil
}

// debianClasspath returns Debian's zookeeper.jar (whose manifest Class-Path
// names most dependencies) plus the jars the manifest misses: a log4j binding
// for slf4j, and the netty jars the TLS port needs.
func debianClasspath() []string {
	zk := filepath.Join(debianJava, "zookeeper.jar")
	if !isFile(zk) {
		return nil
	}
	cp := []string{zk}
	for _, name := range []string{
		"slf4j-log4j12.jar",
		"log4j-1.2.jar",
		"netty-codec.jar",
		"netty-resolver.jar",
		"netty-transport-native-unix-common.jar",
	} {
		if p := filepath.Join(debianJava, name); isFile(p) {
			cp = append(cp, p)
		}
	}
	return cp
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
