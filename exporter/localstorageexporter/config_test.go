package localstorageexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	fullRetry := configretry.NewDefaultBackOffConfig()
	fullRetry.InitialInterval = 2 * time.Second
	fullQueue := exporterhelper.NewDefaultQueueConfig()
	fullQueue.QueueSize = 500

	tests := []struct {
		name    string
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{
			name: "an empty section gives the defaults",
			id:   component.NewID(metadata.Type),
			want: createDefaultConfig().(*Config),
		},
		{
			name: "every option can be set",
			id:   component.NewIDWithName(metadata.Type, "full"),
			want: &Config{
				Directory:     "/var/lib/otelcol/archive",
				Format:        FormatOTLPJSON,
				MaxFileSize:   1 << 20,
				MaxFileAge:    time.Minute,
				Retention:     720 * time.Hour,
				MaxTotalSize:  10 << 30,
				Fsync:         false,
				TimeoutConfig: exporterhelper.TimeoutConfig{Timeout: 10 * time.Second},
				QueueConfig:   configoptional.Some(fullQueue),
				RetryConfig:   fullRetry,
			},
		},
		{name: "an empty directory is rejected", id: component.NewIDWithName(metadata.Type, "empty_directory"),
			wantErr: []string{"directory must not be empty"}},
		{name: "an unknown format is rejected", id: component.NewIDWithName(metadata.Type, "unknown_format"),
			wantErr: []string{`format must be "cloudtrail" or "otlp_json", got "parquet"`}},
		{name: "a zero max_file_size is rejected", id: component.NewIDWithName(metadata.Type, "zero_max_file_size"),
			wantErr: []string{"max_file_size must be positive, got 0"}},
		{name: "a zero max_file_age is rejected", id: component.NewIDWithName(metadata.Type, "zero_max_file_age"),
			wantErr: []string{"max_file_age must be positive, got 0s"}},
		{name: "a negative retention is rejected", id: component.NewIDWithName(metadata.Type, "negative_retention"),
			wantErr: []string{"retention must not be negative, got -1h0m0s"}},
		{name: "a negative max_total_size is rejected", id: component.NewIDWithName(metadata.Type, "negative_max_total_size"),
			wantErr: []string{"max_total_size must not be negative, got -1"}},
		{name: "a max_total_size below max_file_size is rejected", id: component.NewIDWithName(metadata.Type, "max_total_size_below_max_file_size"),
			wantErr: []string{"max_total_size (1024) must be 0 or at least 4 times max_file_size (1048576)"}},
		{name: "a max_total_size just below four times max_file_size is rejected", id: component.NewIDWithName(metadata.Type, "max_total_size_below_four_times_max_file_size"),
			wantErr: []string{"max_total_size (4194303) must be 0 or at least 4 times max_file_size (1048576)"}},
		{name: "a max_total_size of four times max_file_size is accepted", id: component.NewIDWithName(metadata.Type, "max_total_size_four_times_max_file_size"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.MaxFileSize = 1 << 20
				cfg.MaxTotalSize = 4 << 20
				return cfg
			}()},
		{name: "every error is reported at once", id: component.NewIDWithName(metadata.Type, "several_errors"),
			wantErr: []string{"directory must not be empty", `format must be "cloudtrail" or "otlp_json", got "csv"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					assert.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	t.Run("stores synchronously: the sending queue is disabled", func(t *testing.T) {
		assert.False(t, cfg.QueueConfig.HasValue())
	})
	t.Run("leaves retries to the sender", func(t *testing.T) {
		assert.False(t, cfg.RetryConfig.Enabled)
	})
	t.Run("syncs to disk and writes the cloudtrail format to ./data", func(t *testing.T) {
		assert.True(t, cfg.Fsync)
		assert.Equal(t, FormatCloudTrail, cfg.Format)
		assert.Equal(t, "./data", cfg.Directory)
		assert.Equal(t, exporterhelper.NewDefaultTimeoutConfig(), cfg.TimeoutConfig)
	})
	t.Run("is valid", func(t *testing.T) {
		assert.NoError(t, confmap.Validate(cfg))
	})
}
