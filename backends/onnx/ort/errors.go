package ort

import "errors"

var (
	// ErrOtherLibrary is returned by Open when the process already uses a
	// different ONNX Runtime library.
	ErrOtherLibrary = errors.New("another onnx runtime library is already loaded")
	// ErrUnknownProvider is returned by Config.Validate for a provider name
	// it does not know.
	ErrUnknownProvider = errors.New("unknown execution provider")
	// ErrClosed is returned when a closed session pool is used.
	ErrClosed = errors.New("session pool closed")
	// ErrNotFloat32 is returned by Session.Run for a model output that is
	// not a float32 tensor.
	ErrNotFloat32 = errors.New("output is not a float32 tensor")
)
