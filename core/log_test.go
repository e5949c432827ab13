package core_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkit-go/zkit/core"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Each request is logged at Debug, with its opcode and path; nothing at
// any level carries node data or credentials.
func TestLogDebugCallsWithoutSecrets(t *testing.T) {
	const (
		password    = "pw-never-logged"
		addPassword = "added-pw-never-logged"
		data        = "data-never-logged"
	)
	logs := func(level zapcore.Level) (*core.Client, *observer.ObservedLogs) {
		obs, logs := observer.New(level)
		c, _, _ := sharedA(t, core.WithLogger(zap.New(obs)), core.WithAuth("digest", []byte("user:"+password)))
		ctx := ctxA(t)
		require.NoError(t, c.AddAuth(ctx, "digest", []byte("other:"+addPassword)))
		_, err := c.Create(ctx, "/n", []byte(data))
		require.NoError(t, err)
		_, err = c.Set(ctx, "/n", []byte(data), -1)
		require.NoError(t, err)
		_, _, err = c.Get(ctx, "/n")
		require.NoError(t, err)
		_, _, err = c.CreateAndList(ctx, "/q/n-", []byte(data), "/q", core.Sequential(), core.WithParents())
		require.NoError(t, err)
		_, err = c.BeginTransaction().SetData("/n", []byte(data), -1).Commit(ctx)
		require.NoError(t, err)
		_, _, err = c.Get(ctx, "/missing")
		require.ErrorIs(t, err, core.ErrNoNode)
		require.NoError(t, c.Close())
		return c, logs
	}

	_, debug := logs(zapcore.DebugLevel)
	for _, want := range []struct{ op, suffix string }{
		{"create", "/n"}, {"setData", "/n"}, {"getData", "/n"}, {"getData", "/missing"}, {"getChildren", "/q"}, {"multi", ""},
	} {
		found := false
		for _, e := range debug.FilterMessage("zk: call").All() {
			m := e.ContextMap()
			if m["op"] == want.op && strings.HasSuffix(fmt.Sprint(m["path"]), want.suffix) {
				found = true
				if want.suffix == "/missing" {
					assert.Contains(t, fmt.Sprint(m["error"]), "node does not exist")
				}
			}
		}
		assert.True(t, found, "a Debug entry for %s %s", want.op, want.suffix)
	}
	// Each entry as a JSON log shows it: byte slices come out in base64.
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	for _, e := range debug.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		require.NoError(t, err)
		text := buf.String()
		buf.Free()
		for _, secret := range []string{password, addPassword, data} {
			assert.NotContains(t, text, secret, "a log entry carries a secret: %s", text)
			for _, encoded := range base64Inner(secret) {
				assert.NotContains(t, text, encoded, "a log entry carries a secret in base64: %s", text)
			}
		}
	}

	_, info := logs(zapcore.InfoLevel)
	assert.NotZero(t, info.FilterMessage("zk: connected").Len(), "connections are logged at Info")
	assert.Zero(t, info.FilterMessage("zk: call").Len(), "requests are logged at Debug only")
}

// base64Inner returns what the base64 of any byte string holding secret
// must contain, for each of the three alignments secret can start at: the
// groups of four characters that cover secret's bytes alone.
func base64Inner(secret string) []string {
	var out []string
	for lead := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, lead), secret...))
		from := 0
		if lead > 0 {
			from = 4 // the first group holds lead bytes that are not secret's
		}
		out = append(out, enc[from:len(enc)-4])
	}
	return out
}
