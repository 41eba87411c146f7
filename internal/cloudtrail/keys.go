package cloudtrail

import (
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// Resource attribute keys. Keys that semantic conventions v1.40.0 define come from there; the
// rest are this project's own and all live in this file.
const (
	KeyCloudProvider  = string(semconv.CloudProviderKey)  // "aws"
	KeyCloudAccountID = string(semconv.CloudAccountIDKey) // recipientAccountId, else userIdentity.accountId, else envelope account
	KeyCloudRegion    = string(semconv.CloudRegionKey)    // awsRegion, else envelope region

	KeyFirehoseARN       = "aws.firehose.arn"        // X-Amz-Firehose-Source-Arn
	KeyFirehoseRequestID = "aws.firehose.request_id" // X-Amz-Firehose-Request-Id

	KeyLogGroupNames  = string(semconv.AWSLogGroupNamesKey)  // [logGroup], CloudWatch Logs path only
	KeyLogStreamNames = string(semconv.AWSLogStreamNamesKey) // [logStream], CloudWatch Logs path only
	// KeySubscriptionFilters holds the CloudWatch Logs payload's subscriptionFilters (a slice).
	KeySubscriptionFilters = "aws.cloudwatch.subscription_filters"
	// KeyLogOwner is the CloudWatch Logs payload's owner account.
	KeyLogOwner = "aws.cloudwatch.owner"

	// KeyOpenObserveOrganization and KeyOpenObserveStream are set when Firehose posted to a
	// path of the form /aws/{org}/{stream}/_kinesis_firehose (OpenObserve's URL scheme).
	KeyOpenObserveOrganization = "openobserve.organization"
	KeyOpenObserveStream       = "openobserve.stream"
)

// Log record attribute keys (REFERENCE §4).
const (
	KeyEventID      = "aws.cloudtrail.event_id"
	KeyEventVersion = "aws.cloudtrail.event_version"
	KeyEventType    = "aws.cloudtrail.event_type"

	KeyRPCMethod = string(semconv.RPCMethodKey) // eventName
	// KeyRPCService and KeyRPCSystem follow the project's attribute contract; semantic
	// conventions v1.40.0 no longer define them.
	KeyRPCService  = "rpc.service" // eventSource
	KeyRPCSystem   = "rpc.system"  // always ValueRPCSystem
	ValueRPCSystem = "aws-api"

	KeyEventCategory   = "aws.event.category"
	KeyEventReadOnly   = "aws.event.read_only"  // bool
	KeyEventManagement = "aws.event.management" // bool

	KeyRequestID     = string(semconv.AWSRequestIDKey) // requestID
	KeySharedEventID = "aws.shared_event_id"

	KeyClientAddress     = string(semconv.ClientAddressKey)     // sourceIPAddress
	KeyUserAgentOriginal = string(semconv.UserAgentOriginalKey) // userAgent

	KeyPrincipalType        = "aws.principal.type"
	KeyPrincipalARN         = "aws.principal.arn"
	KeyPrincipalID          = "aws.principal.id"
	KeyUserIdentityAccount  = "aws.user_identity.account_id"
	KeyAccessKeyID          = "aws.access_key.id"
	KeyUserIdentityInvoked  = "aws.user_identity.invoked_by"
	KeyUserName             = string(semconv.UserNameKey)
	KeyMFAAuthenticated     = "aws.user_identity.mfa_authenticated" // bool
	KeyErrorType            = string(semconv.ErrorTypeKey)          // errorCode; on invalid records, why decoding failed
	KeyErrorMessage         = "aws.error.message"                   // errorMessage; on invalid records, the decoding error
	KeyTLSProtocolVersion   = string(semconv.TLSProtocolVersionKey) // "1.2" from "TLSv1.2"
	KeyTLSCipher            = string(semconv.TLSCipherKey)
	KeyServerAddress        = string(semconv.ServerAddressKey) // tlsDetails.clientProvidedHostHeader
	KeyEventBridgeID        = "aws.eventbridge.event_id"
	KeyEventBridgeDetail    = "aws.eventbridge.detail_type"
	KeyEventBridgeSource    = "aws.eventbridge.source"
	KeyEventBridgeResources = "aws.eventbridge.resources" // slice
	// KeyEventBridgePrefix prefixes every other EventBridge envelope field that is kept as an
	// attribute (version, account, time, region and any unknown key): "aws.eventbridge." + key.
	KeyEventBridgePrefix = "aws.eventbridge."
	// KeyLogFilePrefix prefixes the members of a {"Records":[...]} document other than
	// Records, kept as attributes of each of its records.
	KeyLogFilePrefix = "aws.cloudtrail.log_file."
	KeyLogEventID    = "aws.cloudwatch.log_event_id" // logEvents[].id

	// KeyRecordShape names, on invalid records, the wrapping the record was found in: one of the Shape* values.
	KeyRecordShape = "aws.firehose.record.shape"
	// KeyRecordIndex is, on invalid records, the record's position in the Firehose request (0-based).
	KeyRecordIndex = "aws.firehose.record.index"
	// KeyNumberLiterals lists, as RFC 6901 JSON Pointers into the body, every JSON number that
	// the map body holds as its literal text (a string) because no int64 or float64 holds its
	// exact decimal value. Writers that re-serialise the body as JSON emit those strings as
	// bare numbers to restore the original record value for value.
	KeyNumberLiterals = "aws.cloudtrail.number_literals"
)

// Event names (LogRecord.EventName).
const (
	// EventNamePrefix starts the event name of every log record whose body is a CloudTrail record.
	EventNamePrefix = "aws.cloudtrail."
	// EventNameCloudTrailOther is used when eventType is absent or unknown.
	EventNameCloudTrailOther = "aws.cloudtrail.event"
	// EventNameEventBridge is a non-CloudTrail EventBridge event; its body is the whole envelope.
	EventNameEventBridge = "aws.eventbridge.event"
	// EventNameLogEvent is a CloudWatch Logs event whose message is not a CloudTrail record;
	// its body is the message (a string) or the decoded JSON value.
	EventNameLogEvent = "aws.cloudwatch.log_event"
	// EventNameRecord is a decodable record that is none of the above; its body is the JSON value.
	EventNameRecord = "aws.firehose.record"
	// EventNameInvalidRecord is a record that could not be decoded; its body is the raw data
	// (a string when valid UTF-8, else bytes) and error.type says why.
	EventNameInvalidRecord = "aws.firehose.invalid_record"
)

// Values of error.type on invalid records.
const (
	ErrorTypeInvalidBase64 = "invalid_base64"
	ErrorTypeInvalidGzip   = "invalid_gzip"
	ErrorTypeInvalidJSON   = "invalid_json"
	ErrorTypeTooLarge      = "record_too_large"
)

// Record shapes (values of KeyRecordShape and of the records-by-shape counter).
const (
	ShapeEventBridge = "eventbridge"  // an EventBridge event, CloudTrail or not
	ShapeBare        = "bare"         // a bare CloudTrail record
	ShapeRecordsFile = "records_file" // a CloudTrail log file {"Records":[...]}
	ShapeCloudWatch  = "cloudwatch"   // a CloudWatch Logs subscription DATA_MESSAGE
	ShapeControl     = "control"      // a CloudWatch Logs CONTROL_MESSAGE (no log records)
	ShapeOther       = "other"        // JSON that is none of the above
	ShapeInvalid     = "invalid"      // could not be decoded
)
