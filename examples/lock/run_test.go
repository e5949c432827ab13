package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/zkit-go/zkit/zktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(zktest.Main(m)) }

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out, zktest.Shared(t).ConnString()); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{
		"/counter = 12 = 4 workers x 3: no update lost",
		"at most 2 leases held at once (limit 2)",
		"Done.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q; output:\n%s", want, out.String())
		}
	}
}
