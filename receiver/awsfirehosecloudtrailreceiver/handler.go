package awsfirehosecloudtrailreceiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/firehose"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver/internal/metadata"
)

// handler answers Firehose requests. Only a 200 makes Firehose forget a batch, and it is
// sent only after the pipeline accepted every record of the request.
type handler struct {
	keys        firehose.KeySet
	maxBody     int64
	dropInvalid bool
	dedup       *firehose.Deduplicator
	next        consumer.Logs
	obsrecv     *receiverhelper.ObsReport
	telemetry   *metadata.TelemetryBuilder
	logger      *zap.Logger
	now         func() time.Time
	decoderOpts cloudtrail.Options
	decoders    sync.Pool
}

// openObservePath matches OpenObserve's Firehose URL scheme, /aws/{org}/{stream}/_kinesis_firehose.
var openObservePath = regexp.MustCompile(`^/aws/([^/]+)/([^/]+)/_kinesis_firehose/?$`)

// requestError is a failure answered with status and a Firehose errorMessage.
type requestError struct {
	status int
	msg    string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := h.now()
	headerID := r.Header.Get(firehose.HeaderRequestID)
	requestID, status, msg := h.serve(r, received, headerID)
	if requestID == "" {
		requestID = headerID
	}
	h.answer(w, r, requestID, status, msg)
}

// answerError answers a request the collector's HTTP server refused before it reached the
// handler (an auth extension's refusal) as Firehose reads an answer, and counts it.
func (h *handler) answerError(w http.ResponseWriter, r *http.Request, msg string, status int) {
	h.answer(w, r, r.Header.Get(firehose.HeaderRequestID), status, msg)
}

// answer counts and writes the answer to a request.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, requestID string, status int, msg string) {
	h.telemetry.ReceiverAwsfirehosecloudtrailRequests.Add(r.Context(), 1,
		metric.WithAttributes(attribute.String("status_code", strconv.Itoa(status))))
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	if status != http.StatusOK {
		h.logger.Debug("firehose request failed", zap.Int("status", status), zap.String("request_id", requestID),
			zap.String("error", msg), zap.String("remote", r.RemoteAddr))
	}
	firehose.WriteResponse(w, status, requestID, h.now(), msg)
}

// serve handles one request and returns the request id from the body (when it got that
// far), the status and the error message.
func (h *handler) serve(r *http.Request, received time.Time, headerID string) (requestID string, status int, msg string) {
	if r.Method != http.MethodPost {
		return "", http.StatusMethodNotAllowed, "only POST is accepted"
	}
	if h.keys.Len() > 0 && !h.keys.Match(r.Header.Get(firehose.HeaderAccessKey)) {
		return "", http.StatusUnauthorized, "missing or invalid " + firehose.HeaderAccessKey
	}
	body, rerr := h.readBody(r)
	if rerr != nil {
		return "", rerr.status, rerr.msg
	}
	h.telemetry.ReceiverAwsfirehosecloudtrailRequestBytes.Add(r.Context(), int64(len(body)))

	common, err := firehose.ParseCommonAttributes(r.Header.Get(firehose.HeaderCommonAttributes))
	if err != nil {
		return "", http.StatusBadRequest, err.Error()
	}
	req, err := firehose.ParseRequest(body, nil)
	if err != nil {
		return "", http.StatusBadRequest, err.Error()
	}
	if req.RequestID == "" {
		req.RequestID = headerID
	}
	if headerID != "" && req.RequestID != headerID {
		return req.RequestID, http.StatusBadRequest, fmt.Sprintf("requestId %q in the body does not match %s %q", req.RequestID, firehose.HeaderRequestID, headerID)
	}

	sourceARN := r.Header.Get(firehose.HeaderSourceARN)
	dedupKey := firehose.Key(sourceARN, req.RequestID)
	if h.dedup != nil && req.RequestID != "" {
		switch h.dedup.Begin(dedupKey, received) {
		case firehose.Duplicate:
			h.telemetry.ReceiverAwsfirehosecloudtrailDuplicateRequests.Add(r.Context(), 1)
			h.logger.Debug("retried request was already acknowledged", zap.String("request_id", req.RequestID))
			return req.RequestID, http.StatusOK, ""
		case firehose.InFlight:
			return req.RequestID, http.StatusServiceUnavailable, "the same request is being processed; retry later"
		}
	}

	decodeReq := cloudtrail.Request{
		SourceARN:        sourceARN,
		RequestID:        req.RequestID,
		CommonAttributes: common,
		Received:         received,
	}
	if m := openObservePath.FindStringSubmatch(r.URL.Path); m != nil {
		decodeReq.OpenObserveOrganization, decodeReq.OpenObserveStream = m[1], m[2]
	}
	err = h.consumeSafely(r.Context(), decodeReq, req.Records)
	if h.dedup != nil && req.RequestID != "" {
		h.dedup.Done(dedupKey, err == nil, h.now())
	}
	if err != nil {
		// Both are retried by Firehose, then backed up to S3: never a status that drops data.
		if consumererror.IsPermanent(err) {
			return req.RequestID, http.StatusInternalServerError, "pipeline rejected the records permanently: " + err.Error()
		}
		return req.RequestID, http.StatusServiceUnavailable, "pipeline did not accept the records: " + err.Error()
	}
	return req.RequestID, http.StatusOK, ""
}

// errPanic reports a bug met while decoding: the request fails (Firehose retries it and, in
// the end, backs it up to S3) instead of the collector crashing.
var errPanic = errors.New("internal error while decoding the records")

// consumeSafely is consume, turning a panic into an error so that the request is answered
// (and its id leaves the in-flight set) whatever happens.
func (h *handler) consumeSafely(ctx context.Context, req cloudtrail.Request, records []firehose.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			h.logger.Error("panic while decoding a firehose request", zap.String("request_id", req.RequestID),
				zap.Any("panic", p), zap.Stack("stack"))
			err = consumererror.NewPermanent(errPanic)
		}
	}()
	return h.consume(ctx, req, records)
}

// consume decodes the records into one plog.Logs and hands it to the pipeline.
func (h *handler) consume(ctx context.Context, req cloudtrail.Request, records []firehose.Record) error {
	dec, _ := h.decoders.Get().(*cloudtrail.Decoder)
	if dec == nil {
		dec = cloudtrail.NewDecoder(h.decoderOpts)
	}
	dec.Begin(req)
	for i, rec := range records {
		if rec.Err != nil {
			dec.AddInvalid(i, rec.Data, cloudtrail.ErrorTypeInvalidBase64, rec.Err)
			continue
		}
		dec.AddRecord(i, rec.Data)
	}
	logs, stats := dec.Finish()
	h.decoders.Put(dec)

	for shape, n := range stats.Shapes {
		h.telemetry.ReceiverAwsfirehosecloudtrailRecords.Add(ctx, int64(n), metric.WithAttributes(attribute.String("shape", shape)))
	}
	for reason, n := range stats.Invalid {
		h.telemetry.ReceiverAwsfirehosecloudtrailInvalidRecords.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
	if stats.ControlMessages > 0 {
		h.telemetry.ReceiverAwsfirehosecloudtrailControlMessages.Add(ctx, int64(stats.ControlMessages))
	}
	if len(stats.Invalid) > 0 {
		h.logInvalid(logs, req.RequestID)
		if h.dropInvalid {
			dropInvalid(logs)
		}
	}
	n := logs.LogRecordCount()
	if n == 0 {
		return nil
	}
	ctx = h.obsrecv.StartLogsOp(ctx)
	err := h.next.ConsumeLogs(ctx, logs)
	h.obsrecv.EndLogsOp(ctx, "firehose", n, err)
	return err
}

// logInvalid logs each invalid record at debug level.
func (h *handler) logInvalid(logs plog.Logs, requestID string) {
	if !h.logger.Core().Enabled(zap.DebugLevel) {
		return
	}
	forEachInvalid(logs, func(lr plog.LogRecord) {
		attrs := lr.Attributes().AsRaw()
		h.logger.Debug("invalid firehose record", zap.String("request_id", requestID),
			zap.Any("record", attrs[cloudtrail.KeyRecordIndex]), zap.Any("reason", attrs[cloudtrail.KeyErrorType]),
			zap.Any("error", attrs[cloudtrail.KeyErrorMessage]))
	})
}

func forEachInvalid(logs plog.Logs, f func(plog.LogRecord)) {
	for _, rl := range logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if lr.EventName() == cloudtrail.EventNameInvalidRecord {
					f(lr)
				}
			}
		}
	}
}

func dropInvalid(logs plog.Logs) {
	logs.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				return lr.EventName() == cloudtrail.EventNameInvalidRecord
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
}

// readBody reads the whole body, decompressing gzip, within maxBody bytes both before and
// after decompression.
func (h *handler) readBody(r *http.Request) ([]byte, *requestError) {
	var src io.Reader = http.MaxBytesReader(nil, r.Body, h.maxBody)
	sizeHint := int64(64 << 10)
	if r.ContentLength > 0 {
		sizeHint = min(r.ContentLength, h.maxBody)
	}
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, bodyError(err, "gzip")
		}
		defer zr.Close()
		src = zr
		sizeHint = min(sizeHint*4, h.maxBody) // Firehose bodies (base64 JSON) compress about 3-5x
	default:
		return nil, &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported Content-Encoding %q: only gzip is accepted", enc)}
	}
	body, err := readAll(io.LimitReader(src, h.maxBody+1), sizeHint)
	if err != nil {
		return nil, bodyError(err, "body")
	}
	if int64(len(body)) > h.maxBody {
		return nil, tooLarge(h.maxBody)
	}
	if cap(body)-len(body) > len(body)/4 {
		// The logs alias this buffer for as long as they live: do not let them keep a
		// guessed or doubled capacity too.
		body = bytes.Clone(body)
	}
	return body, nil
}

// readAll reads src to its end into one buffer that grows with what has arrived, so that a
// client that claims a large body and stalls holds memory in proportion to what it sent, not
// to what it claimed: the first allocation is at most firstRead bytes and each growth at most
// growth times the buffer (see nextSize). An honest body of hint bytes (the size it claimed)
// ends in a buffer of exactly its size; a 64 MiB body costs 1 + 8 MiB of buffers on the way.
func readAll(src io.Reader, hint int64) ([]byte, error) {
	buf := make([]byte, 0, min(hint, firstRead))
	for {
		if len(buf) == cap(buf) {
			// Full: look for more before growing, so that a body of exactly hint bytes
			// does not grow its buffer at the end.
			var probe [512]byte
			n, err := readSome(src, probe[:])
			if n == 0 {
				if err == io.EOF {
					err = nil
				}
				return buf, err
			}
			grown := make([]byte, len(buf), max(nextSize(cap(buf), hint), len(buf)+n))
			copy(grown, buf)
			buf = append(grown, probe[:n]...)
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return buf, err // a body cut short (io.ErrUnexpectedEOF) among them
			}
			continue
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// nextSize is the capacity a full buffer of size bytes grows to: growth times larger up to
// hint, or hint itself when that is less than a third further; past hint (a body longer than
// claimed) twice larger, as append grows.
func nextSize(size int, hint int64) int {
	if int64(size) >= hint {
		return size * 2
	}
	next := min(int64(size)*growth, hint)
	if next > hint-hint/4 {
		next = hint // rather than one more growth, and copy, for the last bytes
	}
	return int(next)
}

// readSome reads into p until it has some bytes or an error (a Reader may return 0, nil).
func readSome(src io.Reader, p []byte) (int, error) {
	for {
		if n, err := src.Read(p); n > 0 || err != nil {
			return n, err
		}
	}
}

const (
	firstRead = 1 << 20
	growth    = 8
)

func bodyError(err error, what string) *requestError {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return tooLarge(maxErr.Limit)
	}
	if what == "gzip" || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return &requestError{http.StatusBadRequest, "invalid gzip body: " + err.Error()}
	}
	return &requestError{http.StatusBadRequest, "reading the body: " + err.Error()}
}

func tooLarge(limit int64) *requestError {
	return &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds max_request_body_size (%d bytes)", limit)}
}
