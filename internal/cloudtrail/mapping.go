package cloudtrail

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// stringFields maps top-level CloudTrail string fields to log record attributes (REFERENCE §4).
var stringFields = [...]struct{ field, attr string }{
	{"eventID", KeyEventID},
	{"eventVersion", KeyEventVersion},
	{"eventType", KeyEventType},
	{"eventName", KeyRPCMethod},
	{"eventSource", KeyRPCService},
	{"eventCategory", KeyEventCategory},
	{"requestID", KeyRequestID},
	{"sharedEventID", KeySharedEventID},
	{"sourceIPAddress", KeyClientAddress},
	{"userAgent", KeyUserAgentOriginal},
	{"errorCode", KeyErrorType},
	{"errorMessage", KeyErrorMessage},
}

var boolFields = [...]struct{ field, attr string }{
	{"readOnly", KeyEventReadOnly},
	{"managementEvent", KeyEventManagement},
}

var userIdentityFields = [...]struct{ field, attr string }{
	{"type", KeyPrincipalType},
	{"arn", KeyPrincipalARN},
	{"principalId", KeyPrincipalID},
	{"accountId", KeyUserIdentityAccount},
	{"accessKeyId", KeyAccessKeyID},
	{"invokedBy", KeyUserIdentityInvoked},
}

// eventNames maps eventType, compared case-insensitively, to LogRecord.EventName.
var eventNames = [...]struct{ eventType, name string }{
	{"awsapicall", EventNamePrefix + "api_call"},
	{"awsconsolesignin", EventNamePrefix + "console_sign_in"},
	{"awsconsoleaction", EventNamePrefix + "console_action"},
	{"awsserviceevent", EventNamePrefix + "service_event"},
	{"awscloudtrailinsight", EventNamePrefix + "insight"},
	{"awsvpceevent", EventNamePrefix + "vpce_event"},
}

// eventName returns the EventName for a CloudTrail eventType.
func eventName(eventType string) string {
	for _, e := range eventNames {
		if equalFold(eventType, e.eventType) {
			return e.name
		}
	}
	return EventNameCloudTrailOther
}

// scratch holds reusable member slices for the nested objects the mapping reads.
type scratch struct {
	identity, session, attrs, issuer, tls []member
}

// mapCloudTrail sets the EventName, severity, timestamp and attributes of lr from the
// members of a CloudTrail record (REFERENCE §4). It returns the record's account and region
// as far as the record itself tells them.
func mapCloudTrail(lr plog.LogRecord, top []member, sc *scratch) (account, region string) {
	attrs := lr.Attributes()
	attrs.EnsureCapacity(24)

	eventType, _ := rawString(find(top, "eventType"))
	lr.SetEventName(eventName(eventType))

	rpc := false
	for _, f := range stringFields {
		if s, ok := rawString(find(top, f.field)); ok {
			attrs.PutStr(f.attr, s)
			rpc = rpc || f.attr == KeyRPCMethod || f.attr == KeyRPCService
		}
	}
	if rpc {
		attrs.PutStr(KeyRPCSystem, ValueRPCSystem)
	}
	for _, f := range boolFields {
		if b, ok := rawBool(find(top, f.field)); ok {
			attrs.PutBool(f.attr, b)
		}
	}

	if code, _ := rawString(find(top, "errorCode")); code != "" {
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
	} else {
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
	}
	if s, ok := rawString(find(top, "eventTime")); ok {
		if t, ok := parseEventTime(s); ok {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
		}
	}

	identityAccount := mapUserIdentity(attrs, find(top, "userIdentity"), sc)
	mapTLSDetails(attrs, find(top, "tlsDetails"), sc)

	account, _ = rawString(find(top, "recipientAccountId"))
	if account == "" {
		account = identityAccount
	}
	region, _ = rawString(find(top, "awsRegion"))
	return account, region
}

// mapUserIdentity maps userIdentity and returns its accountId.
func mapUserIdentity(attrs pcommon.Map, raw []byte, sc *scratch) (account string) {
	if !isObject(raw) {
		return ""
	}
	var err error
	if sc.identity, err = scanMembers(sc.identity[:0], raw); err != nil {
		return ""
	}
	for _, f := range userIdentityFields {
		if s, ok := rawString(find(sc.identity, f.field)); ok {
			attrs.PutStr(f.attr, s)
		}
	}
	account, _ = rawString(find(sc.identity, "accountId"))

	userName, hasUser := rawString(find(sc.identity, "userName"))
	session := find(sc.identity, "sessionContext")
	if isObject(session) {
		if sc.session, err = scanMembers(sc.session[:0], session); err == nil {
			if a := find(sc.session, "attributes"); isObject(a) {
				if sc.attrs, err = scanMembers(sc.attrs[:0], a); err == nil {
					if b, ok := rawBool(find(sc.attrs, "mfaAuthenticated")); ok {
						attrs.PutBool(KeyMFAAuthenticated, b)
					}
				}
			}
			if !hasUser {
				if iss := find(sc.session, "sessionIssuer"); isObject(iss) {
					if sc.issuer, err = scanMembers(sc.issuer[:0], iss); err == nil {
						userName, hasUser = rawString(find(sc.issuer, "userName"))
					}
				}
			}
		}
	}
	if hasUser {
		attrs.PutStr(KeyUserName, userName)
	}
	return account
}

func mapTLSDetails(attrs pcommon.Map, raw []byte, sc *scratch) {
	if !isObject(raw) {
		return
	}
	var err error
	if sc.tls, err = scanMembers(sc.tls[:0], raw); err != nil {
		return
	}
	if v, ok := rawString(find(sc.tls, "tlsVersion")); ok {
		attrs.PutStr(KeyTLSProtocolVersion, strings.TrimPrefix(v, "TLSv"))
	}
	if v, ok := rawString(find(sc.tls, "cipherSuite")); ok {
		attrs.PutStr(KeyTLSCipher, v)
	}
	if v, ok := rawString(find(sc.tls, "clientProvidedHostHeader")); ok {
		attrs.PutStr(KeyServerAddress, v)
	}
}
