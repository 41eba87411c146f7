package replay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// firehoseBody is a Firehose request body as the tests look at it.
type firehoseBody struct {
	RequestID string `json:"requestId"`
	Timestamp int64  `json:"timestamp"`
	Records   []struct {
		Data string `json:"data"`
	} `json:"records"`
}

func TestRequestBodyIsFirehoseFormat(t *testing.T) {
	records := append(ndjsonRecords(t, otelRecordsFile), []byte{}, []byte{0xff, 0x00})
	ts := time.UnixMilli(1_700_000_000_123)
	body := RequestBody("8a0f8f0d-2b0e-4f52-9a6b-3f6c2e0b1a5c", ts, records)

	var got firehoseBody
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, "8a0f8f0d-2b0e-4f52-9a6b-3f6c2e0b1a5c", got.RequestID)
	assert.Equal(t, int64(1_700_000_000_123), got.Timestamp)
	require.Len(t, got.Records, len(records))
	for i, r := range got.Records {
		data, err := base64.StdEncoding.Strict().DecodeString(r.Data)
		require.NoError(t, err)
		assert.Equal(t, records[i], data, "record %d", i)
	}
	assert.True(t, bytes.HasPrefix(body, []byte(`{"requestId":"8a0f8f0d-2b0e-4f52-9a6b-3f6c2e0b1a5c","timestamp":1700000000123,"records":[{"data":"`)), "%s", body)
	assert.True(t, bytes.HasSuffix(body, []byte(`"},{"data":""},{"data":"/wA="}]}`)), "%s", body)
}

func TestRequestBodyLengthIsWhatTheBatcherCounts(t *testing.T) {
	records := ndjsonRecords(t, otelRecordsFile)
	want := requestBodyFixedLength - 1
	for _, r := range records {
		want += encodedRecordLen(r)
	}
	assert.Len(t, RequestBody(newUUID(), time.Now(), records), want)
	assert.Len(t, RequestBody(newUUID(), time.Now(), nil), requestBodyFixedLength)
}

func TestCheckResponse(t *testing.T) {
	const id = "8a0f8f0d-2b0e-4f52-9a6b-3f6c2e0b1a5c"
	tests := []struct {
		name            string
		contentType     string
		contentEncoding string
		body            string
		ok              bool
	}{
		{name: "the documented answer is accepted", contentType: "application/json", body: `{"requestId":"` + id + `","timestamp":1578090903599}`, ok: true},
		{name: "a charset parameter is accepted", contentType: "application/json; charset=utf-8", body: `{"requestId":"` + id + `","timestamp":1}`, ok: true},
		{name: "an error message is allowed", contentType: "application/json", body: `{"requestId":"` + id + `","timestamp":1,"errorMessage":""}`, ok: true},
		{name: "a timestamp in seconds is still a number", contentType: "application/json", body: `{"requestId":"` + id + `","timestamp":1578090903.5}`, ok: true},
		{name: "another request's id is refused", contentType: "application/json", body: `{"requestId":"other","timestamp":1}`},
		{name: "a missing requestId is refused", contentType: "application/json", body: `{"timestamp":1}`},
		{name: "a differently cased requestId is refused", contentType: "application/json", body: `{"RequestId":"` + id + `","timestamp":1}`},
		{name: "a numeric requestId is refused", contentType: "application/json", body: `{"requestId":1,"timestamp":1}`},
		{name: "a missing timestamp is refused", contentType: "application/json", body: `{"requestId":"` + id + `"}`},
		{name: "a timestamp string is refused", contentType: "application/json", body: `{"requestId":"` + id + `","timestamp":"1"}`},
		{name: "an empty body is refused", contentType: "application/json", body: ``},
		{name: "null is refused", contentType: "application/json", body: `null`},
		{name: "text is refused", contentType: "application/json", body: `OK`},
		{name: "a text content type is refused", contentType: "text/plain; charset=utf-8", body: `{"requestId":"` + id + `","timestamp":1}`},
		{name: "a missing content type is refused", body: `{"requestId":"` + id + `","timestamp":1}`},
		{name: "a compressed answer is refused", contentType: "application/json", contentEncoding: "gzip", body: `{"requestId":"` + id + `","timestamp":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkResponse(tt.contentType, tt.contentEncoding, []byte(tt.body), id)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, "malformed response")
			}
		})
	}
}

func TestBackoffDoublesFromTheInitialWaitUpToTheCap(t *testing.T) {
	tests := []struct {
		retry  int
		jitter float64
		want   time.Duration
	}{
		{retry: 0, want: time.Second},
		{retry: 1, want: 2 * time.Second},
		{retry: 6, want: 64 * time.Second},
		{retry: 7, want: 2 * time.Minute},
		{retry: 1000, want: 2 * time.Minute},
		{retry: 0, jitter: 0.15, want: 1150 * time.Millisecond},
		{retry: 2, jitter: -0.15, want: 3400 * time.Millisecond},
	}
	for _, tt := range tests {
		got := backoff(DefaultInitialBackoff, DefaultMaxBackoff, tt.retry, tt.jitter)
		assert.InDelta(t, float64(tt.want), float64(got), float64(time.Microsecond), "retry %d jitter %v", tt.retry, tt.jitter)
	}
}

func TestNewUUIDIsRandomVersion4(t *testing.T) {
	a, b := newUUID(), newUUID()
	assert.Regexp(t, uuidPattern, a)
	assert.Equal(t, byte('4'), a[14])
	assert.NotEqual(t, a, b)
	assert.Equal(t, byte('5'), nameUUID([]byte("x"))[14])
}
