package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// received is one request as the fake Firehose endpoint saw it.
type received struct {
	ctx       context.Context // the request's
	header    http.Header
	wire      []byte // the body as sent
	body      []byte // decompressed
	requestID string
	timestamp int64
	records   [][]byte
}

// fakeEndpoint is an HTTP endpoint that checks every request against Firehose's protocol and
// answers as respond says (a valid 200 when respond is nil or returns false).
type fakeEndpoint struct {
	t       *testing.T
	server  *httptest.Server
	respond func(n int, r received, w http.ResponseWriter) bool

	mu       sync.Mutex
	requests []received
}

func newFakeEndpoint(t *testing.T, respond func(n int, r received, w http.ResponseWriter) bool) *fakeEndpoint {
	f := &fakeEndpoint{t: t, respond: respond}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeEndpoint) serve(w http.ResponseWriter, req *http.Request) {
	t := f.t
	wire, err := io.ReadAll(req.Body)
	if !assert.NoError(t, err) {
		return
	}
	r := received{ctx: req.Context(), header: req.Header.Clone(), wire: wire, body: wire}
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, "/firehose", req.URL.Path)
	assert.Equal(t, "stream=cloudtrail", req.URL.RawQuery)
	assert.Equal(t, strconv.Itoa(len(wire)), req.Header.Get("Content-Length"))
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if assert.NoError(t, err) {
			r.body, err = io.ReadAll(zr)
			assert.NoError(t, err)
		}
	}
	var body firehoseBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if assert.NoError(t, dec.Decode(&body), "%s", r.body) {
		r.requestID, r.timestamp = body.RequestID, body.Timestamp
		assert.Equal(t, req.Header.Get(HeaderRequestID), body.RequestID, "the body's requestId is the header's")
		assert.NotEmpty(t, body.Records)
		assert.LessOrEqual(t, len(body.Records), FirehoseMaxRecords)
		for _, rec := range body.Records {
			data, err := base64.StdEncoding.Strict().DecodeString(rec.Data)
			assert.NoError(t, err)
			r.records = append(r.records, data)
		}
	}

	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	if f.respond != nil && f.respond(n, r, w) {
		return
	}
	answer(w, http.StatusOK, r.requestID)
}

// answer writes a Firehose response.
func answer(w http.ResponseWriter, status int, requestID string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusOK {
		_, _ = fmt.Fprintf(w, `{"requestId":%q,"timestamp":%d}`, requestID, time.Now().UnixMilli())
		return
	}
	_, _ = fmt.Fprintf(w, `{"requestId":%q,"timestamp":%d,"errorMessage":"failed %d"}`, requestID, time.Now().UnixMilli(), status)
}

func (f *fakeEndpoint) url() string { return f.server.URL + "/firehose?stream=cloudtrail" }

func (f *fakeEndpoint) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// fastSender is a Sender with short waits, so retries take milliseconds.
func fastSender(url string) *Sender {
	return &Sender{
		URL:            url,
		RetryDuration:  10 * time.Second,
		InitialBackoff: time.Millisecond,
		MaxBackoff:     4 * time.Millisecond,
	}
}

// allRecords concatenates the records of requests, skipping repeated request ids.
func allRecords(requests []received) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	for _, r := range requests {
		if !seen[r.requestID] {
			seen[r.requestID] = true
			out = append(out, r.records...)
		}
	}
	return out
}

func TestSendSendsFirehoseHeadersAndBody(t *testing.T) {
	tests := []struct {
		name       string
		configure  func(*Sender)
		wantHeader map[string]string
	}{
		{
			name:      "a bare sender sends the protocol headers and the default source arn",
			configure: func(*Sender) {},
		},
		{
			name: "an access key, a source arn and common attributes are sent",
			configure: func(s *Sender) {
				s.AccessKey = "c2VjcmV0OnRva2Vu"
				s.SourceARN = "arn:aws:firehose:eu-west-1:111111111111:deliverystream/ct"
				s.CommonAttributes = map[string]string{"env": "prod", "team": "<sec&ops>"}
			},
			wantHeader: map[string]string{
				HeaderAccessKey:        "c2VjcmV0OnRva2Vu",
				HeaderSourceARN:        "arn:aws:firehose:eu-west-1:111111111111:deliverystream/ct",
				HeaderCommonAttributes: `{"commonAttributes":{"env":"prod","team":"<sec&ops>"}}`,
			},
		},
		{
			name:       "a gzip sender says so",
			configure:  func(s *Sender) { s.Gzip = true },
			wantHeader: map[string]string{"Content-Encoding": "gzip"},
		},
	}
	records := ndjsonRecords(t, otelRecordsFile)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := newFakeEndpoint(t, nil)
			sender := fastSender(endpoint.url())
			tt.configure(sender)

			before := time.Now().UnixMilli()
			stats, err := sender.Send(context.Background(), records)
			require.NoError(t, err)
			after := time.Now().UnixMilli()

			requests := endpoint.received()
			require.Len(t, requests, 1)
			r := requests[0]
			want := map[string]string{
				HeaderProtocolVersion: "1.0",
				HeaderSourceARN:       DefaultSourceARN,
				"Content-Type":        "application/json",
				"User-Agent":          "Amazon Kinesis Data Firehose Agent/1.0",
				"Content-Length":      strconv.Itoa(len(r.wire)),
				HeaderRequestID:       r.requestID,
			}
			for k, v := range tt.wantHeader {
				want[k] = v
			}
			got := map[string]string{}
			for k, v := range r.header {
				require.Len(t, v, 1, "header %s", k)
				got[k] = v[0]
			}
			assert.Equal(t, want, got, "exactly Firehose's headers, no Accept-Encoding")
			assert.Regexp(t, uuidPattern, r.requestID)
			assert.GreaterOrEqual(t, r.timestamp, before)
			assert.LessOrEqual(t, r.timestamp, after)
			assert.Equal(t, records, r.records)

			assert.Equal(t, Stats{
				Records: len(records), RecordsSent: len(records), Batches: 1, Requests: 1,
				Bytes: int64(len(r.body)), WireBytes: int64(len(r.wire)),
			}, stats)
		})
	}
}

func TestSendRetriesWithTheSameRequestIDAndBody(t *testing.T) {
	failures := []struct {
		name    string
		respond func(w http.ResponseWriter, r received)
	}{
		{name: "a 500 is retried", respond: func(w http.ResponseWriter, r received) { answer(w, 500, r.requestID) }},
		{name: "a 503 is retried", respond: func(w http.ResponseWriter, r received) { answer(w, 503, r.requestID) }},
		{name: "a 400 is retried, not discarded", respond: func(w http.ResponseWriter, r received) { answer(w, 400, r.requestID) }},
		{name: "a 401 is retried", respond: func(w http.ResponseWriter, r received) { answer(w, 401, r.requestID) }},
		{name: "a 429 is retried", respond: func(w http.ResponseWriter, r received) { answer(w, 429, r.requestID) }},
		{name: "a 202 is retried: only 200 is success", respond: func(w http.ResponseWriter, r received) { answer(w, 202, r.requestID) }},
		{name: "a 204 is retried", respond: func(w http.ResponseWriter, _ received) { w.WriteHeader(204) }},
		{name: "a redirect is not followed but retried", respond: func(w http.ResponseWriter, _ received) {
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(http.StatusTemporaryRedirect)
		}},
		{name: "a 200 with an empty body is retried", respond: func(w http.ResponseWriter, _ received) { w.WriteHeader(200) }},
		{name: "a 200 with another request's id is retried", respond: func(w http.ResponseWriter, _ received) { answer(w, 200, newUUID()) }},
		{name: "a 200 without timestamp is retried", respond: func(w http.ResponseWriter, r received) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"requestId":%q}`, r.requestID)
		}},
		{name: "a 200 in text/plain is retried", respond: func(w http.ResponseWriter, r received) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = fmt.Fprintf(w, `{"requestId":%q,"timestamp":1}`, r.requestID)
		}},
		{name: "a dropped connection is retried", respond: func(w http.ResponseWriter, _ received) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}},
	}
	records := ndjsonRecords(t, otelRecordsFile)
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := newFakeEndpoint(t, func(n int, r received, w http.ResponseWriter) bool {
				if n < 2 {
					tt.respond(w, r)
					return true
				}
				return false
			})
			sender := fastSender(endpoint.url())
			sender.Gzip = true

			stats, err := sender.Send(context.Background(), records)
			require.NoError(t, err)

			requests := endpoint.received()
			require.Len(t, requests, 3)
			for _, r := range requests[1:] {
				assert.Equal(t, requests[0].header.Get(HeaderRequestID), r.header.Get(HeaderRequestID), "same request id")
				assert.Equal(t, requests[0].wire, r.wire, "same body, byte for byte")
			}
			assert.Equal(t, records, requests[2].records)
			assert.Equal(t, 3, stats.Requests)
			assert.Equal(t, 2, stats.Retries)
			assert.Equal(t, len(records), stats.RecordsSent)
			assert.Zero(t, stats.Undelivered())
			assert.Equal(t, int64(3*len(requests[0].wire)), stats.WireBytes)
			assert.NotEmpty(t, stats.LastError, "the last failure is kept")
		})
	}
}

func TestSendTimesOutAndRetries(t *testing.T) {
	endpoint := newFakeEndpoint(t, func(n int, r received, _ http.ResponseWriter) bool {
		if n == 0 {
			<-r.ctx.Done() // Hold the first request until the sender gives up on it.
			return true
		}
		return false
	})
	sender := fastSender(endpoint.url())
	sender.RequestTimeout = 50 * time.Millisecond

	stats, err := sender.Send(context.Background(), [][]byte{[]byte(`{}`)})
	require.NoError(t, err)
	assert.Equal(t, 2, stats.Requests)
	assert.Contains(t, stats.LastError, "deadline exceeded")
}

func TestSendDoesNotRetryA413(t *testing.T) {
	endpoint := newFakeEndpoint(t, func(_ int, r received, w http.ResponseWriter) bool {
		answer(w, http.StatusRequestEntityTooLarge, r.requestID)
		return true
	})
	records := ndjsonRecords(t, otelRecordsFile)

	stats, err := fastSender(endpoint.url()).Send(context.Background(), records)
	require.ErrorIs(t, err, ErrUndelivered)
	assert.Len(t, endpoint.received(), 1)
	assert.Equal(t, 1, stats.Requests)
	assert.Zero(t, stats.Retries)
	assert.Equal(t, len(records), stats.RecordsDropped)
	assert.Equal(t, 1, stats.BatchesDropped)
	assert.Zero(t, stats.RecordsSent)
	assert.Zero(t, stats.RecordsFailed)
	assert.Contains(t, stats.LastError, "413")
	assert.Contains(t, stats.LastError, "failed 413", "the endpoint's errorMessage is kept")
}

func TestSendGivesUpWhenTheRetryDurationHasPassed(t *testing.T) {
	tests := []struct {
		name          string
		retryDuration time.Duration
		wantRequests  func(t *testing.T, n int)
	}{
		{
			name:          "a negative retry duration means one attempt",
			retryDuration: -1,
			wantRequests:  func(t *testing.T, n int) { assert.Equal(t, 1, n) },
		},
		{
			name:          "a short retry duration allows a few retries",
			retryDuration: 40 * time.Millisecond,
			wantRequests: func(t *testing.T, n int) {
				assert.Greater(t, n, 2)
				assert.Less(t, n, 40, "backoff spaces the attempts")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := newFakeEndpoint(t, func(_ int, r received, w http.ResponseWriter) bool {
				answer(w, http.StatusServiceUnavailable, r.requestID)
				return true
			})
			sender := fastSender(endpoint.url())
			sender.RetryDuration = tt.retryDuration
			sender.MaxRecords = 2

			start := time.Now()
			stats, err := sender.Send(context.Background(), [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`)})
			require.ErrorIs(t, err, ErrUndelivered)
			assert.Less(t, time.Since(start), 5*time.Second)

			requests := endpoint.received()
			ids := map[string]int{}
			for _, r := range requests {
				ids[r.requestID]++
			}
			require.Len(t, ids, 2, "two batches")
			for _, n := range ids {
				tt.wantRequests(t, n)
			}
			assert.Equal(t, 3, stats.RecordsFailed)
			assert.Equal(t, 2, stats.BatchesFailed)
			assert.Equal(t, len(requests), stats.Requests)
			assert.Equal(t, len(requests)-2, stats.Retries)
			assert.Contains(t, err.Error(), "status 503")
		})
	}
}

func TestSendBatchesBySizeAndCount(t *testing.T) {
	records := ndjsonRecords(t, otelRecordsFile)
	for i := range 60 {
		records = append(records, fmt.Appendf(nil, `{"eventID":"%d","pad":"%s"}`, i, strings.Repeat("x", i*37)))
	}
	tests := []struct {
		name       string
		maxBytes   int
		maxRecords int
	}{
		{name: "the default limits put everything in one request"},
		{name: "at most 7 records go in a request", maxRecords: 7},
		{name: "a request body stays within 4000 bytes", maxBytes: 4000},
		{name: "both limits hold together", maxBytes: 3000, maxRecords: 5},
		{name: "a record larger than the limit goes alone", maxBytes: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := newFakeEndpoint(t, nil)
			sender := fastSender(endpoint.url())
			sender.MaxBatchBytes, sender.MaxRecords = tt.maxBytes, tt.maxRecords
			maxBytes, maxRecords := cmpOr(tt.maxBytes, DefaultMaxBatchBytes), cmpOr(tt.maxRecords, FirehoseMaxRecords)

			stats, err := sender.Send(context.Background(), records)
			require.NoError(t, err)
			requests := endpoint.received()
			assert.Equal(t, records, allRecords(requests), "every record once, in order")
			assert.Equal(t, len(requests), stats.Batches)

			next := 0
			for i, r := range requests {
				next += len(r.records)
				assert.LessOrEqual(t, len(r.records), maxRecords)
				if len(r.records) > 1 {
					assert.LessOrEqual(t, len(r.body), maxBytes, "request %d", i)
				}
				if i < len(requests)-1 && len(r.records) < maxRecords {
					// Greedy: the next record would not have fitted.
					withNext := RequestBody(r.requestID, time.UnixMilli(r.timestamp), append(slices.Clone(r.records), records[next]))
					assert.Greater(t, len(withNext), maxBytes, "request %d could have taken one more record", i)
				}
			}
		})
	}
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func TestSendSkipsRecordsFirehoseWouldRefuse(t *testing.T) {
	endpoint := newFakeEndpoint(t, nil)
	huge := bytes.Repeat([]byte("x"), FirehoseMaxRecordBytes+1)
	largest := bytes.Repeat([]byte("y"), FirehoseMaxRecordBytes)

	stats, err := fastSender(endpoint.url()).Send(context.Background(), [][]byte{[]byte(`{}`), huge, largest})
	require.ErrorIs(t, err, ErrUndelivered)
	assert.Equal(t, 1, stats.RecordsSkipped)
	assert.Equal(t, 2, stats.RecordsSent)
	assert.Equal(t, [][]byte{[]byte(`{}`), largest}, allRecords(endpoint.received()))
}

func TestSendInParallelDeliversEveryRecord(t *testing.T) {
	endpoint := newFakeEndpoint(t, func(n int, r received, w http.ResponseWriter) bool {
		if n%3 == 0 {
			answer(w, 500, r.requestID)
			return true
		}
		return false
	})
	var records [][]byte
	for i := range 100 {
		records = append(records, fmt.Appendf(nil, `{"eventID":"%d"}`, i))
	}
	sender := fastSender(endpoint.url())
	sender.MaxRecords, sender.Concurrency = 5, 4

	stats, err := sender.Send(context.Background(), records)
	require.NoError(t, err)
	got := allRecords(endpoint.received())
	assert.ElementsMatch(t, records, got)
	assert.Equal(t, 20, stats.Batches)
	assert.Equal(t, 100, stats.RecordsSent)
	assert.Equal(t, stats.Requests-20, stats.Retries)
}

func TestSendReportsProgress(t *testing.T) {
	endpoint := newFakeEndpoint(t, func(n int, r received, w http.ResponseWriter) bool {
		if n == 1 {
			answer(w, 500, r.requestID)
			return true
		}
		return false
	})
	var reports []Stats
	sender := fastSender(endpoint.url())
	sender.MaxRecords = 3
	sender.Progress = func(s Stats) { reports = append(reports, s) }

	stats, err := sender.Send(context.Background(), ndjsonRecords(t, otelRecordsFile))
	require.NoError(t, err)
	require.Len(t, reports, 4, "one report per request")
	for i, s := range reports {
		assert.Equal(t, i+1, s.Requests)
	}
	assert.Equal(t, 3, reports[0].RecordsSent)
	assert.Equal(t, 3, reports[1].RecordsSent, "the failed request delivered nothing")
	assert.Contains(t, reports[1].LastError, "status 500", "the failure is reported")
	assert.Equal(t, 1, reports[2].Retries)
	assert.Equal(t, stats, reports[3])
}

func TestProgressPrinterWritesAtMostOncePerInterval(t *testing.T) {
	var every, never bytes.Buffer
	printEvery, printNever := ProgressPrinter(&every, 0), ProgressPrinter(&never, time.Hour)
	for i := range 3 {
		s := Stats{Records: i + 1, RecordsSent: i + 1, Requests: i + 1}
		printEvery(s)
		printNever(s)
	}
	lines := strings.Split(strings.TrimSpace(every.String()), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[2], "records=3 sent=3")
	assert.True(t, strings.HasPrefix(lines[0], "progress: elapsed="))
	assert.Empty(t, never.String())
}

func TestSendStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	endpoint := newFakeEndpoint(t, func(_ int, r received, w http.ResponseWriter) bool {
		answer(w, 500, r.requestID)
		return true
	})
	sender := fastSender(endpoint.url())
	sender.RetryDuration, sender.InitialBackoff = MaxRetryDuration, time.Hour
	sender.MaxRecords = 1
	sender.Progress = func(Stats) { cancel() } // Cancel while the first batch waits to retry.

	start := time.Now()
	stats, err := sender.Send(ctx, [][]byte{[]byte(`{}`), []byte(`{}`), []byte(`{}`)})
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, 1, stats.Requests, "no request after the end")
	assert.GreaterOrEqual(t, stats.RecordsFailed, 1)
	assert.Zero(t, stats.RecordsSent)
}

func TestSendSeqSendsWhatWasReadBeforeAnInputError(t *testing.T) {
	endpoint := newFakeEndpoint(t, nil)
	broken := fmt.Errorf("disk on fire")
	stats, err := fastSender(endpoint.url()).SendSeq(context.Background(), func(yield func([]byte, error) bool) {
		if yield([]byte(`{"a":1}`), nil) {
			yield(nil, broken)
		}
	})
	require.ErrorIs(t, err, broken)
	assert.Equal(t, 1, stats.RecordsSent)
	assert.Equal(t, [][]byte{[]byte(`{"a":1}`)}, allRecords(endpoint.received()))
}

func TestSendOfNoRecordsMakesNoRequest(t *testing.T) {
	endpoint := newFakeEndpoint(t, nil)
	stats, err := fastSender(endpoint.url()).Send(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, Stats{}, stats)
	assert.Empty(t, endpoint.received())
}

func TestSenderValidate(t *testing.T) {
	tooMany := map[string]string{}
	for i := range 51 {
		tooMany[strconv.Itoa(i)] = "v"
	}
	tests := []struct {
		name      string
		configure func(*Sender)
		want      string
	}{
		{name: "a relative url is refused", configure: func(s *Sender) { s.URL = "/firehose" }, want: "url"},
		{name: "a non-http url is refused", configure: func(s *Sender) { s.URL = "ftp://host/x" }, want: "url"},
		{name: "a batch over 64 MiB is refused", configure: func(s *Sender) { s.MaxBatchBytes = 64<<20 + 1 }, want: "max batch bytes"},
		{name: "a negative batch size is refused", configure: func(s *Sender) { s.MaxBatchBytes = -1 }, want: "max batch bytes"},
		{name: "more than 10000 records per batch are refused", configure: func(s *Sender) { s.MaxRecords = 10_001 }, want: "max records"},
		{name: "a retry duration over 2 hours is refused", configure: func(s *Sender) { s.RetryDuration = 7201 * time.Second }, want: "retry duration"},
		{name: "more than 50 common attributes are refused", configure: func(s *Sender) { s.CommonAttributes = tooMany }, want: "common attributes: 51"},
		{name: "a long common attribute key is refused", configure: func(s *Sender) { s.CommonAttributes = map[string]string{strings.Repeat("k", 257): "v"} }, want: "key"},
		{name: "a long common attribute value is refused", configure: func(s *Sender) { s.CommonAttributes = map[string]string{"k": strings.Repeat("v", 1025)} }, want: "value over 1024"},
		{name: "an access key over 4096 bytes is refused", configure: func(s *Sender) { s.AccessKey = strings.Repeat("a", 4097) }, want: "access key"},
		{name: "a negative backoff is refused", configure: func(s *Sender) { s.InitialBackoff = -time.Second }, want: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Sender{URL: "http://localhost:1/x"}
			require.NoError(t, s.Validate())
			tt.configure(s)
			err := s.Validate()
			require.ErrorContains(t, err, tt.want)
			_, err = s.Send(context.Background(), [][]byte{[]byte(`{}`)})
			assert.ErrorContains(t, err, "invalid sender configuration")
		})
	}
}

func TestStatsStringIsOneLine(t *testing.T) {
	s := Stats{Records: 3, RecordsSent: 2, RecordsDropped: 1, Batches: 1, Requests: 2, Retries: 0, LastError: "status 413\nx"}
	line := s.String()
	assert.NotContains(t, line, "\n")
	assert.Contains(t, line, "records=3 sent=2 failed=0 dropped=1 skipped=0")
	assert.Equal(t, 1, s.Undelivered())
}
