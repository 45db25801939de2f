package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// scan lists the backend names in dir: every entry with a valid name that
// is not hidden. Entries without a binary are kept; starting them fails
// with ErrNoBinary.
func scan(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scanning backend dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		if validName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// resolve returns the absolute path of backend name's binary in dir.
func resolve(dir, name string) (string, error) {
	p, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("resolving backend %q: %w", name, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		if os.IsNotExist(err) {
			return "", fmt.Errorf("resolving backend %q in %s: %w", name, dir, ErrUnknownBackend)
		}
		return "", fmt.Errorf("resolving backend %q: %w", name, err)
	}
	if !st.IsDir() {
		if !executable(st) {
			return "", fmt.Errorf("resolving backend %q: %s is not executable: %w", name, p, ErrNoBinary)
		}
		return p, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return "", fmt.Errorf("resolving backend %q: %w", name, err)
	}
	type cand struct {
		name string
		info fs.FileInfo
	}
	var cands []cand
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := os.Stat(filepath.Join(p, e.Name()))
		if err != nil || info.IsDir() || !executable(info) {
			continue
		}
		cands = append(cands, cand{e.Name(), info})
	}
	if len(cands) == 0 {
		return "", fmt.Errorf("resolving backend %q: no executable in %s: %w", name, p, ErrNoBinary)
	}
	newest := slices.MaxFunc(cands, func(a, b cand) int {
		if c := a.info.ModTime().Compare(b.info.ModTime()); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return filepath.Join(p, newest.name), nil
}

func executable(info fs.FileInfo) bool {
	return info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
