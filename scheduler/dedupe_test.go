package scheduler

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func TestDedupeKey(t *testing.T) {
	normalized := func(o Options) Options {
		t.Helper()
		if err := o.Normalize(); err != nil {
			t.Fatalf("Normalize: %v", err)
		}
		return o
	}
	sum := sha256.Sum256([]byte("%PDF-1.7 …"))
	content := hex.EncodeToString(sum[:])
	base := normalized(Options{})
	key := DedupeKey("acme", content, base)
	if len(key) != 64 || strings.Trim(key, "0123456789abcdef") != "" {
		t.Fatalf("DedupeKey = %q; want 64 lower-case hex digits", key)
	}

	tests := []struct {
		name    string
		scope   string
		content string
		opts    Options
		same    bool
	}{
		{name: "same inputs", scope: "acme", content: content, opts: base, same: true},
		{name: "upper-case digest", scope: "acme", content: strings.ToUpper(content), opts: base, same: true},
		{name: "defaults spelled out", scope: "acme", content: content, opts: normalized(Options{OutputFormats: []string{"Markdown"}, OCR: OCRAuto, Device: DeviceAuto}), same: true},
		{name: "other tenant", scope: "globex", content: content, opts: base},
		{name: "global scope", scope: "", content: content, opts: base},
		{name: "other content", scope: "acme", content: strings.Repeat("0", 64), opts: base},
		{name: "other pages", scope: "acme", content: content, opts: normalized(Options{Pages: "1-2"})},
		{name: "other format order", scope: "acme", content: content, opts: normalized(Options{OutputFormats: []string{"json", "markdown"}})},
		{name: "other ocr", scope: "acme", content: content, opts: normalized(Options{OCR: OCRForce})},
		{name: "other languages", scope: "acme", content: content, opts: normalized(Options{Languages: []string{"de"}})},
		{name: "other device", scope: "acme", content: content, opts: normalized(Options{Device: DeviceGPU})},
		{name: "webhook", scope: "acme", content: content, opts: normalized(Options{Webhook: &Webhook{URL: "https://h.example/x"}})},
		// Without quoting, scope "acme" + digest "x…" could spell scope
		// "acmex" + digest "…".
		{name: "parts do not run together", scope: "acme" + content[:1], content: content[1:], opts: base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DedupeKey(tt.scope, tt.content, tt.opts)
			if (got == key) != tt.same {
				t.Fatalf("DedupeKey = %s, base %s; want same = %v", got, key, tt.same)
			}
		})
	}
}

func TestReusable(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		job  Job
		want bool
	}{
		{"succeeded", Job{Status: StatusSucceeded, ExpiresAt: now.Add(time.Hour)}, true},
		{"succeeded without expiry", Job{Status: StatusSucceeded}, true},
		{"due for expiry", Job{Status: StatusSucceeded, ExpiresAt: now}, false},
		{"result expired", Job{Status: StatusSucceeded, ResultExpired: true, ExpiresAt: now.Add(time.Hour)}, false},
		{"failed", Job{Status: StatusFailed, ExpiresAt: now.Add(time.Hour)}, false},
		{"canceled", Job{Status: StatusCanceled, ExpiresAt: now.Add(time.Hour)}, false},
		{"running", Job{Status: StatusRunning}, false},
		{"queued", Job{Status: StatusQueued}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.job.Reusable(now); got != tt.want {
				t.Fatalf("Reusable = %v; want %v", got, tt.want)
			}
		})
	}
}
