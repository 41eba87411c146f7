// Package firehose implements the server side of Amazon Kinesis Data Firehose's HTTP endpoint
// delivery protocol 1.0: request headers, the request envelope, and the response.
package firehose

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	simdbase64 "github.com/segmentio/asm/base64"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonwrite"
)

// Request headers Firehose sends.
const (
	HeaderProtocolVersion  = "X-Amz-Firehose-Protocol-Version"
	HeaderRequestID        = "X-Amz-Firehose-Request-Id"
	HeaderSourceARN        = "X-Amz-Firehose-Source-Arn"
	HeaderAccessKey        = "X-Amz-Firehose-Access-Key"
	HeaderCommonAttributes = "X-Amz-Firehose-Common-Attributes"
)

// Protocol values and limits (REFERENCE §1).
const (
	ProtocolVersion = "1.0"
	UserAgent       = "Amazon Kinesis Data Firehose Agent/1.0"
	// MaxRecords is the most records Firehose puts in one request.
	MaxRecords = 10_000
	// MaxRecordBytes is the largest record (decoded) Firehose sends.
	MaxRecordBytes = 1_024_000
	// MaxBufferBytes is Firehose's largest buffer of record data, the bound of a request's
	// data before base64 and compression.
	MaxBufferBytes = 64 << 20
	// MinBufferBytes is Firehose's smallest buffer.
	MinBufferBytes = 1 << 20
	// MaxErrorMessage is the longest errorMessage Firehose accepts in a response.
	MaxErrorMessage = 8192
	// MaxRequestID bounds the request id echoed in a response (Firehose's are UUIDs).
	MaxRequestID = 1024
)

// Record is one record of a request: its decoded data, or, when the base64 was invalid,
// the undecoded text and the error.
type Record struct {
	Data []byte
	Err  error
}

// Request is a parsed request body.
type Request struct {
	RequestID string
	Timestamp int64 // unix milliseconds
	Records   []Record
}

// ErrMalformed wraps every reason a body is not a Firehose request.
var ErrMalformed = errors.New("malformed firehose request")

// ParseRequest parses a request body. It takes ownership of body: strings and record data
// alias it, escaped strings and base64 are decoded in place. A record whose base64 is invalid
// does not fail the request; it comes back with Err set and its text as Data.
func ParseRequest(body []byte, records []Record) (Request, error) {
	req := Request{Records: records[:0]}
	sc := jsonscan.New(body, true)
	if err := sc.Expect('{'); err != nil {
		return req, malformed(err)
	}
	seenRecords := false
	for first := true; ; first = false {
		more, err := sc.More('}', first)
		if err != nil {
			return req, malformed(err)
		}
		if !more {
			break
		}
		key, err := sc.Key()
		if err != nil {
			return req, malformed(err)
		}
		switch key {
		case "requestId":
			if sc.Peek() != '"' {
				return req, malformed(errors.New("requestId is not a string"))
			}
			if req.RequestID, err = sc.String(); err != nil {
				return req, malformed(err)
			}
		case "timestamp":
			sc.SkipSpace()
			lit, kind, err := sc.Number()
			if err != nil || kind != jsonscan.Integer {
				return req, malformed(errors.New("timestamp is not an integer"))
			}
			if req.Timestamp, err = strconv.ParseInt(string(lit), 10, 64); err != nil {
				return req, malformed(fmt.Errorf("timestamp: %w", err))
			}
		case "records":
			seenRecords = true
			// A repeated "records" replaces the earlier one, as in encoding/json.
			if req.Records, err = parseRecords(&sc, req.Records[:0]); err != nil {
				return req, malformed(err)
			}
		default:
			if err := sc.Skip(); err != nil {
				return req, malformed(err)
			}
		}
	}
	if !sc.AtEnd() {
		return req, malformed(errors.New("data after the request object"))
	}
	if !seenRecords {
		return req, malformed(errors.New(`no "records" array`))
	}
	return req, nil
}

func malformed(err error) error { return fmt.Errorf("%w: %w", ErrMalformed, err) }

func parseRecords(sc *jsonscan.Scanner, records []Record) ([]Record, error) {
	if err := sc.Expect('['); err != nil {
		return records, fmt.Errorf("records: %w", err)
	}
	var scratch *[base64Chunk / 4 * 3]byte // one per request: the decoder makes it escape
	for first := true; ; first = false {
		more, err := sc.More(']', first)
		if err != nil {
			return records, fmt.Errorf("records: %w", err)
		}
		if !more {
			return records, nil
		}
		i := len(records)
		if err := sc.Expect('{'); err != nil {
			return records, fmt.Errorf("record %d: %w", i, err)
		}
		var data []byte
		seenData, quick, dataAt := false, false, 0
		for firstKey := true; ; firstKey = false {
			more, err := sc.More('}', firstKey)
			if err != nil {
				return records, fmt.Errorf("record %d: %w", i, err)
			}
			if !more {
				break
			}
			key, err := sc.Key()
			if err != nil {
				return records, fmt.Errorf("record %d: %w", i, err)
			}
			if key != "data" {
				if err := sc.Skip(); err != nil {
					return records, fmt.Errorf("record %d: %w", i, err)
				}
				continue
			}
			if sc.Peek() != '"' {
				return records, fmt.Errorf("record %d: data is not a string", i)
			}
			if seenData && quick {
				// A second "data" replaces the first, which must still be valid JSON.
				if err := recheckString(sc, dataAt); err != nil {
					return records, fmt.Errorf("record %d: %w", i, err)
				}
			}
			dataAt = sc.Pos()
			if data, quick = sc.QuickString(); !quick {
				if data, err = sc.StringBytes(); err != nil {
					return records, fmt.Errorf("record %d: %w", i, err)
				}
			}
			seenData = true
		}
		if !seenData {
			return records, fmt.Errorf("record %d: no data", i)
		}
		if scratch == nil {
			scratch = new([base64Chunk / 4 * 3]byte)
		}
		rec := decodeRecord(data, scratch)
		if rec.Err != nil && quick {
			// QuickString left the JSON string unchecked: a control character or invalid
			// UTF-8 in it makes the envelope malformed, not just this record.
			if err := recheckString(sc, dataAt); err != nil {
				return records, fmt.Errorf("record %d: %w", i, err)
			}
		}
		records = append(records, rec)
	}
}

// recheckString checks the JSON string at offset at, which QuickString read without checking,
// and leaves the scanner where it was.
func recheckString(sc *jsonscan.Scanner, at int) error {
	end := sc.Pos()
	sc.Seek(at)
	_, err := sc.StringBytes()
	sc.Seek(end)
	return err
}

// decodeRecord decodes base64 in place. It decodes chunk by chunk into a small scratch buffer
// and copies each good chunk over the text it came from (the decoded bytes are always behind
// the text still to read). When a chunk turns out invalid, the chunks before it are encoded
// back, so that the record keeps its original text.
func decodeRecord(text []byte, scratch *[base64Chunk / 4 * 3]byte) Record {
	w := 0
	for r := 0; r < len(text); r += base64Chunk {
		chunk := text[r:min(r+base64Chunk, len(text))]
		n, err := simdbase64.StdEncoding.Decode(scratch[:], chunk)
		if err != nil {
			// The standard decoder has the last word, and says where the chunk went wrong.
			n, err = base64.StdEncoding.Decode(scratch[:], chunk)
		}
		want := len(chunk) / 4 * 3 // padding may only end the last chunk
		if r+len(chunk) == len(text) {
			want = decodedLen(chunk)
		}
		if err == nil && n != want {
			// Both decoders skip line breaks, which would shift the chunks after this one
			// (Firehose never sends them), and take padding as the end of the chunk; a short
			// result is how either shows. For padding, this is the standard decoder's error.
			err = base64.CorruptInputError(len(chunk))
		}
		if err != nil {
			restoreBase64(text, w)
			var bad base64.CorruptInputError
			if i := bytes.IndexAny(text, "\r\n"); i >= 0 {
				err = fmt.Errorf("line break at offset %d", i)
			} else if errors.As(err, &bad) {
				err = base64.CorruptInputError(int64(r) + int64(bad))
			}
			return Record{Data: text, Err: fmt.Errorf("base64: %w", err)}
		}
		w += copy(text[w:], scratch[:n])
	}
	return Record{Data: text[:w:w]}
}

// decodedLen is how many bytes padded base64 text without line breaks decodes to, or -1
// when its length is not a multiple of 4.
func decodedLen(text []byte) int {
	if len(text)%4 != 0 {
		return -1
	}
	n := len(text) / 4 * 3
	for i := len(text) - 1; i >= len(text)-2 && i >= 0 && text[i] == '='; i-- {
		n--
	}
	return n
}

// base64Chunk is how much base64 text decodeRecord decodes at a time: a multiple of 4, so
// that only the last chunk can hold padding.
const base64Chunk = 4096

// restoreBase64 encodes text[:n] (decoded from whole, unpadded 4-character groups) back into
// text[:n/3*4], last group first so that no group overwrites bytes still to be encoded. Whole
// groups decode and encode one to one, so this is the original text.
func restoreBase64(text []byte, n int) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for g := n/3 - 1; g >= 0; g-- {
		v := uint(text[3*g])<<16 | uint(text[3*g+1])<<8 | uint(text[3*g+2])
		text[4*g] = alphabet[v>>18&0x3f]
		text[4*g+1] = alphabet[v>>12&0x3f]
		text[4*g+2] = alphabet[v>>6&0x3f]
		text[4*g+3] = alphabet[v&0x3f]
	}
}

// AppendResponse appends a response body: {"requestId":...,"timestamp":...} and, when
// errorMessage is not empty, "errorMessage" cut to MaxErrorMessage characters.
func AppendResponse(dst []byte, requestID string, now time.Time, errorMessage string) []byte {
	if len(requestID) > MaxRequestID {
		requestID = requestID[:MaxRequestID] // not a Firehose id; keep the response small
	}
	dst = append(dst, `{"requestId":`...)
	dst = jsonwrite.AppendString(dst, requestID)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, now.UnixMilli(), 10)
	if errorMessage != "" {
		if utf8.RuneCountInString(errorMessage) > MaxErrorMessage {
			errorMessage = string([]rune(errorMessage)[:MaxErrorMessage])
		}
		dst = append(dst, `,"errorMessage":`...)
		dst = jsonwrite.AppendString(dst, errorMessage)
	}
	return append(dst, '}')
}

// WriteResponse writes a complete Firehose response with the given status.
func WriteResponse(w http.ResponseWriter, status int, requestID string, now time.Time, errorMessage string) {
	body := AppendResponse(make([]byte, 0, 96+len(requestID)+len(errorMessage)), requestID, now, errorMessage)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
