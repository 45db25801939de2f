package plugins

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

func TestWireImage(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(gray.Pix, []byte{0, 10, 20, 30, 40, 255})
	grayRGBA := image.NewRGBA(gray.Rect)
	colored := image.NewRGBA(gray.Rect)
	translucent := image.NewRGBA(gray.Rect)
	for i, v := range gray.Pix {
		x, y := i%3, i/3
		grayRGBA.Set(x, y, color.Gray{Y: v})
		colored.Set(x, y, color.Gray{Y: v})
		translucent.Set(x, y, color.Gray{Y: v})
	}
	colored.Set(2, 1, color.RGBA{R: 200, G: 10, B: 10, A: 255})
	translucent.Set(0, 0, color.RGBA{A: 128})
	// A sub-image has a stride wider than its rows.
	big := image.NewGray(image.Rect(0, 0, 5, 4))
	sub := big.SubImage(image.Rect(1, 1, 4, 3)).(*image.Gray)
	for i, v := range gray.Pix {
		sub.SetGray(1+i%3, 1+i/3, color.Gray{Y: v})
	}
	ycc := image.NewYCbCr(gray.Rect, image.YCbCrSubsampleRatio444)
	for i := range ycc.Y {
		ycc.Y[i], ycc.Cb[i], ycc.Cr[i] = gray.Pix[i], 128, 128
	}

	for _, tc := range []struct {
		name   string
		img    image.Image
		format ImageFormat
		shared bool // the image's own pixels go out uncopied
	}{
		{"gray", gray, ImageGray, true},
		{"gray sub-image", sub, ImageGray, false},
		{"gray RGBA", grayRGBA, ImageGray, false},
		{"gray YCbCr", ycc, ImageGray, false},
		{"colored", colored, ImageRGBA, true},
		{"translucent", translucent, ImageRGBA, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := WireImage(tc.img)
			if w.Format != tc.format || w.Width != 3 || w.Height != 2 {
				t.Fatalf("got %v %dx%d, want %v 3x2", w.Format, w.Width, w.Height, tc.format)
			}
			switch tc.format {
			case ImageGray:
				if !bytes.Equal(w.Data, gray.Pix) {
					t.Errorf("gray levels %v, want %v", w.Data, gray.Pix)
				}
			case ImageRGBA:
				if len(w.Data) != 4*6 || w.Data[0] != tc.img.(*image.RGBA).Pix[0] {
					t.Errorf("RGBA data %v", w.Data)
				}
			}
			var src []byte
			switch im := tc.img.(type) {
			case *image.Gray:
				src = im.Pix
			case *image.RGBA:
				src = im.Pix
			}
			if shared := src != nil && &w.Data[0] == &src[0]; shared != tc.shared {
				t.Errorf("shared pixels = %v, want %v", shared, tc.shared)
			}
		})
	}
}

func TestForAPIVersion(t *testing.T) {
	req := &ProcessRequest{Task: TaskOCRRecognize, Items: []Item{
		{ID: "g", Image: Image{Format: ImageGray, Data: []byte{7, 9}, Width: 2, Height: 1}},
		{ID: "p", Image: Image{Format: ImagePNG, Data: []byte("png")}},
	}}
	for _, v := range []string{APIVersion1_1, "v1.2", "v2"} {
		if got := req.ForAPIVersion(v); got != req {
			t.Errorf("%s: request copied", v)
		}
	}
	for _, v := range []string{APIVersion1, "v1.0", "nonsense"} {
		got := req.ForAPIVersion(v)
		if got == req || req.Items[0].Image.Format != ImageGray {
			t.Fatalf("%s: the caller's request was changed or reused", v)
		}
		want := Image{Format: ImageRGBA, Data: []byte{7, 7, 7, 255, 9, 9, 9, 255}, Width: 2, Height: 1}
		if g := got.Items[0].Image; g.Format != want.Format || !bytes.Equal(g.Data, want.Data) || g.Width != 2 || g.Height != 1 {
			t.Errorf("%s: gray item became %+v", v, g)
		}
		if got.Items[1].Image.Format != ImagePNG || got.Items[0].ID != "g" || got.Task != req.Task {
			t.Errorf("%s: other fields changed: %+v", v, got)
		}
	}
	plain := &ProcessRequest{Items: []Item{{Image: Image{Format: ImageRGBA}}}}
	if plain.ForAPIVersion(APIVersion1) != plain {
		t.Error("a request without gray items was copied")
	}
}
