package main

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
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	otelRecords  = "../../replay/testdata/otel-contrib-awslogsencoding-cloudtrail.ndjson"
	plasoLogFile = "../../replay/testdata/plaso-cloudtrail-records-file.original.json"
)

// endpoint is a Firehose endpoint that answers every request with status and keeps what it got.
type endpoint struct {
	server *httptest.Server
	status int

	mu      sync.Mutex
	headers []http.Header
	records [][]byte // Firehose records' data, in arrival order
}

func newEndpoint(t *testing.T, status int) *endpoint {
	e := &endpoint{status: status}
	e.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			RequestID string `json:"requestId"`
			Records   []struct {
				Data string `json:"data"`
			} `json:"records"`
		}
		var reader io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if !assert.NoError(t, err) {
				return
			}
			reader = zr
		}
		assert.NoError(t, json.NewDecoder(reader).Decode(&body))
		e.mu.Lock()
		e.headers = append(e.headers, r.Header.Clone())
		for _, rec := range body.Records {
			data, err := base64.StdEncoding.DecodeString(rec.Data)
			assert.NoError(t, err)
			e.records = append(e.records, data)
		}
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.status)
		_, _ = fmt.Fprintf(w, `{"requestId":%q,"timestamp":1}`, body.RequestID)
	}))
	t.Cleanup(e.server.Close)
	return e
}

func (e *endpoint) got() ([]http.Header, [][]byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.headers, e.records
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

func runCommand(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"-backoff", "1ms", "-max-backoff", "2ms", "-retry-duration", "5s"}, args...)
	code := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestReplayWrapsTheRecordsAsAsked(t *testing.T) {
	raw, err := os.ReadFile(otelRecords)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")

	tests := []struct {
		wrap        string
		wantRecords int
		check       func(t *testing.T, record []byte)
	}{
		{wrap: "eventbridge", wantRecords: 8, check: func(t *testing.T, r []byte) { assert.Contains(t, string(r), `"detail-type":"AWS `) }},
		{wrap: "bare", wantRecords: 8, check: func(t *testing.T, r []byte) { assert.Contains(t, lines, string(r)) }},
		{wrap: "records-file", wantRecords: 1, check: func(t *testing.T, r []byte) {
			assert.Equal(t, "{\"Records\":["+strings.Join(lines, ",")+"]}", string(r))
		}},
		{wrap: "cloudwatch", check: func(t *testing.T, r []byte) {
			assert.Equal(t, []byte{0x1f, 0x8b}, r[:2], "gzip, as CloudWatch Logs sends")
		}},
	}
	for _, tt := range tests {
		t.Run("the "+tt.wrap+" wrap delivers every record", func(t *testing.T) {
			e := newEndpoint(t, http.StatusOK)
			res := runCommand(t, nil, "", "-url", e.server.URL, "-wrap", tt.wrap, "-progress", "0", otelRecords)
			require.Equal(t, exitOK, res.code, res.stderr)
			assert.Regexp(t, `^firehose-replay: elapsed=\S+ events=8 records=\d+ sent=\d+ failed=0 dropped=0 skipped=0 `, res.stdout)
			assert.Empty(t, res.stderr)

			_, records := e.got()
			if tt.wantRecords > 0 {
				assert.Len(t, records, tt.wantRecords)
			}
			require.NotEmpty(t, records)
			for _, r := range records {
				tt.check(t, r)
			}
		})
	}
}

func TestReplaySendsTheConfiguredHeaders(t *testing.T) {
	e := newEndpoint(t, http.StatusOK)
	res := runCommand(t, map[string]string{accessKeyEnv: "from-env"}, "",
		"-url", e.server.URL, "-gzip", "-source-arn", "arn:aws:firehose:eu-west-1:111111111111:deliverystream/ct",
		"-common-attributes", "env=dev, team=sec", "-records-per-batch", "3", "-progress", "0", otelRecords)
	require.Equal(t, exitOK, res.code, res.stderr)
	headers, records := e.got()
	require.Len(t, headers, 3, "8 records, 3 per request")
	assert.Len(t, records, 8)
	for _, h := range headers {
		assert.Equal(t, "from-env", h.Get(replay.HeaderAccessKey))
		assert.Equal(t, "arn:aws:firehose:eu-west-1:111111111111:deliverystream/ct", h.Get(replay.HeaderSourceARN))
		assert.Equal(t, `{"commonAttributes":{"env":"dev","team":"sec"}}`, h.Get(replay.HeaderCommonAttributes))
		assert.Equal(t, "gzip", h.Get("Content-Encoding"))
	}

	t.Run("the flag overrides the environment", func(t *testing.T) {
		e := newEndpoint(t, http.StatusOK)
		res := runCommand(t, map[string]string{accessKeyEnv: "from-env"}, "", "-url", e.server.URL, "-access-key", "from-flag", "-progress", "0", otelRecords)
		require.Equal(t, exitOK, res.code, res.stderr)
		headers, _ := e.got()
		require.NotEmpty(t, headers)
		assert.Equal(t, "from-flag", headers[0].Get(replay.HeaderAccessKey))
	})
}

func TestReplayBackfillsACloudTrailArchive(t *testing.T) {
	original, err := os.ReadFile(plasoLogFile)
	require.NoError(t, err)
	dir := t.TempDir()
	day := filepath.Join(dir, "AWSLogs", "123456789012", "CloudTrail", "us-east-2", "2014", "03", "06")
	require.NoError(t, os.MkdirAll(day, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(day, "123456789012_CloudTrail_us-east-2_20140306T2120Z_a.json.gz"), replay.Gzip(original), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(day, "123456789012_CloudTrail_us-east-2_20140306T2125Z_b.json.gz"), replay.Gzip(original), 0o644))

	e := newEndpoint(t, http.StatusOK)
	res := runCommand(t, nil, "", "-url", e.server.URL, "-wrap", "records-file", "-record-compression", "gzip", "-progress", "1ns", dir)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "events=18 records=2 sent=2 ")
	assert.Contains(t, res.stderr, "progress: ")

	_, records := e.got()
	require.Len(t, records, 2, "one log file per archived file")
	for _, r := range records {
		plain, err := replay.ReadRecordsFile(bytes.NewReader(r))
		require.NoError(t, err)
		assert.Len(t, plain, 9)
		assert.Equal(t, string(original), string(replay.RecordsFile(plain)), "the log file arrives as it was archived")
	}
}

func TestReplayReadsStandardInput(t *testing.T) {
	e := newEndpoint(t, http.StatusOK)
	res := runCommand(t, nil, `{"eventID":"1"}`+"\n"+`{"eventID":"2"}`, "-url", e.server.URL, "-wrap", "bare", "-progress", "0", "-")
	require.Equal(t, exitOK, res.code, res.stderr)
	_, records := e.got()
	assert.Equal(t, [][]byte{[]byte(`{"eventID":"1"}`), []byte(`{"eventID":"2"}`)}, records)
}

func TestReplayFailsWhenRecordsAreNotDelivered(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		wantStdout string
	}{
		{name: "a batch failing for the whole retry duration fails the run", status: http.StatusInternalServerError, wantStdout: "records=8 sent=0 failed=8 dropped=0"},
		{name: "a dropped batch fails the run", status: http.StatusRequestEntityTooLarge, wantStdout: "records=8 sent=0 failed=0 dropped=8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t, tt.status)
			res := runCommand(t, nil, "", "-url", e.server.URL, "-retry-duration", "0", "-progress", "0", otelRecords)
			assert.Equal(t, exitUndelivered, res.code)
			assert.Contains(t, res.stdout, tt.wantStdout)
			assert.Contains(t, res.stderr, "records not delivered")
			headers, _ := e.got()
			assert.Len(t, headers, 1, "one attempt")
		})
	}

	t.Run("an unreadable input fails the run", func(t *testing.T) {
		e := newEndpoint(t, http.StatusOK)
		res := runCommand(t, nil, "{}\n{oops\n", "-url", e.server.URL, "-wrap", "bare", "-progress", "0", "-")
		assert.Equal(t, exitUndelivered, res.code)
		assert.Contains(t, res.stderr, "-: value 2")
		_, records := e.got()
		assert.Len(t, records, 1, "what was read before the error is sent")
	})
}

func TestReplayUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "the url is required", args: []string{otelRecords}, want: "-url is required"},
		{name: "a path is required", args: []string{"-url", "http://localhost:1/"}, want: "no PATH"},
		{name: "an unknown wrap is refused", args: []string{"-url", "http://localhost:1/", "-wrap", "sqs", otelRecords}, want: `wrap "sqs"`},
		{name: "malformed common attributes are refused", args: []string{"-url", "http://localhost:1/", "-common-attributes", "a=1,b", otelRecords}, want: `"b" is not k=v`},
		{name: "a batch over 64 MiB is refused", args: []string{"-url", "http://localhost:1/", "-batch-bytes", "67108865", otelRecords}, want: "-batch-bytes"},
		{name: "more than 10000 records per batch are refused", args: []string{"-url", "http://localhost:1/", "-records-per-batch", "10001", otelRecords}, want: "max records"},
		{name: "a retry duration over 2 hours is refused", args: []string{"-url", "http://localhost:1/", "-retry-duration", "3h", otelRecords}, want: "retry duration"},
		{name: "an unknown record compression is refused", args: []string{"-url", "http://localhost:1/", "-record-compression", "zstd", otelRecords}, want: "-record-compression"},
		{name: "an unknown flag is refused", args: []string{"-nope"}, want: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCommand(t, nil, "", tt.args...)
			assert.Equal(t, exitUsage, res.code)
			assert.Contains(t, res.stderr, tt.want)
			assert.Empty(t, res.stdout)
		})
	}
}

func TestReplayHelpShowsExamplesAndNoSecret(t *testing.T) {
	res := runCommand(t, map[string]string{accessKeyEnv: "s3cr3t"}, "", "-h")
	assert.Equal(t, exitOK, res.code)
	assert.Contains(t, res.stderr, "Examples:")
	assert.Contains(t, res.stderr, "-retry-duration")
	assert.NotContains(t, res.stderr, "s3cr3t")
}
