package ort

import (
	"fmt"
	"strconv"
)

// Execution provider names accepted in Config.Provider.
const (
	ProviderCPU      = "cpu"
	ProviderCUDA     = "cuda"
	ProviderTensorRT = "tensorrt"
)

// Config selects the execution provider and threading of a session pool.
type Config struct {
	// Provider is the execution provider to ask for: "cpu", "cuda" or
	// "tensorrt". A provider that cannot be loaded falls back to CPU and the
	// reason is reported in ProviderReport. Default "cpu".
	Provider string `json:"provider,omitempty"`
	// DeviceID is the GPU ordinal for cuda and tensorrt. Default 0.
	DeviceID int `json:"device_id,omitempty"`
	// TensorRTFP16 lets TensorRT build fp16 engines. Default false.
	TensorRTFP16 bool `json:"tensorrt_fp16,omitempty"`
	// TensorRTEngineCacheDir, when set, is where TensorRT caches built
	// engines so that a restart does not rebuild them. Default "" (no cache).
	TensorRTEngineCacheDir string `json:"tensorrt_engine_cache_dir,omitempty"`
	// IntraOpThreads is the thread count inside one operator. Default 0,
	// which lets ONNX Runtime use one thread per physical core.
	IntraOpThreads int `json:"intra_op_threads,omitempty"`
	// InterOpThreads is the thread count across independent operators.
	// Default 0 (ONNX Runtime's choice).
	InterOpThreads int `json:"inter_op_threads,omitempty"`
	// PoolSize is how many sessions of one model run concurrently. Default 1.
	PoolSize int `json:"pool_size,omitempty"`
}

// Validate fills in defaults and rejects unknown or out-of-range values.
func (c *Config) Validate() error {
	switch c.Provider {
	case "":
		c.Provider = ProviderCPU
	case ProviderCPU, ProviderCUDA, ProviderTensorRT:
	default:
		return fmt.Errorf("validating provider %q: %w", c.Provider, ErrUnknownProvider)
	}
	if c.DeviceID < 0 {
		return fmt.Errorf("validating device_id %d: must not be negative", c.DeviceID)
	}
	if c.IntraOpThreads < 0 || c.InterOpThreads < 0 {
		return fmt.Errorf("validating threads (intra %d, inter %d): must not be negative", c.IntraOpThreads, c.InterOpThreads)
	}
	if c.PoolSize < 0 {
		return fmt.Errorf("validating pool_size %d: must not be negative", c.PoolSize)
	}
	if c.PoolSize == 0 {
		c.PoolSize = 1
	}
	return nil
}

// ProviderReport says which execution provider was asked for, which one the
// sessions actually run on and, when they differ, why.
type ProviderReport struct {
	// Requested is Config.Provider.
	Requested string `json:"requested"`
	// Active is the provider the sessions run on.
	Active string `json:"active"`
	// Reason is the error that made the requested provider unusable; empty
	// when Active equals Requested.
	Reason string `json:"reason,omitempty"`
}

// Fallback reports whether the sessions run on another provider than the one
// requested.
func (r ProviderReport) Fallback() bool { return r.Active != r.Requested }

func (c Config) cudaOptions() map[string]string {
	return map[string]string{"device_id": strconv.Itoa(c.DeviceID)}
}

func (c Config) tensorRTOptions() map[string]string {
	o := map[string]string{
		"device_id":       strconv.Itoa(c.DeviceID),
		"trt_fp16_enable": strconv.FormatBool(c.TensorRTFP16),
	}
	if c.TensorRTEngineCacheDir != "" {
		o["trt_engine_cache_enable"] = "true"
		o["trt_engine_cache_path"] = c.TensorRTEngineCacheDir
	}
	return o
}
