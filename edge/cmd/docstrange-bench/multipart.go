package main

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
)

// multipartBody is the whole submit body, encoded once. Every request reads
// it through its own bytes.Reader, so a submit costs no encoding and no
// copy on the client, and the transport can replay it when a keep-alive
// connection closed before anything was written.
type multipartBody struct {
	data        []byte
	contentType string
	fileName    string
	fileSize    int
}

// loadMultipartBody reads path once and wraps it as the single part "file"
// of a multipart/form-data body.
func loadMultipartBody(path string) (*multipartBody, error) {
	file, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading -file: %w", err)
	}
	return newMultipartBody(filepath.Base(path), file)
}

func newMultipartBody(name string, file []byte) (*multipartBody, error) {
	var buf bytes.Buffer
	buf.Grow(len(file) + 512)
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", name))
	h.Set("Content-Type", "application/pdf")
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, fmt.Errorf("encoding multipart body: %w", err)
	}
	if _, err := part.Write(file); err != nil {
		return nil, fmt.Errorf("encoding multipart body: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("encoding multipart body: %w", err)
	}
	return &multipartBody{
		data:        buf.Bytes(),
		contentType: mw.FormDataContentType(),
		fileName:    name,
		fileSize:    len(file),
	}, nil
}
