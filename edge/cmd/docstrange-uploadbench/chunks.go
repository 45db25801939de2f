package main

// maxChunks bounds the PATCHes of one upload: more is a typo in -chunk,
// and the edge's rate limit would stop it anyway.
const maxChunks = 100_000

// span is one PATCH: its Upload-Offset and body length.
type span struct {
	off, n int64
}

// chunkCount is how many PATCHes carry size bytes in chunks of chunk bytes.
func chunkCount(size, chunk int64) int64 {
	if size <= 0 || chunk <= 0 {
		return 0
	}
	return (size + chunk - 1) / chunk
}

// chunkSpans lists the PATCHes of an upload in order: full chunks, the last
// one shorter when chunk does not divide size.
func chunkSpans(size, chunk int64) []span {
	spans := make([]span, 0, chunkCount(size, chunk))
	for off := int64(0); off < size && chunk > 0; off += chunk {
		spans = append(spans, span{off: off, n: min(chunk, size-off)})
	}
	return spans
}
