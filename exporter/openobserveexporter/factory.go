package openobserveexporter

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/openobserveexporter/internal/metadata"
)

// Defaults of the configuration.
const (
	defaultOrganization      = "default"
	defaultStream            = "cloudtrail_events"
	defaultTimeout           = 30 * time.Second
	defaultMaxRequestBytes   = 10 << 20
	defaultMaxRequestRecords = 5000
	defaultMaxRequestColumns = 1000
	defaultFlattenLevel      = 3
	defaultMaxEventAge       = 5 * time.Hour
	defaultMaxEventFuture    = 24 * time.Hour
)

// NewFactory returns the factory of the openobserve exporter.
func NewFactory() exporter.Factory {
	return newFactory(time.Now)
}

// newFactory takes the clock, which tests replace.
func newFactory(now func() time.Time) exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
			return createLogs(ctx, set, cfg, now)
		}, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	client.Compression = configcompression.TypeGzip
	return &Config{
		ClientConfig:      client,
		Organization:      defaultOrganization,
		Stream:            defaultStream,
		MaxRequestBytes:   defaultMaxRequestBytes,
		MaxRequestRecords: defaultMaxRequestRecords,
		MaxRequestColumns: defaultMaxRequestColumns,
		FlattenLevel:      defaultFlattenLevel,
		MaxEventAge:       defaultMaxEventAge,
		MaxEventFuture:    defaultMaxEventFuture,
		OutOfWindow:       OutOfWindowRetime,
		QueueConfig:       configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:       configretry.NewDefaultBackOffConfig(),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config, now func() time.Time) (exporter.Logs, error) {
	oCfg, ok := cfg.(*Config)
	if !ok {
		return nil, errors.New("invalid configuration type")
	}
	e, err := newLogsExporter(oCfg, set, now)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client's timeout (timeout) bounds each request; one push may send several.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(oCfg.RetryConfig),
		exporterhelper.WithQueue(oCfg.QueueConfig),
	)
}
