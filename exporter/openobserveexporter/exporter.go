package openobserveexporter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/openobserveexporter/internal/metadata"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
)

// maxResponseBytes bounds how much of an answer is read.
const maxResponseBytes = 64 << 10

// Values of the reason attribute of the failed-records counter.
const (
	reasonOutOfWindow    = "out_of_window"
	reasonSchemaConflict = "schema_conflict"
	reasonRejected       = "rejected"
	reasonTooLarge       = "too_large"
	reasonTooManyColumns = "too_many_columns"
	reasonInvalid        = "invalid_request"
	reasonUnauthorized   = "unauthorized"
)

type logsExporter struct {
	cfg       *Config
	settings  component.TelemetrySettings
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	baseURL       string
	authorization string // Authorization header value; empty when an extension or headers provide it
	userAgent     string
	limits        limits
	throttleCap   time.Duration // the longest Retry-After honoured
	compressor    *compressor
	seed          maphash.Seed

	client *http.Client
	states sync.Pool // *pushState
	// post sends one request body; send, except in benchmarks of the encoding path.
	post func(ctx context.Context, b *batch, body []byte, n int) sendResult
}

func newLogsExporter(cfg *Config, set exporter.Settings, now func() time.Time) (*logsExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &logsExporter{
		cfg:       cfg,
		settings:  set.TelemetrySettings,
		logger:    set.Logger,
		telemetry: tb,
		now:       now,
		baseURL:   strings.TrimRight(cfg.Endpoint, "/"),
		userAgent: fmt.Sprintf("%s/%s (%s/%s)", set.BuildInfo.Command, set.BuildInfo.Version, runtime.GOOS, runtime.GOARCH),
		limits: limits{
			bytes:   int(cfg.MaxRequestBytes),
			records: cfg.MaxRequestRecords,
			columns: cfg.MaxRequestColumns,
		},
		throttleCap: throttleCap(cfg.RetryConfig),
		seed:        maphash.MakeSeed(),
	}
	switch {
	case cfg.AccessKey != "":
		token, err := decodeAccessKey(string(cfg.AccessKey))
		if err != nil {
			return nil, err
		}
		e.authorization = "Basic " + token
	case cfg.Username != "":
		e.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+string(cfg.Password)))
	}
	if e.compressor, err = newCompressor(cfg.Compression, cfg.CompressionParams.Level); err != nil {
		return nil, err
	}
	e.states.New = func() any { return e.newPushState() }
	e.post = e.send
	return e, nil
}

func (e *logsExporter) start(ctx context.Context, host component.Host) error {
	clientCfg := e.cfg.ClientConfig
	clientCfg.Compression = "" // bodies are compressed here, where their sizes are known
	client, err := clientCfg.ToClient(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return fmt.Errorf("create the HTTP client: %w", err)
	}
	e.client = client
	return nil
}

func (e *logsExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	e.telemetry.Shutdown()
	return nil
}

// pushLogs sends ld. Rows accepted by OpenObserve are never sent again: when a request fails
// in a retryable way, the error carries only the records not yet stored, and the retry sends
// those.
func (e *logsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	st := e.states.Get().(*pushState)
	defer e.states.Put(st)
	return st.push(ctx, ld)
}

// pushState is the working memory of one pushLogs call, pooled.
type pushState struct {
	e   *logsExporter
	row *rowEncoder
	aux *rowEncoder // resource fields

	batches []*batch
	done    []bool // per log record: stored or given up on
	// retimedRec marks, per log record, a row sent with _timestamp re-timed into the window;
	// retimed counts those OpenObserve stored (a retried request must not count twice).
	retimedRec []bool
	retimedRow bool   // the row just encoded was re-timed
	scratch    []byte // sub-range bodies

	now       time.Time
	nowMicros int64
	oldest    int64
	newest    int64

	retimed     int
	dropped     int   // records dropped for being outside the ingestion window
	stored      int   // records OpenObserve stored in their stream
	acked       bool  // OpenObserve wrote some row of the push, in any stream
	failed      int   // records given up on, for any reason
	retryErr    error // a retryable failure: stop and hand back what is left
	fatalErr    error // a failure every further request would repeat (401): stop and drop the rest
	fatalReason string
	permanent   []error // failures of single requests
}

func (e *logsExporter) newPushState() *pushState {
	return &pushState{
		e:   e,
		row: newRowEncoder(e.cfg.FlattenLevel, e.seed),
		aux: newRowEncoder(e.cfg.FlattenLevel, e.seed),
	}
}

func (st *pushState) reset(n int) {
	st.done = st.done[:0]
	st.done = append(st.done, make([]bool, n)...)
	st.retimedRec = st.retimedRec[:0]
	st.retimedRec = append(st.retimedRec, make([]bool, n)...)
	st.batches = st.batches[:0]
	st.now = st.e.now()
	st.nowMicros = st.now.UnixMicro()
	st.oldest = st.now.Add(-st.e.cfg.MaxEventAge + windowMargin).UnixMicro()
	st.newest = st.now.Add(st.e.cfg.MaxEventFuture - windowMargin).UnixMicro()
	st.retimed, st.dropped, st.stored, st.failed = 0, 0, 0, 0
	st.acked = false
	st.retryErr, st.fatalErr = nil, nil
	st.permanent = st.permanent[:0]
}

// resourceCache holds the encoded resource fields of one ResourceLogs, built on first use.
type resourceCache struct {
	res                 pcommon.Resource
	cloudTrail, generic []preField
	haveCT, haveGeneric bool
}

func (st *pushState) fields(rc *resourceCache, cloudTrailRows bool) []preField {
	if cloudTrailRows {
		if !rc.haveCT {
			rc.cloudTrail, rc.haveCT = st.aux.resourceFields(rc.res, true), true
		}
		return rc.cloudTrail
	}
	if !rc.haveGeneric {
		rc.generic, rc.haveGeneric = st.aux.resourceFields(rc.res, false), true
	}
	return rc.generic
}

func (st *pushState) push(ctx context.Context, ld plog.Logs) error {
	e := st.e
	st.reset(ld.LogRecordCount())
	record := 0
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		b := st.batchFor(rl.Resource())
		rc := resourceCache{res: rl.Resource()}
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				idx := record
				record++
				if st.stopped() {
					continue
				}
				st.retimedRow = false
				if !st.encode(lrs.At(k), &rc) {
					st.done[idx] = true
					continue
				}
				if st.row.columns() > e.limits.columns {
					st.done[idx] = true
					st.fail(reasonTooManyColumns, 1)
					st.permanent = append(st.permanent, fmt.Errorf("a log record has %d columns, more than max_request_columns (%d): dropped", st.row.columns(), e.limits.columns))
					continue
				}
				if !b.fits(len(st.row.buf), st.row.fields, &e.limits) {
					st.flush(ctx, b)
					b.fits(len(st.row.buf), st.row.fields, &e.limits)
					if st.stopped() {
						continue
					}
				}
				b.append(st.row.buf, idx)
				st.retimedRec[idx] = st.retimedRow
			}
		}
	}
	for _, b := range st.batches {
		if len(b.rows) > 0 && !st.stopped() {
			st.flush(ctx, b)
		}
	}
	return st.result(ld)
}

func (st *pushState) stopped() bool { return st.retryErr != nil || st.fatalErr != nil }

// encode writes a log record's row into st.row. It returns false when the record is dropped
// for being outside the ingestion window.
func (st *pushState) encode(lr plog.LogRecord, rc *resourceCache) bool {
	r := st.row
	encoded := false
	if strings.HasPrefix(lr.EventName(), cloudtrail.EventNamePrefix) {
		switch lr.Body().Type() {
		case pcommon.ValueTypeMap, pcommon.ValueTypeStr:
			encoded = r.encodeCloudTrail(lr, st.fields(rc, true))
		}
	}
	if !encoded {
		r.encodeGeneric(lr, st.fields(rc, false))
	}
	ts, ok := r.eventTime, r.hasTime
	if !ok {
		ts = int64(lr.Timestamp()) / 1000
		if ts == 0 {
			ts = int64(lr.ObservedTimestamp()) / 1000
		}
		if ts == 0 {
			ts = st.nowMicros
		}
	}
	if ts < st.oldest || ts > st.newest {
		if st.e.cfg.OutOfWindow == OutOfWindowDrop {
			st.dropped++
			st.fail(reasonOutOfWindow, 1)
			return false
		}
		r.setKey(colEventTimestamp)
		r.writeInt(ts)
		ts = st.nowMicros
		st.retimedRow = true
	}
	r.setKey(colTimestamp)
	r.writeInt(ts)
	r.finishRow()
	return true
}

// batchFor returns the batch of a resource's destination.
func (st *pushState) batchFor(res pcommon.Resource) *batch {
	org, stream := st.e.cfg.Organization, st.e.cfg.Stream
	if v, ok := res.Attributes().Get(cloudtrail.KeyOpenObserveOrganization); ok && v.Str() != "" {
		org = v.Str()
	}
	if v, ok := res.Attributes().Get(cloudtrail.KeyOpenObserveStream); ok && strings.TrimSpace(v.Str()) != "" {
		stream = v.Str()
	}
	stream = formatStreamName(stream)
	for _, b := range st.batches {
		if b.org == org && b.stream == stream {
			return b
		}
	}
	// Reuse the batches (and their buffers) of earlier pushes.
	var b *batch
	if n := len(st.batches); n < cap(st.batches) {
		b = st.batches[:n+1][n]
	}
	if b == nil {
		b = &batch{}
	}
	b.init(st.e.baseURL, org, stream)
	st.batches = append(st.batches, b)
	return b
}

func (st *pushState) flush(ctx context.Context, b *batch) {
	st.sendRange(ctx, b, 0, len(b.rows))
	b.reset()
}

// sendRange sends rows [i, j) of b and records the outcome per log record. A request that is
// too large (413, or OpenObserve's column limit) is split in halves until it fits.
func (st *pushState) sendRange(ctx context.Context, b *batch, i, j int) {
	if st.stopped() || i >= j {
		return
	}
	n := j - i
	var res sendResult
	if b.failure != nil {
		res = *b.failure
	} else {
		body := b.body(i, j, st.scratch)
		if i != 0 || j != len(b.rows) {
			st.scratch = body[:0] // keep the grown buffer; the whole batch is sent from b.buf
		}
		res = st.e.post(ctx, b, body, n)
	}
	switch res.kind {
	case resultStored:
		st.acked = st.acked || res.acked
		st.markDone(b, i, j)
		for _, r := range b.rows[i:j] {
			if st.retimedRec[r.record] {
				st.retimed++
			}
		}
		st.stored += res.stored
		st.e.telemetry.ExporterOpenobserveSentLogRecords.Add(ctx, int64(res.stored))
		if res.failed > 0 {
			// OpenObserve's answer does not say which records failed, so none can be resent
			// without duplicating stored rows. They are counted and logged (post warns); result
			// decides whether the push fails.
			st.fail(res.reason, res.failed)
			st.permanent = append(st.permanent, res.err)
		}
		if res.copyFailed > 0 {
			// Copies an OpenObserve pipeline could not write: the records themselves were
			// stored, so they are counted and logged (interpret warns), not failed.
			st.e.countFailed(res.copyReason, res.copyFailed)
		}
	case resultTooLarge:
		if n == 1 {
			st.markDone(b, i, j)
			st.fail(res.reason, 1)
			st.permanent = append(st.permanent, res.err)
			return
		}
		mid := i + n/2
		st.e.logger.Debug("splitting a request OpenObserve found too large",
			zap.String("organization", b.org), zap.String("stream", b.stream), zap.Int("records", n))
		st.sendRange(ctx, b, i, mid)
		st.sendRange(ctx, b, mid, j)
	case resultRetryable:
		st.retryErr = res.err
	case resultFatal:
		st.fatalErr, st.fatalReason = res.err, res.reason
	case resultDestinationFailed:
		f := res
		b.failure = &f
		st.markDone(b, i, j)
		st.fail(res.reason, n)
		st.permanent = append(st.permanent, res.err)
	default: // resultPermanent
		st.markDone(b, i, j)
		st.fail(res.reason, n)
		st.permanent = append(st.permanent, res.err)
	}
}

func (st *pushState) markDone(b *batch, i, j int) {
	for _, r := range b.rows[i:j] {
		st.done[r.record] = true
	}
}

func (st *pushState) fail(reason string, n int) {
	st.failed += n
	st.e.countFailed(reason, n)
}

func (e *logsExporter) countFailed(reason string, n int) {
	e.telemetry.ExporterOpenobserveFailedLogRecords.Add(context.Background(), int64(n),
		metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason))))
}

// result turns the outcome of the push into the error exporterhelper acts on.
func (st *pushState) result(ld plog.Logs) error {
	e := st.e
	if st.retimed > 0 {
		e.telemetry.ExporterOpenobserveRetimedLogRecords.Add(context.Background(), int64(st.retimed))
		e.logger.Debug("log records outside OpenObserve's ingestion window sent with _timestamp set to the export time",
			zap.Int("records", st.retimed), zap.Duration("max_event_age", e.cfg.MaxEventAge))
	}
	if st.dropped > 0 {
		e.logger.Warn("dropped log records outside OpenObserve's ingestion window (out_of_window: drop)",
			zap.Int("records", st.dropped), zap.Duration("max_event_age", e.cfg.MaxEventAge),
			zap.Duration("max_event_future", e.cfg.MaxEventFuture))
	}
	if st.retryErr != nil {
		if len(st.permanent) > 0 {
			// Those records will not be retried: say why now, the retry error is about others.
			st.warnDropped(st.permanent)
		}
		rest := unsent(ld, st.done)
		return consumererror.NewLogs(st.retryErr, rest)
	}
	errs := st.permanent
	if st.fatalErr != nil {
		left := 0
		for _, d := range st.done {
			if !d {
				left++
			}
		}
		if left > 0 {
			st.fail(st.fatalReason, left)
		}
		errs = append([]error{st.fatalErr}, errs...)
	}
	if len(errs) == 0 {
		return nil
	}
	if !st.acked {
		return consumererror.NewPermanent(joinDistinct(errs))
	}
	// Part of the push was stored (in its streams or, by an OpenObserve pipeline, in others),
	// the rest failed for good. exporterhelper cannot be told so: on any error it counts every
	// record of the push as failed, and with sending_queue off the receiver answers Firehose
	// with an error, so Firehose sends the whole request again and OpenObserve stores the
	// acknowledged rows twice. Reporting the push as a success (as an OTLP partial success
	// is) resends nothing and loses nothing more: the refused records cannot be stored by a
	// retry either. They are counted by reason and logged here.
	st.warnDropped(errs)
	return nil
}

// warnDropped logs the records of the push given up on for good, with why.
func (st *pushState) warnDropped(errs []error) {
	st.e.logger.Warn("log records OpenObserve cannot store were dropped",
		zap.Int("stored", st.stored), zap.Int("dropped", st.failed), zap.Error(joinDistinct(errs)))
}

// maxReportedErrors bounds the messages one push reports: a push of thousands of records can
// fail the same way many times.
const maxReportedErrors = 5

// joinDistinct joins errors, each message once, at most maxReportedErrors of them.
func joinDistinct(errs []error) error {
	seen := map[string]bool{}
	var out []error
	more := 0
	for _, err := range errs {
		msg := err.Error()
		if seen[msg] {
			continue
		}
		seen[msg] = true
		if len(out) == maxReportedErrors {
			more++
			continue
		}
		out = append(out, err)
	}
	if more > 0 {
		out = append(out, fmt.Errorf("and %d other errors", more))
	}
	return errors.Join(out...)
}

// unsent copies the log records of ld that are not done.
func unsent(ld plog.Logs, done []bool) plog.Logs {
	out := plog.NewLogs()
	idx := 0
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		var orl plog.ResourceLogs
		haveRL := false
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			var osl plog.ScopeLogs
			haveSL := false
			lrs := sl.LogRecords()
			for k := range lrs.Len() {
				if !done[idx] {
					if !haveRL {
						orl = out.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(orl.Resource())
						orl.SetSchemaUrl(rl.SchemaUrl())
						haveRL = true
					}
					if !haveSL {
						osl = orl.ScopeLogs().AppendEmpty()
						sl.Scope().CopyTo(osl.Scope())
						osl.SetSchemaUrl(sl.SchemaUrl())
						haveSL = true
					}
					lrs.At(k).CopyTo(osl.LogRecords().AppendEmpty())
				}
				idx++
			}
		}
	}
	return out
}

type resultKind int

const (
	resultStored            resultKind = iota // 200: stored, possibly with per-record failures
	resultTooLarge                            // split and retry the halves
	resultRetryable                           // retry later (throttling, 5xx, network)
	resultPermanent                           // this request's records cannot be stored
	resultDestinationFailed                   // no request to this destination can succeed
	resultFatal                               // no request at all can succeed
)

type sendResult struct {
	kind   resultKind
	stored int // records OpenObserve stored in the request's stream
	failed int // records it did not store there (resultStored)
	reason string
	err    error
	// acked: OpenObserve wrote some row of the request, in its stream or another one.
	acked bool
	// copyFailed counts rows an OpenObserve pipeline failed to write to streams other than the
	// request's, of copyReason (resultStored).
	copyFailed int
	copyReason string
}

// ingestAnswer is OpenObserve's answer to _json.
type ingestAnswer struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  []struct {
		Name       string `json:"name"`
		Successful int    `json:"successful"`
		Failed     int    `json:"failed"`
		Error      string `json:"error"`
	} `json:"status"`
}

// send posts one body of n records and interprets the answer.
func (e *logsExporter) send(ctx context.Context, b *batch, body []byte, n int) sendResult {
	dest := b.org + "/" + b.stream
	payload, encoding, release := e.compressor.compress(body)
	wireBytes := len(payload)
	reqBody := newRequestBody(payload, release)
	defer reqBody.unref() // after client.Do: the transport calls GetBody only before it returns
	first := reqBody.reader()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, first)
	if err != nil {
		_ = first.Close()
		return e.outcome(ctx, "permanent", sendResult{kind: resultPermanent, reason: reasonInvalid, err: fmt.Errorf("build the request to %s: %w", dest, err)})
	}
	req.ContentLength = int64(wireBytes)
	req.GetBody = func() (io.ReadCloser, error) { return reqBody.reader(), nil }
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", e.userAgent)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	if e.authorization != "" {
		req.Header.Set("Authorization", e.authorization)
	}

	started := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		return e.outcome(ctx, "retryable", sendResult{kind: resultRetryable, err: fmt.Errorf("send %d log records to %s: %w", n, dest, err)})
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()

	if ce := e.logger.Check(zap.DebugLevel, "openobserve request"); ce != nil {
		ce.Write(zap.String("organization", b.org), zap.String("stream", b.stream),
			zap.Int("records", n), zap.Int("bytes", len(body)), zap.Int("wire_bytes", wireBytes),
			zap.Int("status", resp.StatusCode), zap.Duration("duration", time.Since(started)))
	}

	var answer ingestAnswer
	parseErr := json.Unmarshal(raw, &answer)
	message := strings.TrimSpace(answer.Message)
	if message == "" && parseErr != nil {
		message = strings.TrimSpace(string(raw))
		if len(message) > 512 {
			message = message[:512] + "..."
		}
	}
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		return e.interpret(ctx, b, answer, parseErr, n)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		err := fmt.Errorf("OpenObserve is throttling ingestion into %s (%d): %s", dest, status, message)
		delay := retryAfter(resp.Header.Get("Retry-After"), e.now())
		if delay > e.throttleCap {
			err = fmt.Errorf("%w; it asked for a wait of %s, longer than retry_on_failure allows, so the retry comes after %s", err, delay, e.throttleCap)
			delay = e.throttleCap
		}
		return e.outcome(ctx, "throttled", sendResult{kind: resultRetryable, err: exporterhelper.NewThrottleRetry(err, delay)})
	case status == http.StatusRequestEntityTooLarge:
		return e.outcome(ctx, "too_large", sendResult{kind: resultTooLarge, reason: reasonTooLarge,
			err: fmt.Errorf("OpenObserve refused a single log record of %d bytes as too large (413) for %s: raise the body size limit of OpenObserve or of the proxy in front of it", len(body), dest)})
	case status == http.StatusBadRequest && isColumnLimit(message):
		return e.outcome(ctx, "too_large", sendResult{kind: resultTooLarge, reason: reasonTooManyColumns,
			err: fmt.Errorf("OpenObserve refused a single log record for having too many columns (400) for %s: %s; raise ZO_COLS_PER_RECORD_LIMIT or lower flatten_level", dest, message)})
	case status == http.StatusBadRequest:
		return e.outcome(ctx, "permanent", sendResult{kind: resultPermanent, reason: reasonInvalid,
			err: fmt.Errorf("OpenObserve rejected %d log records for %s as an invalid request (400): %s", n, dest, message)})
	case status == http.StatusUnauthorized:
		return e.outcome(ctx, "permanent", sendResult{kind: resultFatal, reason: reasonUnauthorized,
			err: errors.New("OpenObserve refused the credentials (401): check username and password, or access_key (base64 of user:secret, as OpenObserve's Firehose integration shows it)")})
	case status == http.StatusForbidden:
		return e.outcome(ctx, "permanent", sendResult{kind: resultDestinationFailed, reason: reasonUnauthorized,
			err: fmt.Errorf("OpenObserve does not allow these credentials to ingest into organization %q (403): check organization (or the openobserve.organization resource attribute) and the user's role", b.org)})
	case status == http.StatusNotFound:
		return e.outcome(ctx, "permanent", sendResult{kind: resultDestinationFailed, reason: reasonInvalid,
			err: fmt.Errorf("%s was not found (404): endpoint must be OpenObserve's base URL (e.g. https://api.openobserve.ai) and organization %q must exist", b.url, b.org)})
	case status == http.StatusUnsupportedMediaType:
		return e.outcome(ctx, "permanent", sendResult{kind: resultFatal, reason: reasonInvalid,
			err: fmt.Errorf("OpenObserve does not accept the request encoding (415): set compression to gzip, zstd, deflate or none: %s", message)})
	case status == http.StatusRequestTimeout || status >= 500:
		return e.outcome(ctx, "retryable", sendResult{kind: resultRetryable,
			err: fmt.Errorf("OpenObserve failed to ingest %d log records into %s (%d): %s", n, dest, status, message)})
	default:
		return e.outcome(ctx, "permanent", sendResult{kind: resultPermanent, reason: reasonInvalid,
			err: fmt.Errorf("OpenObserve rejected %d log records for %s (%d): %s", n, dest, status, message)})
	}
}

// interpret reads a 2xx answer. OpenObserve answers 200 even when it dropped records, and says
// so in "failed". Rows it stored cannot be told apart from those it dropped, so a partially
// failed request is never resent (that would duplicate the stored rows): its failures are
// counted and reported as permanent. Only a request of which nothing was written anywhere, for
// a reason that may pass, is retried.
//
// The answer has one status per stream written. Without an OpenObserve pipeline that is the
// request's stream; a pipeline can write the records to other streams instead or as well, so
// the sum of "successful" can reach the records sent while a stream failed. The request's own
// stream, when listed, says what was stored; failures of other streams are copies that were not
// written. When it is not listed (the pipeline routed the records elsewhere), the totals are
// read as the records', and failures beyond the records not stored are copies.
func (e *logsExporter) interpret(ctx context.Context, b *batch, answer ingestAnswer, parseErr error, n int) sendResult {
	dest := b.org + "/" + b.stream
	if parseErr != nil || (len(answer.Status) == 0 && answer.Code == 0) {
		return e.outcome(ctx, "permanent", sendResult{kind: resultPermanent, reason: reasonRejected,
			err: fmt.Errorf("%s answered 2xx without OpenObserve's ingestion status, so %d log records may not have been stored: endpoint must be OpenObserve's base URL (e.g. https://api.openobserve.ai)", b.url, n)})
	}
	if answer.Code == http.StatusServiceUnavailable || answer.Code == http.StatusTooManyRequests {
		return e.outcome(ctx, "throttled", sendResult{kind: resultRetryable,
			err: exporterhelper.NewThrottleRetry(fmt.Errorf("OpenObserve is throttling ingestion into %s (code %d in the answer): %s", dest, answer.Code, answer.Message), 0)})
	}
	written, failedRows, lastErr := 0, 0, ""
	own := -1
	for i, s := range answer.Status {
		written += max(s.Successful, 0)
		failedRows += max(s.Failed, 0)
		if s.Error != "" {
			lastErr = s.Error
		}
		if own < 0 && formatStreamName(s.Name) == b.stream {
			own = i
		}
	}
	var stored, copyFailed int
	ownErr, copyErr := lastErr, ""
	var copyStreams []string
	if own >= 0 {
		s := answer.Status[own]
		stored = min(max(s.Successful, 0), n)
		copyFailed = failedRows - max(s.Failed, 0)
		ownErr = s.Error
		for i, c := range answer.Status {
			if i != own && c.Failed > 0 {
				copyStreams = append(copyStreams, c.Name)
				if c.Error != "" {
					copyErr = c.Error
				}
			}
		}
	} else {
		stored = min(written, n)
		copyFailed = max(0, failedRows-(n-stored))
		copyErr = lastErr
		for _, c := range answer.Status {
			if c.Failed > 0 {
				copyStreams = append(copyStreams, c.Name)
			}
		}
	}
	failed := n - stored // records OpenObserve did not account for were not stored either
	if failed == 0 && copyFailed == 0 {
		return e.outcome(ctx, "success", sendResult{kind: resultStored, stored: n, acked: true})
	}
	if written == 0 && isTransient(lastErr) {
		return e.outcome(ctx, "retryable", sendResult{kind: resultRetryable,
			err: fmt.Errorf("OpenObserve stored none of %d log records for %s: %s", n, dest, lastErr)})
	}
	res := sendResult{kind: resultStored, stored: stored, failed: failed, acked: written > 0}
	if failed > 0 {
		res.reason = classify(ownErr)
		if ownErr == "" {
			ownErr = "no error given"
		}
		e.logger.Warn("OpenObserve did not store every log record of a request",
			zap.String("organization", b.org), zap.String("stream", b.stream),
			zap.Int("stored", stored), zap.Int("failed", failed), zap.String("reason", res.reason), zap.String("error", ownErr))
		res.err = fmt.Errorf("OpenObserve stored %d of %d log records for %s and dropped %d (%s): %s%s", stored, n, dest, failed, res.reason, ownErr, advice(res.reason))
	}
	if copyFailed > 0 {
		res.copyFailed, res.copyReason = copyFailed, classify(copyErr)
		if copyErr == "" {
			copyErr = "no error given"
		}
		e.logger.Warn("OpenObserve did not write every row to the other streams of its pipeline",
			zap.String("organization", b.org), zap.String("stream", b.stream), zap.Strings("failed_streams", copyStreams),
			zap.Int("records", n), zap.Int("failed", copyFailed), zap.String("reason", res.copyReason), zap.String("error", copyErr))
	}
	return e.outcome(ctx, "partial", res)
}

func (e *logsExporter) outcome(ctx context.Context, outcome string, r sendResult) sendResult {
	e.telemetry.ExporterOpenobserveRequests.Add(ctx, 1,
		metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome))))
	return r
}

// classify maps a per-record error reported by OpenObserve to a failure reason.
func classify(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "too old") || strings.Contains(m, "future") || strings.Contains(m, "ingest_allowed"):
		return reasonOutOfWindow
	case strings.Contains(m, "cast") || strings.Contains(m, "schema"):
		return reasonSchemaConflict
	case isColumnLimit(m):
		return reasonTooManyColumns
	default:
		return reasonRejected
	}
}

func advice(reason string) string {
	switch reason {
	case reasonOutOfWindow:
		return "; OpenObserve's ingestion window is narrower than max_event_age/max_event_future, or the clocks differ"
	case reasonSchemaConflict:
		return "; a field has a value of a type the stream's column cannot hold"
	default:
		return ""
	}
}

// isTransient reports whether a per-record error may pass on a retry.
func isTransient(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"timeout", "timed out", "temporar", "unavailable", "try again", "too many requests", "rate limit", "overload", "memory", "disk full", "quota"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func isColumnLimit(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "cols_per_record_limit") ||
		(strings.Contains(m, "column") && (strings.Contains(m, "limit") || strings.Contains(m, "accept")))
}

// maxRetryAfter bounds the wait a Retry-After header can ask for when nothing else bounds it
// (retries forever, or no retries), and keeps the arithmetic from overflowing.
const maxRetryAfter = 5 * time.Minute

// throttleCap is the longest wait a Retry-After may ask exporterhelper for under the retry
// policy rc. exporterhelper's retry sender waits max(backoff, Retry-After) and gives up at once
// when that wait would end past max_elapsed_time; its backoff alone never waits longer than
// max_interval × (1 + randomization_factor). A Retry-After capped at max_interval therefore
// leaves the point where exporterhelper gives up within the bound the backoff alone sets, and
// at half of max_elapsed_time it leaves room for at least one retry. A longer wait is reached by
// retrying every max_interval: each early retry costs one request that is throttled again.
func throttleCap(rc configretry.BackOffConfig) time.Duration {
	if !rc.Enabled || rc.MaxElapsedTime <= 0 {
		// Without retries the delay is not used; retrying forever, nothing makes a wait fatal.
		return maxRetryAfter
	}
	return max(0, min(rc.MaxInterval, rc.MaxElapsedTime/2, maxRetryAfter))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date. It returns the wait asked
// for, at most maxRetryAfter; 0 lets the backoff decide.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}
