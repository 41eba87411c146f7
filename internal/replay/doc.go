// Package replay sends CloudTrail data to a Firehose HTTP endpoint exactly as Amazon Kinesis
// Data Firehose does. It backs the firehose-replay command (make replay) and the tests of the
// packages that receive Firehose traffic.
//
// The pieces, from input to wire:
//   - Readers (ReadNDJSON, ReadRecordsFile, ReadEvents, WalkPath, ReadPath, Events) take NDJSON,
//     CloudTrail S3 log files ({"Records":[...]}, gzip or not, a whole archive tree), EventBridge
//     events, CloudWatch Logs subscription payloads and LookupEvents items, and yield Events whose
//     bytes are the input's, verbatim.
//   - Wrappers (EventBridgeEvent, RecordsFile, CloudWatchLogsPayload, ControlMessage, Gzip, and
//     Wrapper for streams) turn CloudTrail records into the Firehose records of one delivery path.
//   - RequestBody builds a Firehose request body; Sender batches records into requests and
//     delivers them with Firehose's headers, response checks and retry behaviour.
//
// Nothing is re-encoded on the way: a record's bytes (numbers, escapes, key order) reach the
// endpoint exactly as they were read.
package replay
