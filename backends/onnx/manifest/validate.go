package manifest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
)

// Validate checks that the manifest is complete and consistent. It reads no
// files; Verify does.
func (m *Manifest) Validate() error {
	var errs []error
	if m.Schema != Schema {
		errs = append(errs, fmt.Errorf("schema %d: %w (want %d)", m.Schema, ErrUnsupported, Schema))
	}
	if m.Name == "" || m.Version == "" {
		errs = append(errs, fmt.Errorf("name and version: %w", ErrMissing))
	}
	if m.Runtime.Name != "onnxruntime" {
		errs = append(errs, fmt.Errorf("runtime name %q: %w", m.Runtime.Name, ErrUnsupported))
	}
	errs = append(errs, checkFile("runtime", m.Runtime.File, m.Runtime.SHA256))
	if len(m.Models) == 0 {
		errs = append(errs, fmt.Errorf("models: %w", ErrMissing))
	}
	seen := map[string]bool{}
	for i, mod := range m.Models {
		if seen[mod.Task] {
			errs = append(errs, fmt.Errorf("model %d task %q: %w", i, mod.Task, ErrDuplicateTask))
		}
		seen[mod.Task] = true
		if err := mod.validate(); err != nil {
			errs = append(errs, fmt.Errorf("model %d (%s): %w", i, mod.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (mod Model) validate() error {
	var errs []error
	if mod.Name == "" || mod.Version == "" {
		errs = append(errs, fmt.Errorf("name and version: %w", ErrMissing))
	}
	errs = append(errs, checkFile("model", mod.File, mod.SHA256), mod.Input.validate())
	if mod.Output.Name == "" {
		errs = append(errs, fmt.Errorf("output name: %w", ErrMissing))
	}
	params := 0
	for _, p := range []bool{mod.Detect != nil, mod.Recognize != nil, mod.Classify != nil} {
		if p {
			params++
		}
	}
	if params > 1 {
		errs = append(errs, fmt.Errorf("more than one of detect, recognize, classify: %w", ErrUnsupported))
	}
	switch mod.Task {
	case TaskDetect:
		errs = append(errs, mod.Detect.validate())
	case TaskRecognize:
		errs = append(errs, mod.Recognize.validate())
		if r := mod.Recognize; r != nil && len(mod.Input.Shape) == 4 && mod.Input.Shape[2] > 0 && int(mod.Input.Shape[2]) != r.ImageHeight {
			errs = append(errs, fmt.Errorf("input height %d, recognize image_height %d: %w", mod.Input.Shape[2], r.ImageHeight, ErrMismatch))
		}
	case TaskClassify:
		errs = append(errs, mod.Classify.validate())
	default:
		errs = append(errs, fmt.Errorf("task %q: %w", mod.Task, ErrUnsupported))
	}
	return errors.Join(errs...)
}

func (in Input) validate() error {
	if in.Name == "" {
		return fmt.Errorf("input name: %w", ErrMissing)
	}
	if len(in.Shape) != 4 || in.Shape[1] != 3 {
		return fmt.Errorf("input shape %v: %w (want N,3,H,W)", in.Shape, ErrUnsupported)
	}
	if in.ChannelOrder != "BGR" && in.ChannelOrder != "RGB" {
		return fmt.Errorf("input channel_order %q: %w", in.ChannelOrder, ErrUnsupported)
	}
	if in.Scale <= 0 {
		return fmt.Errorf("input scale %v: %w", in.Scale, ErrOutOfRange)
	}
	for _, s := range in.Std {
		if s <= 0 {
			return fmt.Errorf("input std %v: %w", in.Std, ErrOutOfRange)
		}
	}
	return nil
}

func (d *Detect) validate() error {
	switch {
	case d == nil:
		return fmt.Errorf("detect parameters: %w", ErrMissing)
	case d.Stride <= 0 || d.LimitSideLen < d.Stride || d.LimitSideLen%d.Stride != 0:
		return fmt.Errorf("detect limit_side_len %d, stride %d: %w (limit must be a positive multiple of stride)", d.LimitSideLen, d.Stride, ErrOutOfRange)
	case d.Thresh <= 0 || d.Thresh >= 1 || d.BoxThresh <= 0 || d.BoxThresh >= 1:
		return fmt.Errorf("detect thresh %v, box_thresh %v: %w (want 0..1)", d.Thresh, d.BoxThresh, ErrOutOfRange)
	case d.UnclipRatio <= 0 || d.MinSize < 0:
		return fmt.Errorf("detect unclip_ratio %v, min_size %v: %w", d.UnclipRatio, d.MinSize, ErrOutOfRange)
	}
	return nil
}

func (r *Recognize) validate() error {
	if r == nil {
		return fmt.Errorf("recognize parameters: %w", ErrMissing)
	}
	if r.ImageHeight <= 0 || r.ImageWidth <= 0 || r.FrameStride <= 0 {
		return fmt.Errorf("recognize image %dx%d, frame_stride %d: %w", r.ImageWidth, r.ImageHeight, r.FrameStride, ErrOutOfRange)
	}
	d := r.Dictionary
	if err := checkFile("dictionary", d.File, d.SHA256); err != nil {
		return err
	}
	want := 0
	for _, part := range d.Layout {
		switch part {
		case "blank", "space":
			want++
		case "file":
			want += d.Lines
		default:
			return fmt.Errorf("dictionary layout part %q: %w", part, ErrUnsupported)
		}
	}
	if !slices.Contains(d.Layout, "file") || want != d.Classes || d.Classes <= 1 {
		return fmt.Errorf("dictionary layout %v with %d lines gives %d classes, manifest says %d: %w", d.Layout, d.Lines, want, d.Classes, ErrMismatch)
	}
	if d.Layout[0] != "blank" {
		return fmt.Errorf("dictionary layout %v: %w (CTC blank must be class 0)", d.Layout, ErrUnsupported)
	}
	return nil
}

func (c *Classify) validate() error {
	switch {
	case c == nil:
		return fmt.Errorf("classify parameters: %w", ErrMissing)
	case len(c.Labels) < 2:
		return fmt.Errorf("classify labels %v: %w", c.Labels, ErrMissing)
	case c.Thresh <= 0 || c.Thresh >= 1:
		return fmt.Errorf("classify thresh %v: %w (want 0..1)", c.Thresh, ErrOutOfRange)
	}
	return nil
}

// checkFile rejects names that would escape the model folder and digests
// that are not 64 hex digits.
func checkFile(what, file, sum string) error {
	if file == "" || !filepath.IsLocal(file) || filepath.Base(file) != file {
		return fmt.Errorf("%s file %q: %w (want a plain file name)", what, file, ErrUnsupported)
	}
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return fmt.Errorf("%s sha256 %q: %w (want 64 hex digits)", what, sum, ErrUnsupported)
	}
	return nil
}
