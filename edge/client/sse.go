package client

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"
)

// maxSSELine bounds one line of an event stream; a job is a few hundred
// bytes.
const maxSSELine = 1 << 20

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	// Type is the event field, "message" when the event named none.
	Type string
	// ID is the last event id seen on the stream, as the spec keeps it.
	ID string
	// Data is the data lines joined with newlines.
	Data string
}

// sseReader parses text/event-stream as the WHATWG HTML standard's
// "event stream interpretation" says: lines end in CRLF, LF or CR; a line
// starting with a colon is a comment (the edge's keep-alives); data lines
// accumulate; a blank line dispatches, unless no data came; an event cut
// off by the end of the stream is dropped.
type sseReader struct {
	sc *bufio.Scanner
	// lastID and retry persist across events, as the spec's last event
	// id and reconnection time do.
	lastID string
	retry  time.Duration
	first  bool
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxSSELine)
	sc.Split(scanSSELines)
	return &sseReader{sc: sc, first: true}
}

// next returns the next event; io.EOF when the stream ends.
func (r *sseReader) next() (sseEvent, error) {
	var (
		typ  string
		data strings.Builder
		has  bool
	)
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if r.first {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
			r.first = false
		}
		if len(line) == 0 {
			if !has {
				typ = ""
				continue
			}
			if typ == "" {
				typ = "message"
			}
			return sseEvent{Type: typ, ID: r.lastID, Data: strings.TrimSuffix(data.String(), "\n")}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			typ = string(value)
		case "data":
			data.Write(value)
			data.WriteByte('\n')
			has = true
		case "id":
			if !bytes.ContainsRune(value, 0) {
				r.lastID = string(value)
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 32); err == nil {
				r.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF
}

// scanSSELines is a bufio.SplitFunc for lines ending in CRLF, LF or a lone
// CR. A CR at the end of the buffered data waits for the next byte, which
// decides whether an LF belongs to it.
func scanSSELines(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			switch {
			case i+1 < len(data) && data[i+1] == '\n':
				return i + 2, data[:i], nil
			case i+1 < len(data) || atEOF:
				return i + 1, data[:i], nil
			}
			return 0, nil, nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
