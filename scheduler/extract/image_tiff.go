package extract

import (
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"io"

	"golang.org/x/image/tiff"
)

// Multi-page TIFF.
//
// golang.org/x/image/tiff decodes the first image file directory (IFD) and
// nothing else, and no maintained pure-Go library in the module proxy both
// walks the IFD chain and decodes the compressions scanners write (the
// alternatives are unmaintained forks of the same decoder or cgo libtiff
// bindings). The part written here is only the walk: each IFD is a
// count, 12-byte entries and the offset of the next IFD, which takes a few
// dozen lines to read with bounds checks. Pixels are still decoded by
// x/image/tiff, which is shown page N through a reader whose header points
// at page N's IFD instead of the first (tiffPageReader).

// TIFF tags this file reads.
const (
	tagNewSubfileType = 254
	tagImageWidth     = 256
	tagImageLength    = 257
	tagOrientation    = 274
)

// TIFF field types that hold an unsigned integer.
const (
	typeShort = 3
	typeLong  = 4
)

// maxIFDEntries bounds one directory. Real files have a few dozen tags; the
// format allows 65535, which would make every directory read 768 KB.
const maxIFDEntries = 1024

// ifdEntry is one 12-byte directory entry.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    [4]byte // the value itself when it fits, else its offset
}

// ifdReader reads directories of a TIFF structure: a TIFF file or the
// payload of a JPEG's EXIF segment.
type ifdReader struct {
	r     io.ReaderAt
	size  int64
	order binary.ByteOrder
}

// tiffByteOrder reads the 8-byte header "II*\0" or "MM\0*" plus the first
// IFD's offset.
func tiffByteOrder(h []byte) (binary.ByteOrder, int64, error) {
	if len(h) < 8 {
		return nil, 0, fmt.Errorf("short tiff header: %w", ErrCorrupt)
	}
	var order binary.ByteOrder
	switch string(h[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return nil, 0, fmt.Errorf("bad tiff byte order: %w", ErrCorrupt)
	}
	switch order.Uint16(h[2:4]) {
	case 42:
	case 43:
		return nil, 0, fmt.Errorf("bigtiff: %w", ErrUnsupportedImage)
	default:
		return nil, 0, fmt.Errorf("bad tiff magic number: %w", ErrCorrupt)
	}
	return order, int64(order.Uint32(h[4:8])), nil
}

// read returns the entries of the IFD at off and the offset of the next
// IFD, 0 for the last.
func (d ifdReader) read(off int64) ([]ifdEntry, int64, error) {
	var nb [2]byte
	if off < 8 || off+2 > d.size {
		return nil, 0, fmt.Errorf("directory offset %d is outside the file: %w", off, ErrCorrupt)
	}
	if _, err := d.r.ReadAt(nb[:], off); err != nil {
		return nil, 0, readErr(err)
	}
	n := int64(d.order.Uint16(nb[:]))
	if n == 0 || n > maxIFDEntries {
		return nil, 0, fmt.Errorf("directory at %d has %d entries: %w", off, n, ErrCorrupt)
	}
	if off+2+n*12+4 > d.size {
		return nil, 0, fmt.Errorf("directory at %d runs past the end: %w", off, ErrCorrupt)
	}
	buf := make([]byte, n*12+4)
	if _, err := d.r.ReadAt(buf, off+2); err != nil {
		return nil, 0, readErr(err)
	}
	entries := make([]ifdEntry, n)
	for i := range entries {
		b := buf[i*12:]
		e := &entries[i]
		e.tag, e.typ, e.count = d.order.Uint16(b), d.order.Uint16(b[2:]), d.order.Uint32(b[4:])
		copy(e.value[:], b[8:12])
	}
	return entries, int64(d.order.Uint32(buf[n*12:])), nil
}

// uintValue returns the first value of a SHORT or LONG entry held inline.
func (d ifdReader) uintValue(e ifdEntry) (uint32, bool) {
	switch {
	case e.count < 1:
		return 0, false
	case e.typ == typeShort && e.count <= 2:
		return uint32(d.order.Uint16(e.value[:])), true
	case e.typ == typeLong && e.count == 1:
		return d.order.Uint32(e.value[:]), true
	}
	return 0, false
}

// readErr maps a short read of the structure to ErrCorrupt; other errors
// are the reader's own.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated: %w", ErrCorrupt)
	}
	return err
}

// tiffPages walks the IFD chain and returns the full-resolution pages,
// failing with ErrTooManyPages as soon as there are more than maxPages.
func tiffPages(ctx context.Context, r io.ReaderAt, size int64, maxPages int) ([]pageHeader, error) {
	var h [8]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, readErr(err)
	}
	order, off, err := tiffByteOrder(h[:])
	if err != nil {
		return nil, err
	}
	d := ifdReader{r: r, size: size, order: order}
	// Reduced-resolution copies (thumbnails) are skipped but still cost a
	// directory read each; bound them too.
	maxDirs := 4*maxPages + 16
	seen := make(map[int64]bool)
	var pages []pageHeader
	for off != 0 {
		if len(seen)%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if seen[off] {
			return nil, fmt.Errorf("directory chain loops back to offset %d: %w", off, ErrCorrupt)
		}
		if len(seen) >= maxDirs {
			return nil, fmt.Errorf("more than %d directories: %w", maxDirs, ErrTooManyPages)
		}
		seen[off] = true
		entries, next, err := d.read(off)
		if err != nil {
			return nil, fmt.Errorf("reading tiff directory %d: %w", len(seen), err)
		}
		p := pageHeader{orientation: 1, ifd: off}
		reduced := false
		for _, e := range entries {
			v, ok := d.uintValue(e)
			if !ok {
				continue
			}
			switch e.tag {
			case tagNewSubfileType:
				reduced = v&1 != 0
			case tagImageWidth:
				p.w = int(v)
			case tagImageLength:
				p.h = int(v)
			case tagOrientation:
				if v >= 1 && v <= 8 {
					p.orientation = int(v)
				}
			}
		}
		off = next
		if reduced {
			continue
		}
		pages = append(pages, p)
		if len(pages) > maxPages {
			return nil, fmt.Errorf("more than %d pages: %w", maxPages, ErrTooManyPages)
		}
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("no pages: %w", ErrCorrupt)
	}
	return pages, nil
}

// decodeTIFFPage decodes the page whose IFD is at ifd.
func decodeTIFFPage(r io.ReaderAt, size int64, ifd int64) (image.Image, error) {
	pr := &tiffPageReader{r: r, size: size}
	if _, err := r.ReadAt(pr.header[:], 0); err != nil {
		return nil, readErr(err)
	}
	order, _, err := tiffByteOrder(pr.header[:])
	if err != nil {
		return nil, err
	}
	order.PutUint32(pr.header[4:8], uint32(ifd))
	return tiff.Decode(pr)
}

// tiffPageReader shows a TIFF file with the first-IFD offset in its header
// replaced. x/image/tiff reads through ReadAt when its reader has it, so the
// file is never copied.
type tiffPageReader struct {
	r      io.ReaderAt
	size   int64
	header [8]byte
	pos    int64 // for Read, which tiff.Decode's signature needs
}

func (t *tiffPageReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= t.size {
		return 0, io.EOF
	}
	n, err := t.r.ReadAt(p, off)
	for i := max(off, 0); i < 8 && i < off+int64(n); i++ {
		p[i-off] = t.header[i]
	}
	return n, err
}

func (t *tiffPageReader) Read(p []byte) (int, error) {
	n, err := t.ReadAt(p, t.pos)
	t.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}
