package e2e

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docstrange/mesh/api"
	"github.com/docstrange/mesh/scheduler"
)

var ocrLines = []string{
	"The quick brown fox jumps over the lazy dog.",
	"Invoice number 4711 was paid on 12 March 2026.",
}

// ocrStack runs an edge whose host starts the real ONNX backend.
func ocrStack(t *testing.T, env ...string) *stack {
	t.Helper()
	return startStack(t, append([]string{"DOCSTRANGE_BACKENDS_DIR=" + backendsDir}, env...)...)
}

func resultText(t *testing.T, s *stack, id string) string {
	t.Helper()
	r := s.get("/api/v1/jobs/" + id + "/result?format=text")
	if r.status != http.StatusOK {
		t.Fatalf("result of %s: %d %s", id, r.status, r.body)
	}
	return string(r.body)
}

func assertReads(t *testing.T, got string) {
	t.Helper()
	for _, word := range []string{"quick", "brown", "fox", "jumps", "lazy", "Invoice", "4711", "March"} {
		if !strings.Contains(got, word) {
			t.Errorf("OCR text lacks %q:\n%s", word, got)
		}
	}
	// Word spaces come back even though the model often drops them.
	if !strings.Contains(got, "brown fox") {
		t.Errorf("word spaces lost:\n%s", got)
	}
}

func TestOCR(t *testing.T) {
	s := ocrStack(t)
	img := textImage(t, ocrLines...)

	t.Run("png image", func(t *testing.T) {
		job := s.submitOK("scan.png", pngBytes(t, img), nil)
		done := s.waitFor(job.JobID, 60*time.Second)
		if done.Status != "succeeded" || done.Backend != "onnx-ppocr" {
			t.Fatalf("job %+v", done)
		}
		assertReads(t, resultText(t, s, job.JobID))
		var doc scheduler.Document
		s.get("/api/v1/jobs/"+job.JobID+"/result?format=json").json(t, &doc)
		b := doc.Pages[0].Blocks
		if len(b) == 0 || b[0].Source != scheduler.SourceOCR || b[0].BBox == nil || b[0].Confidence <= 0.5 || doc.Pages[0].Width != 1400 {
			t.Fatalf("blocks %+v", doc.Pages[0])
		}
	})
	t.Run("image-only pdf", func(t *testing.T) {
		job := s.submitOK("scan.pdf", imagePDF(t, img), nil)
		if done := s.waitFor(job.JobID, 60*time.Second); done.Status != "succeeded" {
			t.Fatalf("job %+v", done)
		}
		assertReads(t, resultText(t, s, job.JobID))
		var doc scheduler.Document
		s.get("/api/v1/jobs/"+job.JobID+"/result?format=json").json(t, &doc)
		// Boxes are in PDF points: the page is 700 pt wide.
		if b := doc.Pages[0].Blocks[0]; b.Source != scheduler.SourceOCR || b.BBox.X1 > 700 || b.BBox.X0 < 20 {
			t.Fatalf("block %+v", b)
		}
	})
	t.Run("ocr off keeps the empty text layer", func(t *testing.T) {
		job := s.submitOK("scan.pdf", imagePDF(t, img), map[string]string{"ocr": "off"})
		s.waitFor(job.JobID, 60*time.Second)
		if got := resultText(t, s, job.JobID); strings.Contains(got, "fox") {
			t.Fatalf("ocr=off still OCRed: %s", got)
		}
	})
	t.Run("ocr off on an image is refused", func(t *testing.T) {
		r := s.submit("scan.png", pngBytes(t, img), map[string]string{"ocr": "off"})
		if r.status != 400 || r.apiError(t).Error.Details["field"] != "ocr" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("bad images", func(t *testing.T) {
		full := pngBytes(t, img)
		truncated := s.submitOK("cut.png", full[:len(full)/2], nil)
		if j := s.waitFor(truncated.JobID, 60*time.Second); j.Status != "failed" || j.Error == nil || j.Error.Code != api.CodeUnprocessableDocument {
			t.Fatalf("truncated png: %+v", j)
		}
		r := s.submit("bomb.jpg", jpegHeader(65500, 65500), nil)
		if r.status != 422 || r.apiError(t).Error.Code != api.CodeUnprocessableDocument {
			t.Fatalf("jpeg bomb: %d %s", r.status, r.body)
		}
		r = s.submit("many.tiff", tiffPages(10000), nil)
		if r.status != 422 || r.apiError(t).Error.Code != api.CodeTooManyPages {
			t.Fatalf("10000-page tiff: %d %s", r.status, r.body)
		}
		// The worker is still alive.
		job := s.submitOK("again.png", full, nil)
		if j := s.waitFor(job.JobID, 60*time.Second); j.Status != "succeeded" {
			t.Fatalf("after bad input: %+v", j)
		}
	})
	t.Run("backend killed mid-job", func(t *testing.T) {
		job := s.submitOK("long.pdf", imagePDF(t, img, img, img, img, img, img), map[string]string{"ocr": "force"})
		deadline := time.Now().Add(30 * time.Second)
		for {
			var j api.Job
			s.get("/api/v1/jobs/"+job.JobID).json(t, &j)
			if j.Status == "running" {
				break
			}
			if j.Status != "queued" || time.Now().After(deadline) {
				t.Fatalf("job never ran: %+v", j)
			}
			time.Sleep(20 * time.Millisecond)
		}
		pid := backendPID(t, s)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("killing backend %d: %v", pid, err)
		}
		if j := s.waitFor(job.JobID, 90*time.Second); j.Status != "succeeded" {
			t.Fatalf("job after backend crash: %+v", j)
		}
		if got := resultText(t, s, job.JobID); strings.Count(got, "quick") != 6 {
			t.Fatalf("want all 6 pages read, got:\n%s", got)
		}
		var h api.Health
		s.get("/api/v1/health").json(t, &h)
		onnx, _ := h.Components["backends"].Detail["onnx"].(map[string]any)
		if onnx["restarts"] != float64(1) || onnx["pid"] == float64(pid) {
			t.Fatalf("backend after crash: %+v", onnx)
		}
		if m := string(s.get("/metrics").body); !strings.Contains(m, `docstrange_backend_restarts_total{backend="onnx"} 1`) {
			t.Errorf("restart not in metrics")
		}
	})
}

func backendPID(t *testing.T, s *stack) int {
	t.Helper()
	var h api.Health
	s.get("/api/v1/health").json(t, &h)
	onnx, _ := h.Components["backends"].Detail["onnx"].(map[string]any)
	pid, _ := onnx["pid"].(float64)
	if pid <= 0 {
		t.Fatalf("no backend pid in health: %+v", h.Components["backends"])
	}
	return int(pid)
}

// TestProviderFallback asks for CUDA on a machine without it: the backend
// runs on CPU and says so in health.
func TestProviderFallback(t *testing.T) {
	s := ocrStack(t, "DOCSTRANGE_ONNX_PROVIDER=cuda")
	var h api.Health
	s.get("/api/v1/health").json(t, &h)
	onnx, _ := h.Components["backends"].Detail["onnx"].(map[string]any)
	req, _ := onnx["providers_requested"].([]any)
	act, _ := onnx["providers_active"].([]any)
	if len(req) != 1 || req[0] != "cuda" || len(act) != 1 || act[0] != "cpu" || onnx["provider_reason"] == "" || onnx["health"] != "degraded" {
		t.Fatalf("backend: %+v", onnx)
	}
	job := s.submitOK("scan.png", pngBytes(t, textImage(t, ocrLines...)), nil)
	if j := s.waitFor(job.JobID, 60*time.Second); j.Status != "succeeded" {
		t.Fatalf("job on the CPU fallback: %+v", j)
	}
}

// jpegHeader is the start of a baseline JPEG that claims w×h pixels and
// carries no image data.
func jpegHeader(w, h int) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8})                   // SOI
	b.Write([]byte{0xFF, 0xC0, 0x00, 0x0B, 0x08}) // SOF0, length 11, 8-bit
	binary.Write(&b, binary.BigEndian, uint16(h))
	binary.Write(&b, binary.BigEndian, uint16(w))
	b.Write([]byte{0x01, 0x01, 0x11, 0x00}) // one component
	b.Write(make([]byte, 64))
	return b.Bytes()
}

// tiffPages is a little-endian TIFF whose IFD chain has n tiny pages.
func tiffPages(n int) []byte {
	var b bytes.Buffer
	b.Write([]byte{'I', 'I', 42, 0})
	binary.Write(&b, binary.LittleEndian, uint32(8))
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&b, binary.LittleEndian, tag)
		binary.Write(&b, binary.LittleEndian, typ)
		binary.Write(&b, binary.LittleEndian, count)
		binary.Write(&b, binary.LittleEndian, value)
	}
	const entries = 8
	ifdSize := 2 + entries*12 + 4
	for i := range n {
		start := 8 + i*(ifdSize+1)
		pixel := uint32(start + ifdSize)
		binary.Write(&b, binary.LittleEndian, uint16(entries))
		entry(256, 3, 1, 1)     // width 1
		entry(257, 3, 1, 1)     // height 1
		entry(258, 3, 1, 8)     // 8 bits
		entry(259, 3, 1, 1)     // no compression
		entry(262, 3, 1, 1)     // black is zero
		entry(273, 4, 1, pixel) // strip offset
		entry(278, 3, 1, 1)     // rows per strip
		entry(279, 4, 1, 1)     // strip byte count
		next := uint32(0)
		if i < n-1 {
			next = uint32(start + ifdSize + 1)
		}
		binary.Write(&b, binary.LittleEndian, next)
		b.WriteByte(0x80)
	}
	return b.Bytes()
}

// TestBackendExitsWithItsHost kills the edge with -9 and checks that its
// backend process does not linger as an orphan.
func TestBackendExitsWithItsHost(t *testing.T) {
	s := ocrStack(t)
	pid := backendPID(t, s)
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("backend %d outlived its host by 10s", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
