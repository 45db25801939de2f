package plugins

import "time"

// Info describes a backend.
type Info struct {
	// Name is the backend's name, e.g. "onnx-ppocr".
	Name string
	// Version is the backend build's version, e.g. "v1.4.2".
	Version string
	// Tasks lists the task names Process accepts, e.g. TaskOCRRecognize.
	Tasks []string
	// APIVersions lists the contract versions the backend speaks. Empty
	// means SupportedAPIVersions().
	APIVersions []string
	// Providers says which execution providers were asked for and which
	// were obtained.
	Providers Providers
	// Models lists the loaded models.
	Models []Model
	// Session holds the inference session settings.
	Session Session
}

// Providers says which execution providers a backend asked for and got, so
// that a fallback to CPU is never silent.
type Providers struct {
	// Requested lists providers in priority order, e.g. tensorrt, cuda, cpu.
	Requested []string
	// Active lists the providers actually in use, in priority order.
	Active []string
	// Reason says why Active differs from Requested, e.g. "cuda: libcudart.so.12
	// not found". Empty when they match.
	Reason string
}

// Model is one loaded model.
type Model struct {
	Name    string
	Version string
	// SHA256 is the hex-encoded SHA-256 of the model file.
	SHA256 string
}

// Session holds the inference session settings a backend runs with.
type Session struct {
	IntraOpThreads    int
	InterOpThreads    int
	GraphOptimization string
	// MaxBatchSize is the largest batch run in one inference call.
	MaxBatchSize int
	Extra        map[string]string
}

// HealthStatus is a backend's coarse health.
type HealthStatus int

// Health statuses.
const (
	HealthUnknown HealthStatus = iota
	// HealthServing means the backend runs as configured.
	HealthServing
	// HealthDegraded means the backend serves but not as configured, for
	// example on CPU after CUDA failed to load. Detail says why.
	HealthDegraded
	// HealthNotServing means the backend cannot take work.
	HealthNotServing
)

// String returns the status in lower case.
func (s HealthStatus) String() string {
	switch s {
	case HealthServing:
		return "serving"
	case HealthDegraded:
		return "degraded"
	case HealthNotServing:
		return "not_serving"
	default:
		return "unknown"
	}
}

// CanServe reports whether work may be routed to a backend in this status.
func (s HealthStatus) CanServe() bool {
	return s == HealthServing || s == HealthDegraded
}

// Health is a backend's answer to a health check.
type Health struct {
	Status HealthStatus
	Detail string
}

// ImageFormat says how Image.Data is encoded.
type ImageFormat int

// Image formats.
const (
	ImageFormatUnspecified ImageFormat = iota
	// ImagePNG is PNG-encoded; Width and Height are optional hints.
	ImagePNG
	// ImageRGBA is raw 8-bit RGBA, row-major, without padding:
	// len(Data) == Width*Height*4.
	ImageRGBA
	// ImageGray is raw 8-bit grayscale, row-major, without padding:
	// len(Data) == Width*Height. Backends take it from API v1.1;
	// ProcessRequest.ForAPIVersion expands it for older ones.
	ImageGray
)

// Image is one encoded image.
type Image struct {
	Format ImageFormat
	Data   []byte
	Width  int
	Height int
}

// Point is a position in pixels.
type Point struct {
	X, Y float32
}

// Quad is four points clockwise from the top-left, in pixels of the item's
// image. Axis-aligned boxes are quads too.
type Quad [4]Point

// Item is one unit of work: a page image or a crop of one.
type Item struct {
	// ID is chosen by the caller, unique within a request, and echoed in
	// ItemResult.ItemID.
	ID    string
	Image Image
	// Crop is the region of Image to process, possibly rotated. Nil means
	// the whole image.
	Crop *Quad
}

// Options tune a task.
type Options struct {
	// Languages are language codes, e.g. "en", "de".
	Languages []string
	// MaxDetections caps the text regions ocr.detect returns per item; 0
	// means the backend's default.
	MaxDetections int
	// MinConfidence drops lines below it; 0 keeps all.
	MinConfidence float32
	// Extra carries backend-specific options.
	Extra map[string]string
}

// ProcessRequest is one batch of items for one task.
type ProcessRequest struct {
	Task    string
	Items   []Item
	Options Options
}

// Line is one recognized or detected line.
type Line struct {
	Text       string
	Box        Quad
	Confidence float32
}

// Timings break down where an item's time went inside the backend.
type Timings struct {
	// Queue is the time spent waiting in the backend's batcher.
	Queue       time.Duration
	Preprocess  time.Duration
	Inference   time.Duration
	Postprocess time.Duration
}

// Item error codes, for ItemError.Code.
const (
	CodeInvalidImage    = "invalid_image"
	CodeUnsupportedTask = "unsupported_task"
	CodeInternal        = "internal"
)

// ItemError is the failure of one item.
type ItemError struct {
	// Code is stable and machine-readable, e.g. CodeInvalidImage.
	Code    string
	Message string
}

// Error returns the code and the message.
func (e *ItemError) Error() string {
	return e.Code + ": " + e.Message
}

// ItemResult is the outcome of one item.
type ItemResult struct {
	ItemID  string
	Lines   []Line
	Timings Timings
	// Err is set when the item failed; Lines is then empty.
	Err *ItemError
}
