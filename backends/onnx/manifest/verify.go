package manifest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Verify hashes every file the manifest names and compares it with the
// pinned SHA-256. ctx aborts between files.
func (m *Manifest) Verify(ctx context.Context) error {
	files := [][2]string{{m.Runtime.File, m.Runtime.SHA256}}
	for _, mod := range m.Models {
		files = append(files, [2]string{mod.File, mod.SHA256})
		if r := mod.Recognize; r != nil {
			files = append(files, [2]string{r.Dictionary.File, r.Dictionary.SHA256})
		}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("verifying %q: %w", f[0], err)
		}
		got, err := hashFile(m.Path(f[0]))
		if err != nil {
			return fmt.Errorf("verifying %q: %w", f[0], err)
		}
		if !strings.EqualFold(got, f[1]) {
			return fmt.Errorf("verifying %q: %w (sha256 %s, manifest pins %s)", f[0], ErrChecksum, got, f[1])
		}
	}
	return nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// load reads the dictionary file and builds Labels in Layout order.
func (d *Dictionary) load(dir string) error {
	f, err := os.Open(filepath.Join(dir, d.File))
	if err != nil {
		return fmt.Errorf("loading dictionary: %w", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("loading dictionary %q: %w", d.File, err)
	}
	if len(lines) != d.Lines {
		return fmt.Errorf("loading dictionary %q: %w (%d lines, manifest says %d)", d.File, ErrMismatch, len(lines), d.Lines)
	}
	labels := make([]string, 0, d.Classes)
	for _, part := range d.Layout {
		switch part {
		case "blank":
			labels = append(labels, "")
		case "space":
			labels = append(labels, " ")
		case "file":
			labels = append(labels, lines...)
		}
	}
	d.Labels = labels
	return nil
}
