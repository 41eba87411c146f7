package openobservetest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Default credentials of a server started without Options.Credentials.
const (
	DefaultUser     = "root@example.com"
	DefaultPassword = "Complexpass#123"
)

// Defaults of OpenObserve's ingestion limits.
const (
	DefaultColumnsLimit          = 1000
	DefaultMaxBodyBytes          = 200 << 20
	DefaultIngestAllowedUpto     = 5 * time.Hour
	DefaultIngestAllowedInFuture = 24 * time.Hour
)

// Options configures a Server. The zero value behaves like a default OpenObserve installation
// with one user, DefaultUser / DefaultPassword.
type Options struct {
	// Credentials maps user names to accepted secrets (a password or an ingestion token).
	Credentials map[string]string
	// Organizations, when not empty, are the only organizations ingestion is allowed into;
	// the others answer 403.
	Organizations []string
	// FlattenLevel is the streams' flatten level: 0 means DefaultFlattenLevel, a negative
	// value means unlimited.
	FlattenLevel int
	// ColumnsLimit is the most distinct columns one request may carry (ZO_COLS_PER_RECORD_LIMIT).
	ColumnsLimit int
	// MaxBodyBytes limits the request body, on the wire and decoded.
	MaxBodyBytes int64
	// IngestAllowedUpto is how old a record's _timestamp may be (ZO_INGEST_ALLOWED_UPTO).
	IngestAllowedUpto time.Duration
	// IngestAllowedInFuture is how far in the future a _timestamp may be (ZO_INGEST_ALLOWED_IN_FUTURE).
	IngestAllowedInFuture time.Duration
	// Now is the server's clock; time.Now when nil.
	Now func() time.Time
}

// Response is an answer injected in place of the normal processing of a request.
type Response struct {
	// Status is the HTTP status to answer.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Body is the response body; empty means an OpenObserve-style body for Status.
	Body string
	// Times is how many consecutive requests get this answer; 0 means 1.
	Times int
	// After is how many further requests are processed normally before this answer applies.
	After int
	// AfterStore processes and stores the request normally, then answers Status anyway:
	// an acknowledgement lost on the way back.
	AfterStore bool
}

// Request describes one request the server answered.
type Request struct {
	Org, Stream     string // Stream is the normalised stream name
	User            string
	ContentEncoding string
	Status          int
	WireBytes       int // body bytes as received
	BodyBytes       int // body bytes once decoded
	Records         int // records in the body
	Successful      int
	Failed          int
	Columns         int // distinct columns of the records that passed the timestamp checks
	Error           string
	Injected        bool
	Time            time.Time // when the request arrived
}

// Counters summarises the traffic.
type Counters struct {
	Requests int
	ByStatus map[int]int
	Stored   int // rows stored
	Failed   int // records counted in "failed" inside 200 answers
	Injected int // requests answered from Inject
}

// Stream names a stream that holds rows.
type Stream struct {
	Org, Name string
	Rows      int
}

type streamKey struct{ org, stream string }

// Server is a running test server.
type Server struct {
	opts Options
	http *httptest.Server

	mu        sync.Mutex
	rows      map[streamKey][]Row
	schemas   map[streamKey]schema
	requests  []Request
	counters  Counters
	injection []Response
}

// NewServer starts a server that is closed when the test ends.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := Start(opts)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server; the caller closes it.
func Start(opts Options) *Server {
	s := newServer(opts)
	s.http = httptest.NewServer(s.Handler())
	return s
}

func newServer(opts Options) *Server {
	if opts.Credentials == nil {
		opts.Credentials = map[string]string{DefaultUser: DefaultPassword}
	}
	switch {
	case opts.FlattenLevel == 0:
		opts.FlattenLevel = DefaultFlattenLevel
	case opts.FlattenLevel < 0:
		opts.FlattenLevel = 0
	}
	if opts.ColumnsLimit <= 0 {
		opts.ColumnsLimit = DefaultColumnsLimit
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.IngestAllowedUpto <= 0 {
		opts.IngestAllowedUpto = DefaultIngestAllowedUpto
	}
	if opts.IngestAllowedInFuture <= 0 {
		opts.IngestAllowedInFuture = DefaultIngestAllowedInFuture
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{
		opts:     opts,
		rows:     map[streamKey][]Row{},
		schemas:  map[streamKey]schema{},
		counters: Counters{ByStatus: map[int]int{}},
	}
}

// URL is the server's base URL, the exporter's endpoint.
func (s *Server) URL() string { return s.http.URL }

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// BasicToken returns base64(user:secret): the value after "Basic " in the Authorization
// header, and what OpenObserve's Firehose integration calls the access key.
func BasicToken(user, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))
}

// Inject queues answers for the next requests, in order.
func (s *Server) Inject(r Response) {
	if r.Times <= 0 {
		r.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injection = append(s.injection, r)
}

// ClearInjections drops the answers not used yet: the server answers normally again.
func (s *Server) ClearInjections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injection = nil
}

// Rows returns a copy of the rows stored in a stream (the name is normalised first).
func (s *Server) Rows(org, stream string) []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.rows[streamKey{org, FormatStreamName(stream)}]
	out := make([]Row, len(stored))
	for i, r := range stored {
		c := make(Row, len(r))
		for k, v := range r {
			c[k] = v
		}
		out[i] = c
	}
	return out
}

// RowCount returns the number of rows stored in a stream.
func (s *Server) RowCount(org, stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows[streamKey{org, FormatStreamName(stream)}])
}

// Streams lists the streams holding rows, sorted.
func (s *Server) Streams() []Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Stream, 0, len(s.rows))
	for k, rows := range s.rows {
		out = append(out, Stream{Org: k.org, Name: k.stream, Rows: len(rows)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Org != out[j].Org {
			return out[i].Org < out[j].Org
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Schema returns a copy of a stream's column types.
func (s *Server) Schema(org, stream string) map[string]ColumnType {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]ColumnType{}
	for k, t := range s.schemas[streamKey{org, FormatStreamName(stream)}] {
		out[k] = t
	}
	return out
}

// Requests returns the requests answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters
	c.ByStatus = make(map[int]int, len(s.counters.ByStatus))
	for k, v := range s.counters.ByStatus {
		c.ByStatus[k] = v
	}
	return c
}

// Handler returns the server's HTTP handler, to mount it elsewhere.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{org}/{stream}/_json", func(w http.ResponseWriter, r *http.Request) { s.ingest(w, r, false) })
	mux.HandleFunc("POST /api/{org}/{stream}/_multi", func(w http.ResponseWriter, r *http.Request) { s.ingest(w, r, true) })
	return mux
}

type streamStatus struct {
	Name       string `json:"name"`
	Successful int    `json:"successful"`
	Failed     int    `json:"failed"`
	Error      string `json:"error,omitempty"`
}

type ingestResponse struct {
	Code   int            `json:"code"`
	Status []streamStatus `json:"status"`
}

type errorResponse struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request, multi bool) {
	req := Request{
		Org:             r.PathValue("org"),
		Stream:          FormatStreamName(r.PathValue("stream")),
		ContentEncoding: r.Header.Get("Content-Encoding"),
		Time:            time.Now(),
	}

	injected, ok := s.nextInjection()
	if ok && !injected.AfterStore {
		req.Injected = true
		s.answerInjected(w, &req, injected)
		return
	}

	status, body := s.process(r, &req, multi)
	if ok {
		req.Injected = true
		s.answerInjected(w, &req, injected)
		return
	}
	req.Status = status
	s.finish(&req)
	writeJSON(w, status, body)
}

func (s *Server) nextInjection() (Response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.injection) == 0 {
		return Response{}, false
	}
	r := s.injection[0]
	if r.After > 0 {
		s.injection[0].After--
		return Response{}, false
	}
	r.Times--
	if r.Times <= 0 {
		s.injection = s.injection[1:]
	} else {
		s.injection[0] = r
	}
	return r, true
}

func (s *Server) answerInjected(w http.ResponseWriter, req *Request, inj Response) {
	req.Status = inj.Status
	s.mu.Lock()
	s.counters.Injected++
	s.mu.Unlock()
	s.finish(req)
	if inj.RetryAfter != "" {
		w.Header().Set("Retry-After", inj.RetryAfter)
	}
	if inj.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(inj.Status)
		_, _ = io.WriteString(w, inj.Body)
		return
	}
	if inj.Status == http.StatusOK {
		writeJSON(w, http.StatusOK, ingestResponse{Code: 200, Status: []streamStatus{{Name: req.Stream}}})
		return
	}
	writeJSON(w, inj.Status, errorResponse{Code: inj.Status, Message: http.StatusText(inj.Status)})
}

func (s *Server) finish(req *Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, *req)
	s.counters.Requests++
	s.counters.ByStatus[req.Status]++
}

func errorBody(status int, msg string) (int, any) {
	return status, errorResponse{Code: status, Message: msg}
}

// process runs the ingestion and returns the status and body to answer.
func (s *Server) process(r *http.Request, req *Request, multi bool) (int, any) {
	user, ok := s.authenticate(r)
	if !ok {
		req.Error = "unauthorized"
		return errorBody(http.StatusUnauthorized, "Unauthorized Access")
	}
	req.User = user
	if len(s.opts.Organizations) > 0 && !slices.Contains(s.opts.Organizations, req.Org) {
		req.Error = "forbidden"
		return errorBody(http.StatusForbidden, "Unauthorized Access")
	}

	wire, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.opts.MaxBodyBytes))
	req.WireBytes = len(wire)
	if err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			req.Error = "body too large"
			return errorBody(http.StatusRequestEntityTooLarge, "request body is too large")
		}
		req.Error = err.Error()
		return errorBody(http.StatusBadRequest, "cannot read the request body: "+err.Error())
	}
	body, status, err := s.decode(wire, req.ContentEncoding)
	req.BodyBytes = len(body)
	if err != nil {
		req.Error = err.Error()
		return errorBody(status, err.Error())
	}

	values, err := decodeValues(body, multi)
	if err != nil {
		req.Error = "invalid json: " + err.Error()
		return errorBody(http.StatusBadRequest, req.Error)
	}
	records := values
	if !multi {
		if arr, isArray := values[0].([]any); isArray {
			records = arr
		}
	}
	req.Records = len(records)

	now := s.opts.Now()
	oldest := now.Add(-s.opts.IngestAllowedUpto).UnixMicro()
	newest := now.Add(s.opts.IngestAllowedInFuture).UnixMicro()
	var (
		accepted []Row
		failed   int
		lastErr  string
	)
	fail := func(msg string) {
		failed++
		lastErr = msg
	}
	for _, rec := range records {
		obj, isObject := rec.(*object)
		if !isObject {
			fail("a record must be a JSON object, got " + kindOf(rec))
			continue
		}
		row := flattenObject(obj, s.opts.FlattenLevel)
		ts := now.UnixMicro()
		if v, has := row["_timestamp"]; has {
			if ts, err = parseTimestamp(v, now); err != nil {
				fail(err.Error())
				continue
			}
		}
		if ts < oldest {
			fail(fmt.Sprintf("too old data, only the last %s of data can be ingested; record discarded (raise ZO_INGEST_ALLOWED_UPTO to accept older data)", s.opts.IngestAllowedUpto))
			continue
		}
		if ts > newest {
			fail(fmt.Sprintf("too far data in future, only %s ahead can be ingested; record discarded (raise ZO_INGEST_ALLOWED_IN_FUTURE)", s.opts.IngestAllowedInFuture))
			continue
		}
		row["_timestamp"] = ts
		accepted = append(accepted, row)
	}

	columns := map[string]struct{}{}
	for _, row := range accepted {
		for k := range row {
			columns[k] = struct{}{}
		}
	}
	req.Columns = len(columns)
	if len(columns) > s.opts.ColumnsLimit {
		req.Error = fmt.Sprintf("got %d columns for stream %s, only %d columns accepted; data discarded (raise ZO_COLS_PER_RECORD_LIMIT)", len(columns), req.Stream, s.opts.ColumnsLimit)
		return errorBody(http.StatusBadRequest, req.Error)
	}

	key := streamKey{req.Org, req.Stream}
	s.mu.Lock()
	sch := s.schemas[key]
	if sch == nil {
		sch = schema{}
		s.schemas[key] = sch
	}
	stored := 0
	for _, row := range accepted {
		if err := sch.admit(row); err != nil {
			fail(err.Error())
			continue
		}
		s.rows[key] = append(s.rows[key], row)
		stored++
	}
	s.counters.Stored += stored
	s.counters.Failed += failed
	s.mu.Unlock()

	req.Successful, req.Failed, req.Error = stored, failed, lastErr
	return http.StatusOK, ingestResponse{
		Code:   http.StatusOK,
		Status: []streamStatus{{Name: req.Stream, Successful: stored, Failed: failed, Error: lastErr}},
	}
}

func (s *Server) authenticate(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", false
	}
	user, secret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", false
	}
	want, known := s.opts.Credentials[user]
	if !known || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		return "", false
	}
	return user, true
}

func (s *Server) decode(wire []byte, encoding string) ([]byte, int, error) {
	var rd io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return wire, 0, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("invalid gzip body: %w", err)
		}
		rd = zr
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(wire))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("invalid deflate body: %w", err)
		}
		rd = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(wire), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("invalid zstd body: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported content encoding %q", encoding)
	}
	body, err := io.ReadAll(io.LimitReader(rd, s.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("cannot decode the %s body: %w", encoding, err)
	}
	if int64(len(body)) > s.opts.MaxBodyBytes {
		return nil, http.StatusRequestEntityTooLarge, errors.New("request body is too large once decoded")
	}
	return body, 0, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
