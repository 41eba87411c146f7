package jsontest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHasRepeatedKeys(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":1,"a":2}`:                       true,
		`{"a":{"b":[1,{"c":1,"c":2}]}}`:       true,
		`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`: false,
		`[{"a":1},{"a":1}]`:                   false,
		`12`:                                  false,
		`{"a":`:                               false,
	} {
		assert.Equal(t, want, HasRepeatedKeys([]byte(in), nil, nil), in)
	}
	lower := strings.ToLower
	assert.True(t, HasRepeatedKeys([]byte(`{"A":1,"a":2}`), lower, nil), "names compared as mapped")
	topUnderscore := func(depth int, name string) bool { return depth == 0 && strings.HasPrefix(name, "_") }
	assert.True(t, HasRepeatedKeys([]byte(`{"_x":1}`), nil, topUnderscore))
	assert.False(t, HasRepeatedKeys([]byte(`{"a":{"_x":1}}`), nil, topUnderscore), "depth 1")
}
