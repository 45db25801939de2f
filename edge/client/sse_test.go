package client

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestSSEParse(t *testing.T) {
	tests := []struct {
		name      string
		stream    string
		want      []sseEvent
		wantRetry time.Duration
	}{
		{
			name:   "the edge's shape",
			stream: "event: status\ndata: {\"status\":\"queued\"}\n\nevent: status\ndata: {\"status\":\"running\"}\n\n",
			want:   []sseEvent{{Type: "status", Data: `{"status":"queued"}`}, {Type: "status", Data: `{"status":"running"}`}},
		},
		{
			name:   "heartbeats and comments are skipped",
			stream: ": keep-alive\n\n: keep-alive\n\nevent: status\n: a comment inside an event\ndata: x\n\n: keep-alive\n\n",
			want:   []sseEvent{{Type: "status", Data: "x"}},
		},
		{
			name:   "multi-line data joins with newlines",
			stream: "data: first\ndata:second\ndata:  third, one space kept\ndata\n\n",
			want:   []sseEvent{{Type: "message", Data: "first\nsecond\n third, one space kept\n"}},
		},
		{
			name:   "CRLF and lone CR line ends",
			stream: "event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r",
			want:   []sseEvent{{Type: "a", Data: "1"}, {Type: "b", Data: "2"}},
		},
		{
			name:   "an event without data is not dispatched, and its type does not leak",
			stream: "event: status\n\ndata: plain\n\n",
			want:   []sseEvent{{Type: "message", Data: "plain"}},
		},
		{
			name:   "ids persist, NUL ids are ignored",
			stream: "id: 7\ndata: a\n\ndata: b\n\nid: 8\x00\ndata: c\n\nid\ndata: d\n\n",
			want:   []sseEvent{{Type: "message", ID: "7", Data: "a"}, {Type: "message", ID: "7", Data: "b"}, {Type: "message", ID: "7", Data: "c"}, {Type: "message", Data: "d"}},
		},
		{
			name:      "retry sets the reconnection time; a bad one is ignored",
			stream:    "retry: 1500\ndata: a\n\nretry: soon\ndata: b\n\n",
			want:      []sseEvent{{Type: "message", Data: "a"}, {Type: "message", Data: "b"}},
			wantRetry: 1500 * time.Millisecond,
		},
		{
			name:   "a BOM at the start is dropped",
			stream: "\uFEFFevent: status\ndata: x\n\n",
			want:   []sseEvent{{Type: "status", Data: "x"}},
		},
		{
			name:   "an event cut off by the end is dropped",
			stream: "data: whole\n\nevent: status\ndata: half",
			want:   []sseEvent{{Type: "message", Data: "whole"}},
		},
		{
			name:   "unknown fields are ignored",
			stream: "colour: red\ndata: x\n\n",
			want:   []sseEvent{{Type: "message", Data: "x"}},
		},
	}
	for _, tt := range tests {
		for _, reader := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			// One byte per read puts every CR and its LF in separate reads.
			{"byte by byte", iotest.OneByteReader},
		} {
			t.Run(tt.name+"/"+reader.name, func(t *testing.T) {
				r := newSSEReader(reader.wrap(strings.NewReader(tt.stream)))
				var got []sseEvent
				for {
					ev, err := r.next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, ev)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("events\n got %q\nwant %q", got, tt.want)
				}
				if r.retry != tt.wantRetry {
					t.Fatalf("retry %v, want %v", r.retry, tt.wantRetry)
				}
			})
		}
	}
}

func TestSSELineTooLong(t *testing.T) {
	r := newSSEReader(strings.NewReader("data: " + strings.Repeat("x", maxSSELine+1) + "\n\n"))
	if _, err := r.next(); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("a line over %d bytes: %v", maxSSELine, err)
	}
}
