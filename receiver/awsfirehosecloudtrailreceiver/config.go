package awsfirehosecloudtrailreceiver

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
)

// Body formats.
const (
	// BodyFormatMap decodes each CloudTrail record into a map body, losslessly.
	BodyFormatMap = "map"
	// BodyFormatRaw keeps each CloudTrail record's original JSON text as a string body.
	BodyFormatRaw = "raw"
)

// Config is the configuration of the awsfirehosecloudtrail receiver.
type Config struct {
	// ServerConfig is the collector's HTTP server configuration: endpoint (default
	// localhost:4433), tls, auth, timeouts, max_request_body_size (default 96 MiB, enforced on
	// the received body and again after decompression).
	confighttp.ServerConfig `mapstructure:",squash"`

	// AccessKey is the key Firehose sends in X-Amz-Firehose-Access-Key.
	AccessKey configopaque.String `mapstructure:"access_key"`
	// AccessKeys are further accepted keys, e.g. the new and the old key while rotating.
	AccessKeys []configopaque.String `mapstructure:"access_keys"`
	// AllowUnauthenticated must be true to run without any access key.
	AllowUnauthenticated bool `mapstructure:"allow_unauthenticated"`

	// BodyFormat is "map" (default: the record as a lossless map) or "raw" (its original JSON text).
	BodyFormat string `mapstructure:"body_format"`
	// DropInvalidRecords drops records that cannot be decoded instead of keeping them as
	// invalid-record logs. They are counted and logged either way.
	DropInvalidRecords bool `mapstructure:"drop_invalid_records"`

	// Deduplication remembers acknowledged request ids so Firehose retries are not ingested twice.
	Deduplication DeduplicationConfig `mapstructure:"deduplication"`

	_ struct{}
}

// DeduplicationConfig configures the memory of acknowledged requests.
type DeduplicationConfig struct {
	// Enabled turns de-duplication of retried requests on (default true).
	Enabled bool `mapstructure:"enabled"`
	// Size is how many request ids are remembered (default 10000).
	Size int `mapstructure:"size"`
	// TTL is how long a request id is remembered (default 2h, Firehose's longest retry duration).
	TTL time.Duration `mapstructure:"ttl"`

	_ struct{}
}

var _ component.Config = (*Config)(nil)

// maxFirehoseBody is Firehose's largest request: 64 MiB of record data, which base64 turns
// into 85.4 MiB, plus the JSON around 10,000 records.
const maxFirehoseBody = 96 << 20

// Validate checks the configuration without touching the network.
func (c *Config) Validate() error {
	var errs []error
	if c.AccessKey == "" && !hasKey(c.AccessKeys) && !c.AllowUnauthenticated && !c.Auth.HasValue() {
		errs = append(errs, errors.New("access_key is required: set access_key (or access_keys), configure auth, or set allow_unauthenticated: true to accept requests without a key"))
	}
	for i, k := range c.AccessKeys {
		if k == "" {
			errs = append(errs, fmt.Errorf("access_keys[%d] is empty", i))
		}
	}
	if c.AllowUnauthenticated && (c.AccessKey != "" || hasKey(c.AccessKeys)) {
		errs = append(errs, errors.New("allow_unauthenticated cannot be combined with access_key or access_keys"))
	}
	if c.BodyFormat != BodyFormatMap && c.BodyFormat != BodyFormatRaw {
		errs = append(errs, fmt.Errorf("body_format must be %q or %q, got %q", BodyFormatMap, BodyFormatRaw, c.BodyFormat))
	}
	if c.MaxRequestBodySize <= 0 || c.MaxRequestBodySize > maxBodyLimit {
		errs = append(errs, fmt.Errorf("max_request_body_size must be positive and at most %d (1 GiB; Firehose sends at most 64 MiB of data), got %d", int64(maxBodyLimit), c.MaxRequestBodySize))
	}
	if c.CompressionAlgorithms != nil {
		errs = append(errs, errors.New("compression_algorithms is not supported: the receiver decodes Firehose's gzip itself"))
	}
	if c.Deduplication.Enabled {
		if c.Deduplication.Size <= 0 {
			errs = append(errs, fmt.Errorf("deduplication::size must be positive, got %d", c.Deduplication.Size))
		}
		if c.Deduplication.TTL <= 0 {
			errs = append(errs, fmt.Errorf("deduplication::ttl must be positive, got %s", c.Deduplication.TTL))
		}
	}
	return errors.Join(errs...)
}

func hasKey(keys []configopaque.String) bool {
	for _, k := range keys {
		if k != "" {
			return true
		}
	}
	return false
}

// accessKeys lists every configured key.
func (c *Config) accessKeys() []string {
	keys := []string{string(c.AccessKey)}
	for _, k := range c.AccessKeys {
		keys = append(keys, string(k))
	}
	return keys
}

// maxBodyLimit bounds max_request_body_size: far above any Firehose request, and far below
// where the size arithmetic (a limit + 1, a decompression guess of 4× the body) would overflow.
const maxBodyLimit = 1 << 30
