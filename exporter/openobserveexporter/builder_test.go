package openobserveexporter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/cloudtrail"
)

// This file builds plog.Logs from real records the way the awsfirehosecloudtrail receiver
// does (internal/cloudtrail's data model), without depending on the receiver.

// testRecord is one CloudTrail record of a test corpus, with how it reached Firehose.
type testRecord struct {
	json     []byte          // the CloudTrail record's JSON text
	envelope json.RawMessage // the EventBridge envelope, when it came through EventBridge
	cw       *cwPayload      // the CloudWatch Logs payload, when it came through CloudWatch Logs
	cwID     string          // logEvents[].id
}

type cwPayload struct {
	Owner               string   `json:"owner"`
	LogGroup            string   `json:"logGroup"`
	LogStream           string   `json:"logStream"`
	SubscriptionFilters []string `json:"subscriptionFilters"`
	LogEvents           []struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"logEvents"`
}

func readLines(tb testing.TB, name string) [][]byte {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(tb, err)
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	require.NoError(tb, sc.Err())
	return out
}

func bareRecords(tb testing.TB, name string) []testRecord {
	var out []testRecord
	for _, line := range readLines(tb, name) {
		out = append(out, testRecord{json: line})
	}
	return out
}

func eventBridgeRecords(tb testing.TB, name string) []testRecord {
	var out []testRecord
	for _, line := range readLines(tb, name) {
		var env struct {
			Detail json.RawMessage `json:"detail"`
		}
		require.NoError(tb, json.Unmarshal(line, &env))
		out = append(out, testRecord{json: env.Detail, envelope: line})
	}
	return out
}

func cloudWatchRecords(tb testing.TB, name string) []testRecord {
	var out []testRecord
	for _, line := range readLines(tb, name) {
		var p cwPayload
		require.NoError(tb, json.Unmarshal(line, &p))
		for _, ev := range p.LogEvents {
			out = append(out, testRecord{json: []byte(ev.Message), cw: &p, cwID: ev.ID})
		}
	}
	return out
}

// buildOptions choose how the receiver is configured.
type buildOptions struct {
	raw         bool      // body_format raw: the body is the record's JSON text
	observed    time.Time // receive time
	org, stream string    // set by OpenObserve-style receiver paths
}

// buildLogs makes one plog.Logs of records as the receiver makes it of one Firehose request:
// one ResourceLogs per distinct resource.
func buildLogs(tb testing.TB, records []testRecord, opts buildOptions) plog.Logs {
	tb.Helper()
	ld, _ := buildLogsOrdered(tb, records, opts)
	return ld
}

// buildLogsOrdered is buildLogs that also returns, for each log record in iteration order,
// the index of the test record it came from (grouping by resource reorders them).
func buildLogsOrdered(tb testing.TB, records []testRecord, opts buildOptions) (plog.Logs, []int) {
	tb.Helper()
	if opts.observed.IsZero() {
		opts.observed = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	}
	ld := plog.NewLogs()
	byResource := map[string]plog.LogRecordSlice{}
	byResourceIdx := map[string][]int{}
	var keys []string
	for idx, rec := range records {
		body := pcommon.NewValueEmpty()
		var literals []string
		require.NoError(tb, decodeJSONValue(rec.json, body, &literals), "%s", rec.json)
		record := body.Map()

		account := firstString(record, "recipientAccountId", "userIdentity/accountId")
		region := firstString(record, "awsRegion")
		var env map[string]json.RawMessage
		if rec.envelope != nil {
			require.NoError(tb, json.Unmarshal(rec.envelope, &env))
			if account == "" {
				account = unquote(env["account"])
			}
			if region == "" {
				region = unquote(env["region"])
			}
		}

		key := account + "|" + region
		if rec.cw != nil {
			key += "|" + rec.cw.LogGroup + "|" + rec.cw.LogStream
		}
		lrs, ok := byResource[key]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			res := rl.Resource().Attributes()
			res.PutStr(cloudtrail.KeyCloudProvider, "aws")
			if account != "" {
				res.PutStr(cloudtrail.KeyCloudAccountID, account)
			}
			if region != "" {
				res.PutStr(cloudtrail.KeyCloudRegion, region)
			}
			res.PutStr(cloudtrail.KeyFirehoseARN, "arn:aws:firehose:us-east-1:123456789012:deliverystream/cloudtrail")
			res.PutStr(cloudtrail.KeyFirehoseRequestID, "5f0f6a4e-8b9c-4d3e-9f1a-2b3c4d5e6f70")
			if rec.cw != nil {
				res.PutEmptySlice(cloudtrail.KeyLogGroupNames).AppendEmpty().SetStr(rec.cw.LogGroup)
				res.PutEmptySlice(cloudtrail.KeyLogStreamNames).AppendEmpty().SetStr(rec.cw.LogStream)
				filters := res.PutEmptySlice(cloudtrail.KeySubscriptionFilters)
				for _, f := range rec.cw.SubscriptionFilters {
					filters.AppendEmpty().SetStr(f)
				}
				res.PutStr(cloudtrail.KeyLogOwner, rec.cw.Owner)
			}
			if opts.org != "" {
				res.PutStr(cloudtrail.KeyOpenObserveOrganization, opts.org)
			}
			if opts.stream != "" {
				res.PutStr(cloudtrail.KeyOpenObserveStream, opts.stream)
			}
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver")
			lrs = sl.LogRecords()
			byResource[key] = lrs
			keys = append(keys, key)
		}
		byResourceIdx[key] = append(byResourceIdx[key], idx)

		lr := lrs.AppendEmpty()
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(opts.observed))
		if ts, err := time.Parse(time.RFC3339, firstString(record, "eventTime")); err == nil {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		}
		lr.SetEventName(eventName(firstString(record, "eventType")))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		if firstString(record, "errorCode") != "" {
			lr.SetSeverityNumber(plog.SeverityNumberError)
		}
		attrs := lr.Attributes()
		putRecordAttributes(attrs, record)
		envKeys := make([]string, 0, len(env))
		for k := range env {
			envKeys = append(envKeys, k)
		}
		sort.Strings(envKeys)
		for _, k := range envKeys {
			v := env[k]
			switch k {
			case "detail":
			case "id":
				attrs.PutStr(cloudtrail.KeyEventBridgeID, unquote(v))
			case "detail-type":
				attrs.PutStr(cloudtrail.KeyEventBridgeDetail, unquote(v))
			case "source":
				attrs.PutStr(cloudtrail.KeyEventBridgeSource, unquote(v))
			default:
				k = cloudtrail.KeyEventBridgePrefix + k
				if k == "aws.eventbridge.resources" {
					k = cloudtrail.KeyEventBridgeResources
				}
				require.NoError(tb, decodeJSONValue(v, attrs.PutEmpty(k), nil))
			}
		}
		if rec.cw != nil {
			attrs.PutStr(cloudtrail.KeyLogEventID, rec.cwID)
		}
		if len(literals) > 0 {
			lits := attrs.PutEmptySlice(cloudtrail.KeyNumberLiterals)
			for _, p := range literals {
				lits.AppendEmpty().SetStr(p)
			}
		}
		if opts.raw {
			lr.Body().SetStr(string(rec.json))
		} else {
			body.CopyTo(lr.Body())
		}
	}
	var order []int
	for _, k := range keys {
		order = append(order, byResourceIdx[k]...)
	}
	return ld, order
}

func eventName(eventType string) string {
	switch eventType {
	case "AwsApiCall":
		return cloudtrail.EventNamePrefix + "api_call"
	case "AwsConsoleSignIn", "AwsConsoleSignin":
		return cloudtrail.EventNamePrefix + "console_sign_in"
	case "AwsConsoleAction":
		return cloudtrail.EventNamePrefix + "console_action"
	case "AwsServiceEvent":
		return cloudtrail.EventNamePrefix + "service_event"
	case "AwsCloudTrailInsight":
		return cloudtrail.EventNamePrefix + "insight"
	case "AwsVpceEvent":
		return cloudtrail.EventNamePrefix + "vpce_event"
	default:
		return cloudtrail.EventNameCloudTrailOther
	}
}

// putRecordAttributes sets the attributes of REFERENCE §4 that the record's fields give.
func putRecordAttributes(attrs pcommon.Map, record pcommon.Map) {
	strs := []struct{ attr, path string }{
		{cloudtrail.KeyEventID, "eventID"},
		{cloudtrail.KeyEventVersion, "eventVersion"},
		{cloudtrail.KeyEventType, "eventType"},
		{cloudtrail.KeyRPCMethod, "eventName"},
		{cloudtrail.KeyRPCService, "eventSource"},
		{cloudtrail.KeyEventCategory, "eventCategory"},
		{cloudtrail.KeyRequestID, "requestID"},
		{cloudtrail.KeySharedEventID, "sharedEventID"},
		{cloudtrail.KeyClientAddress, "sourceIPAddress"},
		{cloudtrail.KeyUserAgentOriginal, "userAgent"},
		{cloudtrail.KeyPrincipalType, "userIdentity/type"},
		{cloudtrail.KeyPrincipalARN, "userIdentity/arn"},
		{cloudtrail.KeyPrincipalID, "userIdentity/principalId"},
		{cloudtrail.KeyUserIdentityAccount, "userIdentity/accountId"},
		{cloudtrail.KeyAccessKeyID, "userIdentity/accessKeyId"},
		{cloudtrail.KeyUserIdentityInvoked, "userIdentity/invokedBy"},
		{cloudtrail.KeyErrorType, "errorCode"},
		{cloudtrail.KeyErrorMessage, "errorMessage"},
		{cloudtrail.KeyTLSCipher, "tlsDetails/cipherSuite"},
		{cloudtrail.KeyServerAddress, "tlsDetails/clientProvidedHostHeader"},
	}
	for _, s := range strs {
		if v := firstString(record, s.path); v != "" {
			attrs.PutStr(s.attr, v)
		}
	}
	if attrs.Len() > 0 {
		attrs.PutStr(cloudtrail.KeyRPCSystem, cloudtrail.ValueRPCSystem)
	}
	if v, ok := lookup(record, "readOnly"); ok && v.Type() == pcommon.ValueTypeBool {
		attrs.PutBool(cloudtrail.KeyEventReadOnly, v.Bool())
	}
	if v, ok := lookup(record, "managementEvent"); ok && v.Type() == pcommon.ValueTypeBool {
		attrs.PutBool(cloudtrail.KeyEventManagement, v.Bool())
	}
	if v := firstString(record, "userIdentity/userName", "userIdentity/sessionContext/sessionIssuer/userName"); v != "" {
		attrs.PutStr(cloudtrail.KeyUserName, v)
	}
	if v := firstString(record, "userIdentity/sessionContext/attributes/mfaAuthenticated"); v == "true" || v == "false" {
		attrs.PutBool(cloudtrail.KeyMFAAuthenticated, v == "true")
	}
	if v := firstString(record, "tlsDetails/tlsVersion"); strings.HasPrefix(v, "TLSv") {
		attrs.PutStr(cloudtrail.KeyTLSProtocolVersion, strings.TrimPrefix(v, "TLSv"))
	}
}

func lookup(m pcommon.Map, path string) (pcommon.Value, bool) {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		v, ok := m.Get(p)
		if !ok {
			return v, false
		}
		if i == len(parts)-1 {
			return v, true
		}
		if v.Type() != pcommon.ValueTypeMap {
			return v, false
		}
		m = v.Map()
	}
	return pcommon.Value{}, false
}

// firstString returns the first of the paths that holds a string.
func firstString(m pcommon.Map, paths ...string) string {
	for _, p := range paths {
		if v, ok := lookup(m, p); ok && v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
	}
	return ""
}

func unquote(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// decodeJSONValue decodes JSON text into v the way the receiver does: key order kept, numbers
// as Int when they fit int64, else Double when the double is exactly the literal's value, else
// the literal text as a string whose JSON Pointer is appended to literals.
func decodeJSONValue(data []byte, v pcommon.Value, literals *[]string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := decodeInto(dec, v, "", literals); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data")
	}
	return nil
}

func decodeInto(dec *json.Decoder, v pcommon.Value, ptr string, literals *[]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := v.SetEmptyMap()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				child := m.PutEmpty(k)
				if err := decodeInto(dec, child, ptr+"/"+escapePointer(k), literals); err != nil {
					return err
				}
			}
		case '[':
			s := v.SetEmptySlice()
			for i := 0; dec.More(); i++ {
				if err := decodeInto(dec, s.AppendEmpty(), ptr+"/"+strconv.Itoa(i), literals); err != nil {
					return err
				}
			}
		}
		_, err := dec.Token() // the closing delimiter
		return err
	case string:
		v.SetStr(t)
	case bool:
		v.SetBool(t)
	case nil:
		// stays empty
	case json.Number:
		if i, err := t.Int64(); err == nil {
			v.SetInt(i)
			return nil
		}
		if f, err := t.Float64(); err == nil {
			exact, ok := new(big.Rat).SetString(string(t))
			if ok && exact.Cmp(new(big.Rat).SetFloat64(f)) == 0 {
				v.SetDouble(f)
				return nil
			}
		}
		v.SetStr(string(t))
		if literals != nil {
			*literals = append(*literals, ptr)
		}
	default:
		return fmt.Errorf("unexpected token %v", tok)
	}
	return nil
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
