package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"iter"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventsOf streams events, then err when it is not nil.
func eventsOf(events []Event, err error) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for _, e := range events {
			if !yield(e, nil) {
				return
			}
		}
		if err != nil {
			yield(Event{}, err)
		}
	}
}

// collect gathers a record stream; the error, if any, must come last.
func collect(t *testing.T, records iter.Seq2[[]byte, error]) ([][]byte, error) {
	t.Helper()
	var out [][]byte
	var failure error
	for r, err := range records {
		require.NoError(t, failure, "nothing may follow an error")
		if err != nil {
			failure = err
			continue
		}
		out = append(out, r)
	}
	return out, failure
}

func bareEvents(t *testing.T, file string) []Event {
	t.Helper()
	var events []Event
	for i, r := range ndjsonRecords(t, otelRecordsFile) {
		events = append(events, Event{Record: r, File: file, Pos: i + 1})
	}
	return events
}

func TestWrapperEventBridgeWrapsRecordsAndPassesEnvelopesThrough(t *testing.T) {
	enveloped, err := ReadPath(eventBridgeFile)
	require.NoError(t, err)
	bare := bareEvents(t, "bare")
	records, err := collect(t, Wrapper{Wrap: WrapEventBridge}.Records(eventsOf(append(slices.Clone(enveloped), bare...), nil)))
	require.NoError(t, err)
	require.Len(t, records, len(enveloped)+len(bare))
	for i, e := range enveloped {
		assert.Equal(t, e.Envelope, records[i], "an envelope goes as it came")
	}
	for i, e := range bare {
		want, err := EventBridgeEvent(e.Record)
		require.NoError(t, err)
		assert.Equal(t, want, records[len(enveloped)+i])
	}
}

func TestWrapperBareExtractsDetails(t *testing.T) {
	enveloped, err := ReadPath(eventBridgeFile)
	require.NoError(t, err)
	records, err := collect(t, Wrapper{Wrap: WrapBare, GzipRecords: true}.Records(eventsOf(enveloped, nil)))
	require.NoError(t, err)
	require.Len(t, records, len(enveloped))
	for i, r := range records {
		plain, err := ReadNDJSON(bytes.NewReader(r))
		require.NoError(t, err)
		assert.Equal(t, [][]byte{enveloped[i].Record}, plain, "the detail, gzipped")
		assert.True(t, bytes.Contains(enveloped[i].Envelope, enveloped[i].Record))
	}
}

func TestWrapperRecordsFileGroupsPerInputFile(t *testing.T) {
	events := append(bareEvents(t, "a.json"), bareEvents(t, "b.json")[:3]...)
	tests := []struct {
		name      string
		maxEvents int
		want      []int // events per file
	}{
		{name: "one log file per input file", want: []int{8, 3}},
		{name: "at most 3 events per log file", maxEvents: 3, want: []int{3, 3, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records, err := collect(t, Wrapper{Wrap: WrapRecordsFile, MaxEvents: tt.maxEvents}.Records(eventsOf(events, nil)))
			require.NoError(t, err)
			var got []int
			var all [][]byte
			for _, r := range records {
				inner, err := ReadRecordsFile(bytes.NewReader(r))
				require.NoError(t, err)
				got = append(got, len(inner))
				all = append(all, inner...)
			}
			assert.Equal(t, tt.want, got)
			for i, e := range events {
				assert.Equal(t, e.Record, all[i])
			}
		})
	}
}

func TestWrapperRecordsFileStaysUnderTheRecordLimit(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 300_000)
	var events []Event
	for range 10 {
		events = append(events, Event{Record: []byte(`{"pad":"` + string(big) + `"}`), File: "one"})
	}
	records, err := collect(t, Wrapper{Wrap: WrapRecordsFile}.Records(eventsOf(events, nil)))
	require.NoError(t, err)
	require.Len(t, records, 4, "three events fit a record")
	for _, r := range records {
		assert.LessOrEqual(t, len(r), FirehoseMaxRecordBytes)
	}
}

func TestWrapperCloudWatchGroupsByLogStream(t *testing.T) {
	events := bareEvents(t, "x")
	records, err := collect(t, Wrapper{Wrap: WrapCloudWatch, GzipRecords: true, ControlMessage: true}.Records(eventsOf(events, nil)))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(records), 2)

	var messages []string
	for i, r := range records {
		require.Equal(t, []byte{0x1f, 0x8b}, r[:2], "CloudWatch Logs gzips its payloads")
		plain, err := ReadNDJSON(bytes.NewReader(r))
		require.NoError(t, err)
		require.Len(t, plain, 1)
		doc := decodeCloudWatch(t, plain[0])
		if i == 0 {
			assert.Equal(t, "CONTROL_MESSAGE", doc.MessageType)
			continue
		}
		assert.Equal(t, "DATA_MESSAGE", doc.MessageType)
		for _, e := range doc.LogEvents {
			messages = append(messages, e.Message)
			fields, err := parseRecordFields([]byte(e.Message))
			require.NoError(t, err)
			assert.Equal(t, doc.Owner+"_CloudTrail_"+string(fields.AWSRegion), doc.LogStream, "one stream per account and region")
			assert.Equal(t, doc.Owner, fields.account())
		}
	}
	require.Len(t, messages, len(events))
	for i, e := range events {
		assert.Equal(t, string(e.Record), messages[i])
	}
}

func TestWrapperCloudWatchWithFixedOptionsBoundsEventsPerPayload(t *testing.T) {
	events := bareEvents(t, "x")
	w := Wrapper{Wrap: WrapCloudWatch, MaxEvents: 3, CloudWatch: CloudWatchOptions{Owner: "1", LogGroup: "g", LogStream: "s", FirstEventID: big.NewInt(100)}}
	records, err := collect(t, w.Records(eventsOf(events, nil)))
	require.NoError(t, err)
	var sizes []int
	var ids []string
	for _, r := range records {
		doc := decodeCloudWatch(t, r)
		assert.Equal(t, "s", doc.LogStream)
		sizes = append(sizes, len(doc.LogEvents))
		for _, e := range doc.LogEvents {
			ids = append(ids, strings.TrimLeft(e.ID, "0"))
		}
	}
	assert.Equal(t, []int{3, 3, 2}, sizes)
	assert.Equal(t, []string{"100", "101", "102", "103", "104", "105", "106", "107"}, ids, "ids keep counting across payloads")
	assert.Equal(t, int64(100), w.CloudWatch.FirstEventID.Int64(), "the option is not modified")
}

func TestWrapperErrors(t *testing.T) {
	broken := errors.New("broken input")
	for _, wrap := range Wraps {
		t.Run("an input error ends the "+string(wrap)+" stream after what came before", func(t *testing.T) {
			records, err := collect(t, Wrapper{Wrap: wrap}.Records(eventsOf(bareEvents(t, "x")[:2], broken)))
			require.ErrorIs(t, err, broken)
			assert.NotEmpty(t, records)
		})
	}
	t.Run("an unknown wrap is an error", func(t *testing.T) {
		_, err := collect(t, Wrapper{Wrap: "kinesis"}.Records(eventsOf(nil, nil)))
		assert.ErrorContains(t, err, `wrap "kinesis"`)
	})
	t.Run("a record that is not an object cannot be wrapped for eventbridge", func(t *testing.T) {
		_, err := collect(t, Wrapper{Wrap: WrapEventBridge}.Records(eventsOf([]Event{{Record: []byte(`"x"`), File: "f", Pos: 4}}, nil)))
		assert.ErrorContains(t, err, "f: event 4")
	})
	t.Run("breaking out of the loop stops the stream", func(t *testing.T) {
		for _, wrap := range Wraps {
			n := 0
			for range (Wrapper{Wrap: wrap, MaxEvents: 1}).Records(eventsOf(bareEvents(t, "x"), nil)) {
				n++
				break
			}
			assert.Equal(t, 1, n, string(wrap))
		}
	})
}

// TestWrapperRoundTripsThroughTheReaders sends every wrap of the real records back through
// ReadEvents and expects the records unchanged.
func TestWrapperRoundTripsThroughTheReaders(t *testing.T) {
	raw, err := os.ReadFile(otelRecordsFile)
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		want = append(want, line)
	}
	for _, wrap := range Wraps {
		t.Run("the "+string(wrap)+" wrap gives the records back", func(t *testing.T) {
			records, err := collect(t, Wrapper{Wrap: wrap, GzipRecords: true}.Records(eventsOf(bareEvents(t, "x"), nil)))
			require.NoError(t, err)
			var got []string
			for _, r := range records {
				require.NoError(t, ReadEvents(bytes.NewReader(r), "r", func(e Event) error {
					got = append(got, string(e.Record))
					return nil
				}))
			}
			assert.Equal(t, want, got)
			assert.True(t, json.Valid([]byte(got[0])))
		})
	}
}
