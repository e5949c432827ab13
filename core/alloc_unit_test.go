package core

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every call asks isNotSent of its outcome, and every Delete, SetData and
// SetACL asks writeVersion for its version: neither may allocate.
func TestUnitHotChecksAllocateNothing(t *testing.T) {
	unsent := fmt.Errorf("create /a: %w", &notSentError{cause: errors.New("dial refused")})

	assert.False(t, isNotSent(nil))
	assert.False(t, isNotSent(ErrConnectionLoss), "a loss in flight is not an unsent call")
	assert.True(t, isNotSent(unsent))
	assert.ErrorIs(t, unsent, ErrConnectionLoss, "an unsent call still matches the loss")
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_ = isNotSent(nil)
		_ = isNotSent(ErrNoNode)
		_ = isNotSent(unsent)
	}))

	cached := func(string) int32 { return 7 }
	c := &Client{}
	version := func(opts ...WriteOption) int32 {
		v, err := c.writeVersion(opts, cached, "/a")
		assert.NoError(t, err)
		return v
	}
	assert.Equal(t, int32(7), version())
	assert.Equal(t, int32(3), version(WithVersion(3)))
	assert.Equal(t, int32(-1), version(Force()))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = c.writeVersion(nil, cached, "/a") }))
}
