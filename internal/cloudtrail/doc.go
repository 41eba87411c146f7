// Package cloudtrail decodes the records CloudTrail activity reaches Firehose in and maps them
// to OpenTelemetry logs.
//
// # The log data model (the contract every exporter of this project relies on)
//
// One plog.Logs holds one Firehose request. Each ResourceLogs groups the records of one
// distinct resource: cloud.provider ("aws"), cloud.account.id, cloud.region, the Firehose
// context (aws.firehose.arn, aws.firehose.request_id), each Firehose common attribute as given,
// openobserve.organization / openobserve.stream for OpenObserve-style paths, and on the
// CloudWatch Logs path aws.log.group.names, aws.log.stream.names (one-element slices),
// aws.cloudwatch.subscription_filters and aws.cloudwatch.owner.
//
// A log record is one of:
//   - a CloudTrail record: EventName starts with EventNamePrefix ("aws.cloudtrail."), the body
//     is the whole record as a map (or, with body_format raw, its original JSON text as a
//     string), Timestamp is eventTime, attributes follow REFERENCE §4. Map bodies hold JSON
//     numbers as Int (fits int64), Double (the double, and its shortest literal, which
//     writers print, are exactly the literal's decimal value) or, failing both, the literal text as a string whose JSON Pointer is listed in the
//     KeyNumberLiterals attribute. Keys, nulls (empty values), empty maps and strings are kept.
//     Members of a {"Records":[...]} document other than Records are attributes of each of its
//     records, named KeyLogFilePrefix + key.
//   - a non-CloudTrail EventBridge event (EventNameEventBridge): the whole envelope as body.
//   - a CloudWatch Logs event that is not CloudTrail (EventNameLogEvent), or other JSON
//     (EventNameRecord): the decoded value as body.
//   - an invalid record (EventNameInvalidRecord): the raw data as body (string when valid
//     UTF-8, else bytes), error.type one of the ErrorType* values, aws.error.message the
//     decoding error, aws.firehose.record.shape and aws.firehose.record.index.
package cloudtrail
