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
	"text/tabwriter"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/edge/client"
)

func (a *app) statusCmd(fs *flag.FlagSet) func(context.Context, *client.Client, []string) error {
	asJSON := fs.Bool("json", false, "print each job as one line of JSON")
	return func(ctx context.Context, c *client.Client, ids []string) error {
		if len(ids) == 0 {
			return usagef("status: name at least one job ID")
		}
		var errs []error
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		for _, id := range ids {
			j, err := c.Job(ctx, id)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				errs = append(errs, err)
				continue
			}
			if *asJSON {
				b, _ := json.Marshal(j)
				fmt.Fprintf(a.stdout, "%s\n", b)
				continue
			}
			writeJobRow(tw, j)
		}
		tw.Flush()
		return errors.Join(errs...)
	}
}

// writeJobRow is one job in a table: id, status, pages, age, name, error.
func writeJobRow(w io.Writer, j *api.Job) {
	pages := "-"
	if j.Progress.PagesTotal > 0 {
		pages = fmt.Sprintf("%d/%d", j.Progress.PagesDone, j.Progress.PagesTotal)
	}
	status := j.Status
	if j.CancelRequested {
		status += " (cancel requested)"
	}
	name := j.Filename
	if name == "" {
		name = "-"
	}
	line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", j.JobID, status, pages, j.CreatedAt.Local().Format(time.DateTime), name)
	if j.Error != nil {
		line += fmt.Sprintf("\t%s: %s", j.Error.Code, j.Error.Message)
	}
	fmt.Fprintln(w, line)
}

func (a *app) resultCmd(fs *flag.FlagSet) func(context.Context, *client.Client, []string) error {
	format := &oneOf{allowed: formats}
	fs.Var(format, "format", "markdown, json, text or html (default: the job's first output format)")
	out := fs.String("o", "", "write to this file instead of standard output")
	return func(ctx context.Context, c *client.Client, ids []string) error {
		if len(ids) != 1 {
			return usagef("result: name one job ID")
		}
		rc, err := c.Result(ctx, ids[0], format.value)
		if err != nil {
			return err
		}
		defer rc.Close()
		if *out == "" {
			if _, err := io.Copy(a.stdout, rc); err != nil {
				return fmt.Errorf("reading the result of %s: %w", ids[0], err)
			}
			return nil
		}
		return writeFileAtomic(*out, rc)
	}
}

// writeFileAtomic writes r to path through a temporary file beside it, so
// that an interrupted download never leaves half a result under the name.
func writeFileAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func (a *app) cancelCmd(fs *flag.FlagSet) func(context.Context, *client.Client, []string) error {
	return func(ctx context.Context, c *client.Client, ids []string) error {
		if len(ids) == 0 {
			return usagef("cancel: name at least one job ID")
		}
		var errs []error
		for _, id := range ids {
			j, err := c.Cancel(ctx, id)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				errs = append(errs, err)
				continue
			}
			if client.Terminal(j.Status) {
				fmt.Fprintf(a.stdout, "%s %s\n", j.JobID, j.Status)
			} else {
				fmt.Fprintf(a.stdout, "%s cancel requested (%s; it stops between pages)\n", j.JobID, j.Status)
			}
		}
		return errors.Join(errs...)
	}
}

func (a *app) listCmd(fs *flag.FlagSet) func(context.Context, *client.Client, []string) error {
	limit := fs.Int("limit", 20, "jobs per page, 1 to 100")
	cursor := fs.String("cursor", "", "the next_cursor of an earlier page")
	all := fs.Bool("all", false, "follow the cursor through every page")
	asJSON := fs.Bool("json", false, "print each job as one line of JSON")
	return func(ctx context.Context, c *client.Client, args []string) error {
		if len(args) != 0 {
			return usagef("list takes no arguments")
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		defer tw.Flush()
		opts := client.ListOptions{Limit: *limit, Cursor: *cursor}
		for {
			page, err := c.List(ctx, opts)
			if err != nil {
				return err
			}
			for i := range page.Jobs {
				if *asJSON {
					b, _ := json.Marshal(page.Jobs[i])
					fmt.Fprintf(a.stdout, "%s\n", b)
					continue
				}
				writeJobRow(tw, &page.Jobs[i])
			}
			if page.NextCursor == "" {
				return nil
			}
			if !*all {
				tw.Flush()
				fmt.Fprintf(a.stderr, "more: docstrange list --cursor %s\n", page.NextCursor)
				return nil
			}
			opts.Cursor = page.NextCursor
		}
	}
}
