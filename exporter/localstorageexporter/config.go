package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Format names the file format the exporter writes.
type Format string

const (
	// FormatCloudTrail writes CloudTrail records as CloudTrail S3 log files and every other
	// log record as OTLP JSON lines beside them.
	FormatCloudTrail Format = "cloudtrail"
	// FormatOTLPJSON writes every log record as OTLP JSON lines.
	FormatOTLPJSON Format = "otlp_json"
)

// Defaults.
const (
	defaultDirectory   = "./data"
	defaultMaxFileSize = 8 << 20 // 8 MiB of compressed data
	defaultMaxFileAge  = 5 * time.Minute

	// minTotalSizeFactor is the smallest max_total_size allowed, in units of max_file_size.
	minTotalSizeFactor = 4
)

// Config is the configuration of the localstorage exporter.
type Config struct {
	// Directory is the root of the archive; it is created on start.
	Directory string `mapstructure:"directory"`
	// Format is the file format: cloudtrail or otlp_json.
	Format Format `mapstructure:"format"`
	// MaxFileSize finalises a file once it holds this many bytes (compressed, on disk).
	MaxFileSize int64 `mapstructure:"max_file_size"`
	// MaxFileAge finalises a file this long after it was created.
	MaxFileAge time.Duration `mapstructure:"max_file_age"`
	// Retention removes finished files older than this (by modification time); 0 keeps them forever.
	Retention time.Duration `mapstructure:"retention"`
	// MaxTotalSize removes the oldest finished files while the archive holds more bytes than
	// this; 0 means unlimited, else it must be at least 4 times MaxFileSize.
	MaxTotalSize int64 `mapstructure:"max_total_size"`
	// Fsync makes ConsumeLogs return only after the data reached stable storage.
	Fsync bool `mapstructure:"fsync"`

	// TimeoutConfig bounds each ConsumeLogs call (key timeout).
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`
	// QueueConfig is the exporterhelper sending queue; disabled by default so that
	// ConsumeLogs returns only after the data is stored.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig is the exporterhelper retry; disabled by default (the sender retries).
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without touching the file system.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Directory == "" {
		errs = append(errs, errors.New("directory must not be empty"))
	}
	switch cfg.Format {
	case FormatCloudTrail, FormatOTLPJSON:
	default:
		errs = append(errs, fmt.Errorf("format must be %q or %q, got %q", FormatCloudTrail, FormatOTLPJSON, cfg.Format))
	}
	if cfg.MaxFileSize <= 0 {
		errs = append(errs, fmt.Errorf("max_file_size must be positive, got %d", cfg.MaxFileSize))
	}
	if cfg.MaxFileAge <= 0 {
		errs = append(errs, fmt.Errorf("max_file_age must be positive, got %s", cfg.MaxFileAge))
	}
	if cfg.Retention < 0 {
		errs = append(errs, fmt.Errorf("retention must not be negative, got %s", cfg.Retention))
	}
	if cfg.MaxTotalSize < 0 {
		errs = append(errs, fmt.Errorf("max_total_size must not be negative, got %d", cfg.MaxTotalSize))
	}
	// In-progress files count toward max_total_size but are never removed: with little room
	// above them, retention would remove every finished file as soon as it is finalised.
	if cfg.MaxTotalSize > 0 && cfg.MaxFileSize > 0 && cfg.MaxTotalSize/minTotalSizeFactor < cfg.MaxFileSize {
		errs = append(errs, fmt.Errorf("max_total_size (%d) must be 0 or at least %d times max_file_size (%d)",
			cfg.MaxTotalSize, minTotalSizeFactor, cfg.MaxFileSize))
	}
	return errors.Join(errs...)
}
