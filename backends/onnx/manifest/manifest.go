// Package manifest describes a set of ONNX models and the runtime they need,
// so that an operator can bring a new model version by dropping a manifest
// and its files into a folder, without a redeploy. Load validates the
// manifest and verifies every file against its pinned SHA-256.
package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the name of the manifest inside a model folder.
const FileName = "manifest.json"

// Schema is the manifest schema version this package reads.
const Schema = 1

// Tasks a model can serve; they match the plugin contract's task names.
const (
	TaskDetect    = "ocr.detect"
	TaskRecognize = "ocr.recognize"
	TaskClassify  = "ocr.classify"
)

// Manifest is a versioned bundle of models plus the runtime library.
type Manifest struct {
	// Schema is the manifest format version; only Schema is accepted.
	Schema int `json:"schema"`
	// Name identifies the bundle, such as "pp-ocrv4-ch".
	Name string `json:"name"`
	// Version is the bundle version.
	Version string `json:"version"`
	// Runtime is the ONNX Runtime shared library.
	Runtime Runtime `json:"runtime"`
	// Models lists one model per task at most.
	Models []Model `json:"models"`

	// Dir is the folder the manifest and its files were loaded from.
	Dir string `json:"-"`
}

// Runtime is the ONNX Runtime shared library the models run on.
type Runtime struct {
	// Name is the runtime, "onnxruntime".
	Name string `json:"name"`
	// Version is the library version, such as "1.24.3".
	Version string `json:"version"`
	// File is the library's file name inside Dir.
	File string `json:"file"`
	// SHA256 is the hex digest of File.
	SHA256 string `json:"sha256"`
}

// Model is one ONNX model and what its pre- and post-processing need.
type Model struct {
	// Name of the model, such as "ch_PP-OCRv4_det".
	Name string `json:"name"`
	// Version of the model.
	Version string `json:"version"`
	// Task is one of TaskDetect, TaskRecognize or TaskClassify.
	Task string `json:"task"`
	// File is the .onnx file name inside Dir.
	File string `json:"file"`
	// SHA256 is the hex digest of File.
	SHA256 string `json:"sha256"`
	// Input describes the image tensor the model takes.
	Input Input `json:"input"`
	// Output describes the tensor the model returns.
	Output Tensor `json:"output"`
	// Detect holds the text detection parameters; required for TaskDetect.
	Detect *Detect `json:"detect,omitempty"`
	// Recognize holds the recognition parameters; required for
	// TaskRecognize.
	Recognize *Recognize `json:"recognize,omitempty"`
	// Classify holds the orientation classifier parameters; required for
	// TaskClassify.
	Classify *Classify `json:"classify,omitempty"`
}

// Tensor names a model tensor and its shape, -1 for a dynamic dimension.
type Tensor struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
}

// Input is an NCHW image tensor and its normalisation:
// value = (pixel*Scale - Mean[c]) / Std[c], channels in ChannelOrder.
type Input struct {
	Tensor
	// ChannelOrder is "BGR" or "RGB".
	ChannelOrder string `json:"channel_order"`
	// Scale multiplies the 0..255 pixel value first.
	Scale float32 `json:"scale"`
	// Mean per channel, in ChannelOrder.
	Mean [3]float32 `json:"mean"`
	// Std per channel, in ChannelOrder.
	Std [3]float32 `json:"std"`
}

// Detect holds the DB text detector parameters.
type Detect struct {
	// LimitSideLen caps the longer image side fed to the model.
	LimitSideLen int `json:"limit_side_len"`
	// Stride is the multiple both input sides are rounded to.
	Stride int `json:"stride"`
	// Thresh binarises the probability map.
	Thresh float32 `json:"thresh"`
	// BoxThresh drops boxes whose mean probability is lower.
	BoxThresh float32 `json:"box_thresh"`
	// UnclipRatio grows a shrunk text kernel back to the text box.
	UnclipRatio float64 `json:"unclip_ratio"`
	// MinSize drops boxes whose shorter side is smaller, in map pixels.
	MinSize float64 `json:"min_size"`
}

// Recognize holds the CTC text recogniser parameters.
type Recognize struct {
	// ImageHeight is the fixed input height.
	ImageHeight int `json:"image_height"`
	// ImageWidth is the base input width; wider crops widen the batch.
	ImageWidth int `json:"image_width"`
	// FrameStride is how many input columns one output frame covers.
	FrameStride int `json:"frame_stride"`
	// Dictionary maps output classes to text.
	Dictionary Dictionary `json:"dictionary"`
}

// Dictionary is the recogniser's class list. Layout lists its parts in class
// order: "blank" (the CTC blank), "file" (one class per line of File) and
// "space" (a literal space).
type Dictionary struct {
	File    string   `json:"file"`
	SHA256  string   `json:"sha256"`
	Layout  []string `json:"layout"`
	Lines   int      `json:"lines"`
	Classes int      `json:"classes"`

	// Labels is the decoded class list, filled by Load: Labels[i] is the
	// text of class i, "" for the blank.
	Labels []string `json:"-"`
}

// Classify holds the text orientation classifier parameters.
type Classify struct {
	// Labels names the output classes, such as ["0", "180"].
	Labels []string `json:"labels"`
	// Thresh is the score above which a "180" crop is turned.
	Thresh float32 `json:"thresh"`
}

// Load reads dir/manifest.json, validates it and verifies every file it
// names against its SHA-256. ctx aborts the hashing between files.
func Load(ctx context.Context, dir string) (*Manifest, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading manifest: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding manifest %q: %w", path, err)
	}
	m.Dir = dir
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("validating manifest %q: %w", path, err)
	}
	if err := m.Verify(ctx); err != nil {
		return nil, err
	}
	for i := range m.Models {
		if r := m.Models[i].Recognize; r != nil {
			if err := r.Dictionary.load(dir); err != nil {
				return nil, err
			}
		}
	}
	return &m, nil
}

// Model returns the model serving task, or false.
func (m *Manifest) Model(task string) (Model, bool) {
	for _, mod := range m.Models {
		if mod.Task == task {
			return mod, true
		}
	}
	return Model{}, false
}

// Path returns the absolute location of a file named in the manifest.
func (m *Manifest) Path(file string) string { return filepath.Join(m.Dir, file) }
