#!/bin/sh
# gen.sh regenerates the PDF fixtures from src/. Needs groff, ghostscript
# and qpdf (apt-get install groff ghostscript qpdf). Run from this folder.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# small: compress streams and pack objects so each fixture is a few KB.
small() { qpdf --object-streams=generate --compress-streams=y --recompress-flate --deterministic-id "$1" "$2"; }

for name in hello pages columns; do
	groff -ms -Tpdf "src/$name.ms" >"$tmp/$name.pdf"
	small "$tmp/$name.pdf" "$name.pdf"
done

gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pdfwrite -o "$tmp/notext.pdf" src/notext.ps
small "$tmp/notext.pdf" notext.pdf

# encrypted.pdf needs a user password ("secret") to open at all.
qpdf --encrypt secret owner 256 -- hello.pdf encrypted.pdf
# owner-only.pdf is encrypted with an empty user password: it opens and reads.
qpdf --encrypt "" owner 256 -- hello.pdf owner-only.pdf

# rotated.pdf is hello.pdf with /Rotate 90, so text runs down the unrotated page.
qpdf --deterministic-id --rotate=+90 hello.pdf rotated.pdf

# corrupt.pdf is hello.pdf cut off after its first 700 bytes.
head -c 700 hello.pdf >corrupt.pdf
