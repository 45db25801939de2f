package ort

/*
#cgo CFLAGS: -O2
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "lookup.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// LookupDomain and LookupOp name the custom operator that maps a uint8
// tensor (input 0) through a 256-entry uint8 table (input 1), element by
// element. graphopt emits it for quantized activations ONNX Runtime has no
// kernel for; see lookup.c.
const (
	LookupDomain = C.DS_LOOKUP_DOMAIN
	LookupOp     = "LookupTable"
)

// The custom operator domain is made once per process from the loaded
// library, like the environment it belongs to; lookupErr is why sessions
// cannot have it (nil once made), checked on every environment start,
// guarded by envMu. Its handle on the library keeps it loaded after the
// environment is destroyed, so the domain stays valid for a later Open of
// the same file, by whatever path.
var (
	lookupMade bool
	lookupErr  = errors.New("no onnx runtime environment")
)

// initLookup makes the custom operator domain from the library at path, or
// checks it is the library the domain was made from; envMu is held.
func initLookup(path string) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg [256]C.char
	if C.ds_lookup_init(cpath, &msg[0], C.size_t(len(msg))) != 0 {
		lookupErr = fmt.Errorf("registering %s.%s: %s", LookupDomain, LookupOp, C.GoString(&msg[0]))
		return
	}
	lookupMade, lookupErr = true, nil
}

// LookupTable reports whether sessions of this runtime can run the
// LookupTable operator, and why not.
func (r *Runtime) LookupTable() error {
	envMu.Lock()
	defer envMu.Unlock()
	return lookupErr
}

// registerLookup adds the custom operator domain to session options, when
// it exists.
func registerLookup(opts *ort.SessionOptions) error {
	envMu.Lock()
	ok := lookupMade && lookupErr == nil
	envMu.Unlock()
	if !ok {
		return nil
	}
	p, err := sessionOptionsHandle(opts)
	if err != nil {
		return err
	}
	var msg [256]C.char
	if C.ds_lookup_register(p, &msg[0], C.size_t(len(msg))) != 0 {
		return fmt.Errorf("registering %s.%s with a session: %s", LookupDomain, LookupOp, C.GoString(&msg[0]))
	}
	return nil
}

// sessionOptionsHandle returns the OrtSessionOptions behind opts.
// onnxruntime_go keeps it in the unexported first field and offers no
// custom-operator call; the layout is checked, not assumed, so that a
// module upgrade that changes it fails here rather than in C.
func sessionOptionsHandle(opts *ort.SessionOptions) (unsafe.Pointer, error) {
	t := reflect.TypeFor[ort.SessionOptions]()
	if t.NumField() < 1 || t.Field(0).Type.Kind() != reflect.Pointer || t.Field(0).Offset != 0 {
		return nil, fmt.Errorf("registering %s.%s: onnxruntime_go.SessionOptions has no handle as its first field", LookupDomain, LookupOp)
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(opts))
	if p == nil {
		return nil, fmt.Errorf("registering %s.%s: session options are destroyed", LookupDomain, LookupOp)
	}
	return p, nil
}

// applyLookup maps x through table into y with the C kernel, for tests;
// vbmi false forces the portable loop.
func applyLookup(x []byte, table *[256]byte, y []byte, vbmi bool) {
	if len(x) == 0 {
		return
	}
	v := C.int(0)
	if vbmi {
		v = 1
	}
	C.ds_lookup_apply((*C.uint8_t)(&x[0]), (*C.uint8_t)(&table[0]), (*C.uint8_t)(&y[0]), C.size_t(len(x)), v)
}
