package replay

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

// Sender defaults, Firehose's own where Firehose has one.
const (
	DefaultSourceARN      = "arn:aws:firehose:us-east-1:123456789012:deliverystream/firehose-replay"
	DefaultMaxBatchBytes  = FirehoseMinBodyBytes
	DefaultRetryDuration  = 300 * time.Second
	MaxRetryDuration      = 7200 * time.Second
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 2 * time.Minute
	DefaultRequestTimeout = 3 * time.Minute
	backoffJitter         = 0.15
)

// ErrUndelivered is returned (wrapped) by Send when some records were not delivered: their
// batch failed for the whole retry duration, was answered 413, or the record was too large for
// Firehose. Stats says how many.
var ErrUndelivered = errors.New("records not delivered")

// Sender delivers records to a Firehose HTTP endpoint the way Firehose does. The zero value
// plus a URL is ready to use; a Sender may be used for several Sends, also at once.
type Sender struct {
	// URL is the endpoint, path and query included; Firehose follows no redirects.
	URL string
	// AccessKey goes in X-Amz-Firehose-Access-Key; none is sent when it is empty.
	AccessKey string
	// SourceARN goes in X-Amz-Firehose-Source-Arn; default DefaultSourceARN.
	SourceARN string
	// CommonAttributes go in X-Amz-Firehose-Common-Attributes when there are any (at most 50;
	// keys up to 256 characters, values up to 1024).
	CommonAttributes map[string]string
	// Gzip compresses request bodies (Content-Encoding: gzip).
	Gzip bool
	// MaxBatchBytes bounds a request body before compression; default DefaultMaxBatchBytes
	// (1 MiB, Firehose's smallest buffer), at most FirehoseMaxBodyBytes (64 MiB). A record that
	// does not fit on its own is sent alone.
	MaxBatchBytes int
	// MaxRecords bounds the records of one request; default and maximum FirehoseMaxRecords.
	MaxRecords int
	// RetryDuration is how long a failing batch is retried after its first attempt, at most
	// 2 hours; zero means DefaultRetryDuration (300 s, Firehose's default) and a negative value
	// no retries (Firehose's retry duration 0).
	RetryDuration time.Duration
	// InitialBackoff is the wait before the first retry, doubled for each next one (±15 %) up
	// to MaxBackoff; defaults 1 s and 2 min, Firehose's. Tests shorten them.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// RequestTimeout bounds one request; default 3 minutes, Firehose's.
	RequestTimeout time.Duration
	// Concurrency is the number of requests in flight; default 1.
	Concurrency int
	// Client sends the requests. The default follows no redirects and does not ask for
	// compressed responses (Firehose neither asks nor accepts them).
	Client *http.Client
	// TLSConfig configures the default client's TLS (ignored when Client is set).
	TLSConfig *tls.Config
	// Progress, when set, is called with the statistics so far after every request and when a
	// batch is given up. Calls do not overlap.
	Progress func(Stats)
}

// Stats count what a Send did.
type Stats struct {
	Records        int // records taken from the input
	RecordsSent    int // in batches answered 200 with a valid response
	RecordsFailed  int // in batches that failed for the whole retry duration (Firehose backs them up to S3)
	RecordsDropped int // in batches answered 413 (Firehose drops them)
	RecordsSkipped int // over FirehoseMaxRecordBytes: Firehose would never have taken them
	Batches        int // batches delivered
	BatchesFailed  int
	BatchesDropped int
	Requests       int   // HTTP requests made, retries included
	Retries        int   // requests that repeated an earlier one
	Bytes          int64 // request bodies of delivered batches, before compression
	WireBytes      int64 // request bodies of every request, as sent
	LastError      string
}

// Undelivered is the number of records that did not reach the endpoint.
func (s Stats) Undelivered() int {
	return s.RecordsFailed + s.RecordsDropped + s.RecordsSkipped
}

// String is a one-line summary.
func (s Stats) String() string {
	line := fmt.Sprintf("records=%d sent=%d failed=%d dropped=%d skipped=%d batches=%d requests=%d retries=%d bytes=%d wire_bytes=%d",
		s.Records, s.RecordsSent, s.RecordsFailed, s.RecordsDropped, s.RecordsSkipped,
		s.Batches, s.Requests, s.Retries, s.Bytes, s.WireBytes)
	if s.LastError != "" {
		line += fmt.Sprintf(" last_error=%q", s.LastError)
	}
	return line
}

// Validate checks the configuration.
func (s *Sender) Validate() error {
	var errs []error
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q: want an absolute http or https URL", s.URL))
	}
	if len(s.AccessKey) > maxAccessKeyBytes {
		errs = append(errs, fmt.Errorf("access key: %d bytes, at most %d", len(s.AccessKey), maxAccessKeyBytes))
	}
	if len(s.CommonAttributes) > maxCommonAttributes {
		errs = append(errs, fmt.Errorf("common attributes: %d, at most %d", len(s.CommonAttributes), maxCommonAttributes))
	}
	for _, k := range slices.Sorted(maps.Keys(s.CommonAttributes)) {
		if k == "" || len([]rune(k)) > maxCommonAttributeKey {
			errs = append(errs, fmt.Errorf("common attribute key %q: want 1 to %d characters", k, maxCommonAttributeKey))
		}
		if v := s.CommonAttributes[k]; len([]rune(v)) > maxCommonAttributeVal {
			errs = append(errs, fmt.Errorf("common attribute %q: value over %d characters", k, maxCommonAttributeVal))
		}
	}
	if s.MaxBatchBytes < 0 || s.MaxBatchBytes > FirehoseMaxBodyBytes {
		errs = append(errs, fmt.Errorf("max batch bytes %d: want 0 (default) to %d", s.MaxBatchBytes, FirehoseMaxBodyBytes))
	}
	if s.MaxRecords < 0 || s.MaxRecords > FirehoseMaxRecords {
		errs = append(errs, fmt.Errorf("max records %d: want 0 (default) to %d", s.MaxRecords, FirehoseMaxRecords))
	}
	if s.RetryDuration > MaxRetryDuration {
		errs = append(errs, fmt.Errorf("retry duration %s: at most %s", s.RetryDuration, MaxRetryDuration))
	}
	if s.InitialBackoff < 0 || s.MaxBackoff < 0 || s.RequestTimeout < 0 || s.Concurrency < 0 {
		errs = append(errs, errors.New("initial backoff, max backoff, request timeout and concurrency must not be negative"))
	}
	return errors.Join(errs...)
}

// Send delivers records in batches and returns what happened. The error wraps ErrUndelivered
// when records were not delivered, and is the context's error when ctx ended first.
func (s *Sender) Send(ctx context.Context, records [][]byte) (Stats, error) {
	return s.SendSeq(ctx, func(yield func([]byte, error) bool) {
		for _, r := range records {
			if !yield(r, nil) {
				return
			}
		}
	})
}

// SendSeq is Send over a stream of records, so that an archive of any size is sent in bounded
// memory. A record's bytes must stay unchanged until Send returns. An error from the stream
// stops reading; the records read before it are still sent, and the error is returned.
func (s *Sender) SendSeq(ctx context.Context, records iter.Seq2[[]byte, error]) (Stats, error) {
	if err := s.Validate(); err != nil {
		return Stats{}, fmt.Errorf("invalid sender configuration: %w", err)
	}
	d, closeClient := s.newDelivery()
	defer closeClient()

	batches := make(chan [][]byte)
	var wg sync.WaitGroup
	for range d.concurrency {
		wg.Go(func() {
			for b := range batches {
				d.deliver(ctx, b)
			}
		})
	}
	dispatch := func(b [][]byte) error {
		select {
		case batches <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	inputErr := func() error {
		var pending [][]byte
		// size counts a separating comma for every pending record: the body is one byte shorter.
		size := requestBodyFixedLength
		for r, err := range records {
			if err != nil {
				if len(pending) > 0 && ctx.Err() == nil {
					_ = dispatch(pending)
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			d.countRecord(r)
			if len(r) > FirehoseMaxRecordBytes {
				continue
			}
			n := encodedRecordLen(r)
			if len(pending) > 0 && (size+n-1 > d.maxBatchBytes || len(pending) == d.maxRecords) {
				if err := dispatch(pending); err != nil {
					return err
				}
				pending, size = nil, requestBodyFixedLength
			}
			pending = append(pending, r)
			size += n
		}
		if len(pending) > 0 {
			return dispatch(pending)
		}
		return nil
	}()
	close(batches)
	wg.Wait()

	stats := d.snapshot()
	var errs []error
	if inputErr != nil {
		errs = append(errs, inputErr)
	} else if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if n := stats.Undelivered(); n > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d records (failed %d, dropped %d, skipped %d); last error: %s",
			ErrUndelivered, n, stats.Records, stats.RecordsFailed, stats.RecordsDropped, stats.RecordsSkipped, stats.LastError))
	}
	return stats, errors.Join(errs...)
}

// delivery is one Send's resolved configuration and its running statistics.
type delivery struct {
	url            string
	header         http.Header
	gzip           bool
	maxBatchBytes  int
	maxRecords     int
	retryDuration  time.Duration // zero: no retries
	initialBackoff time.Duration
	maxBackoff     time.Duration
	requestTimeout time.Duration
	concurrency    int
	client         *http.Client
	progress       func(Stats)

	mu    sync.Mutex
	stats Stats
}

// newDelivery resolves the defaults; the returned func releases the default client's
// connections.
func (s *Sender) newDelivery() (*delivery, func()) {
	d := &delivery{
		url:            s.URL,
		header:         s.header(),
		gzip:           s.Gzip,
		maxBatchBytes:  cmp.Or(s.MaxBatchBytes, DefaultMaxBatchBytes),
		maxRecords:     cmp.Or(s.MaxRecords, FirehoseMaxRecords),
		retryDuration:  cmp.Or(s.RetryDuration, DefaultRetryDuration),
		initialBackoff: cmp.Or(s.InitialBackoff, DefaultInitialBackoff),
		maxBackoff:     cmp.Or(s.MaxBackoff, DefaultMaxBackoff),
		requestTimeout: cmp.Or(s.RequestTimeout, DefaultRequestTimeout),
		concurrency:    cmp.Or(s.Concurrency, 1),
		client:         s.Client,
		progress:       s.Progress,
	}
	d.retryDuration = max(d.retryDuration, 0)
	if d.client != nil {
		return d, func() {}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DisableCompression = true
	if s.TLSConfig != nil {
		transport.TLSClientConfig = s.TLSConfig
	}
	d.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return d, transport.CloseIdleConnections
}

// header returns the headers every request carries; the request id is added per batch.
func (s *Sender) header() http.Header {
	h := http.Header{}
	h.Set(HeaderProtocolVersion, ProtocolVersion)
	h.Set(HeaderSourceARN, cmp.Or(s.SourceARN, DefaultSourceARN))
	if s.AccessKey != "" {
		h.Set(HeaderAccessKey, s.AccessKey)
	}
	if len(s.CommonAttributes) > 0 {
		h.Set(HeaderCommonAttributes, string(CommonAttributesHeader(s.CommonAttributes)))
	}
	h.Set("Content-Type", "application/json")
	if s.Gzip {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("User-Agent", UserAgent)
	return h
}

// CommonAttributesHeader returns the X-Amz-Firehose-Common-Attributes value for attrs:
// {"commonAttributes":{"k":"v",…}}, keys sorted.
func CommonAttributesHeader(attrs map[string]string) []byte {
	b := []byte(`{"commonAttributes":{`)
	for i, k := range slices.Sorted(maps.Keys(attrs)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonwrite.AppendString(b, k)
		b = append(b, ':')
		b = jsonwrite.AppendString(b, attrs[k])
	}
	return append(b, "}}"...)
}

func (d *delivery) countRecord(r []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Records++
	if len(r) > FirehoseMaxRecordBytes {
		d.stats.RecordsSkipped++
		d.stats.LastError = fmt.Sprintf("record of %d bytes skipped: over Firehose's %d", len(r), FirehoseMaxRecordBytes)
	}
}

func (d *delivery) snapshot() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// outcome is how one request ended.
type outcome int

const (
	outcomeDelivered outcome = iota
	outcomeDropped           // 413: Firehose drops the batch
	outcomeRetry             // anything else
)

// deliver sends one batch, retrying like Firehose: the same body and request id, after a
// backoff of 1 s doubling (±15 %, at most 2 min), until the retry duration has passed.
func (d *delivery) deliver(ctx context.Context, records [][]byte) {
	if ctx.Err() != nil {
		d.record(func(s *Stats) {
			s.BatchesFailed++
			s.RecordsFailed += len(records)
		})
		return
	}
	id := newUUID()
	body := RequestBody(id, time.Now(), records)
	wire := body
	if d.gzip {
		wire = Gzip(body)
	}
	var deadline time.Time
	for retry := 0; ; retry++ {
		result, err := d.post(ctx, id, wire)
		d.record(func(s *Stats) {
			s.Requests++
			s.WireBytes += int64(len(wire))
			if retry > 0 {
				s.Retries++
			}
			if err != nil {
				s.LastError = err.Error()
			}
			switch result {
			case outcomeDelivered:
				s.Batches++
				s.RecordsSent += len(records)
				s.Bytes += int64(len(body))
			case outcomeDropped:
				s.BatchesDropped++
				s.RecordsDropped += len(records)
			}
		})
		if result != outcomeRetry {
			return
		}
		if retry == 0 {
			deadline = time.Now().Add(d.retryDuration)
		}
		wait := backoff(d.initialBackoff, d.maxBackoff, retry, (rand.Float64()*2-1)*backoffJitter) //nolint:gosec // jitter needs no crypto.
		if !time.Now().Add(wait).Before(deadline) || !sleep(ctx, wait) {
			d.record(func(s *Stats) {
				s.BatchesFailed++
				s.RecordsFailed += len(records)
			})
			return
		}
	}
}

// record updates the statistics and reports progress.
func (d *delivery) record(update func(*Stats)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	update(&d.stats)
	if d.progress != nil {
		d.progress(d.stats)
	}
}

// backoff is the wait before retry number retry+1: initial doubled retry times, at most
// maxWait, scaled by 1+jitter.
func backoff(initial, maxWait time.Duration, retry int, jitter float64) time.Duration {
	wait := initial
	for range retry {
		if wait >= maxWait {
			break
		}
		wait *= 2
	}
	wait = min(wait, maxWait)
	return time.Duration(float64(wait) * (1 + jitter))
}

// sleep waits for d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// post makes one request and classifies the answer.
func (d *delivery) post(ctx context.Context, requestID string, body []byte) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, d.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return outcomeRetry, fmt.Errorf("build request: %w", err)
	}
	req.Header = d.header.Clone()
	req.Header.Set(HeaderRequestID, requestID)
	resp, err := d.client.Do(req)
	if err != nil {
		return outcomeRetry, fmt.Errorf("request %s: %w", requestID, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return outcomeRetry, fmt.Errorf("request %s: read response: %w", requestID, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := checkResponse(resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"), respBody, requestID); err != nil {
			return outcomeRetry, fmt.Errorf("request %s: status 200: %w", requestID, err)
		}
		return outcomeDelivered, nil
	case http.StatusRequestEntityTooLarge:
		return outcomeDropped, fmt.Errorf("request %s: status 413, batch dropped%s", requestID, errorMessageSuffix(respBody))
	default:
		return outcomeRetry, fmt.Errorf("request %s: status %d%s", requestID, resp.StatusCode, errorMessageSuffix(respBody))
	}
}

func errorMessageSuffix(body []byte) string {
	if msg := responseErrorMessage(body); msg != "" {
		b, _ := json.Marshal(msg)
		return ": " + string(b)
	}
	return ""
}
