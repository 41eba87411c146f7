package openobserveexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyIndexGrowsAndResetsInConstantTime(t *testing.T) {
	var ix keyIndex
	golden := uint64(0x9e3779b97f4a7c15)
	seven := 7 * golden
	for i := range 1000 {
		_, found := ix.put(uint64(i)*golden, int32(i))
		assert.False(t, found)
	}
	assert.Equal(t, 1000, ix.len())
	old, found := ix.put(seven, -1)
	assert.True(t, found)
	assert.Equal(t, int32(7), old)
	assert.False(t, ix.add(seven), "already there")

	ix.reset()
	assert.Zero(t, ix.len())
	assert.True(t, ix.add(seven), "a reset forgets every key")

	ix.gen = ^uint32(0) // the next reset wraps the generation around
	ix.reset()
	assert.Equal(t, uint32(1), ix.gen)
	assert.True(t, ix.add(seven), "stale slots do not survive a wrap-around")
}
