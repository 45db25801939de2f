package ocr

import "errors"

var (
	// ErrImageTooLarge is returned by Recognize for an image beyond
	// Config.MaxImagePixels or Config.MaxImageSide.
	ErrImageTooLarge = errors.New("image too large")
	// ErrEmptyImage is returned by Recognize for an image without pixels.
	ErrEmptyImage = errors.New("empty image")
	// ErrClosed is returned by calls on a closed Engine.
	ErrClosed = errors.New("ocr engine closed")
	// ErrMissingModel is returned by NewEngine when the manifest lacks a
	// model the configuration needs.
	ErrMissingModel = errors.New("manifest has no model for task")
)
