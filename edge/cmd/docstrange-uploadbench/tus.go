package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// tusVersion is the protocol both servers speak.
const tusVersion = "1.0.0"

// statusError is an answer other than the one tus prescribes.
type statusError struct {
	op     string
	status int
	body   string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.op, e.status)
	if e.body != "" {
		msg += ": " + e.body
	}
	return msg
}

// setupStatus reports whether err is an answer that means the bench was set
// up wrongly (the key, its tier's rate) rather than that the server failed.
func setupStatus(err error) bool {
	var se *statusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return true
	}
	return false
}

// tusClient speaks the core protocol and the creation and termination
// extensions to one server.
type tusClient struct {
	http   *http.Client
	create *url.URL
	// auth is the Authorization header's value, if any.
	auth string
}

func (c *tusClient) newRequest(ctx context.Context, method string, u *url.URL, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, u, err)
	}
	req.Header.Set("Tus-Resumable", tusVersion)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	return req, nil
}

// do sends req and checks the status; the body is read (bounded) and
// closed either way, so that the connection is reused.
func (c *tusClient) do(req *http.Request, op string, want int) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != want {
		return nil, &statusError{op: op, status: resp.StatusCode, body: strings.TrimSpace(string(body))}
	}
	return resp, nil
}

// createUpload is the creation POST; it returns the upload's URL.
func (c *tusClient) createUpload(ctx context.Context, size int64, filename string) (*url.URL, error) {
	req, err := c.newRequest(ctx, http.MethodPost, c.create, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(filename)))
	resp, err := c.do(req, "creating the upload", http.StatusCreated)
	if err != nil {
		return nil, err
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, errors.New("creating the upload: no Location in the answer")
	}
	u, err := c.create.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("creating the upload: parsing Location %q: %w", loc, err)
	}
	return u, nil
}

// patch sends n bytes of body at off and returns the server's new offset.
func (c *tusClient) patch(ctx context.Context, u *url.URL, off, n int64, body io.Reader) (int64, error) {
	req, err := c.newRequest(ctx, http.MethodPatch, u, body)
	if err != nil {
		return 0, err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(off, 10))
	op := "PATCH at offset " + strconv.FormatInt(off, 10)
	resp, err := c.do(req, op, http.StatusNoContent)
	if err != nil {
		return 0, err
	}
	return headerInt(resp, op, "Upload-Offset")
}

// head returns the upload's offset and length.
func (c *tusClient) head(ctx context.Context, u *url.URL) (offset, length int64, err error) {
	req, err := c.newRequest(ctx, http.MethodHead, u, nil)
	if err != nil {
		return 0, 0, err
	}
	const op = "HEAD of the upload"
	resp, err := c.do(req, op, http.StatusOK)
	if err != nil {
		return 0, 0, err
	}
	if offset, err = headerInt(resp, op, "Upload-Offset"); err != nil {
		return 0, 0, err
	}
	if length, err = headerInt(resp, op, "Upload-Length"); err != nil {
		return 0, 0, err
	}
	return offset, length, nil
}

// terminate deletes the upload.
func (c *tusClient) terminate(ctx context.Context, u *url.URL) error {
	req, err := c.newRequest(ctx, http.MethodDelete, u, nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, "deleting the upload", http.StatusNoContent)
	return err
}

func headerInt(resp *http.Response, op, name string) (int64, error) {
	v := resp.Header.Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: header %s %q is not a number", op, name, v)
	}
	return n, nil
}

// uploadID is the last element of an upload's URL, which both servers use
// as the filestore's file name.
func uploadID(u *url.URL) string { return path.Base(u.Path) }
