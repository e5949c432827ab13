package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(zktest.Main(m)) }

func TestRun(t *testing.T) {
	srv := zktest.Shared(t)
	var out bytes.Buffer
	if err := run(t.Context(), &out, srv.ConnString()); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"[1] Connect",
		"negotiated timeout",
		"[2] Create, get, set and delete a node",
		"version=0 cversion=0 aversion=0",
		"at stale version 0 -> zk: setData /config: bad version",
		"[3] Ephemeral + sequential nodes",
		"/workers/worker-0000000000",
		"its node is gone",
		"[4] One-shot watches",
		"watch fired: NodeCreated /flag",
		"watch fired: NodeDataChanged /flag",
		"[5] Persistent recursive watch",
		"event 5: NodeDeleted      /tree/a",
		"[6] Transactions",
		"operation 1 (setData /accounts/alice)",
		"op 0: zk: rolled back",
		"nothing applied",
		"[7] A lock contended by 3 clients",
		"contenders in queue order: [main client-", // the others in any order
		"TryLock by another contender -> lock: held by another contender",
		"7 acquisitions, never two holders at once",
		"Cleaned up: deleted /zkit-demo-",
		"Demo finished OK",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}

	// The demo leaves nothing behind.
	c, err := core.NewClient(srv.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	children, err := c.GetChildren(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range children {
		if strings.HasPrefix(ch, "zkit-demo-") {
			t.Errorf("the demo left /%s behind", ch)
		}
	}
}

func TestRunFailsClearly(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), &out, "127.0.0.1:http")
	if err == nil || !strings.Contains(err.Error(), "connect to 127.0.0.1:http") {
		t.Errorf("run against a bad address: %v, want a connect error", err)
	}
}
