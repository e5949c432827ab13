package harness

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"time"
)

// fsyncCounter is the line of the server's mntr output that counts the
// transaction log's fsyncs since the server started.
const fsyncCounter = "zk_cnt_fsynctime"

// serverFsyncs asks the first server of servers, with the mntr four-letter
// word, how many times it has synced its transaction log. It reports false
// when the server does not answer mntr (4lw.commands.whitelist leaves it
// out, say): the figure is then simply not measured.
func serverFsyncs(servers string) (int64, bool) {
	addr, _, _ := strings.Cut(servers, ",")
	addr, _, _ = strings.Cut(addr, "/") // drop a chroot suffix
	if addr == "" {
		return 0, false
	}
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, false
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := nc.Write([]byte("mntr")); err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(nc)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), "\t")
		if ok && name == fsyncCounter {
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
