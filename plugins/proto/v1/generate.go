// Package backendv1 is the generated gRPC code for the backend plugin
// contract, API version v1. Edit backend.proto and run go generate; the
// generated files are checked in so builds do not need protoc.
package backendv1

//go:generate protoc -I . --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative backend.proto
