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

// attributeCapacity fits the attributes of a typical record, EventBridge envelope included.
const attributeCapacity = 28

// mapCloudTrail sets the EventName, severity, timestamp and attributes of lr from a
// CloudTrail record (REFERENCE §4); c allocates the attributes' string values.
func mapCloudTrail[V view[V]](lr plog.LogRecord, rec V, c *cells) {
	attrs := lr.Attributes()
	attrs.EnsureCapacity(attributeCapacity)

	eventType, _ := rec.str("eventType")
	lr.SetEventName(eventName(eventType))

	rpc := false
	for _, f := range stringFields {
		if s, ok := rec.str(f.field); ok {
			c.putStr(attrs, f.attr, s)
			rpc = rpc || f.attr == KeyRPCMethod || f.attr == KeyRPCService
		}
	}
	if rpc {
		c.putStr(attrs, KeyRPCSystem, ValueRPCSystem)
	}
	for _, f := range boolFields {
		if b, ok := rec.boolean(f.field); ok {
			attrs.PutBool(f.attr, b)
		}
	}

	if code, _ := rec.str("errorCode"); code != "" {
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
	} else {
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
	}
	if s, ok := rec.str("eventTime"); ok {
		if t, ok := parseEventTime(s); ok {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
		}
	}
	if ui, ok := rec.object("userIdentity"); ok {
		mapUserIdentity(attrs, ui, c)
	}
	if tls, ok := rec.object("tlsDetails"); ok {
		mapTLSDetails(attrs, tls, c)
	}
}

// recordResource returns a CloudTrail record's account and region, as far as it tells them.
func recordResource[V view[V]](rec V) (account, region string) {
	account, _ = rec.str("recipientAccountId")
	if account == "" {
		if ui, ok := rec.object("userIdentity"); ok {
			account, _ = ui.str("accountId")
		}
	}
	region, _ = rec.str("awsRegion")
	return account, region
}

func mapUserIdentity[V view[V]](attrs pcommon.Map, ui V, c *cells) {
	for _, f := range userIdentityFields {
		if s, ok := ui.str(f.field); ok {
			c.putStr(attrs, f.attr, s)
		}
	}
	userName, hasUser := ui.str("userName")
	if session, ok := ui.object("sessionContext"); ok {
		if a, ok := session.object("attributes"); ok {
			if b, ok := a.boolean("mfaAuthenticated"); ok {
				attrs.PutBool(KeyMFAAuthenticated, b)
			}
		}
		if !hasUser {
			if iss, ok := session.object("sessionIssuer"); ok {
				userName, hasUser = iss.str("userName")
			}
		}
	}
	if hasUser {
		c.putStr(attrs, KeyUserName, userName)
	}
}

func mapTLSDetails[V view[V]](attrs pcommon.Map, tls V, c *cells) {
	if v, ok := tls.str("tlsVersion"); ok {
		c.putStr(attrs, KeyTLSProtocolVersion, strings.TrimPrefix(v, "TLSv"))
	}
	if v, ok := tls.str("cipherSuite"); ok {
		c.putStr(attrs, KeyTLSCipher, v)
	}
	if v, ok := tls.str("clientProvidedHostHeader"); ok {
		c.putStr(attrs, KeyServerAddress, v)
	}
}
