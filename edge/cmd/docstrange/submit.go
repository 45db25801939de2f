package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/edge/client"
)

// defaultUploadThreshold is the size above which submit goes through tus:
// a resumable upload costs two more requests, and pays off where a failed
// single request would cost minutes.
const defaultUploadThreshold = 32 << 20

var formats = []string{client.FormatMarkdown, client.FormatJSON, client.FormatText, client.FormatHTML}

// submitFlags are submit's options.
type submitFlags struct {
	wait      bool
	asJSON    bool
	format    oneOf
	ocr       oneOf
	device    oneOf
	pages     string
	languages string
	upload    bool
	threshold byteSize
	chunk     byteSize
	checksum  bool
	resume    string
}

func (a *app) submitCmd(fs *flag.FlagSet) func(context.Context, *client.Client, []string) error {
	f := &submitFlags{
		format:    oneOf{allowed: formats},
		ocr:       oneOf{allowed: []string{"auto", "force", "off"}},
		device:    oneOf{allowed: []string{"auto", "gpu", "cpu"}},
		threshold: defaultUploadThreshold,
		chunk:     client.DefaultChunkSize,
	}
	fs.BoolVar(&f.wait, "wait", false, "wait for each job and print its result to standard output")
	fs.BoolVar(&f.asJSON, "json", false, "print each accepted job as one line of JSON instead of its id")
	fs.Var(&f.format, "format", "output format: markdown, json, text or html (default markdown)")
	fs.Var(&f.ocr, "ocr", "OCR: auto, force or off (default auto)")
	fs.Var(&f.device, "device", "device: auto, gpu or cpu (default auto)")
	fs.StringVar(&f.pages, "pages", "", "page ranges such as 1-3,7 (default all)")
	fs.StringVar(&f.languages, "languages", "", "comma-separated ISO 639 codes that guide OCR")
	fs.BoolVar(&f.upload, "upload", false, "send every file as a resumable (tus) upload")
	fs.Var(&f.threshold, "upload-threshold", "files larger than this go as resumable uploads")
	fs.Var(&f.chunk, "chunk-size", "bytes per resumable upload request")
	fs.BoolVar(&f.checksum, "checksum", false, "send each upload chunk's SHA-256 for the edge to check")
	fs.StringVar(&f.resume, "resume", "", "resume the interrupted upload at this URL (one FILE, the same one)")
	return func(ctx context.Context, c *client.Client, args []string) error {
		return a.submit(ctx, c, f, args)
	}
}

// submission is one argument's job, or why it has none.
type submission struct {
	name string
	job  *api.Job
	err  error
}

func (a *app) submit(ctx context.Context, c *client.Client, f *submitFlags, args []string) error {
	switch {
	case len(args) == 0:
		return usagef("submit: name at least one FILE or URL")
	case f.resume != "" && len(args) != 1:
		return usagef("submit: --resume takes exactly one FILE, the one the upload was made from")
	}
	opts := client.Options{
		Pages: strings.TrimSpace(f.pages), OCR: f.ocr.value, Device: f.device.value,
		Languages: splitList(f.languages),
	}
	if f.format.value != "" {
		opts.OutputFormats = []string{f.format.value}
	}
	// Everything is submitted before anything is awaited, so the edge
	// works on all the documents at once.
	subs := make([]submission, 0, len(args))
	var errs []error
	for _, arg := range args {
		job, err := a.submitOne(ctx, c, f, arg, opts)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
			continue
		}
		subs = append(subs, submission{name: arg, job: job})
		if f.wait {
			continue
		}
		if f.asJSON {
			b, _ := json.Marshal(job)
			fmt.Fprintf(a.stdout, "%s\n", b)
		} else {
			fmt.Fprintln(a.stdout, job.JobID)
		}
	}
	if f.wait {
		for _, s := range subs {
			if err := a.awaitResult(ctx, c, s, f.format.value); err != nil {
				if ctx.Err() != nil {
					return err
				}
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// submitOne submits one argument: a URL for the edge to fetch, standard
// input, or a file, resumable through tus when asked or when it is large.
func (a *app) submitOne(ctx context.Context, c *client.Client, f *submitFlags, arg string, opts client.Options) (*api.Job, error) {
	if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") {
		if f.upload || f.resume != "" {
			return nil, usagef("submit: %s is a URL, which the edge fetches itself; --upload and --resume take files", arg)
		}
		return c.SubmitURL(ctx, arg, opts)
	}
	if arg == "-" {
		if f.upload || f.resume != "" {
			return nil, usagef("submit: standard input cannot be uploaded resumably; name a file")
		}
		return c.Submit(ctx, a.stdin, "stdin", opts)
	}
	file, err := os.Open(arg)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", arg, err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", arg, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("submitting %s: not a regular file", arg)
	}
	name := filepath.Base(arg)
	if !f.upload && f.resume == "" && st.Size() <= int64(f.threshold) {
		job, err := c.Submit(ctx, file, name, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", arg, err)
		}
		return job, nil
	}
	return a.uploadAndSubmit(ctx, c, f, arg, file, st.Size(), opts)
}

// uploadAndSubmit sends the file as a resumable upload, then makes a job
// of it with an Idempotency-Key, so that neither step is repeated by a
// retry.
func (a *app) uploadAndSubmit(ctx context.Context, c *client.Client, f *submitFlags, arg string, file *os.File, size int64, opts client.Options) (*api.Job, error) {
	uopts := client.UploadOptions{Filename: filepath.Base(arg), ChunkSize: int64(f.chunk), Checksum: f.checksum}
	if a.isTerminal(a.stderr) {
		bar := newBar(a.stderr, filepath.Base(arg))
		uopts.Progress = bar.bytes
		defer bar.done()
	}
	var (
		up  *client.Upload
		err error
	)
	if f.resume != "" {
		up, err = c.ResumeUpload(ctx, f.resume, file, size, uopts)
	} else {
		up, err = c.Upload(ctx, file, size, uopts)
	}
	if err != nil {
		var ue *client.UploadError
		if errors.As(err, &ue) && ue.URL != "" {
			if ctx.Err() != nil {
				// Interrupted: only "interrupted" follows, so say here
				// how to go on.
				fmt.Fprintf(a.stderr, "docstrange: %s: upload stopped at %d of %d bytes; resume with: docstrange submit --resume %s %s\n",
					arg, ue.Offset, ue.Size, ue.URL, arg)
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w\n  resume with: docstrange submit --resume %s %s", arg, err, ue.URL, arg)
		}
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	job, err := c.SubmitUpload(ctx, up.ID, opts)
	if err != nil {
		return nil, fmt.Errorf("%s (upload %s): %w", arg, up.URL, err)
	}
	return job, nil
}

// awaitResult waits for a job and copies its result to standard output.
func (a *app) awaitResult(ctx context.Context, c *client.Client, s submission, format string) error {
	job, err := a.follow(ctx, c, s.job.JobID, filepath.Base(s.name))
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	if err := jobOutcome(job); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	rc, err := c.Result(ctx, job.JobID, format)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	defer rc.Close()
	w := &lastByteWriter{w: a.stdout}
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("%s: reading the result of %s: %w", s.name, job.JobID, err)
	}
	// One result after another: each ends its last line.
	if w.n > 0 && w.last != '\n' {
		fmt.Fprintln(a.stdout)
	}
	return nil
}

// jobOutcome is nil for a job that succeeded, and says why otherwise.
func jobOutcome(j *api.Job) error {
	switch j.Status {
	case client.StatusSucceeded:
		return nil
	case client.StatusFailed:
		msg := fmt.Sprintf("job %s failed", j.JobID)
		if j.Error != nil {
			msg += fmt.Sprintf(": %s: %s", j.Error.Code, j.Error.Message)
		}
		return &jobFailedError{msg}
	}
	return &jobFailedError{fmt.Sprintf("job %s %s", j.JobID, j.Status)}
}

// lastByteWriter remembers the last byte written through it.
type lastByteWriter struct {
	w    io.Writer
	n    int64
	last byte
}

// Write implements io.Writer.
func (l *lastByteWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.n += int64(n)
		l.last = p[n-1]
	}
	return n, err
}
