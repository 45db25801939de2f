// Package onnxpb is the generated Go code for ONNX's model format (IR
// version 8, onnx.proto3 from the ONNX project, Apache-2.0), so that
// graphopt can read and write model files. Edit nothing here: change
// onnx.proto3 and run go generate; the generated file is checked in so
// builds do not need protoc.
package onnxpb

//go:generate protoc -I . --go_out=. --go_opt=paths=source_relative onnx.proto3
