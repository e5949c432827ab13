package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/examples/internal/exampleserver"
)

// eventWait bounds how long the demo waits for a watch event.
const eventWait = 5 * time.Second

// demo prints the steps of one run.
type demo struct {
	mu      sync.Mutex // serialises writes to out
	out     io.Writer
	servers string // connection string, without any chroot suffix
	root    string // the demo's chroot: every path below is relative to it
	step    int
	created bool // whether the chroot may exist, so needs cleaning up
}

// run connects to the servers in connString and shows each feature in
// turn, printing to out. It works under a chroot of its own, which it
// deletes at the end, and closes every client it opened.
func run(ctx context.Context, out io.Writer, connString string) (err error) {
	began := time.Now()
	d := &demo{out: out, servers: exampleserver.Servers(connString), root: exampleserver.ScratchRoot("zkit-demo")}
	defer func() {
		if cerr := d.cleanup(ctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if err == nil {
			d.write("\nDemo finished OK in %v.\n", time.Since(began).Round(time.Millisecond))
		}
	}()

	c, err := d.connect(ctx)
	if err != nil {
		return err
	}
	d.created = true
	defer c.Close()

	for _, step := range []func(context.Context, *core.Client) error{
		d.crud,
		d.ephemeralSequential,
		d.oneShotWatch,
		d.persistentWatch,
		d.transactions,
		d.lock,
	} {
		if err := step(ctx, c); err != nil {
			return fmt.Errorf("step %d: %w", d.step, err)
		}
	}
	return nil
}

func (d *demo) section(title string) {
	d.step++
	d.write("\n[%d] %s\n", d.step, title)
}

func (d *demo) printf(format string, args ...any) {
	d.write("    "+format+"\n", args...)
}

// write prints to out; the lock step prints from several goroutines.
func (d *demo) write(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, format, args...)
}

// newClient starts a client under the demo's chroot.
func (d *demo) newClient(ctx context.Context) (*core.Client, error) {
	c, err := core.NewClient(d.servers, core.WithChroot(d.root), core.WithSessionTimeout(10*time.Second))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (d *demo) connect(ctx context.Context) (*core.Client, error) {
	d.section("Connect")
	c, err := d.newClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", d.servers, err)
	}
	s := c.Session()
	if s == nil {
		c.Close()
		return nil, errors.New("connected without a session")
	}
	d.printf("connected to %s, state %v", d.servers, c.State())
	d.printf("session id 0x%016x, negotiated timeout %v (asked for 10s)", s.ID(), s.Timeout())
	d.printf("chroot %s: every path below is relative to it", c.Chroot())
	return c, nil
}

// crud creates, reads, updates and deletes a node, showing its Stat.
func (d *demo) crud(ctx context.Context, c *core.Client) error {
	d.section("Create, get, set and delete a node")
	p, st, err := c.CreateStat(ctx, "/config", []byte("v1"))
	if err != nil {
		return err
	}
	d.printf("create %s %q", p, "v1")
	d.printStat(st)

	data, st, err := c.Get(ctx, "/config")
	if err != nil {
		return err
	}
	d.printf("get /config -> %q (version %d, %d bytes)", data, st.Version, st.DataLength)

	st, err = c.Set(ctx, "/config", []byte("v2"), 0)
	if err != nil {
		return err
	}
	d.printf("set /config %q at version 0 -> version %d, mzxid 0x%x", "v2", st.Version, st.LastModifiedZxid)

	_, err = c.Set(ctx, "/config", []byte("v3"), 0)
	if !errors.Is(err, core.ErrBadVersion) {
		return fmt.Errorf("set at a stale version: got %v, want ErrBadVersion", err)
	}
	d.printf("set /config %q at stale version 0 -> %v (errors.Is ErrBadVersion)", "v3", err)

	_, err = c.Create(ctx, "/config", nil)
	if !errors.Is(err, core.ErrNodeExists) {
		return fmt.Errorf("create twice: got %v, want ErrNodeExists", err)
	}
	d.printf("create /config again -> %v (errors.Is ErrNodeExists)", err)

	if err := c.Delete(ctx, "/config", core.WithVersion(st.Version)); err != nil {
		return err
	}
	ok, err := c.Exists(ctx, "/config")
	if err != nil {
		return err
	}
	if ok {
		return errors.New("/config still exists after delete")
	}
	d.printf("delete /config at version %d -> exists: %v", st.Version, ok)

	_, err = c.GetData(ctx, "/config")
	if !errors.Is(err, core.ErrNoNode) {
		return fmt.Errorf("get a deleted node: got %v, want ErrNoNode", err)
	}
	d.printf("get /config -> %v (errors.Is ErrNoNode)", err)
	return nil
}

func (d *demo) printStat(st *core.Stat) {
	d.printf("  Stat: czxid=0x%x mzxid=0x%x pzxid=0x%x", st.CreatedZxid, st.LastModifiedZxid, st.LastModifiedChildren)
	d.printf("        ctime=%s mtime=%s", st.Created.Format(time.TimeOnly), st.Modified.Format(time.TimeOnly))
	d.printf("        version=%d cversion=%d aversion=%d ephemeralOwner=0x%x dataLength=%d numChildren=%d",
		st.Version, st.ChildVersion, st.ACLVersion, st.EphemeralOwner, st.DataLength, st.NumChildren)
}

// ephemeralSequential shows sequence numbers and ephemeral nodes vanishing
// with their session.
func (d *demo) ephemeralSequential(ctx context.Context, c *core.Client) error {
	d.section("Ephemeral + sequential nodes")
	sess := c.Session()
	for range 2 {
		p, st, err := c.CreateStat(ctx, "/workers/worker-", []byte("busy"), core.Ephemeral(), core.Sequential(), core.WithParents())
		if err != nil {
			return err
		}
		if sess == nil || st.EphemeralOwner != sess.ID() {
			return fmt.Errorf("%s: ephemeral owner 0x%x, want our session", p, st.EphemeralOwner)
		}
		d.printf("create -e -s /workers/worker- -> %s (ephemeralOwner 0x%016x: our session)", p, st.EphemeralOwner)
	}

	other, err := d.newClient(ctx)
	if err != nil {
		return err
	}
	p, st, err := other.CreateStat(ctx, "/workers/worker-", nil, core.Ephemeral(), core.Sequential())
	if err != nil {
		other.Close()
		return err
	}
	d.printf("a second client (session 0x%016x) creates %s", st.EphemeralOwner, p)
	children, err := c.GetChildren(ctx, "/workers")
	if err != nil {
		other.Close()
		return err
	}
	slices.Sort(children)
	d.printf("children of /workers: %v", children)

	if err := other.Close(); err != nil {
		return err
	}
	children, err = c.GetChildren(ctx, "/workers")
	if err != nil {
		return err
	}
	slices.Sort(children)
	if slices.Contains(children, strings.TrimPrefix(p, "/workers/")) {
		return fmt.Errorf("%s outlived its session", p)
	}
	d.printf("the second client closes its session -> its node is gone: %v", children)

	mine, err := c.GetEphemerals(ctx, "/")
	if err != nil {
		return err
	}
	slices.Sort(mine)
	d.printf("our session's ephemerals: %v", mine)
	return nil
}

// oneShotWatch shows that a one-shot watch fires once, then is gone.
func (d *demo) oneShotWatch(ctx context.Context, c *core.Client) error {
	d.section("One-shot watches")
	_, created, err := c.ExistsW(ctx, "/flag")
	if err != nil {
		return err
	}
	d.printf("exists /flag with a watch -> false")
	if _, err := c.Create(ctx, "/flag", []byte("up")); err != nil {
		return err
	}
	d.printf("create /flag")
	ev, err := waitEvent(ctx, created)
	if err != nil {
		return err
	}
	if ev.Type != core.EventNodeCreated {
		return fmt.Errorf("got %v, want NodeCreated", ev.Type)
	}
	d.printf("  watch fired: %v %s", ev.Type, ev.Path)

	_, _, changed, err := c.GetW(ctx, "/flag")
	if err != nil {
		return err
	}
	d.printf("get /flag with a watch, then set it twice")
	for _, v := range []string{"down", "up"} {
		if _, err := c.SetData(ctx, "/flag", []byte(v), core.Force()); err != nil {
			return err
		}
	}
	ev, err = waitEvent(ctx, changed)
	if err != nil {
		return err
	}
	d.printf("  watch fired: %v %s", ev.Type, ev.Path)
	if more, err := waitEvent(ctx, changed); !errors.Is(err, errWatchClosed) {
		return fmt.Errorf("a one-shot watch fired again: %v %v", more, err)
	}
	d.printf("  ...and only once: its channel is closed, the second set fired nothing")
	return nil
}

var errWatchClosed = errors.New("watch channel closed")

func waitEvent(ctx context.Context, ch <-chan core.Event) (core.Event, error) {
	t := time.NewTimer(eventWait)
	defer t.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			return core.Event{}, errWatchClosed
		}
		return ev, nil
	case <-t.C:
		return core.Event{}, fmt.Errorf("no watch event within %v", eventWait)
	case <-ctx.Done():
		return core.Event{}, ctx.Err()
	}
}

// persistentWatch shows a persistent recursive watch seeing a subtree's
// changes in order.
func (d *demo) persistentWatch(ctx context.Context, c *core.Client) error {
	d.section("Persistent recursive watch")
	if _, err := c.Create(ctx, "/tree", nil); err != nil {
		return err
	}
	w, err := c.AddWatch(ctx, "/tree", core.WatchPersistentRecursive)
	if err != nil {
		return err
	}
	defer w.Close()
	d.printf("watching /tree and everything below it")

	changes := []struct {
		what string
		do   func() error
	}{
		{"create /tree/a", func() error { _, err := c.Create(ctx, "/tree/a", nil); return err }},
		{"create /tree/a/b", func() error { _, err := c.Create(ctx, "/tree/a/b", []byte("1")); return err }},
		{"set /tree/a/b", func() error { _, err := c.SetData(ctx, "/tree/a/b", []byte("2")); return err }},
		{"delete /tree/a/b", func() error { return c.Delete(ctx, "/tree/a/b") }},
		{"delete /tree/a", func() error { return c.Delete(ctx, "/tree/a") }},
	}
	var done []string
	for _, ch := range changes {
		if err := ch.do(); err != nil {
			return err
		}
		done = append(done, ch.what)
	}
	d.printf("made %d changes: %s", len(done), strings.Join(done, ", "))
	want := []core.EventType{core.EventNodeCreated, core.EventNodeCreated, core.EventNodeDataChanged, core.EventNodeDeleted, core.EventNodeDeleted}
	for i, wt := range want {
		ev, err := waitEvent(ctx, w.Events())
		if err != nil {
			return err
		}
		if ev.Type != wt {
			return fmt.Errorf("event %d: got %v %s, want %v", i+1, ev.Type, ev.Path, wt)
		}
		d.printf("  event %d: %-16v %s", i+1, ev.Type, ev.Path)
	}
	if err := w.Close(); err != nil {
		return err
	}
	d.printf("a persistent watch stays until it is closed: closed it")
	return nil
}

// transactions commits a multi-operation transaction, then shows a failing
// one: which operation failed, and that nothing was applied.
func (d *demo) transactions(ctx context.Context, c *core.Client) error {
	d.section("Transactions")
	res, err := c.BeginTransaction().
		Create("/accounts", nil).
		Create("/accounts/alice", []byte("100")).
		Create("/accounts/bob", []byte("0")).
		Commit(ctx)
	if err != nil {
		return err
	}
	d.printf("commit [create /accounts, create /accounts/alice, create /accounts/bob] -> created %v", res.Created)

	res, err = c.BeginTransaction().
		CheckVersion("/accounts", 0).
		SetData("/accounts/alice", []byte("70"), 0).
		SetData("/accounts/bob", []byte("30"), 0).
		Commit(ctx)
	if err != nil {
		return err
	}
	d.printf("commit [check /accounts v0, set alice=70 v0, set bob=30 v0] -> updated %v; alice now version %d",
		res.Updated, res.Stats["/accounts/alice"].Version)

	_, err = c.BeginTransaction().
		Create("/accounts/carol", []byte("0")).
		SetData("/accounts/alice", []byte("40"), 0). // stale: alice is at version 1
		Delete("/accounts/bob", -1).
		Commit(ctx)
	var opErr *core.OpError
	if !errors.As(err, &opErr) || !errors.Is(err, core.ErrTransactionFailed) {
		return fmt.Errorf("stale transaction: got %v, want an *OpError", err)
	}
	d.printf("commit [create carol, set alice=40 v0 (stale), delete bob] ->")
	d.printf("  %v", err)
	d.printf("  failed operation: index %d, %s %s: %v (errors.Is ErrBadVersion: %v)",
		opErr.Index, opErr.Op, opErr.Path, opErr.Err, errors.Is(err, core.ErrBadVersion))
	for i, e := range opErr.Results {
		note := ""
		switch {
		case errors.Is(e, core.ErrRolledBack):
			note = " (it passed, but was undone with the rest)"
		case errors.Is(e, core.ErrRuntimeInconsistency):
			note = " (how the server marks operations after the failing one: not run)"
		}
		d.printf("    op %d: %v%s", i, e, note)
	}
	rr, err := c.MultiRead(ctx, core.ReadData("/accounts/carol"), core.ReadData("/accounts/alice"), core.ReadData("/accounts/bob"))
	if err != nil {
		return err
	}
	if !errors.Is(rr[0].Err, core.ErrNoNode) || rr[2].Err != nil {
		return errors.New("the failed transaction was partly applied")
	}
	d.printf("  nothing applied (one multiRead): carol: %v; alice=%s; bob=%s still there",
		rr[0].Err, rr[1].Data, rr[2].Data)
	return nil
}

// cleanup deletes the demo's chroot, even when ctx has ended.
func (d *demo) cleanup(ctx context.Context) error {
	if !d.created {
		return nil
	}
	if err := exampleserver.DeleteTree(ctx, d.servers, d.root); err != nil {
		return err
	}
	d.write("\nCleaned up: deleted %s.\n", d.root)
	return nil
}
