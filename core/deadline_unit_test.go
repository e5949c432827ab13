package core

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
)

// Whatever deadline an earlier read left, the reader goroutine's next read
// waits at least a full read timeout for the server: only that much
// silence ends a connection.
func TestUnitReadDeadlineKeepsReadTimeout(t *testing.T) {
	nc, peer := net.Pipe()
	defer nc.Close()
	defer peer.Close()
	const rt = 4 * time.Second
	c := newConn(nc, &creditLog{}, zap.NewNop(), rt, 1<<20, 1)

	for _, left := range []time.Duration{0, rt / 2, rt * 3 / 4, rt * 9 / 10, rt - time.Millisecond} {
		c.readDeadline = time.Now().Add(left)
		before := time.Now()
		c.extendReadDeadline()
		assert.GreaterOrEqual(t, c.readDeadline.Sub(before), rt, "with %v left", left)
	}
	// Once moved, it stays put for a while: no timer update per read.
	c.readDeadline = time.Time{}
	c.extendReadDeadline()
	moved := c.readDeadline
	c.extendReadDeadline()
	assert.Equal(t, moved, c.readDeadline)
}
