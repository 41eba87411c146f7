package awsfirehosecloudtrailreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfigCoversFirehose(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "localhost:4433", cfg.NetAddr.Endpoint, "bound to localhost by default")
	assert.GreaterOrEqual(t, cfg.MaxRequestBodySize, int64(64<<20)*4/3, "covers 64 MiB of record data in base64")
	assert.Equal(t, BodyFormatMap, cfg.BodyFormat)
	assert.True(t, cfg.Deduplication.Enabled)
	assert.Positive(t, cfg.ReadTimeout, "a stalled client cannot hold a connection forever")
	assert.Positive(t, cfg.ReadHeaderTimeout)
	assert.Error(t, confmap.Validate(cfg), "running without a key must be an explicit choice")
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, configopaque.String("my-firehose-key"), cfg.AccessKey)
	assert.Equal(t, "localhost:4433", cfg.NetAddr.Endpoint)

	full, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:8443", full.NetAddr.Endpoint)
	assert.Equal(t, []string{"current-key", "previous-key"}, full.accessKeys())
	assert.Equal(t, int64(128<<20), full.MaxRequestBodySize)
	assert.Equal(t, 90*time.Second, full.ReadTimeout)
	assert.Equal(t, BodyFormatRaw, full.BodyFormat)
	assert.True(t, full.DropInvalidRecords)
	assert.Equal(t, DeduplicationConfig{Enabled: true, Size: 500, TTL: 30 * time.Minute}, full.Deduplication)

	_, err = loadConfig(t, "unauthenticated")
	require.NoError(t, err)
}

func TestInvalidConfigsNameTheKey(t *testing.T) {
	tests := []struct{ name, wantErr string }{
		{"no_key", "access_key is required"},
		{"bad_body_format", "body_format"},
		{"unauthenticated_with_key", "allow_unauthenticated cannot be combined"},
		{"empty_rotation_key", "access_keys[0] is empty"},
		{"bad_dedup", "deduplication::size"},
		{"compression", "compression_algorithms"},
		{"bad_body_size", "max_request_body_size"},
		{"huge_body_size", "at most 1073741824"}, // a limit + 1 would overflow
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestSecretsAreNotPrinted(t *testing.T) {
	cfg := testConfig()
	s, err := cfg.AccessKey.MarshalText()
	require.NoError(t, err)
	assert.NotContains(t, string(s), testKey)
}
