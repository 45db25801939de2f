// Package ort owns the ONNX Runtime environment and its sessions: it loads
// the shared library, opens sessions on the execution provider the operator
// asked for, and falls back to CPU with a recorded reason when that provider
// cannot be loaded.
package ort

import (
	"errors"
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// The ONNX Runtime environment is process-wide in the C library, so the
// handle on it is too: a reference count lets several engines (or an engine
// being hot-reloaded next to its successor) share it, and the last Close
// tears it down.
var (
	envMu   sync.Mutex
	envRefs int
	envLib  string
)

// Runtime is a reference on the process-wide ONNX Runtime environment.
type Runtime struct {
	once    sync.Once
	library string
}

// Open loads the ONNX Runtime shared library at libraryPath and initialises
// the environment, or takes another reference on it when it is already
// initialised from the same library. Opening a second, different library in
// one process is refused: the C API cannot host two.
func Open(libraryPath string) (*Runtime, error) {
	if libraryPath == "" {
		return nil, errors.New("opening onnx runtime: empty library path")
	}
	envMu.Lock()
	defer envMu.Unlock()
	if envRefs > 0 {
		if envLib != libraryPath {
			return nil, fmt.Errorf("opening onnx runtime %q: %w (already using %q)", libraryPath, ErrOtherLibrary, envLib)
		}
		envRefs++
		return &Runtime{library: libraryPath}, nil
	}
	ort.SetSharedLibraryPath(libraryPath)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return nil, fmt.Errorf("opening onnx runtime %q: %w", libraryPath, err)
	}
	envRefs, envLib = 1, libraryPath
	initLookup(libraryPath)
	return &Runtime{library: libraryPath}, nil
}

// Version returns the ONNX Runtime library version, such as "1.24.3".
func (r *Runtime) Version() string { return ort.GetVersion() }

// Library returns the path of the loaded shared library.
func (r *Runtime) Library() string { return r.library }

// Close drops this reference; the last one destroys the environment. Close
// is idempotent.
func (r *Runtime) Close() error {
	var err error
	r.once.Do(func() {
		envMu.Lock()
		defer envMu.Unlock()
		envRefs--
		if envRefs == 0 {
			envLib = ""
			if e := ort.DestroyEnvironment(); e != nil {
				err = fmt.Errorf("destroying onnx runtime environment: %w", e)
			}
		}
	})
	return err
}
