// Package localstorageexporter writes logs durably to local files: the distribution's
// embedded default sink and a durable archive.
//
// With format cloudtrail (the default) every CloudTrail record is stored in CloudTrail's own
// S3 delivery layout and file format, value for value as it arrived, so the archive reads in
// any tool that reads CloudTrail S3 logs; every other log record is stored as gzip OTLP JSON
// lines beside it. With format otlp_json every log record is stored as gzip OTLP JSON lines.
//
// ConsumeLogs returns only once the data is on disk. In-progress files are made of complete
// gzip members; Start repairs and finalises the ones an earlier run left behind.
package localstorageexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/localstorageexporter"

//go:generate go tool mdatagen metadata.yaml
