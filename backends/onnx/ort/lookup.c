// LookupTable: a uint8 → uint8 element-wise table, registered with ONNX
// Runtime as the custom operator ai.docstrange.LookupTable.
//
// Why by hand: a quantized activation that ONNX Runtime has no kernel for
// (hard-swish) otherwise costs a QLinearAdd and a QLinearMul per tensor, a
// third of the int8 recogniser's time on one thread. A table of the 256
// possible codes gives the same function in one pass at memory speed, with
// AVX-512 VBMI's byte permutes where the CPU has them. ONNX Runtime has no
// table operator that takes its table as an input (its QLinearSigmoid and
// QLinearLeakyRelu build theirs from a fixed formula), and
// onnxruntime_go does not expose custom operators, so this file speaks the
// C API directly.

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>

#include "lookup.h"

static const OrtApi *api;
static OrtCustomOpDomain *domain;
static struct OrtCustomOp op;
static int use_vbmi;

static const char *lut_name(const OrtCustomOp *o) { return "LookupTable"; }
static const char *lut_provider(const OrtCustomOp *o) { return NULL; }
static ONNXTensorElementDataType lut_type(const OrtCustomOp *o, size_t i) { return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8; }
static size_t lut_inputs(const OrtCustomOp *o) { return 2; }
static size_t lut_outputs(const OrtCustomOp *o) { return 1; }
static OrtCustomOpInputOutputCharacteristic lut_required(const OrtCustomOp *o, size_t i) { return INPUT_OUTPUT_REQUIRED; }
static OrtMemType lut_memory(const OrtCustomOp *o, size_t i) { return OrtMemTypeDefault; }
static int lut_arity(const OrtCustomOp *o) { return 1; }
static int lut_homogeneous(const OrtCustomOp *o) { return 1; }
static int lut_start(const OrtCustomOp *o) { return 1; }
static int lut_end(const OrtCustomOp *o) { return INT_MAX; }

static OrtStatusPtr lut_create(const OrtCustomOp *o, const OrtApi *a, const OrtKernelInfo *info, void **kernel) {
	*kernel = NULL;
	return NULL;
}

static void *lut_create_v1(const OrtCustomOp *o, const OrtApi *a, const OrtKernelInfo *info) { return NULL; }
static void lut_destroy(void *kernel) {}

// The output may overwrite the input: each byte is read before it is
// written.
static size_t lut_inplace(int **in, int **out) {
	*in = malloc(sizeof(int));
	*out = malloc(sizeof(int));
	if (*in == NULL || *out == NULL) {
		free(*in);
		free(*out);
		*in = *out = NULL;
		return 0;
	}
	**in = 0;
	**out = 0;
	return 1;
}

static void lut_release_inplace(int *in, int *out) {
	free(in);
	free(out);
}

static size_t lut_no_alias(int **in, int **out) {
	*in = *out = NULL;
	return 0;
}

static void lut_release_alias(int *in, int *out) {}

// The output has the input's shape. The context owns the input's shape
// info (releasing it frees it twice), and ONNX Runtime writes an unknown
// dimension without a name as the value -1, which downstream shape checks
// then misread, so each unnamed unknown dimension gets a fresh name.
static OrtStatusPtr lut_shape(const OrtCustomOp *o, OrtShapeInferContext *ctx) {
	static unsigned long fresh;
	OrtTensorTypeAndShapeInfo *in = NULL, *out = NULL;
	OrtStatus *st = api->ShapeInferContext_GetInputTypeShape(ctx, 0, &in);
	if (st != NULL) {
		return st;
	}
	size_t rank = 0;
	if ((st = api->GetDimensionsCount(in, &rank)) != NULL || rank > 16) {
		return st;
	}
	int64_t dims[16];
	const char *names[16];
	char made[16][40];
	if ((st = api->GetDimensions(in, dims, rank)) != NULL || (st = api->GetSymbolicDimensions(in, names, rank)) != NULL) {
		return st;
	}
	unsigned long id = __atomic_add_fetch(&fresh, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < rank; i++) {
		if (dims[i] < 0 && (names[i] == NULL || names[i][0] == 0)) {
			snprintf(made[i], sizeof made[i], "docstrange_lookup_%lu_%zu", id, i);
			names[i] = made[i];
		} else if (names[i] == NULL) {
			names[i] = "";
		}
	}
	if ((st = api->CreateTensorTypeAndShapeInfo(&out)) != NULL) {
		return st;
	}
	if ((st = api->SetTensorElementType(out, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8)) == NULL &&
	    (st = api->SetDimensions(out, dims, rank)) == NULL && (st = api->SetSymbolicDimensions(out, names, rank)) == NULL) {
		st = api->ShapeInferContext_SetOutputTypeShape(ctx, 0, out);
	}
	api->ReleaseTensorTypeAndShapeInfo(out);
	return st;
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void apply_vbmi(const uint8_t *x, const uint8_t *t, uint8_t *y, size_t n) {
	const __m512i t0 = _mm512_loadu_si512(t), t1 = _mm512_loadu_si512(t + 64);
	const __m512i t2 = _mm512_loadu_si512(t + 128), t3 = _mm512_loadu_si512(t + 192);
	size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		__m512i v = _mm512_loadu_si512(x + i);
		// Each permute looks up the low 7 bits in 128 entries; bit 7 picks
		// the half.
		__m512i lo = _mm512_permutex2var_epi8(t0, v, t1);
		__m512i hi = _mm512_permutex2var_epi8(t2, v, t3);
		_mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
	}
	if (i < n) {
		// Fewer than 64 bytes are left.
		__mmask64 k = ((__mmask64)1 << (n - i)) - 1;
		__m512i v = _mm512_maskz_loadu_epi8(k, x + i);
		__m512i lo = _mm512_permutex2var_epi8(t0, v, t1);
		__m512i hi = _mm512_permutex2var_epi8(t2, v, t3);
		_mm512_mask_storeu_epi8(y + i, k, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
	}
}

static void apply_scalar(const uint8_t *x, const uint8_t *t, uint8_t *y, size_t n) {
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		uint8_t a = t[x[i]], b = t[x[i + 1]], c = t[x[i + 2]], d = t[x[i + 3]];
		y[i] = a;
		y[i + 1] = b;
		y[i + 2] = c;
		y[i + 3] = d;
	}
	for (; i < n; i++) {
		y[i] = t[x[i]];
	}
}

// The CPU check runs when the library loads, so that the kernel does not
// depend on a runtime having been opened.
__attribute__((constructor)) static void detect_vbmi(void) {
	__builtin_cpu_init();
	use_vbmi = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
}

void ds_lookup_apply(const uint8_t *x, const uint8_t *table, uint8_t *y, size_t n, int vbmi) {
	if (vbmi && use_vbmi) {
		apply_vbmi(x, table, y, n);
	} else {
		apply_scalar(x, table, y, n);
	}
}

static OrtStatusPtr lut_compute(void *kernel, OrtKernelContext *ctx) {
	const OrtValue *x = NULL, *t = NULL;
	OrtStatus *st;
	if ((st = api->KernelContext_GetInput(ctx, 0, &x)) != NULL || (st = api->KernelContext_GetInput(ctx, 1, &t)) != NULL) {
		return st;
	}
	OrtTensorTypeAndShapeInfo *info = NULL;
	size_t entries = 0;
	if ((st = api->GetTensorTypeAndShape(t, &info)) != NULL) {
		return st;
	}
	st = api->GetTensorShapeElementCount(info, &entries);
	api->ReleaseTensorTypeAndShapeInfo(info);
	if (st != NULL) {
		return st;
	}
	if (entries != 256) {
		return api->CreateStatus(ORT_INVALID_ARGUMENT, "LookupTable: the table must have 256 entries");
	}
	if ((st = api->GetTensorTypeAndShape(x, &info)) != NULL) {
		return st;
	}
	size_t rank = 0, n = 0;
	int64_t dims[16];
	if ((st = api->GetDimensionsCount(info, &rank)) == NULL) {
		if (rank > 16) {
			st = api->CreateStatus(ORT_INVALID_ARGUMENT, "LookupTable: the input has more than 16 dimensions");
		} else if ((st = api->GetDimensions(info, dims, rank)) == NULL) {
			st = api->GetTensorShapeElementCount(info, &n);
		}
	}
	api->ReleaseTensorTypeAndShapeInfo(info);
	if (st != NULL) {
		return st;
	}
	OrtValue *y = NULL;
	if ((st = api->KernelContext_GetOutput(ctx, 0, dims, rank, &y)) != NULL) {
		return st;
	}
	if (n == 0) {
		return NULL;
	}
	const void *xs = NULL, *ts = NULL;
	void *ys = NULL;
	if ((st = api->GetTensorData(x, &xs)) != NULL || (st = api->GetTensorData(t, &ts)) != NULL ||
	    (st = api->GetTensorMutableData(y, &ys)) != NULL) {
		return st;
	}
	ds_lookup_apply(xs, ts, ys, n, 1);
	return NULL;
}

// ONNX Runtime calls KernelComputeV2 when it is set; this is for an older
// runtime, which has no way to take an error back.
static void lut_compute_v1(void *kernel, OrtKernelContext *ctx) {
	OrtStatus *st = lut_compute(kernel, ctx);
	if (st != NULL) {
		api->ReleaseStatus(st);
	}
}

// The library the domain was made from, by its entry point: a path may
// name it through a symlink, and the handle keeps it loaded.
static const OrtApiBase *(*made_from)(void);

int ds_lookup_init(const char *library, char *err, size_t errlen) {
	void *lib = dlopen(library, RTLD_LAZY | RTLD_NOLOAD);
	if (lib == NULL) {
		snprintf(err, errlen, "%s is not loaded", library);
		return 1;
	}
	const OrtApiBase *(*base)(void) = (const OrtApiBase *(*)(void))dlsym(lib, "OrtGetApiBase");
	if (domain != NULL) {
		dlclose(lib);
		if (base != made_from) {
			snprintf(err, errlen, "made from another library than %s", library);
			return 1;
		}
		return 0;
	}
	if (base == NULL || (api = base()->GetApi(ORT_API_VERSION)) == NULL) {
		dlclose(lib);
		snprintf(err, errlen, "%s has no API version %d", library, ORT_API_VERSION);
		return 1;
	}
	memset(&op, 0, sizeof op);
	op.version = ORT_API_VERSION;
	op.CreateKernel = lut_create_v1;
	op.GetName = lut_name;
	op.GetExecutionProviderType = lut_provider;
	op.GetInputType = lut_type;
	op.GetInputTypeCount = lut_inputs;
	op.GetOutputType = lut_type;
	op.GetOutputTypeCount = lut_outputs;
	op.KernelCompute = lut_compute_v1;
	op.KernelDestroy = lut_destroy;
	op.GetInputCharacteristic = lut_required;
	op.GetOutputCharacteristic = lut_required;
	op.GetInputMemoryType = lut_memory;
	op.GetVariadicInputMinArity = lut_arity;
	op.GetVariadicInputHomogeneity = lut_homogeneous;
	op.GetVariadicOutputMinArity = lut_arity;
	op.GetVariadicOutputHomogeneity = lut_homogeneous;
	op.CreateKernelV2 = lut_create;
	op.KernelComputeV2 = lut_compute;
	op.InferOutputShapeFn = lut_shape;
	op.GetStartVersion = lut_start;
	op.GetEndVersion = lut_end;
	op.GetMayInplace = lut_inplace;
	op.ReleaseMayInplace = lut_release_inplace;
	op.GetAliasMap = lut_no_alias;
	op.ReleaseAliasMap = lut_release_alias;
	OrtCustomOpDomain *d = NULL;
	OrtStatus *st = api->CreateCustomOpDomain(DS_LOOKUP_DOMAIN, &d);
	if (st == NULL) {
		st = api->CustomOpDomain_Add(d, &op);
	}
	if (st != NULL) {
		snprintf(err, errlen, "%s", api->GetErrorMessage(st));
		api->ReleaseStatus(st);
		if (d != NULL) {
			api->ReleaseCustomOpDomain(d);
		}
		dlclose(lib);
		return 1;
	}
	domain = d;
	made_from = base;
	return 0;
}

int ds_lookup_register(void *options, char *err, size_t errlen) {
	OrtStatus *st = api->AddCustomOpDomain((OrtSessionOptions *)options, domain);
	if (st != NULL) {
		snprintf(err, errlen, "%s", api->GetErrorMessage(st));
		api->ReleaseStatus(st);
		return 1;
	}
	return 0;
}
