package client

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
)

// multipartBody is a submission's form: the options field and the file
// part's header, the document, then the closing boundary. Only the two
// small ends are held in memory; the document streams from its reader.
type multipartBody struct {
	prefix, suffix []byte
	contentType    string
	r              io.Reader
	// start is where a seekable reader began, and size how much of it
	// follows; -1 when unknown.
	start, size int64
	replayable  bool
	used        bool
}

// newMultipart lays out the form for the document in r.
func newMultipart(r io.Reader, filename string, opts Options) (*multipartBody, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if !opts.empty() {
		b, err := json.Marshal(opts)
		if err != nil {
			return nil, fmt.Errorf("encoding options: %w", err)
		}
		if err := mw.WriteField("options", string(b)); err != nil {
			return nil, fmt.Errorf("writing the options field: %w", err)
		}
	}
	if filename == "" {
		filename = "document"
	}
	if _, err := mw.CreateFormFile("file", filename); err != nil {
		return nil, fmt.Errorf("writing the file part: %w", err)
	}
	m := &multipartBody{prefix: bytes.Clone(buf.Bytes()), contentType: mw.FormDataContentType(), r: r, size: -1}
	buf.Reset()
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("closing the form: %w", err)
	}
	m.suffix = bytes.Clone(buf.Bytes())
	if s, ok := r.(io.Seeker); ok {
		start, err := s.Seek(0, io.SeekCurrent)
		if err == nil {
			end, err := s.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, fmt.Errorf("measuring the document: %w", err)
			}
			if _, err := s.Seek(start, io.SeekStart); err != nil {
				return nil, fmt.Errorf("rewinding the document: %w", err)
			}
			m.start, m.size, m.replayable = start, end-start, true
		}
	}
	return m, nil
}

// open is request.body: the form from the document's start, with its
// length when known.
func (m *multipartBody) open() (io.Reader, int64, error) {
	if m.used {
		if !m.replayable {
			return nil, 0, fmt.Errorf("the document cannot be read a second time: %w", ErrProtocol)
		}
		if _, err := m.r.(io.Seeker).Seek(m.start, io.SeekStart); err != nil {
			return nil, 0, fmt.Errorf("rewinding the document: %w", err)
		}
	}
	m.used = true
	body := io.MultiReader(bytes.NewReader(m.prefix), m.body(), bytes.NewReader(m.suffix))
	if m.size < 0 {
		return body, -1, nil
	}
	return body, int64(len(m.prefix)) + m.size + int64(len(m.suffix)), nil
}

// body is the document, cut at the length announced, so that a file that
// grows while it is sent cannot make the request longer than its header.
func (m *multipartBody) body() io.Reader {
	if m.size < 0 {
		return m.r
	}
	return io.LimitReader(m.r, m.size)
}

// jsonBody encodes v once and serves it to every attempt.
func jsonBody(v any) (func() (io.Reader, int64, error), error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func() (io.Reader, int64, error) { return bytes.NewReader(b), int64(len(b)), nil }, nil
}

// newIdempotencyKey is a random Idempotency-Key, 130 bits.
func newIdempotencyKey() string { return "dsc_" + rand.Text() }
