package ocr

import (
	"slices"
	"testing"
)

func TestReadingOrder(t *testing.T) {
	row := func(x0, x1, y float64) Rect { return Rect{MinX: x0, MinY: y, MaxX: x1, MaxY: y + 20} }
	tests := []struct {
		name  string
		boxes []Rect
		want  []int
	}{
		{
			name:  "single column",
			boxes: []Rect{row(10, 300, 70), row(10, 280, 10), row(10, 200, 40)},
			want:  []int{1, 2, 0},
		},
		{
			name:  "two words on one row",
			boxes: []Rect{row(200, 300, 12), row(10, 100, 10), row(10, 300, 40)},
			want:  []int{1, 0, 2},
		},
		{
			name: "two columns",
			boxes: []Rect{
				row(320, 600, 10), row(10, 300, 10), row(320, 580, 40), row(10, 290, 40), row(10, 300, 70), row(320, 600, 70),
			},
			want: []int{1, 3, 4, 0, 2, 5},
		},
		{
			name: "title, two columns, footer",
			boxes: []Rect{
				row(100, 500, 0), // title across the gutter
				row(10, 300, 40), row(320, 600, 40), row(10, 300, 70), row(320, 600, 70),
				row(10, 600, 110), // footer across the gutter
				row(10, 300, 150), row(320, 600, 150), row(10, 300, 180), row(320, 600, 180),
			},
			want: []int{0, 1, 3, 2, 4, 5, 6, 8, 7, 9},
		},
		{
			name:  "table-like key value rows stay rows when narrow",
			boxes: []Rect{row(10, 100, 10), row(105, 200, 10)},
			want:  []int{0, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readingOrder(tt.boxes); !slices.Equal(got, tt.want) {
				t.Fatalf("order %v, want %v", got, tt.want)
			}
		})
	}
}
