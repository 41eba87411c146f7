package openobserveexporter

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/openobserveexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfigHasTheDocumentedDefaults(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "default", cfg.Organization)
	assert.Equal(t, "cloudtrail_events", cfg.Stream)
	assert.Equal(t, configcompression.TypeGzip, cfg.Compression)
	assert.Equal(t, 30*time.Second, cfg.Timeout)
	assert.Equal(t, int64(10<<20), cfg.MaxRequestBytes)
	assert.Equal(t, 5000, cfg.MaxRequestRecords)
	assert.Equal(t, 1000, cfg.MaxRequestColumns)
	assert.Equal(t, 3, cfg.FlattenLevel)
	assert.Equal(t, 5*time.Hour, cfg.MaxEventAge)
	assert.Equal(t, 24*time.Hour, cfg.MaxEventFuture)
	assert.Equal(t, OutOfWindowRetime, cfg.OutOfWindow)
	assert.True(t, cfg.QueueConfig.HasValue(), "the sending queue is on by default")
	assert.True(t, cfg.RetryConfig.Enabled)
	// Without an endpoint and credentials the default cannot be used as is.
	assert.ErrorContains(t, confmap.Validate(cfg), "endpoint must be set")
}

func TestConfigLoadsTheMinimalAndFullExamples(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:5080", cfg.Endpoint)
	assert.Equal(t, "root@example.com", cfg.Username)
	assert.Equal(t, configopaque.String("Complexpass#123"), cfg.Password)

	full, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "acme_1234", full.Organization)
	assert.Equal(t, "aws_orgs_cloudtrail", full.Stream)
	assert.Equal(t, configopaque.String("cm9vdEBleGFtcGxlLmNvbTpvMm9pX3NlY3JldA=="), full.AccessKey)
	assert.Equal(t, configcompression.TypeZstd, full.Compression)
	assert.Equal(t, 10*time.Second, full.Timeout)
	assert.Equal(t, int64(5242880), full.MaxRequestBytes)
	assert.Equal(t, 2000, full.MaxRequestRecords)
	assert.Equal(t, 800, full.MaxRequestColumns)
	assert.Equal(t, 4, full.FlattenLevel)
	assert.Equal(t, 10*time.Hour, full.MaxEventAge)
	assert.Equal(t, 2*time.Hour, full.MaxEventFuture)
	assert.Equal(t, OutOfWindowDrop, full.OutOfWindow)
	require.True(t, full.QueueConfig.HasValue())
	q := full.QueueConfig.Get()
	require.NotNil(t, q.StorageID)
	assert.Equal(t, "file_storage", q.StorageID.String())
	assert.Equal(t, 4, q.NumConsumers)
	assert.Equal(t, 10*time.Minute, full.RetryConfig.MaxElapsedTime)

	prefixed, err := loadConfig(t, "basic_prefix")
	require.NoError(t, err)
	token, err := decodeAccessKey(string(prefixed.AccessKey))
	require.NoError(t, err)
	assert.Equal(t, "cm9vdEBleGFtcGxlLmNvbTpzZWNyZXQ=", token)
}

func TestConfigRejectsInvalidSettingsNamingTheKey(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"no_endpoint", []string{"endpoint must be set"}},
		{"endpoint_with_path", []string{"the exporter appends /api/{organization}/{stream}/_json"}},
		{"endpoint_with_credentials", []string{"endpoint must not carry credentials"}},
		{"no_credentials", []string{"credentials are required"}},
		{"both_credentials", []string{"either username and password, or access_key"}},
		{"username_only", []string{"username and password must be set together"}},
		{"bad_access_key", []string{"access_key must be base64 of user:secret", "not valid base64"}},
		{"access_key_without_user", []string{"no user:secret form"}},
		{"bad_compression", []string{`compression "snappy" is not accepted by OpenObserve`}},
		{"bad_limits", []string{"max_request_bytes", "max_request_records", "max_request_columns", "flatten_level"}},
		{"bad_window", []string{"max_event_age", "max_event_future", "out_of_window"}},
		{"empty_stream", []string{"organization must not be empty", "stream must not be empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			for _, want := range tt.want {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

func TestConfigErrorsNeverContainSecrets(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "http://localhost:5080"
	cfg.AccessKey = "c3VwZXJzZWNyZXQ=" // base64("supersecret"): no user part
	err := confmap.Validate(cfg)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "supersecret")
	assert.NotContains(t, err.Error(), string(cfg.AccessKey))
}

func TestConfigAcceptsAuthFromHeadersOrAnExtension(t *testing.T) {
	cm := confmap.NewFromStringMap(map[string]any{
		"endpoint": "http://localhost:5080",
		"headers":  map[string]any{"Authorization": "Basic abc"},
	})
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cm.Unmarshal(cfg))
	assert.NoError(t, confmap.Validate(cfg))
}

// TestReadyConfigsAreValid loads the exporter section of the repository's ready-made
// OpenObserve configurations, environment placeholders filled in.
func TestReadyConfigsAreValid(t *testing.T) {
	env := map[string]string{
		"OPENOBSERVE_ORG":        "acme_29xXrAbCdEf",
		"OPENOBSERVE_ACCESS_KEY": "cm9vdEBleGFtcGxlLmNvbTpvMm9pX3Rva2Vu",
		"OPENOBSERVE_USER":       "root@example.com",
		"OPENOBSERVE_PASSWORD":   "Complexpass#123",
	}
	placeholder := regexp.MustCompile(`\$\{env:([A-Z_]+)(:-([^}]*))?\}`)
	for _, name := range []string{"openobserve-cloud.yaml", "openobserve-selfhosted.yaml"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "configs", name))
			require.NoError(t, err)
			expanded := placeholder.ReplaceAllStringFunc(string(data), func(m string) string {
				parts := placeholder.FindStringSubmatch(m)
				if v, ok := env[parts[1]]; ok {
					return v
				}
				return parts[3]
			})
			var doc map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(expanded), &doc))
			section := doc["exporters"].(map[string]any)["openobserve"].(map[string]any)
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(section).Unmarshal(cfg))
			require.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, "cloudtrail_events", cfg.Stream)
			pipeline := doc["service"].(map[string]any)["pipelines"].(map[string]any)["logs"].(map[string]any)
			assert.Equal(t, []any{"awsfirehosecloudtrail"}, pipeline["receivers"])
			assert.Equal(t, []any{"memory_limiter", "batch"}, pipeline["processors"])
			assert.Equal(t, []any{"openobserve"}, pipeline["exporters"])
		})
	}
}
