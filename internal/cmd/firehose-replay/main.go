// Command firehose-replay sends CloudTrail data to a Firehose HTTP endpoint (this collector's
// receiver, or anything else that speaks the protocol) exactly as Amazon Kinesis Data Firehose
// does: to test a deployment, or to backfill archived CloudTrail S3 log files.
//
// Run it with make replay, or go run ./internal/cmd/firehose-replay -h for the usage.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

const accessKeyEnv = "FIREHOSE_ACCESS_KEY"

// Exit codes.
const (
	exitOK          = 0
	exitUndelivered = 1 // some records were not delivered, or the input could not be read
	exitUsage       = 2
)

const usageText = `Usage: firehose-replay -url URL [flags] PATH...

Sends CloudTrail data to a Firehose HTTP endpoint exactly as Amazon Kinesis Data Firehose does:
the same headers, body, batching, gzip, access key, and retries (same request id, backoff 1 s
doubling ±15 % up to 2 min, for the retry duration). Only a 200 with a valid response is success;
a 413 drops its batch, as Firehose does.

PATH is a file or a directory ("-" reads standard input). A directory is walked in lexical order
for *.json, *.ndjson and *.jsonl files, each also .gz (CloudTrail-Digest folders are skipped), so a
CloudTrail S3 archive <dir>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz replays in
time order. Files may hold NDJSON CloudTrail records, CloudTrail log files {"Records":[...]},
EventBridge events, CloudWatch Logs subscription payloads or LookupEvents output, gzip or not.

Examples:
  # Test a deployment with the EventBridge path (one EventBridge event per record):
  firehose-replay -url https://collector.example.com/firehose -gzip cloudtrail.ndjson

  # Backfill a CloudTrail S3 archive as bare records, 5 MiB requests, 4 in flight:
  aws s3 sync s3://my-trail-bucket/AWSLogs ./archive/AWSLogs
  FIREHOSE_ACCESS_KEY=... firehose-replay -url https://collector.example.com/firehose \
    -wrap bare -gzip -batch-bytes 5242880 -concurrency 4 -progress 30s ./archive

  # The CloudWatch Logs path, control message first, with common attributes:
  firehose-replay -url http://localhost:4433/ -wrap cloudwatch -control-message \
    -common-attributes env=dev,team=sec events.ndjson

  # Through make, and from standard input:
  make replay FILES='cloudtrail.ndjson' REPLAY_URL=http://localhost:4433/ ARGS='-wrap bare -gzip'
  zcat trail.json.gz | make replay FILES=-

Flags:
`

// config is the command line.
type config struct {
	sender   replay.Sender
	wrapper  replay.Wrapper
	progress time.Duration
	paths    []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command; it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parse(args, getenv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		_, _ = fmt.Fprintf(stderr, "firehose-replay: %v\nRun firehose-replay -h for the usage.\n", err)
		return exitUsage
	}
	if cfg.progress > 0 {
		cfg.sender.Progress = replay.ProgressPrinter(stderr, cfg.progress)
	}

	start := time.Now()
	events := 0
	counted := func(yield func(replay.Event, error) bool) {
		for e, err := range replay.Events(stdin, cfg.paths...) {
			if err == nil {
				events++
			}
			if !yield(e, err) {
				return
			}
		}
	}
	stats, err := cfg.sender.SendSeq(ctx, cfg.wrapper.Records(counted))
	_, _ = fmt.Fprintf(stdout, "firehose-replay: elapsed=%s events=%d %s\n", time.Since(start).Round(time.Millisecond), events, stats)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "firehose-replay: %v\n", err)
		return exitUndelivered
	}
	return exitOK
}

// parse reads the command line.
func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var (
		cfg                 config
		wrap                string
		recordCompression   string
		commonAttributes    string
		subscriptionFilters string
		retryDuration       time.Duration
		insecureSkipVerify  bool
	)
	fs := flag.NewFlagSet("firehose-replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	s := &cfg.sender
	fs.StringVar(&s.URL, "url", "", "endpoint `URL`, path and query included (required)")
	fs.StringVar(&s.AccessKey, "access-key", "", "`key` for X-Amz-Firehose-Access-Key (default $"+accessKeyEnv+")")
	fs.StringVar(&s.SourceARN, "source-arn", replay.DefaultSourceARN, "delivery stream `ARN` for X-Amz-Firehose-Source-Arn")
	fs.StringVar(&commonAttributes, "common-attributes", "", "X-Amz-Firehose-Common-Attributes as `k=v,...`")
	fs.BoolVar(&s.Gzip, "gzip", false, "gzip request bodies (Content-Encoding: gzip)")
	fs.IntVar(&s.MaxBatchBytes, "batch-bytes", replay.DefaultMaxBatchBytes, "most `bytes` in a request body before compression, up to 64 MiB (Firehose's buffer size)")
	fs.IntVar(&s.MaxRecords, "records-per-batch", replay.FirehoseMaxRecords, "most records in a request (at most 10000)")
	fs.DurationVar(&retryDuration, "retry-duration", replay.DefaultRetryDuration, "how long a failing batch is retried (0 to 2h; 0: one attempt)")
	fs.DurationVar(&s.InitialBackoff, "backoff", replay.DefaultInitialBackoff, "wait before the first retry, doubled for each next one")
	fs.DurationVar(&s.MaxBackoff, "max-backoff", replay.DefaultMaxBackoff, "longest wait between retries")
	fs.DurationVar(&s.RequestTimeout, "timeout", replay.DefaultRequestTimeout, "timeout of one request")
	fs.IntVar(&s.Concurrency, "concurrency", 1, "requests in flight")
	fs.BoolVar(&insecureSkipVerify, "insecure-skip-verify", false, "do not verify the endpoint's TLS certificate")
	fs.StringVar(&wrap, "wrap", string(replay.WrapEventBridge), "what a Firehose record holds: eventbridge (an EventBridge event), bare (a CloudTrail record), records-file (a CloudTrail log file) or cloudwatch (a CloudWatch Logs payload)")
	fs.StringVar(&recordCompression, "record-compression", "auto", "gzip each record's data: auto (cloudwatch only, as CloudWatch Logs does), gzip or none")
	fs.IntVar(&cfg.wrapper.MaxEvents, "events-per-record", 0, "most events in one records-file or cloudwatch record (0: per input file for records-file, 100 for cloudwatch)")
	fs.StringVar(&cfg.wrapper.CloudWatch.Owner, "owner", "", "cloudwatch: owner account (default: each record's account)")
	fs.StringVar(&cfg.wrapper.CloudWatch.LogGroup, "log-group", "", "cloudwatch: log group (default aws-cloudtrail-logs-<owner>)")
	fs.StringVar(&cfg.wrapper.CloudWatch.LogStream, "log-stream", "", "cloudwatch: log stream (default <owner>_CloudTrail_<region>)")
	fs.StringVar(&subscriptionFilters, "subscription-filters", replay.DefaultSubscriptionFilter, "cloudwatch: subscription filter `names`, comma-separated")
	fs.BoolVar(&cfg.wrapper.ControlMessage, "control-message", false, "cloudwatch: send a CONTROL_MESSAGE first, as CloudWatch Logs does for a new subscription")
	fs.DurationVar(&cfg.progress, "progress", 10*time.Second, "report progress on standard error at most this often (0: never)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}

	accessKeyGiven := false
	fs.Visit(func(f *flag.Flag) { accessKeyGiven = accessKeyGiven || f.Name == "access-key" })
	if !accessKeyGiven {
		s.AccessKey = getenv(accessKeyEnv) // Not the flag's default: -h would print the secret.
	}

	var errs []error
	cfg.paths = fs.Args()
	if len(cfg.paths) == 0 {
		errs = append(errs, errors.New("no PATH to read (use - for standard input)"))
	}
	if s.URL == "" {
		errs = append(errs, errors.New("-url is required"))
	}
	if s.MaxBatchBytes < 1 || s.MaxBatchBytes > replay.FirehoseMaxBodyBytes {
		errs = append(errs, fmt.Errorf("-batch-bytes %d: want 1 to %d", s.MaxBatchBytes, replay.FirehoseMaxBodyBytes))
	}
	if s.MaxRecords < 1 {
		errs = append(errs, fmt.Errorf("-records-per-batch %d: want 1 to %d", s.MaxRecords, replay.FirehoseMaxRecords))
	}
	switch {
	case retryDuration < 0:
		errs = append(errs, fmt.Errorf("-retry-duration %s: must not be negative", retryDuration))
	case retryDuration == 0:
		s.RetryDuration = -1 // The library's zero means the default.
	default:
		s.RetryDuration = retryDuration
	}
	if s.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("-concurrency %d: want at least 1", s.Concurrency))
	}
	if s.InitialBackoff <= 0 || s.MaxBackoff <= 0 || s.RequestTimeout <= 0 {
		errs = append(errs, errors.New("-backoff, -max-backoff and -timeout must be positive"))
	}
	if cfg.progress < 0 {
		errs = append(errs, fmt.Errorf("-progress %s: must not be negative", cfg.progress))
	}
	attrs, err := parseCommonAttributes(commonAttributes)
	if err != nil {
		errs = append(errs, err)
	}
	s.CommonAttributes = attrs
	if insecureSkipVerify {
		s.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for on the command line.
	}

	cfg.wrapper.Wrap = replay.Wrap(wrap)
	switch recordCompression {
	case "auto":
		cfg.wrapper.GzipRecords = cfg.wrapper.Wrap == replay.WrapCloudWatch
	case "gzip":
		cfg.wrapper.GzipRecords = true
	case "none":
	default:
		errs = append(errs, fmt.Errorf("-record-compression %q: want auto, gzip or none", recordCompression))
	}
	cfg.wrapper.CloudWatch.SubscriptionFilters = splitList(subscriptionFilters)
	if err := cfg.wrapper.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := s.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// parseCommonAttributes reads k=v,k=v.
func parseCommonAttributes(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	attrs := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("-common-attributes: %q is not k=v", pair)
		}
		if _, dup := attrs[k]; dup {
			return nil, fmt.Errorf("-common-attributes: %q given twice", k)
		}
		attrs[k] = strings.TrimSpace(v)
	}
	return attrs, nil
}

// splitList splits a comma-separated list; empty gives an empty, non-nil list.
func splitList(s string) []string {
	out := []string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
