package scheduler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Output formats a result can be rendered in.
const (
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
	FormatText     = "text"
	FormatHTML     = "html"
)

// Formats lists the output formats in their canonical order.
var Formats = []string{FormatMarkdown, FormatJSON, FormatText, FormatHTML}

// OCR modes.
const (
	OCRAuto  = "auto"
	OCRForce = "force"
	OCROff   = "off"
)

// Devices a job may ask for.
const (
	DeviceAuto = "auto"
	DeviceGPU  = "gpu"
	DeviceCPU  = "cpu"
)

// Webhook is where a job's events are announced.
type Webhook struct {
	URL string `json:"url"`
	// Secret signs the deliveries: "whsec_" and base64 (the Standard
	// Webhooks form), or any other string of 16 to 256 bytes used as is.
	// Default: the tenant's webhook secret (GET /api/v1/me).
	Secret string `json:"secret,omitempty"`
	// Events are the events sent. Default: DefaultEvents.
	Events []string `json:"events,omitempty"`
}

// Options are the client's processing choices. Normalize fills defaults and
// rejects unknown or out-of-range values with the offending field named.
type Options struct {
	// OutputFormats are the formats the client wants; the first is the
	// default of GET …/result. Default: [markdown].
	OutputFormats []string `json:"output_formats,omitempty"`
	// Pages is a 1-based range list such as "1-3,7". Default: all pages.
	Pages string `json:"pages,omitempty"`
	// OCR is auto, force or off. Default: auto.
	OCR string `json:"ocr,omitempty"`
	// Languages are ISO 639 codes that guide OCR. Default: none.
	Languages []string `json:"languages,omitempty"`
	// Device is auto, gpu or cpu. Default: auto.
	Device string `json:"device,omitempty"`
	// Webhook is notified when the job ends. Default: none.
	Webhook *Webhook `json:"webhook,omitempty"`
}

func (o Options) clone() Options {
	c := o
	c.OutputFormats = slices.Clone(o.OutputFormats)
	c.Languages = slices.Clone(o.Languages)
	if o.Webhook != nil {
		w := *o.Webhook
		w.Events = slices.Clone(o.Webhook.Events)
		c.Webhook = &w
	}
	return c
}

// FieldError names the option that failed validation.
type FieldError struct {
	Field  string
	Reason string
	Value  any
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid option %q: %s", e.Field, e.Reason)
}

// Normalize validates o and fills in defaults.
func (o *Options) Normalize() error {
	if len(o.OutputFormats) == 0 {
		o.OutputFormats = []string{FormatMarkdown}
	}
	seen := map[string]bool{}
	out := o.OutputFormats[:0]
	for _, f := range o.OutputFormats {
		f = strings.ToLower(strings.TrimSpace(f))
		if !slices.Contains(Formats, f) {
			return &FieldError{Field: "output_formats", Reason: "must be one of " + strings.Join(Formats, ", "), Value: f}
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	o.OutputFormats = out
	if o.Pages != "" {
		if _, err := ParsePages(o.Pages); err != nil {
			return &FieldError{Field: "pages", Reason: err.Error(), Value: o.Pages}
		}
	}
	switch o.OCR {
	case "":
		o.OCR = OCRAuto
	case OCRAuto, OCRForce, OCROff:
	default:
		return &FieldError{Field: "ocr", Reason: "must be one of auto, force, off", Value: o.OCR}
	}
	for _, l := range o.Languages {
		if !validLanguage(l) {
			return &FieldError{Field: "languages", Reason: "must be ISO 639 codes such as en or chi_sim", Value: l}
		}
	}
	if len(o.Languages) > 8 {
		return &FieldError{Field: "languages", Reason: "at most 8 languages", Value: len(o.Languages)}
	}
	switch o.Device {
	case "":
		o.Device = DeviceAuto
	case DeviceAuto, DeviceGPU, DeviceCPU:
	default:
		return &FieldError{Field: "device", Reason: "must be one of auto, gpu, cpu", Value: o.Device}
	}
	if o.Webhook != nil {
		return o.Webhook.normalize()
	}
	return nil
}

func (w *Webhook) normalize() error {
	if !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://") {
		return &FieldError{Field: "webhook.url", Reason: "must be an http or https URL", Value: w.URL}
	}
	if len(w.URL) > 2048 {
		return &FieldError{Field: "webhook.url", Reason: "must be at most 2048 bytes", Value: len(w.URL)}
	}
	if w.Secret != "" {
		if _, err := WebhookKey(w.Secret); err != nil {
			return &FieldError{Field: "webhook.secret", Reason: err.Error(), Value: "(redacted)"}
		}
	}
	var events []string
	for _, e := range w.Events {
		e = strings.ToLower(strings.TrimSpace(e))
		if !slices.Contains(Events, e) {
			return &FieldError{Field: "webhook.events", Reason: "must be among " + strings.Join(Events, ", "), Value: e}
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	slices.SortFunc(events, func(a, b string) int { return slices.Index(Events, a) - slices.Index(Events, b) })
	w.Events = events
	return nil
}

func validLanguage(l string) bool {
	if len(l) < 2 || len(l) > 12 {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// PageRange is an inclusive 1-based range.
type PageRange struct{ From, To int }

// ParsePages parses "1-3,7" into ranges. It checks syntax only; Select
// checks against a page count.
func ParsePages(s string) ([]PageRange, error) {
	var out []PageRange
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("empty range in %q", s)
		}
		from, to, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(from))
		if err != nil || a < 1 {
			return nil, fmt.Errorf("%q is not a page number ≥ 1", from)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(to)); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range with end ≥ start", part)
			}
		}
		out = append(out, PageRange{a, b})
	}
	return out, nil
}

// SelectPages returns the sorted, de-duplicated 1-based page numbers that spec
// selects out of total. An empty spec selects every page.
func SelectPages(spec string, total int) ([]int, error) {
	if spec == "" {
		pages := make([]int, total)
		for i := range pages {
			pages[i] = i + 1
		}
		return pages, nil
	}
	ranges, err := ParsePages(spec)
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	var pages []int
	for _, r := range ranges {
		if r.To > total {
			return nil, fmt.Errorf("page %d is out of range: the document has %d pages", r.To, total)
		}
		for p := r.From; p <= r.To; p++ {
			if !seen[p] {
				seen[p] = true
				pages = append(pages, p)
			}
		}
	}
	slices.Sort(pages)
	return pages, nil
}
