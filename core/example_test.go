package core_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/zkit-go/zkit/core"
	"go.uber.org/zap"
)

// The examples that talk to a server have no Output comment: they are
// compiled, not run. Those that need no server run as tests.

func ExampleNewClient() {
	// NewClient only checks its arguments; Start connects.
	c, err := core.NewClient("zk1:2181,zk2:2181,[::1]:2181/myapp",
		core.WithSessionTimeout(15*time.Second),
		core.WithLogger(zap.NewExample()),
		core.WithRetryPolicy(core.RetryNTimes(3)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close() // ends the session: its ephemeral nodes go at once

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}
	// Paths are relative to the chroot "/myapp", which Start created.
	fmt.Println(c.Chroot(), c.State())
}

func ExampleClient_Create() {
	c, err := core.NewClient("127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	// A persistent node, with its missing parents.
	if _, err := c.Create(ctx, "/app/config", []byte("v1"), core.WithParents()); err != nil && !errors.Is(err, core.ErrNodeExists) {
		log.Fatal(err)
	}
	// An ephemeral sequential node in Curator's protected form, which a
	// retry after a lost reply finds again instead of making a second.
	member, err := c.Create(ctx, "/app/members/m-", []byte("host-1"),
		core.Ephemeral(), core.Sequential(), core.Protected(), core.WithContainerParents())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("joined as", member) // /app/members/_c_<uuid>-m-0000000000

	// A node only its creator may touch, under parents that everyone may
	// read and create in: the node's own ACL would lock the parents too.
	if err := c.AddAuth(ctx, "digest", []byte("app:secret")); err != nil {
		log.Fatal(err)
	}
	_, err = c.Create(ctx, "/app/secrets/db", []byte("..."),
		core.WithACL(core.CreatorAllACL...),
		core.WithParents(), core.WithParentACL(core.MakeACL("world", "anyone", core.PermRead|core.PermCreate)))
	if err != nil && !errors.Is(err, core.ErrNodeExists) {
		log.Fatal(err)
	}
}

func ExampleClient_DeleteAll() {
	c, err := core.NewClient("127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	// The whole subtree goes, deepest nodes first, many deletes to a round
	// trip. A node someone else adds meanwhile is found and deleted too.
	err = c.DeleteAll(ctx, "/app/jobs")
	var ze *core.Error
	switch {
	case errors.As(err, &ze) && errors.Is(err, core.ErrNoAuth):
		// Part of the tree may be gone: the error names the node refused.
		log.Fatalf("may not delete %s", ze.Path)
	case err != nil:
		log.Fatal(err)
	}
}

func ExampleClient_GetW() {
	c, err := core.NewClient("127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	for {
		data, _, changed, err := c.GetW(ctx, "/app/config")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("config: %s\n", data)
		ev := <-changed // one event, then the channel closes
		if ev.Type != core.EventNodeDataChanged {
			fmt.Println("stopped watching:", ev.Type, ev.Err)
			return
		}
	}
}

func ExampleClient_SetData() {
	c, err := core.NewClient("127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	// Read, then write at the version the read saw (kept in the stat
	// cache): a change made in between by someone else makes the write fail.
	data, _, err := c.Get(ctx, "/app/counter")
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.SetData(ctx, "/app/counter", append(data, '+'))
	switch {
	case errors.Is(err, core.ErrBadVersion):
		fmt.Println("changed meanwhile; read again")
	case err != nil:
		log.Fatal(err)
	}
	// Force writes whatever the version.
	if _, err := c.SetData(ctx, "/app/counter", []byte("0"), core.Force()); err != nil {
		log.Fatal(err)
	}
}

func ExampleClient_BeginTransaction() {
	c, err := core.NewClient("127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	res, err := c.BeginTransaction().
		CheckVersion("/app/config", 1).
		Create("/app/config-history/v-", []byte("v2"), core.Sequential()).
		SetData("/app/config", []byte("v2"), 1).
		Commit(ctx)
	var opErr *core.OpError
	switch {
	case errors.As(err, &opErr):
		// Nothing was applied; opErr says which operation failed and why.
		fmt.Println("operation", opErr.Index, opErr.Op, opErr.Path, "failed:", opErr.Err)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("created", res.Created, "updated", res.Updated)
	}
}

func ExampleClient_CreateAndList() {
	c, err := core.NewClient("127.0.0.1:2181")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	// Join a queue and see it in one round trip: the listing already
	// holds the new node.
	me, queue, err := c.CreateAndList(ctx, "/app/queue/q-", nil, "/app/queue",
		core.Ephemeral(), core.Sequential(), core.WithContainerParents())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me, "joined a queue of", len(queue))
}

func ExampleClient_CatchUp() {
	c, err := core.NewClient("127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	// Another service has told us (out of band) that it wrote /app/config.
	// Whichever server this client is on, the leader included, the read
	// after CatchUp sees that write.
	if err := c.CatchUp(ctx, "/app/config"); err != nil {
		log.Fatal(err)
	}
	data, err := c.GetData(ctx, "/app/config")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", data)
}

func ExampleClient_AddAuth() {
	c, err := core.NewClient("127.0.0.1:2181", core.WithChroot("/secure"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	// Credentials added now are sent again after every reconnect.
	if err := c.AddAuth(ctx, "digest", []byte("alice:secret")); err != nil {
		log.Fatal(err)
	}
	acl := core.DigestACL("alice", "secret", core.PermAll)
	if _, err := c.Create(ctx, "/private", []byte("for alice"), core.WithACL(acl...)); err != nil {
		log.Fatal(err)
	}
	// Any other session is refused with ErrNoAuth.
}

func ExampleDigestID() {
	fmt.Println(core.DigestID("user", "password"))
	// Output: user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=
}

func ExampleStripProtectedPrefix() {
	name := "_c_0f8fad5b-d9cb-469f-a165-70867728950e-lock-0000000007"
	fmt.Println(core.IsProtectedName(name))
	fmt.Println(core.StripProtectedPrefix(name))
	fmt.Println(core.IsProtectedName("lock-0000000007"))
	// Output:
	// true
	// lock-0000000007
	// false
}

func ExampleError() {
	// Server errors carry the operation and path, and match their
	// sentinel by code.
	var err error = &core.Error{Code: core.CodeNoNode, Op: "get", Path: "/app/config"}
	err = fmt.Errorf("loading config: %w", err)
	fmt.Println(errors.Is(err, core.ErrNoNode), errors.Is(err, core.ErrNodeExists))
	fmt.Println(err)
	// Output:
	// true false
	// loading config: zk: get /app/config: node does not exist
}

// Calls tied to a session stop as soon as it ends, rather than wait for
// the client's next session.
func ExampleWithSession() {
	ctx := context.Background()
	c, err := core.NewClient("127.0.0.1:2181")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		panic(err)
	}
	sess := c.Session()
	tied := core.WithSession(ctx, sess)
	if _, err := c.Create(tied, "/worker-", nil, core.Ephemeral(), core.Sequential()); errors.Is(err, core.ErrSessionExpired) {
		fmt.Println("the session ended; start over with the new one")
	}
}
