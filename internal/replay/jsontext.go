package replay

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // name-based UUIDs (RFC 9562 version 5) are defined over SHA-1.
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// jsonObject returns b without surrounding white space, or an error when it is not one JSON
// object.
func jsonObject(b []byte) ([]byte, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	if !json.Valid(b) {
		return nil, errors.New("invalid JSON")
	}
	return b, nil
}

// jsonString decodes a JSON string and ignores every other kind of value, so that odd records
// (a number where a string belongs) still wrap.
type jsonString string

func (s *jsonString) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = jsonString(v)
	return nil
}

// userIdentity decodes the part of a CloudTrail userIdentity the wrappers need; a userIdentity
// that is not an object is ignored.
type userIdentity struct {
	AccountID jsonString
}

func (u *userIdentity) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var v struct {
		AccountID jsonString `json:"accountId"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	u.AccountID = v.AccountID
	return nil
}

// recordFields are the CloudTrail fields that shape the envelopes around a record.
type recordFields struct {
	EventType          jsonString   `json:"eventType"`
	EventSource        jsonString   `json:"eventSource"`
	EventTime          jsonString   `json:"eventTime"`
	AWSRegion          jsonString   `json:"awsRegion"`
	RecipientAccountID jsonString   `json:"recipientAccountId"`
	UserIdentity       userIdentity `json:"userIdentity"`
}

func parseRecordFields(record []byte) (recordFields, error) {
	var f recordFields
	err := json.Unmarshal(record, &f)
	return f, err
}

// account is the account the event belongs to, as EventBridge and CloudWatch Logs see it.
func (f recordFields) account() string {
	if f.RecipientAccountID != "" {
		return string(f.RecipientAccountID)
	}
	return string(f.UserIdentity.AccountID)
}

// eventTimeLayouts are the eventTime forms found in real data, CloudTrail's own first.
var eventTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// parseEventTime parses an eventTime; ok is false for a missing or unparseable one.
func parseEventTime(s string) (time.Time, bool) {
	for _, layout := range eventTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// uuidNamespace is this package's namespace for name-based UUIDs (a random UUID, fixed forever
// so that derived ids stay reproducible).
var uuidNamespace = [16]byte{0x6f, 0x3c, 0x0e, 0x58, 0x1a, 0x2d, 0x4b, 0x57, 0x9c, 0x41, 0x7e, 0x0b, 0x2f, 0x93, 0x5a, 0xd4}

// nameUUID returns the RFC 9562 version 5 UUID of name in this package's namespace.
func nameUUID(name []byte) string {
	h := sha1.New() //nolint:gosec // see the import.
	h.Write(uuidNamespace[:])
	h.Write(name)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails.
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
