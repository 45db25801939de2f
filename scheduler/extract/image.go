package extract

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"iter"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Defaults of ImageLimits.
const (
	DefaultMaxPixels = 50_000_000
	DefaultMaxPages  = 2000
)

// ImageLimits bounds what an image may cost before any pixel is decoded. The
// zero value means the defaults.
type ImageLimits struct {
	// MaxPixels caps width×height of one decoded page (and of one rendered
	// PDF page). Decoders allocate their whole pixel buffer from the header's
	// claim, so a 100 KB file can ask for gigabytes; the claim is checked
	// first. Default: 50,000,000 (an A4 page at 600 DPI is 35 MP).
	MaxPixels int64 `json:"max_pixels,omitempty"`
	// MaxPages caps the pages of a multi-page TIFF. Counting stops one page
	// past the limit, so a file claiming millions of pages is refused after
	// reading a few thousand small directory headers. Default: 2000.
	MaxPages int `json:"max_pages,omitempty"`
}

// normalize fills in defaults and rejects negative limits.
func (l *ImageLimits) normalize() error {
	if l.MaxPixels < 0 || l.MaxPages < 0 {
		return errors.New("image limits must not be negative")
	}
	if l.MaxPixels == 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxPages == 0 {
		l.MaxPages = DefaultMaxPages
	}
	return nil
}

// ImageInfo is what the submit path needs to know about an image.
type ImageInfo struct {
	// MediaType is one of the MediaType* image constants.
	MediaType string `json:"media_type"`
	// Pages is the page count: the TIFF pages (reduced-resolution copies
	// not counted), 1 for every other format (a GIF's first frame only).
	Pages int `json:"pages"`
	// Width and Height are those of the first page as displayed, that is
	// after the EXIF or TIFF orientation is applied.
	Width  int `json:"width"`
	Height int `json:"height"`
}

// ImagePage is one decoded page.
type ImagePage struct {
	// Number is the 1-based page number.
	Number int
	// Image is upright: the orientation recorded in the file is applied.
	// Its bounds start at (0, 0).
	Image image.Image
}

// imageHeader is what the headers of one image file say.
type imageHeader struct {
	media string
	pages []pageHeader
}

// pageHeader describes one page as stored.
type pageHeader struct {
	w, h        int
	orientation int   // EXIF/TIFF orientation, 1 to 8; 1 when absent
	ifd         int64 // TIFF only: the offset of the page's directory
}

// displayed returns the page size after orientation.
func (p pageHeader) displayed() (int, int) {
	if p.orientation >= 5 && p.orientation <= 8 {
		return p.h, p.w
	}
	return p.w, p.h
}

// InspectImage reads the headers of the image in r (size bytes) and refuses
// it when a page claims more than limits.MaxPixels pixels (ErrImageTooLarge)
// or a TIFF has more than limits.MaxPages pages (ErrTooManyPages). No pixel
// data is read, so it is cheap enough for the submit path. Unreadable headers
// give ErrCorrupt, formats Detect does not call images ErrUnsupportedImage.
func InspectImage(ctx context.Context, r io.ReaderAt, size int64, limits ImageLimits) (ImageInfo, error) {
	if err := limits.normalize(); err != nil {
		return ImageInfo{}, fmt.Errorf("validating image limits: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return ImageInfo{}, err
	}
	hdr, err := readImageHeader(ctx, r, size, limits)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspecting image: %w", err)
	}
	w, h := hdr.pages[0].displayed()
	return ImageInfo{MediaType: hdr.media, Pages: len(hdr.pages), Width: w, Height: h}, nil
}

// DecodeImagePages decodes the given 1-based pages (all pages when pages is
// empty) of the image in r, in the order given, each upright. Every page's
// header is checked against limits before its pixels are decoded, and ctx
// between pages. The sequence stops after the first error, which wraps
// ErrCorrupt for damaged or truncated data, ErrImageTooLarge,
// ErrTooManyPages, ErrUnsupportedImage or ctx.Err(). Only one page's pixels
// are held at a time unless the caller keeps them.
func DecodeImagePages(ctx context.Context, r io.ReaderAt, size int64, pages []int, limits ImageLimits) iter.Seq2[ImagePage, error] {
	return func(yield func(ImagePage, error) bool) {
		fail := func(err error) { yield(ImagePage{}, fmt.Errorf("decoding image: %w", err)) }
		if err := limits.normalize(); err != nil {
			fail(fmt.Errorf("validating image limits: %w", err))
			return
		}
		if err := ctx.Err(); err != nil {
			yield(ImagePage{}, err)
			return
		}
		hdr, err := readImageHeader(ctx, r, size, limits)
		if err != nil {
			fail(err)
			return
		}
		n := len(hdr.pages)
		if len(pages) == 0 {
			pages = make([]int, n)
			for i := range pages {
				pages[i] = i + 1
			}
		}
		for _, p := range pages {
			if p < 1 || p > n {
				fail(fmt.Errorf("page %d is out of range: the image has %d pages", p, n))
				return
			}
		}
		for _, p := range pages {
			if err := ctx.Err(); err != nil {
				yield(ImagePage{}, err)
				return
			}
			img, err := decodePage(r, size, hdr.media, hdr.pages[p-1])
			if err != nil {
				fail(fmt.Errorf("page %d: %w", p, err))
				return
			}
			if !yield(ImagePage{Number: p, Image: img}, nil) {
				return
			}
		}
	}
}

// readImageHeader detects the format and reads every page's header,
// enforcing limits.
func readImageHeader(ctx context.Context, r io.ReaderAt, size int64, limits ImageLimits) (imageHeader, error) {
	if size <= 0 {
		return imageHeader{}, fmt.Errorf("empty file: %w", ErrCorrupt)
	}
	head := make([]byte, min(size, HeadLen))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return imageHeader{}, fmt.Errorf("reading header: %w", err)
	}
	media := imageMedia(head)
	hdr := imageHeader{media: media}
	switch media {
	case MediaTypeTIFF:
		pages, err := tiffPages(ctx, r, size, limits.MaxPages)
		if err != nil {
			return imageHeader{}, err
		}
		hdr.pages = pages
	case "":
		return imageHeader{}, ErrUnsupportedImage
	default:
		cfg, err := decodeConfig(r, size, media)
		if err != nil {
			return imageHeader{}, err
		}
		ph := pageHeader{w: cfg.Width, h: cfg.Height, orientation: 1}
		if media == MediaTypeJPEG {
			ph.orientation = jpegOrientation(r, size)
		}
		hdr.pages = []pageHeader{ph}
	}
	for i, p := range hdr.pages {
		if err := checkPixels(p.w, p.h, limits.MaxPixels); err != nil {
			if len(hdr.pages) > 1 {
				return imageHeader{}, fmt.Errorf("page %d: %w", i+1, err)
			}
			return imageHeader{}, err
		}
	}
	return hdr, nil
}

// checkPixels refuses empty images and those over maxPixels, without
// overflowing on absurd header values.
func checkPixels(w, h int, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("image is %d×%d pixels: %w", w, h, ErrCorrupt)
	}
	if int64(w) > maxPixels/int64(h) {
		return fmt.Errorf("%d×%d pixels is over the limit of %d: %w", w, h, maxPixels, ErrImageTooLarge)
	}
	return nil
}

// decodeConfig reads the header of a single-page format.
func decodeConfig(r io.ReaderAt, size int64, media string) (image.Config, error) {
	rr := &recordingReaderAt{r: r}
	sr := io.NewSectionReader(rr, 0, size)
	var cfg image.Config
	var err error
	switch media {
	case MediaTypePNG:
		cfg, err = png.DecodeConfig(sr)
	case MediaTypeJPEG:
		cfg, err = jpeg.DecodeConfig(sr)
	case MediaTypeGIF:
		cfg, err = gif.DecodeConfig(sr)
	case MediaTypeBMP:
		cfg, err = bmp.DecodeConfig(sr)
	case MediaTypeWebP:
		cfg, err = webp.DecodeConfig(sr)
	default:
		return image.Config{}, ErrUnsupportedImage
	}
	var pu png.UnsupportedError
	if errors.As(err, &pu) && strings.Contains(string(pu), "dimension overflow") {
		// image/png refuses sizes whose buffer would overflow int before
		// anyone can compare them with a limit.
		return image.Config{}, fmt.Errorf("reading %s header: %w: %w", media, ErrImageTooLarge, err)
	}
	if err != nil {
		return image.Config{}, rr.classify("reading "+media+" header", err)
	}
	return cfg, nil
}

// decodePage decodes one page whose header has passed the checks.
func decodePage(r io.ReaderAt, size int64, media string, ph pageHeader) (image.Image, error) {
	rr := &recordingReaderAt{r: r}
	sr := io.NewSectionReader(rr, 0, size)
	var img image.Image
	var err error
	switch media {
	case MediaTypePNG:
		img, err = png.Decode(sr)
	case MediaTypeJPEG:
		img, err = jpeg.Decode(sr)
	case MediaTypeGIF:
		img, err = decodeGIF(sr, ph.w, ph.h)
	case MediaTypeBMP:
		img, err = bmp.Decode(sr)
	case MediaTypeWebP:
		img, err = webp.Decode(sr)
	case MediaTypeTIFF:
		img, err = decodeTIFFPage(rr, size, ph.ifd)
	default:
		return nil, ErrUnsupportedImage
	}
	if err != nil {
		return nil, rr.classify("decoding "+media, err)
	}
	// A decoder that disagrees with the header it was checked against
	// would defeat the pixel guard; none of the standard ones do, but the
	// guard is cheap.
	if b := img.Bounds(); b.Dx() != ph.w || b.Dy() != ph.h {
		return nil, fmt.Errorf("decoded %d×%d pixels, header said %d×%d: %w", b.Dx(), b.Dy(), ph.w, ph.h, ErrCorrupt)
	}
	return orient(img, ph.orientation), nil
}

// decodeGIF returns the first frame on a canvas of the logical screen size
// (w×h): a first frame may cover only part of the screen.
func decodeGIF(r io.Reader, w, h int) (image.Image, error) {
	frame, err := gif.Decode(r)
	if err != nil {
		return nil, err
	}
	screen := image.Rect(0, 0, w, h)
	if frame.Bounds() == screen {
		return frame, nil
	}
	canvas := image.NewRGBA(screen)
	draw.Draw(canvas, frame.Bounds().Intersect(screen), frame, frame.Bounds().Min, draw.Src)
	return canvas, nil
}

// isUnsupported reports a decoder's "valid, but a variant I do not
// implement" error.
func isUnsupported(err error) bool {
	var pu png.UnsupportedError
	var ju jpeg.UnsupportedError
	var tu tiff.UnsupportedError
	return errors.As(err, &pu) || errors.As(err, &ju) || errors.As(err, &tu) || errors.Is(err, bmp.ErrUnsupported)
}

// recordingReaderAt remembers the first real I/O error of the underlying
// reader, so that a failing disk is not reported as a corrupt image.
type recordingReaderAt struct {
	r   io.ReaderAt
	err error
}

func (rr *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := rr.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// classify turns a decoder error into an I/O error when the reader failed,
// and into ErrCorrupt (or ErrUnsupportedImage) otherwise.
func (rr *recordingReaderAt) classify(what string, err error) error {
	switch {
	case rr.err != nil:
		return fmt.Errorf("%s: %w", what, rr.err)
	case isUnsupported(err):
		return fmt.Errorf("%s: %w: %w", what, ErrUnsupportedImage, err)
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrImageTooLarge), errors.Is(err, ErrUnsupportedImage):
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrCorrupt, err)
}
