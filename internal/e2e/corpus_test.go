package e2e

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/replay"
)

// corpus is real data from testdata/cloudtrail (see testdata/PROVENANCE.md).
type corpus struct {
	// cloudTrail are the CloudTrail events of every file: raw records, EventBridge events,
	// CloudWatch Logs payloads, LookupEvents items, CloudTrail log files.
	cloudTrail []replay.Event
	// other are EventBridge events that are not CloudTrail (GuardDuty, Security Hub, ...).
	other []replay.Event
}

// nonCloudTrailMarker marks the files of EventBridge events that are not CloudTrail.
const nonCloudTrailMarker = "non-cloudtrail"

func loadCorpus(t *testing.T) corpus {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "cloudtrail", "*.*json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var c corpus
	for _, p := range paths {
		events, err := replay.ReadPath(p)
		require.NoError(t, err)
		require.NotEmpty(t, events, p)
		if strings.Contains(filepath.Base(p), nonCloudTrailMarker) {
			c.other = append(c.other, events...)
		} else {
			c.cloudTrail = append(c.cloudTrail, events...)
		}
	}
	return c
}

// recordMultiset is the multiset of the events' CloudTrail records, times copies.
func recordMultiset(t *testing.T, events []replay.Event, copies int) *multiset {
	t.Helper()
	m := newMultiset()
	for _, e := range events {
		v, err := decodeJSON(e.Record)
		require.NoError(t, err, "%s:%d", e.File, e.Pos)
		key, where := canonical(v), fmt.Sprintf("%s:%d", relPath(e.File), e.Pos)
		for range copies {
			m.add(key, where)
		}
	}
	return m
}

// envelopeMultiset is the multiset of whole EventBridge events.
func envelopeMultiset(t *testing.T, events []replay.Event) *multiset {
	t.Helper()
	m := newMultiset()
	for _, e := range events {
		require.NotNil(t, e.Envelope, "%s:%d is not an EventBridge event", e.File, e.Pos)
		v, err := decodeJSON(e.Envelope)
		require.NoError(t, err)
		m.add(canonical(v), fmt.Sprintf("%s:%d", relPath(e.File), e.Pos))
	}
	return m
}

func relPath(p string) string {
	if rel, err := filepath.Rel(repoRoot, p); err == nil {
		return rel
	}
	return p
}

func eventSeq(events []replay.Event) iter.Seq2[replay.Event, error] {
	return func(yield func(replay.Event, error) bool) {
		for _, e := range events {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// wrapper is the way Firehose records carry CloudTrail events on one delivery path, with the
// record compression that path has in production.
func wrapper(w replay.Wrap) replay.Wrapper {
	return replay.Wrapper{
		Wrap: w,
		// CloudWatch Logs always gzips; a log file forwarded from S3 is gzip too.
		GzipRecords: w == replay.WrapCloudWatch || w == replay.WrapRecordsFile,
	}
}

// newSender is a Firehose for in at a fast pace: small gzip requests, quick retries.
func newSender(in *instance) *replay.Sender {
	return &replay.Sender{
		URL:            in.firehoseURL(),
		AccessKey:      in.accessKey,
		SourceARN:      "arn:aws:firehose:us-east-1:123456789012:deliverystream/e2e",
		Gzip:           true,
		MaxBatchBytes:  128 << 10,
		RetryDuration:  2 * time.Minute,
		InitialBackoff: 20 * time.Millisecond,
		MaxBackoff:     500 * time.Millisecond,
		RequestTimeout: 30 * time.Second,
	}
}

// send delivers events on a delivery path and requires every record to be delivered.
func send(t *testing.T, s *replay.Sender, w replay.Wrap, events []replay.Event) replay.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stats, err := s.SendSeq(ctx, wrapper(w).Records(eventSeq(events)))
	require.NoError(t, err, "replay %s: %s", w, stats)
	require.Zero(t, stats.Undelivered(), "replay %s: %s", w, stats)
	require.Positive(t, stats.RecordsSent)
	return stats
}
