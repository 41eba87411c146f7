package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
)

// ReadNDJSON returns the JSON value of every non-empty line of r, verbatim (surrounding white
// space removed). A gzip stream (magic bytes 1f 8b) is decompressed first.
func ReadNDJSON(r io.Reader) ([][]byte, error) {
	br, err := decompressed(r)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if v := bytes.TrimSpace(b); len(v) > 0 {
			if !json.Valid(v) {
				return nil, fmt.Errorf("line %d: not one JSON value", line)
			}
			out = append(out, v)
		}
		switch {
		case errors.Is(err, io.EOF):
			return out, nil
		case err != nil:
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
}

// ReadRecordsFile returns the elements of the Records array of a CloudTrail S3 log file
// ({"Records":[...]}), each with its original bytes. A gzip file (magic bytes 1f 8b) is
// decompressed first.
func ReadRecordsFile(r io.Reader) ([][]byte, error) {
	br, err := decompressed(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(br)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fmt.Errorf("read cloudtrail log file: %w", err)
	}
	var out [][]byte
	found := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read cloudtrail log file: %w", err)
		}
		if key != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("read cloudtrail log file: %q: %w", key, err)
			}
			continue
		}
		found = true
		if err := expectDelim(dec, '['); err != nil {
			return nil, fmt.Errorf("read cloudtrail log file: Records: %w", err)
		}
		for dec.More() {
			var record json.RawMessage // Decode copies the element's bytes as they are.
			if err := dec.Decode(&record); err != nil {
				return nil, fmt.Errorf("read cloudtrail log file: Records[%d]: %w", len(out), err)
			}
			out = append(out, record)
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, fmt.Errorf("read cloudtrail log file: Records: %w", err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, fmt.Errorf("read cloudtrail log file: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("read cloudtrail log file: data after the top-level object")
	}
	if !found {
		return nil, errors.New("read cloudtrail log file: no Records array")
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %v, want %q", tok, want)
	}
	return nil
}

// decompressed returns r, gunzipped when it starts with gzip's magic bytes.
func decompressed(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, nil // Too short for gzip: read as is.
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return bufio.NewReaderSize(gzipErrors{zr}, 64<<10), nil
}

// gzipErrors names gzip in the errors of decompression.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}

// An Event is one CloudTrail record (or other event) read from the input.
type Event struct {
	// Record is the CloudTrail record, verbatim: the value itself, an EventBridge event's
	// detail, a CloudWatch Logs log event's message, an element of a log file's Records, or a
	// LookupEvents item's CloudTrailEvent.
	Record []byte
	// Envelope is the whole EventBridge event, verbatim, when the input was one.
	Envelope []byte
	// File is the path read ("-" for standard input) and Pos the 1-based number of the event in
	// it.
	File string
	Pos  int
}

// ReadEvents reads the JSON values of r (NDJSON, a CloudTrail log file, pretty-printed JSON,
// gzip or not) and calls fn for every event they hold, in order. A value is read as:
//   - {"Records":[…]}: a CloudTrail log file, one event per element;
//   - an object with "detail-type" and "detail": an EventBridge event;
//   - {"messageType":"DATA_MESSAGE",…}: a CloudWatch Logs payload, one event per log event
//     (a CONTROL_MESSAGE holds none);
//   - {"Events":[…]} or an object with a "CloudTrailEvent" string: LookupEvents output;
//   - an array: each element read the same way;
//   - any other object: a CloudTrail record.
//
// name is the Event's File. An error from fn stops reading and is returned as is.
func ReadEvents(r io.Reader, name string, fn func(Event) error) error {
	br, err := decompressed(r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(br)
	pos := 0
	emit := func(e Event) error {
		pos++
		e.File, e.Pos = name, pos
		return fn(e)
	}
	for n := 1; ; n++ {
		var value json.RawMessage
		if err := dec.Decode(&value); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: value %d: %w", name, n, err)
		}
		if err := classify(value, emit); err != nil {
			var walkErr *inputError
			if errors.As(err, &walkErr) {
				return fmt.Errorf("%s: value %d: %w", name, n, walkErr.err)
			}
			return err
		}
	}
}

// inputError marks an error of the input, as opposed to one returned by the callback.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }

// classify emits the events one JSON value holds.
func classify(value json.RawMessage, emit func(Event) error) error {
	value = bytes.TrimSpace(value)
	switch {
	case len(value) > 0 && value[0] == '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(value, &elems); err != nil {
			return &inputError{err}
		}
		for _, e := range elems {
			if err := classify(e, emit); err != nil {
				return err
			}
		}
		return nil
	case len(value) == 0 || value[0] != '{':
		return &inputError{fmt.Errorf("%.40s…: not a JSON object", value)}
	}
	var fields map[string]json.RawMessage // Exact key matches, unlike a struct.
	if err := json.Unmarshal(value, &fields); err != nil {
		return &inputError{err}
	}
	if records, ok := fields["Records"]; ok {
		return emitArray(records, "Records", func(r json.RawMessage) error { return emit(Event{Record: r}) })
	}
	if detail, ok := fields["detail"]; ok {
		if _, ok := fields["detail-type"]; ok {
			return emit(Event{Record: detail, Envelope: value})
		}
	}
	if messageType, ok := fields["messageType"]; ok {
		return classifyCloudWatch(messageType, fields["logEvents"], emit)
	}
	if events, ok := fields["Events"]; ok {
		return emitArray(events, "Events", func(e json.RawMessage) error { return classify(e, emit) })
	}
	if raw, ok := fields["CloudTrailEvent"]; ok {
		var record string
		if err := json.Unmarshal(raw, &record); err != nil {
			return &inputError{fmt.Errorf("CloudTrailEvent: %w", err)}
		}
		return emit(Event{Record: []byte(record)})
	}
	return emit(Event{Record: value})
}

func emitArray(raw json.RawMessage, key string, each func(json.RawMessage) error) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return &inputError{fmt.Errorf("%s: %w", key, err)}
	}
	for _, e := range elems {
		if err := each(e); err != nil {
			return err
		}
	}
	return nil
}

func classifyCloudWatch(messageType, logEvents json.RawMessage, emit func(Event) error) error {
	var kind string
	if err := json.Unmarshal(messageType, &kind); err != nil {
		return &inputError{fmt.Errorf("messageType: %w", err)}
	}
	if kind != cloudWatchDataMessage {
		return nil // A CONTROL_MESSAGE carries no events.
	}
	var events []struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(logEvents, &events); err != nil {
		return &inputError{fmt.Errorf("logEvents: %w", err)}
	}
	for i, e := range events {
		if e.Message == nil {
			return &inputError{fmt.Errorf("logEvents[%d]: no message", i)}
		}
		if err := emit(Event{Record: []byte(*e.Message)}); err != nil {
			return err
		}
	}
	return nil
}

// inputExtensions are the file names WalkPath reads in a directory.
var inputExtensions = []string{".json", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz"}

// digestDir holds CloudTrail's digest files, which are not events.
const digestDir = "CloudTrail-Digest"

// WalkPath reads a file, or every input file under a directory in lexical order (a CloudTrail
// archive <dir>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz thus in time
// order), and calls fn for every event (see ReadEvents). In a directory it reads the files
// named *.json, *.ndjson, *.jsonl, each also with .gz, and skips CloudTrail-Digest folders.
func WalkPath(path string, fn func(Event) error) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return readFile(path, fn)
	}
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == digestDir:
			return filepath.SkipDir
		case d.IsDir() || !hasInputExtension(d.Name()):
			return nil
		}
		return readFile(p, fn)
	})
}

func hasInputExtension(name string) bool {
	for _, ext := range inputExtensions {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func readFile(path string, fn func(Event) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return ReadEvents(f, path, fn)
}

// ReadPath returns every event of a file or directory tree (see WalkPath).
func ReadPath(path string) ([]Event, error) {
	var events []Event
	err := WalkPath(path, func(e Event) error {
		events = append(events, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// Events streams the events of paths in order (see WalkPath); the path "-" reads stdin.
func Events(stdin io.Reader, paths ...string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		stop := errors.New("stop")
		fn := func(e Event) error {
			if !yield(e, nil) {
				return stop
			}
			return nil
		}
		for _, p := range paths {
			var err error
			if p == "-" {
				err = ReadEvents(stdin, "-", fn)
			} else {
				err = WalkPath(p, fn)
			}
			if errors.Is(err, stop) {
				return
			}
			if err != nil {
				yield(Event{}, err)
				return
			}
		}
	}
}
