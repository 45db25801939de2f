#ifndef DOCSTRANGE_ORT_LOOKUP_H
#define DOCSTRANGE_ORT_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "include/onnxruntime_c_api.h"

// The operator domain LookupTable is registered under.
#define DS_LOOKUP_DOMAIN "ai.docstrange"

// ds_lookup_init makes the operator domain from the already loaded ONNX
// Runtime library, or checks that library is the one it was made from; it
// returns non-zero with a message in err on failure.
int ds_lookup_init(const char *library, char *err, size_t errlen);

// ds_lookup_register adds the domain to an OrtSessionOptions.
int ds_lookup_register(void *options, char *err, size_t errlen);

// ds_lookup_apply maps n bytes of x through table into y (which may be x),
// with the VBMI kernel when vbmi is set and the CPU has it.
void ds_lookup_apply(const uint8_t *x, const uint8_t *table, uint8_t *y, size_t n, int vbmi);

#endif
