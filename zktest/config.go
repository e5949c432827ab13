package zktest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// writeFiles writes the server's zoo.cfg, logging configurations and myid.
func (s *Server) writeFiles() error {
	data := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	if s.ens != nil {
		if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(s.id)+"\n"), 0o644); err != nil {
			return err
		}
	}
	files := map[string]string{
		"zoo.cfg":          s.zooCfg(),
		"log4j.properties": s.log4jConfig(),
		"logback.xml":      s.logbackConfig(),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) zooCfg() string {
	tick := max(int(s.cfg.tickTime/time.Millisecond), 1)
	forceSync := "no"
	if s.cfg.fsync {
		forceSync = "yes"
	}
	kv := [][2]string{
		{"tickTime", strconv.Itoa(tick)},
		// Ten seconds to sync with the leader at start, three to stay in
		// sync: ample for a loaded laptop, yet quick to notice a dead peer.
		{"initLimit", strconv.Itoa(max(10000/tick, 10))},
		{"syncLimit", strconv.Itoa(max(3000/tick, 5))},
		{"dataDir", filepath.Join(s.dir, "data")},
		{"clientPort", strconv.Itoa(s.clientPort)},
		{"clientPortAddress", loopback},
		{"minSessionTimeout", strconv.Itoa(2 * tick)},
		{"maxSessionTimeout", "60000"},
		{"maxClientCnxns", "0"},
		{"4lw.commands.whitelist", "*"},
		{"extendedTypesEnabled", "true"},
		{"admin.enableServer", "false"},
		{"forceSync", forceSync},
		{"preAllocSize", "4096"},
		{"autopurge.purgeInterval", "0"},
	}
	if s.tls != nil {
		kv = append(kv,
			[2]string{"serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory"},
			[2]string{"secureClientPort", strconv.Itoa(s.securePort)},
			[2]string{"secureClientPortAddress", loopback},
		)
		kv = append(kv, s.tls.config()...)
	}
	if s.ens != nil {
		for _, p := range s.ens.servers {
			kv = append(kv, [2]string{
				"server." + strconv.Itoa(p.id),
				fmt.Sprintf("%s:%d:%d", loopback, p.quorumPort, p.electionPort),
			})
		}
	}
	for _, e := range s.cfg.extraConfig {
		replaced := false
		for i := range kv {
			if kv[i][0] == e[0] {
				kv[i][1], replaced = e[1], true
			}
		}
		if !replaced {
			kv = append(kv, e)
		}
	}
	keepOwnCommands(kv)
	var b strings.Builder
	b.WriteString("# Written by zktest.\n")
	for _, e := range kv {
		fmt.Fprintf(&b, "%s=%s\n", e[0], e[1])
	}
	return b.String()
}

// ownCommands are the four-letter words zktest itself sends: to tell when
// a server is ready (ruok, srvr), and to list a session's connections and
// watches (cons, wchc).
var ownCommands = []string{"ruok", "srvr", "cons", "wchc"}

// keepOwnCommands adds ownCommands to a whitelist that WithConfig narrowed,
// so that zktest can still tell when the server is ready.
func keepOwnCommands(kv [][2]string) {
	for i := range kv {
		if kv[i][0] != "4lw.commands.whitelist" || strings.TrimSpace(kv[i][1]) == "*" {
			continue
		}
		allowed := strings.Split(kv[i][1], ",")
		for j := range allowed {
			allowed[j] = strings.TrimSpace(allowed[j])
		}
		for _, cmd := range ownCommands {
			if !slices.Contains(allowed, cmd) {
				allowed = append(allowed, cmd)
			}
		}
		kv[i][1] = strings.Join(slices.DeleteFunc(allowed, func(s string) bool { return s == "" }), ",")
	}
}

func (s *Server) log4jConfig() string {
	return `log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=` + s.LogPath() + `
log4j.appender.FILE.Append=true
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
`
}

func (s *Server) logbackConfig() string {
	return `<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>` + s.LogPath() + `</file>
    <append>true</append>
    <encoder><pattern>%d{ISO8601} %-5level [%thread:%logger{0}] - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
`
}

// javaArgs returns the JVM's command line: flags for a quick start and a
// small heap, then ZooKeeper's system properties, then the caller's flags.
func (s *Server) javaArgs() []string {
	args := []string{
		"-XX:+UseSerialGC",
		"-XX:TieredStopAtLevel=1",
		"-Xms32m",
		"-Xmx256m",
		"-XX:-UsePerfData",
		"-XX:+ExitOnOutOfMemoryError",
		"-Djava.awt.headless=true",
		"-Dlog4j.configuration=file:" + filepath.Join(s.dir, "log4j.properties"),
		"-Dlogback.configurationFile=" + filepath.Join(s.dir, "logback.xml"),
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dzookeeper.admin.enableServer=false",
		// Delete empty container nodes within 100 ms instead of a minute.
		"-Dznode.container.checkIntervalMs=100",
		// Serve read-only when cut off from the quorum.
		"-Dreadonlymode.enabled=true",
		// Re-run elections quickly after a member comes back.
		"-Dzookeeper.fastleader.maxNotificationInterval=1000",
	}
	args = append(args, s.cfg.javaFlags...)
	return append(args,
		"-cp", strings.Join(s.classpath, string(os.PathListSeparator)),
		mainClass, filepath.Join(s.dir, "zoo.cfg"))
}
