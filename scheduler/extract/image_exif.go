package extract

import (
	"bytes"
	"io"
)

// EXIF orientation of JPEG files.
//
// Only one tag of EXIF matters here, and EXIF is a TIFF directory inside an
// APP1 segment, which ifdReader already reads; a full EXIF library
// (github.com/rwcarlsen/goexif, say, unmaintained since 2019) would parse
// every tag of untrusted input for the sake of one.

// maxJPEGSegments bounds the marker walk; the EXIF segment comes first or
// second in every writer.
const maxJPEGSegments = 64

// jpegOrientation returns the EXIF orientation (1 to 8) of the JPEG in r, 1
// when there is none or it cannot be read: a broken EXIF block must not
// stop a page from being read, only from being turned.
func jpegOrientation(r io.ReaderAt, size int64) int {
	off := int64(2) // after SOI
	var m [4]byte
	for range maxJPEGSegments {
		if off+4 > size {
			return 1
		}
		if _, err := r.ReadAt(m[:], off); err != nil {
			return 1
		}
		if m[0] != 0xFF {
			return 1
		}
		marker := m[1]
		switch {
		case marker == 0xFF: // fill byte
			off++
			continue
		case marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01:
			off += 2 // markers without a length
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return 1
		}
		n := int64(m[2])<<8 | int64(m[3])
		if n < 2 || off+2+n > size {
			return 1
		}
		if marker == 0xE1 {
			if o, ok := exifOrientation(r, off+4, n-2); ok {
				return o
			}
		}
		off += 2 + n
	}
	return 1
}

// exifOrientation reads the orientation from an APP1 payload at off of n
// bytes, if it is an EXIF block that has one.
func exifOrientation(r io.ReaderAt, off, n int64) (int, bool) {
	const sig = "Exif\x00\x00"
	if n < int64(len(sig))+8 {
		return 0, false
	}
	var h [len(sig) + 8]byte
	if _, err := r.ReadAt(h[:], off); err != nil || !bytes.HasPrefix(h[:], []byte(sig)) {
		return 0, false
	}
	order, ifd, err := tiffByteOrder(h[len(sig):])
	if err != nil {
		return 0, false
	}
	// Offsets inside EXIF count from the TIFF header.
	d := ifdReader{r: io.NewSectionReader(r, off+int64(len(sig)), n-int64(len(sig))), size: n - int64(len(sig)), order: order}
	entries, _, err := d.read(ifd)
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		if e.tag != tagOrientation {
			continue
		}
		if v, ok := d.uintValue(e); ok && v >= 1 && v <= 8 {
			return int(v), true
		}
	}
	return 0, false
}
