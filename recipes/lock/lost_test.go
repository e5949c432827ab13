package lock_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkit-go/zkit/core"
	"github.com/zkit-go/zkit/core/proto"
	"github.com/zkit-go/zkit/recipes/lock"
	"github.com/zkit-go/zkit/zktest"
)

// SCENARIO 24: the holder's session expires: Lost closes, the next waiter
// gets the lock, and the holder can unlock and lock again.
func TestMutexLostOnSessionExpiry(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	wc := startClient(t, srv.ConnString())
	holder, waiter := lock.NewMutex(c, path), lock.NewMutex(wc, path)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	lost := holder.Lost()
	done := make(chan error, 1)
	go func() { done <- waiter.Lock(ctx) }()
	eventually(t, "the waiter's node", func() bool { return len(listChildren(t, c, path)) == 2 })

	expire(t, srv.ConnString(), c)
	recv(t, lost, "Lost to close")
	if err := recv(t, done, "the waiter's Lock"); err != nil {
		t.Fatal(err)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Errorf("Unlock of a lost lock: %v", err)
	}
	if err := waiter.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	relock(t, holder, "Lock on the new session")
}

// SCENARIO 24: the holder learns it lost the lock before another contender
// gets it. The holder is cut off from the server; its client's expiry
// timer ends the session at nine tenths of the timeout, before the server
// expires it and deletes the lock's node.
func TestMutexHolderToldBeforeHandOff(t *testing.T) {
	srv := zktest.Shared(t)
	path := zktest.UniquePath(t)
	ctx := testCtx(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	hc := startClient(t, proxy.Addr(), core.WithSessionTimeout(6*time.Second))
	wc := startClient(t, srv.ConnString())
	holder, waiter := lock.NewMutex(hc, path), lock.NewMutex(wc, path)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}

	var seq atomic.Int64
	lostAt, lockedAt := make(chan int64, 1), make(chan result, 1)
	go func() {
		<-holder.Lost()
		lostAt <- seq.Add(1)
	}()
	go func() {
		err := waiter.Lock(ctx)
		lockedAt <- result{err: err, seq: seq.Add(1)}
	}()
	eventually(t, "the waiter's node", func() bool { return len(listChildren(t, wc, path)) == 2 })

	proxy.BlackHole(true)
	l := recv(t, lostAt, "the holder's Lost")
	r := recv(t, lockedAt, "the waiter's Lock")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if l > r.seq {
		t.Errorf("the waiter got the lock (event %d) before the holder saw Lost (event %d)", r.seq, l)
	}
	if err := waiter.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	// Still cut off: the holder's session is gone, and its node with it, so
	// Unlock has nothing to wait for. It gets a context without deadline:
	// it must return on its own while the network is down.
	unlocked := make(chan error, 1)
	go func() { unlocked <- holder.Unlock(context.WithoutCancel(ctx)) }()
	if err := recv(t, unlocked, "Unlock of a lost lock, cut off from the server"); err != nil {
		t.Errorf("Unlock of a lost lock, cut off from the server: %v", err)
	}
	// Let the holder's client reconnect, so that it closes at once.
	proxy.BlackHole(false)
	proxy.CutAll()
}

// Closing the holder's client hands the lock on, and the holder learns it
// lost the lock first: Close ends the session for the client before it
// asks the server to, so Lost is closed before the server deletes the
// holder's node and the waiter gets the lock.
func TestMutexHolderToldBeforeHandOffOnClose(t *testing.T) {
	srv := zktest.Shared(t)
	path := zktest.UniquePath(t)
	ctx := testCtx(t)
	wc := startClient(t, srv.ConnString())
	waiter := lock.NewMutex(wc, path)
	for round := range 5 {
		hc := startClient(t, srv.ConnString())
		holder := lock.NewMutex(hc, path)
		if err := holder.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		lost := holder.Lost()
		told := make(chan bool, 1)
		go func() {
			err := waiter.Lock(ctx)
			if err != nil {
				t.Error(err)
			}
			told <- isClosed(lost) // the moment the waiter holds the lock
		}()
		eventually(t, "the waiter's node", func() bool { return len(listChildren(t, wc, path)) == 2 })
		if err := hc.Close(); err != nil {
			t.Fatal(err)
		}
		if !recv(t, told, "the waiter's Lock") {
			t.Errorf("round %d: the waiter got the lock while the closed holder's Lost was still open", round)
		}
		if err := waiter.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// A waiter whose session ends fails with ErrLockLost (and the session's
// error) and leaves no node.
func TestMutexWaiterSessionExpires(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	wc := startClient(t, srv.ConnString())
	holder, waiter := lock.NewMutex(c, path), lock.NewMutex(wc, path)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- waiter.Lock(ctx) }()
	eventually(t, "the waiter's node", func() bool { return len(listChildren(t, c, path)) == 2 })
	expire(t, srv.ConnString(), wc)
	err := recv(t, done, "the waiter's Lock")
	if !errors.Is(err, lock.ErrLockLost) || !errors.Is(err, core.ErrSessionExpired) {
		t.Fatalf("Lock: %v, want ErrLockLost and ErrSessionExpired", err)
	}
	if n := len(listChildren(t, c, path)); n != 1 {
		t.Errorf("%d nodes, want the holder's only", n)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// Deleting the holder's node, as an operator might, closes Lost; Unlock
// then succeeds.
func TestMutexLostOnNodeDeleted(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	admin := startClient(t, srv.ConnString())
	m := lock.NewMutex(c, path)
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if m.Token() == 0 {
		t.Fatal("no token")
	}
	deleteHoldersNode(t, admin, path)
	recv(t, m.Lost(), "Lost to close")
	if err := m.Unlock(ctx); err != nil {
		t.Errorf("Unlock of a deleted lock: %v", err)
	}
}

// A server of the ensemble dies while the lock is held: the client moves
// to another server with the same session, keeps the lock (Lost stays
// open), and Unlock lets the next contender in.
func TestMutexSurvivesServerKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an ensemble")
	}
	ens := zktest.StartEnsemble(t, 3)
	ctx := testCtx(t)
	path := zktest.UniquePath(t)
	hc := startClient(t, ens.ConnString(), core.WithSessionTimeout(20*time.Second))
	wc := startClient(t, ens.ConnString(), core.WithSessionTimeout(20*time.Second))
	holder, waiter := lock.NewMutex(hc, path), lock.NewMutex(wc, path)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	token := holder.Token()
	lost := holder.Lost() // watching through the failover
	sess := hc.Session()
	var acquired atomic.Bool
	done := make(chan error, 1)
	go func() {
		err := waiter.Lock(ctx)
		acquired.Store(err == nil)
		done <- err
	}()
	eventually(t, "the waiter's node", func() bool { return len(listChildren(t, hc, path)) == 2 })

	victim, err := ens.SessionServer(ctx, sess.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	// The client reconnects elsewhere, with the same session.
	eventually(t, "the holder to reconnect", func() bool {
		s, err := ens.SessionServer(ctx, sess.ID())
		return err == nil && s != victim
	})
	if n := nodesOf(t, hc, path, sess.ID()); len(n) != 1 {
		t.Fatalf("the holder's session owns %v, want its lock's node", n)
	}
	if hc.Session() != sess || isClosed(lost) {
		t.Fatal("the holder lost its session or its lock")
	}
	if acquired.Load() {
		t.Fatal("the waiter got the lock while the holder held it")
	}
	if holder.Token() != token {
		t.Error("the token changed")
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done, "the waiter's Lock"); err != nil {
		t.Fatal(err)
	}
	if err := waiter.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// A lost lock needs no Unlock: Lock takes it again straight away, with a
// larger token, and Token says 0 while it is lost.
func TestMutexLockAgainAfterLoss(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	admin := startClient(t, srv.ConnString())
	m := lock.NewMutex(c, path)
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	lost, before := m.Lost(), m.Token()
	deleteHoldersNode(t, admin, path)
	recv(t, lost, "Lost to close")
	if tok := m.Token(); tok != 0 {
		t.Errorf("Token of a lost lock = %d, want 0", tok)
	}
	if tok := relock(t, m, "Lock after a loss, without Unlock"); tok <= before {
		t.Errorf("token %d after %d", tok, before)
	}
}

// A Lock whose request waits for a connection fails with ErrLockLost as
// soon as its session ends (here by the client's timer, cut off from the
// server), not once the network heals, and leaves no node.
func TestMutexLockCutOffFailsWithSession(t *testing.T) {
	srv := zktest.Shared(t)
	path := zktest.UniquePath(t)
	ctx := testCtx(t)
	proxy := zktest.StartProxy(t, srv.Addr())
	c := startClient(t, proxy.Addr(), core.WithSessionTimeout(2*time.Second))
	observer := startClient(t, srv.ConnString())
	sess := c.Session()
	m := lock.NewMutex(c, path)

	proxy.BlackHole(true)
	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := m.Lock(lctx)
	if !errors.Is(err, lock.ErrLockLost) || !errors.Is(err, core.ErrSessionExpired) {
		t.Fatalf("Lock cut off: %v, want ErrLockLost and ErrSessionExpired", err)
	}
	if sess.Err() == nil {
		t.Fatal("Lock failed while its session lived")
	}
	proxy.BlackHole(false)
	proxy.CutAll()
	eventually(t, "the client's new session", func() bool {
		s := c.Session()
		return s != nil && s != sess && s.Err() == nil
	})
	if ok, err := observer.Exists(ctx, path); err == nil && ok {
		if kids := listChildren(t, observer, path); len(kids) != 0 {
			t.Errorf("nodes left: %v", kids)
		}
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock on the new session: %v", err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// deleteHoldersNode deletes the only contender's node under path, as an
// operator might.
func deleteHoldersNode(t *testing.T, admin *core.Client, path string) {
	t.Helper()
	kids := listChildren(t, admin, path)
	if len(kids) != 1 {
		t.Fatalf("children %v", kids)
	}
	if err := admin.Delete(testCtx(t), path+"/"+kids[0], core.Force()); err != nil {
		t.Fatal(err)
	}
}

// relock locks m (what names the attempt), checks that the new
// acquisition is not lost, unlocks it and returns its token.
func relock(t *testing.T, m *lock.Mutex, what string) int64 {
	t.Helper()
	ctx := testCtx(t)
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	token := m.Token()
	if isClosed(m.Lost()) {
		t.Errorf("%s: the new acquisition's Lost is closed", what)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	return token
}

// Someone deletes a waiting contender's node, as an operator might. The
// contender takes no read on its last hand-off, so it may still return
// from Lock when its turn comes (see the package doc), while the next
// contender takes the lock too. If it does, its Lost closes once asked,
// and its fencing token is older than the next holder's.
func TestMutexWaiterNodeDeletedSeenByLostAndToken(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	admin := startClient(t, srv.ConnString())
	holder := lock.NewMutex(c, path)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	waiter, next := lock.NewMutex(startClient(t, srv.ConnString()), path), lock.NewMutex(startClient(t, srv.ConnString()), path)
	waiterDone, nextDone := make(chan error, 1), make(chan error, 1)
	go func() { waiterDone <- waiter.Lock(ctx) }()
	eventually(t, "the waiter's node", func() bool { return len(listChildren(t, admin, path)) == 2 })
	go func() { nextDone <- next.Lock(ctx) }()
	eventually(t, "the next contender's node", func() bool { return len(listChildren(t, admin, path)) == 3 })
	q := queue(t, admin, path)
	if err := admin.Delete(ctx, path+"/"+q[1], core.Force()); err != nil {
		t.Fatal(err)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	if err := recv(t, nextDone, "the next contender's Lock"); err != nil {
		t.Fatalf("the next contender's Lock: %v", err)
	}
	err := recv(t, waiterDone, "the waiter's Lock")
	t.Logf("the waiter's Lock: %v", err)
	switch {
	case errors.Is(err, lock.ErrLockLost):
		// Told at once: nothing more to check.
	case err != nil:
		t.Fatalf("the waiter's Lock: %v, want nil or ErrLockLost", err)
	default:
		recv(t, waiter.Lost(), "the waiter's Lost")
		if wt, nt := waiter.Token(), next.Token(); wt >= nt {
			t.Errorf("the waiter's token 0x%x is not older than the next holder's 0x%x", wt, nt)
		}
		if err := waiter.Unlock(ctx); err != nil {
			t.Errorf("Unlock of the lost lock: %v", err)
		}
	}
	if err := next.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if kids := listChildren(t, admin, path); len(kids) != 0 {
		t.Errorf("nodes left: %v", kids)
	}
}

// The Unlock of a lock lost because its node was deleted sends nothing:
// there is no node to delete, and it does not wait for the network, as
// the package doc says of a lost lock.
func TestMutexUnlockAfterNodeDeletedSendsNothing(t *testing.T) {
	srv, _, path := sharedSetup(t)
	ctx := testCtx(t)
	admin := startClient(t, srv.ConnString())
	ops := &opRecorder{}
	m := lock.NewMutex(startClient(t, srv.ConnString(), core.WithDialer(ops.dial)), path)
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	lost := m.Lost()
	deleteHoldersNode(t, admin, path)
	recv(t, lost, "Lost to close")
	mark := ops.count()
	if err := m.Unlock(ctx); err != nil {
		t.Fatalf("Unlock of a deleted lock: %v", err)
	}
	// Pings may go out meanwhile; a delete must not.
	if sent := ops.since(mark); slices.Contains(sent, proto.OpDelete) {
		t.Errorf("Unlock of a deleted lock sent a delete: opcodes %v", sent)
	}
}

// A lock lost with its session, that Lost was never asked about, and that
// a TryLock on a new session then fails to take again: Lost tells of the
// loss, as it did before the TryLock, not a channel that never closes.
func TestMutexLostStaysClosedAfterFailedRelock(t *testing.T) {
	srv, c, path := sharedSetup(t)
	ctx := testCtx(t)
	other := startClient(t, srv.ConnString())
	m := lock.NewMutex(c, path)
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	old := c.Session()
	expire(t, srv.ConnString(), c)
	recv(t, old.Done(), "the old session to end")
	taker := lock.NewMutex(other, path)
	if err := taker.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock while another holds: %v, want ErrLocked", err)
	}
	if !isClosed(m.Lost()) {
		t.Error("Lost is open after the failed TryLock, though the lock was lost with its session")
	}
	if tok := m.Token(); tok != 0 {
		t.Errorf("Token = %d, want 0", tok)
	}
	if err := taker.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
