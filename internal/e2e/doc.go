// Package e2e holds the end-to-end tests of the otelcol-cloudtrail distribution. They build
// the collector with ocb (make build, skipped when the binary is up to date), run it as a child
// process on free loopback ports, deliver the real CloudTrail data of testdata/ to it the way
// Amazon Data Firehose does (internal/replay), and check what it stored, forwarded and reported:
//
//   - every event lands in the local archive in CloudTrail format, value for value, whichever
//     way Firehose wraps it;
//   - the same events reach an OTLP backend (a second collector) with the mapped attributes,
//     also through a persistent queue across a backend outage and a crash;
//   - they reach OpenObserve (the internal/openobservetest server) as one row each, flattened
//     as OpenObserve flattens a bare record, with its dashboard's fields and time window,
//     across a 503 with Retry-After, and OpenObserve's own Firehose path still routes to its
//     organization and stream;
//   - the health check and the self-metrics answer and count what was received;
//   - after a kill -9 in the middle of a replay and a restart, no event is lost;
//   - every shipped configuration is valid, and a bad one is refused at start with a message
//     that names the key.
//
// The tests are part of make test; go test -short skips them.
package e2e
