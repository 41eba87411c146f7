package replay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"time"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/firehose"
)

// Firehose HTTP endpoint delivery, protocol 1.0: the server side's definitions, exported
// here too for the command and the tests.
const (
	HeaderProtocolVersion  = firehose.HeaderProtocolVersion
	HeaderRequestID        = firehose.HeaderRequestID
	HeaderSourceARN        = firehose.HeaderSourceARN
	HeaderAccessKey        = firehose.HeaderAccessKey
	HeaderCommonAttributes = firehose.HeaderCommonAttributes
	ProtocolVersion        = firehose.ProtocolVersion
	UserAgent              = firehose.UserAgent

	FirehoseMaxRecords     = firehose.MaxRecords
	FirehoseMaxRecordBytes = firehose.MaxRecordBytes
	FirehoseMaxBodyBytes   = firehose.MaxBufferBytes
	FirehoseMinBodyBytes   = firehose.MinBufferBytes

	maxResponseBytes = 1 << 20

	// Common attribute limits.
	maxCommonAttributes    = 50
	maxCommonAttributeKey  = 256
	maxCommonAttributeVal  = 1024
	maxAccessKeyBytes      = 4096
	requestBodyHead        = `{"requestId":"`
	requestBodyTimestamp   = `","timestamp":`
	requestBodyRecords     = `,"records":[`
	requestBodyTail        = `]}`
	requestBodyRecordHead  = `{"data":"`
	requestBodyRecordTail  = `"}`
	uuidLen                = 36
	unixMilliDigits        = 13 // until the year 2286
	requestBodyFixedLength = len(requestBodyHead) + uuidLen + len(requestBodyTimestamp) + unixMilliDigits +
		len(requestBodyRecords) + len(requestBodyTail)
)

// encodedRecordLen is what one record adds to a request body, the separating comma included.
func encodedRecordLen(record []byte) int {
	return len(requestBodyRecordHead) + base64.StdEncoding.EncodedLen(len(record)) + len(requestBodyRecordTail) + 1
}

// RequestBody returns the body of a Firehose request:
// {"requestId":"…","timestamp":<Unix ms>,"records":[{"data":"<base64>"},…]}.
func RequestBody(requestID string, timestamp time.Time, records [][]byte) []byte {
	n := requestBodyFixedLength + len(requestID)
	for _, r := range records {
		n += encodedRecordLen(r)
	}
	b := make([]byte, 0, n)
	b = append(b, requestBodyHead...)
	b = append(b, requestID...)
	b = append(b, requestBodyTimestamp...)
	b = strconv.AppendInt(b, timestamp.UnixMilli(), 10)
	b = append(b, requestBodyRecords...)
	for i, r := range records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, requestBodyRecordHead...)
		b = base64.StdEncoding.AppendEncode(b, r)
		b = append(b, requestBodyRecordTail...)
	}
	return append(b, requestBodyTail...)
}

// checkResponse checks a 200 response the way Firehose does: an application/json,
// uncompressed body {"requestId":"<the request's id>","timestamp":<number>} (errorMessage
// allowed). Firehose counts anything else as a 500.
func checkResponse(contentType, contentEncoding string, body []byte, requestID string) error {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/json" {
		return fmt.Errorf("malformed response: content type %q, want application/json", contentType)
	}
	if contentEncoding != "" && contentEncoding != "identity" {
		return fmt.Errorf("malformed response: content encoding %q, want none", contentEncoding)
	}
	if len(body) > maxResponseBytes {
		return fmt.Errorf("malformed response: body over %d bytes", maxResponseBytes)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return fmt.Errorf("malformed response: body %.200q is not a JSON object", body)
	}
	var echoed *string
	if raw, ok := fields["requestId"]; ok {
		_ = json.Unmarshal(raw, &echoed) // Anything but a string leaves echoed nil.
	}
	switch {
	case echoed == nil:
		return errors.New("malformed response: no requestId string")
	case *echoed != requestID:
		return fmt.Errorf("malformed response: requestId %q, want %q", *echoed, requestID)
	}
	if ts, ok := fields["timestamp"]; !ok || !isJSONNumber(ts) {
		return errors.New("malformed response: timestamp is not a JSON number")
	}
	return nil
}

// isJSONNumber reports whether raw is a JSON number literal.
func isJSONNumber(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') && json.Valid(raw)
}

// responseErrorMessage returns the errorMessage of a failure response, if it has one.
func responseErrorMessage(body []byte) string {
	var r struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	return r.ErrorMessage
}
