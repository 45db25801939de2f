package extract

import "fmt"

// resolvePages turns a caller's 1-based page list into the pages to visit in
// a document of n pages: every page when the list is empty, and an error
// naming the first page out of range otherwise.
func resolvePages(pages []int, n int) ([]int, error) {
	if len(pages) == 0 {
		all := make([]int, n)
		for i := range all {
			all[i] = i + 1
		}
		return all, nil
	}
	for _, p := range pages {
		if p < 1 || p > n {
			return nil, fmt.Errorf("page %d is out of range: the document has %d pages", p, n)
		}
	}
	return pages, nil
}
