package openobserveexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAppendJSONFloat(t *testing.T) {
	for f, want := range map[float64]string{500: "500.0", 0.5: "0.5", 1666275403000: "1666275403000.0", 1e21: "1e+21", 1e-7: "1e-07", -2: "-2.0", 0: "0.0"} {
		assert.Equal(t, want, string(appendJSONFloat(nil, f)))
	}
}
