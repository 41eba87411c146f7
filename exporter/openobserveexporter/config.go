package openobserveexporter

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Values of out_of_window.
const (
	// OutOfWindowRetime sends the record with _timestamp set to the export time and the
	// original time in _event_timestamp.
	OutOfWindowRetime = "retime"
	// OutOfWindowDrop drops the record (counted and logged).
	OutOfWindowDrop = "drop"
)

// windowMargin is taken off both ends of the ingestion window: a record this close to an edge
// is treated as outside, so that transit time and clock skew do not get it dropped by OpenObserve.
const windowMargin = 2 * time.Minute

// Config defines the configuration of the openobserve exporter.
type Config struct {
	// ClientConfig holds the HTTP client settings: endpoint (OpenObserve's base URL, e.g.
	// https://api.openobserve.ai), tls, timeout, headers, compression (gzip, zstd, deflate or
	// none; default gzip), proxy_url, ...
	confighttp.ClientConfig `mapstructure:",squash"`

	// Organization is the OpenObserve organization written to, unless a log's resource
	// carries openobserve.organization.
	Organization string `mapstructure:"organization"`
	// Stream is the log stream written to, unless a log's resource carries openobserve.stream.
	Stream string `mapstructure:"stream"`

	// Username and Password authenticate with HTTP Basic authentication. The password may be
	// a user's password or an ingestion token.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// AccessKey is base64(user:secret), the token OpenObserve's Amazon Data Firehose
	// integration shows; an alternative to Username and Password.
	AccessKey configopaque.String `mapstructure:"access_key"`

	// MaxRequestBytes caps the uncompressed JSON body of one request. A single record larger
	// than this is sent on its own.
	MaxRequestBytes int64 `mapstructure:"max_request_bytes"`
	// MaxRequestRecords caps the records of one request.
	MaxRequestRecords int `mapstructure:"max_request_records"`
	// MaxRequestColumns caps the distinct columns of one request: OpenObserve rejects a
	// request whose records together have more columns than ZO_COLS_PER_RECORD_LIMIT (1000).
	MaxRequestColumns int `mapstructure:"max_request_columns"`
	// FlattenLevel is the nesting depth flattened into columns; deeper objects are sent as
	// compact JSON strings. 0 means unlimited. It should equal the stream's flatten level
	// (OpenObserve's default is 3).
	FlattenLevel int `mapstructure:"flatten_level"`

	// MaxEventAge mirrors OpenObserve's ZO_INGEST_ALLOWED_UPTO: records whose time is older
	// are outside the ingestion window.
	MaxEventAge time.Duration `mapstructure:"max_event_age"`
	// MaxEventFuture mirrors ZO_INGEST_ALLOWED_IN_FUTURE: records further in the future are
	// outside the ingestion window.
	MaxEventFuture time.Duration `mapstructure:"max_event_future"`
	// OutOfWindow is what happens to a record outside the window: "retime" (send it with
	// _timestamp set to the export time, the original time kept) or "drop".
	OutOfWindow string `mapstructure:"out_of_window"`

	// QueueConfig is the sending queue (sending_queue), persistent with storage: file_storage.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig is the retry policy for retryable failures (retry_on_failure).
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without doing any I/O.
func (cfg *Config) Validate() error {
	var errs []error
	if err := validateEndpoint(cfg.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(cfg.Organization) == "" {
		errs = append(errs, errors.New("organization must not be empty"))
	}
	if strings.TrimSpace(cfg.Stream) == "" {
		errs = append(errs, errors.New("stream must not be empty"))
	}
	errs = append(errs, cfg.validateAuth()...)
	switch cfg.Compression {
	case "", compressionNone, configcompression.TypeGzip, configcompression.TypeZstd, configcompression.TypeDeflate:
	default:
		errs = append(errs, fmt.Errorf("compression %q is not accepted by OpenObserve: use gzip, zstd, deflate or none", cfg.Compression))
	}
	if cfg.MaxRequestBytes < 1024 {
		errs = append(errs, errors.New("max_request_bytes must be at least 1024"))
	}
	if cfg.MaxRequestRecords < 1 {
		errs = append(errs, errors.New("max_request_records must be positive"))
	}
	if cfg.MaxRequestColumns < 10 {
		errs = append(errs, errors.New("max_request_columns must be at least 10"))
	}
	if cfg.FlattenLevel < 0 {
		errs = append(errs, errors.New("flatten_level must not be negative (0 means unlimited)"))
	}
	if cfg.MaxEventAge <= 2*windowMargin {
		errs = append(errs, fmt.Errorf("max_event_age must be more than %s", 2*windowMargin))
	}
	if cfg.MaxEventFuture <= 2*windowMargin {
		errs = append(errs, fmt.Errorf("max_event_future must be more than %s", 2*windowMargin))
	}
	switch cfg.OutOfWindow {
	case OutOfWindowRetime, OutOfWindowDrop:
	default:
		errs = append(errs, fmt.Errorf("out_of_window must be %q or %q, got %q", OutOfWindowRetime, OutOfWindowDrop, cfg.OutOfWindow))
	}
	return errors.Join(errs...)
}

func validateEndpoint(endpoint string) error {
	if endpoint == "" {
		return errors.New(`endpoint must be set to OpenObserve's base URL, e.g. "https://api.openobserve.ai" or "http://localhost:5080"`)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("endpoint is not a valid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("endpoint must start with http:// or https://, got %q", u.Scheme+"://")
	}
	if u.Host == "" {
		return errors.New("endpoint has no host")
	}
	if u.User != nil {
		return errors.New("endpoint must not carry credentials: use username and password, or access_key")
	}
	if strings.Contains(u.Path, "/api/") || strings.HasSuffix(u.Path, "/api") ||
		strings.HasSuffix(u.Path, "/_json") || strings.HasSuffix(u.Path, "/_kinesis_firehose") {
		return errors.New("endpoint must be OpenObserve's base URL (e.g. https://api.openobserve.ai): the exporter appends /api/{organization}/{stream}/_json itself")
	}
	return nil
}

func (cfg *Config) validateAuth() []error {
	var errs []error
	hasUser := cfg.Username != "" || cfg.Password != ""
	hasKey := cfg.AccessKey != ""
	switch {
	case hasUser && hasKey:
		errs = append(errs, errors.New("set either username and password, or access_key, not both"))
	case hasUser && (cfg.Username == "" || cfg.Password == ""):
		errs = append(errs, errors.New("username and password must be set together"))
	case hasKey:
		if _, err := decodeAccessKey(string(cfg.AccessKey)); err != nil {
			errs = append(errs, err)
		}
	case !hasUser && !cfg.Auth.HasValue() && !hasAuthorizationHeader(cfg.Headers):
		errs = append(errs, errors.New("credentials are required: set username and password, or access_key"))
	}
	return errs
}

func hasAuthorizationHeader(h configopaque.MapList) bool {
	for _, p := range h {
		if strings.EqualFold(p.Name, "Authorization") {
			return true
		}
	}
	return false
}

// decodeAccessKey checks an access key and returns the token to send after "Basic ". A
// pasted "Basic " prefix is tolerated. The error never contains the key.
func decodeAccessKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	if len(key) > 6 && strings.EqualFold(key[:6], "basic ") {
		key = strings.TrimSpace(key[6:])
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "", errors.New("access_key must be base64 of user:secret, as OpenObserve's Firehose integration shows it; it is not valid base64")
	}
	user, _, found := strings.Cut(string(raw), ":")
	if !found || user == "" {
		return "", errors.New("access_key must be base64 of user:secret, as OpenObserve's Firehose integration shows it; the decoded value has no user:secret form")
	}
	return key, nil
}

// compressionNone is configcompression's "none", which it does not export.
const compressionNone configcompression.Type = "none"
