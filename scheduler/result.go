package scheduler

// Block kinds.
const (
	BlockText    = "text"
	BlockHeading = "heading"
	BlockTable   = "table"
)

// Block sources: where the text came from.
const (
	SourceTextLayer = "text_layer"
	SourceOCR       = "ocr"
	SourcePlain     = "plain"
)

// BBox is a box in page points (1/72 in), origin top-left.
type BBox struct {
	X0 float64 `json:"x0"`
	Y0 float64 `json:"y0"`
	X1 float64 `json:"x1"`
	Y1 float64 `json:"y1"`
}

// Block is a run of text the renderers treat as one unit, in reading order.
type Block struct {
	Type       string  `json:"type"`
	Text       string  `json:"text"`
	BBox       *BBox   `json:"bbox,omitempty"`
	Confidence float64 `json:"confidence"`
	Source     string  `json:"source"`
	// Level is the heading level (1 = largest) for heading blocks.
	Level int `json:"level,omitempty"`
}

// Page is one page of the result.
type Page struct {
	// Number is the 1-based page number in the source.
	Number   int      `json:"number"`
	Width    float64  `json:"width,omitempty"`
	Height   float64  `json:"height,omitempty"`
	Blocks   []Block  `json:"blocks"`
	Warnings []string `json:"warnings,omitempty"`
}

// Timings are stage durations in milliseconds.
type Timings struct {
	TotalMS   int64 `json:"total_ms"`
	ExtractMS int64 `json:"extract_ms"`
}

// Document is the canonical result a worker stores; every output format is
// rendered from it.
type Document struct {
	JobID          string  `json:"job_id"`
	SourceSHA256   string  `json:"source_sha256"`
	MediaType      string  `json:"media_type"`
	Filename       string  `json:"filename,omitempty"`
	PageCount      int     `json:"page_count"`
	Pages          []Page  `json:"pages"`
	Backend        string  `json:"backend"`
	BackendVersion string  `json:"backend_version"`
	Timings        Timings `json:"timings"`
}
