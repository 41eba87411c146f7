//go:generate go tool mdatagen metadata.yaml

// Package openobserveexporter sends logs to OpenObserve's JSON ingestion API
// (POST /api/{org}/{stream}/_json).
//
// CloudTrail records (the log data model of internal/cloudtrail) are flattened client-side the
// way OpenObserve stores a bare CloudTrail record, with _timestamp set from eventTime and
// userIdentity.sessionContext kept whole as compact JSON, so that OpenObserve's prebuilt
// CloudTrail dashboard finds every field it queries. Other log records are flattened
// generically. See README.md for the field contract, the batching rules and how OpenObserve's
// answers (including failures reported inside an HTTP 200) are handled.
package openobserveexporter // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/exporter/openobserveexporter"
