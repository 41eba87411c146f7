package awsfirehosecloudtrailreceiver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/firehose"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadata"
)

// firehoseReceiver serves Firehose's HTTP endpoint delivery.
type firehoseReceiver struct {
	cfg       *Config
	settings  receiver.Settings
	next      consumer.Logs
	obsrecv   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	handler   *handler

	server   *http.Server
	addr     net.Addr // the listener's address once started
	wg       sync.WaitGroup
	shutdown sync.Once
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*firehoseReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	var dedup *firehose.Deduplicator
	if cfg.Deduplication.Enabled {
		dedup = firehose.NewDeduplicator(cfg.Deduplication.Size, cfg.Deduplication.TTL)
	}
	r := &firehoseReceiver{cfg: cfg, settings: set, next: next, obsrecv: obsrecv, telemetry: tb}
	r.handler = &handler{
		keys:        firehose.NewKeySet(cfg.accessKeys()...),
		maxBody:     cfg.MaxRequestBodySize,
		dropInvalid: cfg.DropInvalidRecords,
		dedup:       dedup,
		next:        next,
		obsrecv:     obsrecv,
		telemetry:   tb,
		logger:      set.Logger,
		now:         time.Now,
		decoderOpts: cloudtrail.Options{
			RawBody:       cfg.BodyFormat == BodyFormatRaw,
			MaxRecordSize: cfg.MaxRequestBodySize,
			ScopeName:     metadata.ScopeName,
			ScopeVersion:  set.BuildInfo.Version,
		},
	}
	return r, nil
}

// Start opens the listener and serves in the background.
func (r *firehoseReceiver) Start(ctx context.Context, host component.Host) error {
	serverCfg := r.cfg.ServerConfig
	// The handler decodes gzip itself, to answer 415 and 413 exactly as Firehose needs.
	serverCfg.CompressionAlgorithms = []string{}
	server, err := serverCfg.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, r.handler,
		confighttp.WithErrorHandler(r.handler.answerError))
	if err != nil {
		return err
	}
	ln, err := serverCfg.ToListener(ctx)
	if err != nil {
		return err
	}
	r.server = server
	r.addr = ln.Addr()
	if r.cfg.MaxRequestBodySize < maxFirehoseBody {
		r.settings.Logger.Warn("max_request_body_size is below Firehose's largest request: Firehose drops a batch answered 413 for good, without backing it up",
			zap.Int64("max_request_body_size", r.cfg.MaxRequestBodySize), zap.Int64("firehose_max", maxFirehoseBody))
	}
	r.settings.Logger.Info("firehose endpoint listening", zap.String("endpoint", ln.Addr().String()))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// Shutdown stops the server, waiting for requests in progress up to ctx's deadline.
func (r *firehoseReceiver) Shutdown(ctx context.Context) error {
	var err error
	r.shutdown.Do(func() {
		if r.server != nil {
			err = r.server.Shutdown(ctx)
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				err = errors.Join(err, r.server.Close())
			}
		}
		r.wg.Wait()
		r.telemetry.Shutdown()
	})
	return err
}
