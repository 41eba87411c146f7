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

// attributeCapacity fits the attributes of a typical EventBridge event (envelope and record),
// whose envelope attributes are decoded before the record's are known.
const attributeCapacity = 28

// attr is one mapped attribute, collected before the attribute map is sized.
type attr struct {
	key, str  string
	b, isBool bool
}

// mapCloudTrail sets the EventName, severity, timestamp and attributes of lr from a
// CloudTrail record (REFERENCE §4). The attribute map is sized once for them and extra more,
// which the caller adds afterwards.
func mapCloudTrail[V view[V]](lr plog.LogRecord, rec V, d *Decoder, extra int) {
	eventType, _ := rec.str("eventType")
	lr.SetEventName(eventName(eventType))

	list := d.attrList[:0]
	rpc := false
	for _, f := range stringFields {
		if s, ok := rec.str(f.field); ok {
			list = append(list, attr{key: f.attr, str: s})
			rpc = rpc || f.attr == KeyRPCMethod || f.attr == KeyRPCService
		}
	}
	if rpc {
		list = append(list, attr{key: KeyRPCSystem, str: ValueRPCSystem})
	}
	for _, f := range boolFields {
		if b, ok := rec.boolean(f.field); ok {
			list = append(list, attr{key: f.attr, b: b, isBool: true})
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
		list = mapUserIdentity(list, ui)
	}
	if tls, ok := rec.object("tlsDetails"); ok {
		list = mapTLSDetails(list, tls)
	}

	attrs := lr.Attributes()
	attrs.EnsureCapacity(attrs.Len() + len(list) + extra)
	for _, a := range list {
		if a.isBool {
			attrs.PutBool(a.key, a.b)
		} else {
			d.cells.putStr(attrs, a.key, a.str)
		}
	}
	clear(list) // the strings alias the request
	d.attrList = list[:0]
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

func mapUserIdentity[V view[V]](list []attr, ui V) []attr {
	for _, f := range userIdentityFields {
		if s, ok := ui.str(f.field); ok {
			list = append(list, attr{key: f.attr, str: s})
		}
	}
	userName, hasUser := ui.str("userName")
	if session, ok := ui.object("sessionContext"); ok {
		if a, ok := session.object("attributes"); ok {
			if b, ok := a.boolean("mfaAuthenticated"); ok {
				list = append(list, attr{key: KeyMFAAuthenticated, b: b, isBool: true})
			}
		}
		if !hasUser {
			if iss, ok := session.object("sessionIssuer"); ok {
				userName, hasUser = iss.str("userName")
			}
		}
	}
	if hasUser {
		list = append(list, attr{key: KeyUserName, str: userName})
	}
	return list
}

func mapTLSDetails[V view[V]](list []attr, tls V) []attr {
	if v, ok := tls.str("tlsVersion"); ok {
		list = append(list, attr{key: KeyTLSProtocolVersion, str: strings.TrimPrefix(v, "TLSv")})
	}
	if v, ok := tls.str("cipherSuite"); ok {
		list = append(list, attr{key: KeyTLSCipher, str: v})
	}
	if v, ok := tls.str("clientProvidedHostHeader"); ok {
		list = append(list, attr{key: KeyServerAddress, str: v})
	}
	return list
}
