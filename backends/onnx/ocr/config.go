package ocr

import (
	"fmt"
	"time"

	"github.com/docstrange/mesh/backends/onnx/ort"
)

// Config configures an Engine.
type Config struct {
	// ModelDir holds manifest.json and the files it names. Default
	// $DOCSTRANGE_MODELS_DIR, else .cache/models at the repository root.
	ModelDir string `json:"model_dir,omitempty"`
	// Runtime selects the execution provider, threads and session pool
	// size; see ort.Config for its defaults.
	Runtime ort.Config `json:"runtime,omitempty"`
	// DetLimitSideLen caps the longer image side fed to the detector; a
	// multiple of the detector's stride (32). Larger finds smaller text at
	// the cost of memory and time. Default: the manifest's value (960).
	DetLimitSideLen int `json:"det_limit_side_len,omitempty"`
	// AngleClassifier runs the 0°/180° classifier on every crop before
	// recognition. Default false.
	AngleClassifier bool `json:"angle_classifier,omitempty"`
	// MinConfidence drops lines whose mean character probability is lower.
	// Default 0.5.
	MinConfidence float32 `json:"min_confidence,omitempty"`
	// MaxBatchSize is the most line crops, from any number of concurrent
	// Recognize calls, merged into one recognition batch. Default 1 on CPU
	// and 32 on GPU providers. On CPU a batch only adds activations that no
	// longer fit the caches: a 48×1664 line took 61 ms alone and 83 ms per
	// line in a batch of 4 (one thread). The provider is the active one,
	// after any fallback.
	MaxBatchSize int `json:"max_batch_size,omitempty"`
	// MaxBatchWait is how long a batch waits after its first crop for more.
	// A plain time.Duration (JSON: nanoseconds) rather than caddy.Duration,
	// so that backend processes do not link Caddy. Default 5ms.
	MaxBatchWait time.Duration `json:"max_batch_wait,omitempty"`
	// MaxRecWidth caps the recogniser input width in pixels at height 48;
	// longer lines are squeezed. Default 3200.
	MaxRecWidth int `json:"max_rec_width,omitempty"`
	// MaxImagePixels rejects larger images. Default 50,000,000.
	MaxImagePixels int `json:"max_image_pixels,omitempty"`
	// MaxImageSide rejects images with a longer side. Default 16384.
	MaxImageSide int `json:"max_image_side,omitempty"`
	// RecSessions is how many recognition sessions, of one intra-op thread
	// each, read lines side by side on CPU. Default: the threads Runtime
	// would give the recogniser, its pool size times its intra-op threads
	// (every CPU when that is left to ONNX Runtime). Lines are independent, operators on a 48-pixel
	// line are small: with two threads, two sessions read a bench page's
	// lines in 1.17 s where one session of two threads took 1.63 s. The
	// detector keeps Runtime's threads. GPU providers ignore it.
	RecSessions int `json:"rec_sessions,omitempty"`
	// NoGraphRewrite loads the models as they are instead of rewriting
	// their graphs for ONNX Runtime (package graphopt), which reads a
	// PP-OCRv4 line about 1.3 times as fast with the same results up to
	// float rounding. Default false.
	NoGraphRewrite bool `json:"no_graph_rewrite,omitempty"`
	// RecPrecision is the recogniser's arithmetic on CPU: "int8" (default)
	// quantizes it at load (graphopt.Quantize, activation ranges measured
	// on rendered Latin text lines), which reads a line about 1.8 times as
	// fast; "fp32" runs the model as shipped. GPU providers and
	// no_graph_rewrite always run fp32. The calibration text is Latin: for
	// mostly CJK documents, fp32 keeps the model's own accuracy. The
	// measured ranges are kept in ModelDir (calibration-<key>.json) so that
	// only the first load measures them (seconds).
	RecPrecision string `json:"rec_precision,omitempty"`
	// DetPrecision is the detector's arithmetic when the CPU provider is
	// asked for: "int8" (default) quantizes its backbone and feature
	// pyramid at load the same way, on rendered pages, which runs it
	// about 1.7 times as fast (the first load measures its ranges in
	// about 6 s and 0.2 GB more memory); "fp32" runs the model as
	// shipped, after the exact rewrites.
	DetPrecision string `json:"det_precision,omitempty"`
	// Spaces configures the recovery of dropped word spaces.
	Spaces SpaceRecovery `json:"spaces,omitempty"`
}

// validate fills in defaults and rejects out-of-range values. stride is the
// detector's, known once the manifest is loaded.
func (c *Config) validate(defaultLimit, stride int) error {
	if err := c.Runtime.Validate(); err != nil {
		return err
	}
	setDefault(&c.DetLimitSideLen, defaultLimit)
	setDefault(&c.MinConfidence, 0.5)
	setDefault(&c.RecPrecision, PrecisionInt8)
	setDefault(&c.DetPrecision, PrecisionInt8)
	setDefault(&c.MaxBatchWait, 5*time.Millisecond)
	setDefault(&c.MaxRecWidth, 3200)
	setDefault(&c.MaxImagePixels, 50_000_000)
	setDefault(&c.MaxImageSide, 16384)
	setDefault(&c.Spaces.SpaceProb, 0.003)
	setDefault(&c.Spaces.InkWeight, 2)
	setDefault(&c.Spaces.MinInkGap, 0.16)
	switch {
	case c.DetLimitSideLen < stride || c.DetLimitSideLen%stride != 0:
		return fmt.Errorf("validating det_limit_side_len %d: must be a positive multiple of %d", c.DetLimitSideLen, stride)
	case c.MinConfidence < 0 || c.MinConfidence >= 1:
		return fmt.Errorf("validating min_confidence %v: must be in [0, 1)", c.MinConfidence)
	case c.RecPrecision != PrecisionInt8 && c.RecPrecision != PrecisionFP32:
		return fmt.Errorf("validating rec_precision %q: must be %q or %q", c.RecPrecision, PrecisionInt8, PrecisionFP32)
	case c.DetPrecision != PrecisionInt8 && c.DetPrecision != PrecisionFP32:
		return fmt.Errorf("validating det_precision %q: must be %q or %q", c.DetPrecision, PrecisionInt8, PrecisionFP32)
	case c.RecSessions < 0:
		return fmt.Errorf("validating rec_sessions %d: must not be negative", c.RecSessions)
	case c.MaxBatchSize < 0 || c.MaxBatchWait < 0:
		return fmt.Errorf("validating max_batch_size %d, max_batch_wait %v: must not be negative", c.MaxBatchSize, c.MaxBatchWait)
	case c.MaxRecWidth < 48:
		return fmt.Errorf("validating max_rec_width %d: must be at least 48", c.MaxRecWidth)
	case c.MaxImagePixels < 1 || c.MaxImageSide < 1:
		return fmt.Errorf("validating max_image_pixels %d, max_image_side %d: must be positive", c.MaxImagePixels, c.MaxImageSide)
	case c.Spaces.SpaceProb <= 0 || c.Spaces.SpaceProb >= 1 || c.Spaces.InkWeight < 0 || c.Spaces.MinInkGap < 0:
		return fmt.Errorf("validating spaces %+v: space_prob must be in (0, 1), ink_weight and min_ink_gap not negative", c.Spaces)
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Options adjust one Recognize call.
type Options struct {
	// DetLimitSideLen overrides Config.DetLimitSideLen for this call when
	// non-zero.
	DetLimitSideLen int `json:"det_limit_side_len,omitempty"`
	// AngleClassifier runs the orientation classifier for this call even
	// when Config.AngleClassifier is off.
	AngleClassifier bool `json:"angle_classifier,omitempty"`
	// Charset narrows the characters the recogniser may read: CharsetAll
	// (default, also "") or CharsetLatin, for text in Latin-script languages, which
	// is faster and never reads a CJK look-alike. Info.Charsets lists those
	// the engine has.
	Charset string `json:"charset,omitempty"`
}
