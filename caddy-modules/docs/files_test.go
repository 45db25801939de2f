package docs

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredChecksums: every file in assets/ is listed in its README
// with the sha256 it has, so the vendored viewer is byte for byte the
// published package and an update cannot skip the README.
func TestVendoredChecksums(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("assets", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\| `([0-9a-f]{64})` \\|$").FindAllStringSubmatch(string(readme), -1) {
		listed[m[1]] = m[2]
	}
	entries, err := os.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("assets", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		want, ok := listed[e.Name()]
		switch {
		case !ok:
			t.Errorf("assets/%s is not listed in assets/README.md", e.Name())
		case want != hex.EncodeToString(sum[:]):
			t.Errorf("assets/%s has sha256 %x; assets/README.md says %s", e.Name(), sum, want)
		}
		delete(listed, e.Name())
	}
	for name := range listed {
		t.Errorf("assets/README.md lists %s, which assets/ lacks", name)
	}
}

// TestPageIsSelfContained: everything the page references is a file this
// handler serves, and no served file names a CDN.
func TestPageIsSelfContained(t *testing.T) {
	files, err := loadFiles()
	if err != nil {
		t.Fatal(err)
	}
	page := string(files[PagePath].plain)
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("found only %d references in the page", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if _, ok := files[ref]; !ok && !strings.HasPrefix(ref, "data:") {
			t.Errorf("the page references %q, which is not served here", ref)
		}
	}
	for _, host := range []string{"fonts.googleapis.com", "fonts.gstatic.com", "cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"} {
		for path, f := range files {
			if strings.Contains(string(f.plain), host) {
				t.Errorf("%s names %s", path, host)
			}
		}
	}
	if !strings.Contains(string(files[PagePath+"/docs.js"].plain), "validatorUrl: null") {
		t.Error("docs.js must turn off the validator badge, which sends the document to validator.swagger.io")
	}
}
