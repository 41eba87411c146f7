// Package openobservetest is an in-process stand-in for OpenObserve's log ingestion API, for
// tests of this project's exporters and of the built collector.
//
// It implements the contract written down in REFERENCE §3 rather than OpenObserve's code:
//
//   - POST /api/{org}/{stream}/_json (a JSON array of objects, or one object) and
//     POST /api/{org}/{stream}/_multi (NDJSON);
//   - HTTP Basic authentication (401 without valid credentials, 403 for an organization the
//     server was told not to serve);
//   - Content-Encoding gzip, zstd, deflate (zlib) or none (415 for anything else); a body over
//     Options.MaxBodyBytes, on the wire or once decoded, answers 413;
//   - the ingestion rules: keys lower-cased, characters outside [a-z0-9_] replaced by "_",
//     nesting joined with "_", arrays stored as compact JSON strings, nulls and empty objects
//     dropped, objects at or below the flatten level stored as compact JSON strings (no HTML
//     escaping, source key order), colliding keys overwriting each other (last wins);
//   - _timestamp read from the "_timestamp" key only (integers in s, ms, µs or ns by magnitude,
//     RFC 3339 strings), else the ingestion time; records older than
//     Options.IngestAllowedUpto or further than Options.IngestAllowedInFuture in the future are
//     dropped and counted in "failed" inside an HTTP 200;
//   - a per-stream schema: a column keeps the type it was first seen with unless the new type
//     widens it (bool → string, int → float or string, float → string); a value that cannot be
//     cast to its column's type fails its record (counted in "failed", HTTP 200);
//   - the columns limit (Options.ColumnsLimit, default 1000) checked over the whole request:
//     more distinct columns answer 400 and nothing is stored;
//   - responses shaped like OpenObserve's: 200 {"code":200,"status":[{"name":..,"successful":N,
//     "failed":M,"error":".."}]}, errors {"code":N,"message":".."}.
//
// Tests read what was stored with Server.Rows, the traffic with Server.Requests and
// Server.Counters, and inject statuses (429 and 503 with Retry-After, 5xx, 413, ...) with
// Server.Inject.
package openobservetest // import "github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/openobservetest"
