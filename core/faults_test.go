package core_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/zktest"
)

// TestFaultsUnderLoad: workers write through a proxy that keeps injecting
// faults (connections cut, replies dropped, latency, a silent server, a
// refused reconnect), and no write is lost, doubled or half known.
//
// Each worker owns a node that it sets at the version it expects, and a
// directory where it makes protected sequential nodes and ephemeral nodes
// of fresh names (with Create and CreateAndList in turn); a retried
// ephemeral create must know its own node. A write that
// returns success was applied exactly once: the set moved the version by
// one, the create's node exists with its data. A write that fails (its
// deadline passes during a fault) was applied at most once, which the
// worker checks by reading the node back before it goes on. Afterwards the
// client is connected again, every node holds what its worker knows of it,
// and no create left two nodes.
func TestFaultsUnderLoad(t *testing.T) {
	const workers = 16
	p := startProxiedB(t, 6*time.Second)
	proxy, c := p.proxy, p.c
	states := listenB(t, c)
	ctx := ctxB(t, waitB)

	finish := startFaultWorkers(t, c, workers)
	injectFaults(proxy)
	ws := finish()
	if t.Failed() {
		return
	}

	waitStateB(t, c, core.StateConnected)
	require.Positive(t, states.count(core.StateSuspended), "the faults never cost the connection: %v", states.snapshot())
	ok, failed := verifyFaultWorkers(ctx, t, ws)
	require.Positive(t, failed, "no write met a fault")
	t.Logf("%d writes acknowledged, %d failed during faults; states %v", ok, failed, states.snapshot())
}

// startFaultWorkers creates n workers' nodes on c and starts them; finish
// stops them and returns them, to verify.
func startFaultWorkers(t *testing.T, c *core.Client, n int) (finish func() []*faultWorker) {
	ctx := ctxB(t, waitB)
	ws := make([]*faultWorker, n)
	for i := range ws {
		ws[i] = &faultWorker{c: c, key: fmt.Sprintf("/k%d", i), dir: fmt.Sprintf("/d%d", i), id: i,
			created: map[string]string{}, attempted: map[string]bool{}, ephemeral: map[string]int64{}}
		_, err := c.Create(ctx, ws[i].key, nil)
		require.NoError(t, err)
		_, err = c.Create(ctx, ws[i].dir, nil)
		require.NoError(t, err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.run(t, stop) })
	}
	return func() []*faultWorker {
		close(stop)
		wg.Wait()
		return ws
	}
}

// verifyFaultWorkers checks every worker's nodes and sums their writes.
func verifyFaultWorkers(ctx context.Context, t *testing.T, ws []*faultWorker) (ok, failed int) {
	for _, w := range ws {
		ok += w.ok
		failed += w.failed
		w.verify(ctx, t)
	}
	return ok, failed
}

// injectFaults runs a fixed program of faults for about six seconds and
// leaves the proxy healthy.
func injectFaults(p *zktest.Proxy) {
	pause := func(d time.Duration) { time.Sleep(d) }
	for round := range 4 {
		p.CutAll()
		pause(150 * time.Millisecond)
		p.DropNextReply()
		pause(150 * time.Millisecond)
		p.SetLatency(20 * time.Millisecond)
		pause(200 * time.Millisecond)
		p.SetLatency(0)
		p.BlackHole(true)
		pause(time.Duration(200+100*round) * time.Millisecond)
		p.BlackHole(false)
		p.Refuse(true)
		p.CutAll()
		pause(200 * time.Millisecond)
		p.Refuse(false)
		pause(100 * time.Millisecond)
		// One way at a time: requests applied with their replies lost, or
		// requests lost while events still come.
		p.BlackHoleToClient(true)
		pause(300 * time.Millisecond)
		p.BlackHoleToClient(false)
		p.BlackHoleToServer(true)
		pause(300 * time.Millisecond)
		p.BlackHoleToServer(false)
		p.CutAll() // connections made during a hole stay useless
	}
}

// faultWorker is one writer of TestFaultsUnderLoad and what it knows.
type faultWorker struct {
	c        *core.Client
	key, dir string
	id       int

	version int32  // the key's version as the worker knows it
	data    string // and its data

	created   map[string]string // acknowledged creates: path -> data
	attempted map[string]bool   // data of every create tried
	// ephemeral holds the session of each acknowledged ephemeral create:
	// an expiry, which the faults may cause, takes its nodes.
	ephemeral map[string]int64
	ok        int
	failed    int
}

// run alternates versioned sets and protected creates until stop.
func (w *faultWorker) run(t *testing.T, stop <-chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		if err := w.set(t, fmt.Sprintf("%d-%d", w.id, n)); err != nil {
			t.Error(err)
			return
		}
		if err := w.create(t, fmt.Sprintf("%d-%d", w.id, n)); err != nil {
			t.Error(err)
			return
		}
		if err := w.createEphemeral(t, fmt.Sprintf("e%d-%d", w.id, n), n%2 == 0); err != nil {
			t.Error(err)
			return
		}
	}
}

// set writes data at the known version. On failure it reads the node back:
// the write either went through once or not at all.
func (w *faultWorker) set(t *testing.T, data string) error {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	st, err := w.c.Set(ctx, w.key, []byte(data), w.version)
	if err == nil {
		if st.Version != w.version+1 {
			return fmt.Errorf("set %s at version %d gave version %d", w.key, w.version, st.Version)
		}
		w.version, w.data = st.Version, data
		w.ok++
		return nil
	}
	if !faultError(err) {
		return fmt.Errorf("set %s: %w", w.key, err)
	}
	w.failed++
	got, gst, err := w.readBack(t)
	if err != nil {
		return err
	}
	switch {
	case gst.Version == w.version && got == w.data:
	case gst.Version == w.version+1 && got == data:
		w.version, w.data = gst.Version, data
	default:
		return fmt.Errorf("%s after a failed set: %q at version %d; it held %q at %d and the set wrote %q",
			w.key, got, gst.Version, w.data, w.version, data)
	}
	return nil
}

// readBack reads the worker's node once the faults let it.
func (w *faultWorker) readBack(t *testing.T) (string, *core.Stat, error) {
	ctx, cancel := context.WithTimeout(t.Context(), waitB)
	defer cancel()
	data, st, err := w.c.Get(ctx, w.key) // retried until it succeeds, or ctx ends
	if err != nil {
		return "", nil, fmt.Errorf("get %s: %w", w.key, err)
	}
	return string(data), st, nil
}

// create makes a protected sequential node with data.
func (w *faultWorker) create(t *testing.T, data string) error {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	w.attempted[data] = true
	path, err := w.c.Create(ctx, w.dir+"/n-", []byte(data), core.Sequential(), core.Protected())
	if err == nil {
		w.created[path] = data
		w.ok++
		return nil
	}
	if !faultError(err) {
		return fmt.Errorf("create in %s: %w", w.dir, err)
	}
	w.failed++
	return nil
}

// createEphemeral makes the ephemeral node name, which nobody else makes,
// with Create or CreateAndList: the only error it may meet is a fault's.
func (w *faultWorker) createEphemeral(t *testing.T, name string, listing bool) error {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	w.attempted[name] = true
	path := w.dir + "/" + name
	var err error
	if listing {
		_, _, err = w.c.CreateAndList(ctx, path, []byte(name), w.dir, core.Ephemeral())
	} else {
		_, err = w.c.Create(ctx, path, []byte(name), core.Ephemeral())
	}
	if err == nil {
		w.created[path] = name
		w.ephemeral[path] = w.c.Session().ID()
		w.ok++
		return nil
	}
	if !faultError(err) {
		return fmt.Errorf("ephemeral create %s: %w", path, err)
	}
	w.failed++
	return nil
}

// verify checks the worker's node and directory against what it knows.
func (w *faultWorker) verify(ctx context.Context, t *testing.T) {
	data, st, err := w.c.Get(ctx, w.key)
	require.NoError(t, err)
	require.Equal(t, w.data, string(data), "%s", w.key)
	require.Equal(t, w.version, st.Version, "%s", w.key)

	kids, err := w.c.GetChildren(ctx, w.dir)
	require.NoError(t, err)
	seen := map[string]string{}
	for _, k := range kids {
		p := w.dir + "/" + k
		d, _, err := w.c.Get(ctx, p)
		require.NoError(t, err)
		require.True(t, w.attempted[string(d)], "%s holds %q, which no create wrote", p, d)
		if other, dup := seen[string(d)]; dup {
			t.Errorf("one create made two nodes: %s and %s hold %q", other, p, d)
		}
		seen[string(d)] = p
	}
	for p, d := range w.created {
		if sess, ok := w.ephemeral[p]; ok && sess != w.c.Session().ID() {
			continue // its session expired
		}
		require.True(t, slices.Contains(kids, p[len(w.dir)+1:]), "acknowledged create %s is gone", p)
		require.Equal(t, p, seen[d], "acknowledged create of %q", d)
	}
}

// faultError reports an error a call may meet while faults are injected:
// its deadline passed, or the connection or session was lost.
func faultError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, core.ErrConnectionLoss) ||
		errors.Is(err, core.ErrSessionExpired) || errors.Is(err, core.ErrOperationTimeout)
}
