package replay

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadNDJSONReturnsEveryLineVerbatim(t *testing.T) {
	raw, err := os.ReadFile(otelRecordsFile)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")

	tests := []struct {
		name  string
		input []byte
	}{
		{name: "the real file", input: raw},
		{name: "the file gzipped", input: Gzip(raw)},
		{name: "with CRLF, blank lines and no final newline", input: []byte("\r\n" + strings.Join(lines, "\r\n\n  \n"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records, err := ReadNDJSON(bytes.NewReader(tt.input))
			require.NoError(t, err)
			require.Len(t, records, 8)
			for i, r := range records {
				assert.Equal(t, lines[i], string(r))
			}
		})
	}
}

func TestReadNDJSONErrors(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{name: "a truncated line names its line", input: "{}\n{\"a\":\n", want: "line 2"},
		{name: "two values on a line are an error", input: "{}\n\n{} {}\n", want: "line 3"},
		{name: "text is an error", input: "hello\n", want: "line 1"},
		{name: "a broken gzip stream is an error", input: "\x1f\x8b\x08\x00garbage", want: "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadNDJSON(strings.NewReader(tt.input))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestReadRecordsFileOfThePlasoFileGivesNineRecords(t *testing.T) {
	original, err := os.ReadFile(plasoRecordsFile)
	require.NoError(t, err)
	for name, input := range map[string][]byte{"plain": original, "gzip": Gzip(original)} {
		t.Run("the "+name+" file gives nine records", func(t *testing.T) {
			records, err := ReadRecordsFile(bytes.NewReader(input))
			require.NoError(t, err)
			require.Len(t, records, 9)
			for _, r := range records {
				assert.True(t, bytes.Contains(original, r), "each record is a verbatim slice of the file")
			}
			fields, err := parseRecordFields(records[0])
			require.NoError(t, err)
			assert.Equal(t, "2014-03-06T21:22:54Z", string(fields.EventTime))
		})
	}
}

func TestReadRecordsFileKeepsWhiteSpaceAndOtherKeys(t *testing.T) {
	input := "{\n  \"Digest\": {\"x\": [1, 2]},\n  \"Records\": [\n    { \"a\" : 1.50 },\n    {\"b\":\"\\u003c\"}\n  ]\n}\n"
	records, err := ReadRecordsFile(strings.NewReader(input))
	require.NoError(t, err)
	require.Len(t, records, 2)
	assert.Equal(t, `{ "a" : 1.50 }`, string(records[0]))
	assert.Equal(t, `{"b":"\u003c"}`, string(records[1]))
}

func TestReadRecordsFileErrors(t *testing.T) {
	for name, input := range map[string]string{
		"an array is not a log file":        `[{}]`,
		"a log file needs Records":          `{"records":[]}`,
		"Records must be an array":          `{"Records":{}}`,
		"a truncated file is an error":      `{"Records":[{"a":1},`,
		"data after the object is an error": `{"Records":[]} {}`,
		"an empty input is an error":        ``,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadRecordsFile(strings.NewReader(input))
			assert.Error(t, err)
		})
	}
}

func TestReadEventsRecognisesEveryShape(t *testing.T) {
	cw, err := os.ReadFile(cloudWatchFile)
	require.NoError(t, err)
	tests := []struct {
		name          string
		input         string
		wantRecords   []string
		wantEnvelopes int
	}{
		{
			name:        "bare records, one per line",
			input:       "{\"eventID\":\"1\"}\n{\"eventID\":\"2\"}\n",
			wantRecords: []string{`{"eventID":"1"}`, `{"eventID":"2"}`},
		},
		{
			name:        "a pretty-printed log file",
			input:       "{\n\"Records\": [ {\"eventID\":\"1\"} ,\n {\"eventID\":\"2\"}]}",
			wantRecords: []string{`{"eventID":"1"}`, `{"eventID":"2"}`},
		},
		{
			name:          "an eventbridge event gives its detail",
			input:         `{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":{"eventID":"1"}}`,
			wantRecords:   []string{`{"eventID":"1"}`},
			wantEnvelopes: 1,
		},
		{
			name:        "a cloudwatch logs data message gives its messages",
			input:       string(cw),
			wantRecords: []string{"{\"eventVersion\":\"1.11\","},
		},
		{
			name:  "a cloudwatch logs control message gives nothing",
			input: string(ControlMessage()),
		},
		{
			name:        "lookup-events output gives the CloudTrailEvent strings",
			input:       `{"Events":[{"EventId":"1","CloudTrailEvent":"{\"eventID\":\"1\"}"}],"NextToken":"x"}`,
			wantRecords: []string{`{"eventID":"1"}`},
		},
		{
			name:        "a JSON array gives its elements",
			input:       `[{"eventID":"1"},{"Records":[{"eventID":"2"}]}]`,
			wantRecords: []string{`{"eventID":"1"}`, `{"eventID":"2"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Event
			err := ReadEvents(strings.NewReader(tt.input), "in", func(e Event) error {
				got = append(got, e)
				return nil
			})
			require.NoError(t, err)
			require.Len(t, got, len(tt.wantRecords))
			envelopes := 0
			for i, e := range got {
				assert.True(t, strings.HasPrefix(string(e.Record), tt.wantRecords[i]), "%s", e.Record)
				assert.Equal(t, "in", e.File)
				assert.Equal(t, i+1, e.Pos)
				if e.Envelope != nil {
					envelopes++
					assert.Equal(t, tt.input, string(e.Envelope))
				}
			}
			assert.Equal(t, tt.wantEnvelopes, envelopes)
		})
	}
}

func TestReadEventsErrors(t *testing.T) {
	for name, input := range map[string]string{
		"a string value is an error":                  "{}\n\"x\"\n",
		"invalid JSON is an error":                    "{}\n{\"a\"\n",
		"a data message without messages is an error": `{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1"}]}`,
		"Records that are no array are an error":      `{"Records":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			err := ReadEvents(strings.NewReader(input), "in", func(Event) error { return nil })
			require.Error(t, err)
			assert.Contains(t, err.Error(), "in: value ")
		})
	}

	t.Run("the callback's error stops reading and comes back as is", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := ReadEvents(strings.NewReader("{}\n{}\n{}"), "in", func(Event) error {
			calls++
			return stop
		})
		assert.Same(t, stop, err)
		assert.Equal(t, 1, calls)
	})
}

// writeArchive lays out a CloudTrail S3 archive with the plaso log file split over two days,
// a digest file, and files that are not input.
func writeArchive(t *testing.T) (dir string, records [][]byte) {
	t.Helper()
	original, err := os.ReadFile(plasoRecordsFile)
	require.NoError(t, err)
	records, err = ReadRecordsFile(bytes.NewReader(original))
	require.NoError(t, err)

	dir = t.TempDir()
	trail := filepath.Join(dir, "AWSLogs", "123456789012", "CloudTrail", "us-east-2", "2014", "03")
	files := map[string][]byte{
		filepath.Join(trail, "06", "123456789012_CloudTrail_us-east-2_20140306T2120Z_a.json.gz"):     Gzip(RecordsFile(records[:4])),
		filepath.Join(trail, "06", "123456789012_CloudTrail_us-east-2_20140306T2125Z_b.json.gz"):     Gzip(RecordsFile(records[4:5])),
		filepath.Join(trail, "07", "123456789012_CloudTrail_us-east-2_20140307T0000Z_c.json"):        RecordsFile(records[5:]),
		filepath.Join(dir, "AWSLogs", "123456789012", "CloudTrail-Digest", "us-east-2", "d.json.gz"): Gzip([]byte(`{"awsAccountId":"123456789012","logFiles":[]}`)),
		filepath.Join(dir, "README.txt"): []byte("not input"),
	}
	for path, data := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	return dir, records
}

func TestReadPathWalksACloudTrailArchiveInOrder(t *testing.T) {
	dir, records := writeArchive(t)
	events, err := ReadPath(dir)
	require.NoError(t, err)
	require.Len(t, events, len(records), "digest files and other files are skipped")
	for i, e := range events {
		assert.Equal(t, string(records[i]), string(e.Record), "event %d", i)
		assert.Nil(t, e.Envelope)
		assert.True(t, strings.HasSuffix(e.File, ".json.gz") || strings.HasSuffix(e.File, ".json"))
	}
	assert.Equal(t, 1, events[4].Pos, "positions count per file")
}

func TestReadPathReadsOneFileWhateverItsName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.txt")
	raw, err := os.ReadFile(eventBridgeFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw, 0o644))

	events, err := ReadPath(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, events, len(lines))
	for i, e := range events {
		assert.Equal(t, lines[i], string(e.Envelope))
		assert.True(t, bytes.Contains(e.Envelope, append([]byte(`"detail":`), e.Record...)), "the detail is a verbatim slice of line %d", i+1)
	}
}

func TestReadPathOfAMissingPathIsAnError(t *testing.T) {
	_, err := ReadPath(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestEventsStreamsPathsAndStdinInOrder(t *testing.T) {
	dir, records := writeArchive(t)
	stdin := strings.NewReader(`{"eventID":"stdin"}`)
	var got []string
	for e, err := range Events(stdin, dir, "-") {
		require.NoError(t, err)
		got = append(got, string(e.Record))
	}
	require.Len(t, got, len(records)+1)
	assert.Equal(t, `{"eventID":"stdin"}`, got[len(records)])

	t.Run("breaking out of the loop stops reading", func(t *testing.T) {
		n := 0
		for range Events(nil, dir) {
			n++
			break
		}
		assert.Equal(t, 1, n)
	})
	t.Run("an error ends the stream", func(t *testing.T) {
		var errs []error
		for _, err := range Events(nil, filepath.Join(dir, "missing"), dir) {
			errs = append(errs, err)
		}
		require.Len(t, errs, 1)
		assert.ErrorIs(t, errs[0], os.ErrNotExist)
	})
}

func FuzzReadRecordsFile(f *testing.F) {
	original, err := os.ReadFile(plasoRecordsFile)
	require.NoError(f, err)
	f.Add(original)
	f.Add([]byte(`{"Records":[ 1 , "x" , {"a" : [ ] } ]}`))
	f.Add([]byte(`{"Records":[],"Records":[{}]}`))
	f.Fuzz(func(t *testing.T, input []byte) {
		records, err := ReadRecordsFile(bytes.NewReader(input))
		if err != nil {
			return
		}
		again, err := ReadRecordsFile(bytes.NewReader(RecordsFile(records)))
		require.NoError(t, err)
		require.Equal(t, len(records), len(again))
		for i := range records {
			require.Equal(t, string(records[i]), string(again[i]))
		}
	})
}

func FuzzReadEvents(f *testing.F) {
	for _, path := range []string{otelRecordsFile, plasoRecordsFile, cloudWatchFile, eventBridgeFile} {
		raw, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		_ = ReadEvents(bytes.NewReader(input), "fuzz", func(e Event) error {
			require.NotNil(t, e.Record)
			return nil
		})
	})
}
