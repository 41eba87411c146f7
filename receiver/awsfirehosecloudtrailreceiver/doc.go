// Package awsfirehosecloudtrailreceiver implements the awsfirehosecloudtrail receiver: an
// Amazon Kinesis Data Firehose HTTP endpoint that decodes CloudTrail activity in every shape it
// reaches Firehose in (EventBridge events, bare records, CloudTrail log files, CloudWatch Logs
// subscription payloads) and emits lossless OpenTelemetry logs.
package awsfirehosecloudtrailreceiver // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/receiver/awsfirehosecloudtrailreceiver"

//go:generate go tool mdatagen metadata.yaml
