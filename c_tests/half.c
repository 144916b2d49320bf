/*
 * The 16-bit floats, MAXPOOL_DTYPE_F16 (IEEE binary16) and MAXPOOL_DTYPE_BF16 (bfloat16), passed as uint16_t bit
 * patterns: the forward pass with the float semantics bit for bit (the first NaN wins with its exact payload,
 * signalling NaNs are not quietened, -0 and +0 tie and the first wins with its sign, infinities, padding never
 * wins), through the tensor call on its slice path (dense NCHW, int64_t plane indices) and its strided path
 * (channels-last, int32_t indices), and through the per-dtype calls; the backward pass summing each element's
 * gradients in float and rounding once, where rounding after every add would differ; and the refusals that
 * name the new dtypes.
 */
#include "harness.h"

/* The forward geometry: 2x2 windows, stride 2, padding 1 on every side, on a 4x4 plane, give 3x3 windows that do
   not overlap: (0, 0) = {0}, (0, 1) = {1, 2}, (0, 2) = {3}, (1, 0) = {4, 8}, (1, 1) = {5, 6, 9, 10},
   (1, 2) = {7, 11}, (2, 0) = {12}, (2, 1) = {13, 14}, (2, 2) = {15}, in plane indices. */
enum { H = 4, W = 4, OH = 3, OW = 3, PLANE = H * W, OUT_PLANE = OH * OW, CH = 2 };

/* One 16-bit float format: its dtype, the bit patterns of the forward plane and what pooling it gives. */
typedef struct {
  const char *name;
  MaxpoolDType dtype;
  uint16_t input[PLANE];
  uint16_t values[OUT_PLANE];
  int64_t indices[OUT_PLANE];
  /* The backward case: gradients of 3 outputs per plane (2 planes), all onto plane element 7 of a 3x5 plane,
     and the element's gradient: summed in float, rounded once. Rounding after every add gives `per_add`. */
  uint16_t grads[2][3];
  uint16_t summed[2];
  uint16_t per_add[2];
  MaxpoolStatus (*forward)(MaxpoolBackend, const MaxpoolParams *, const uint16_t *, size_t, size_t, size_t,
                           uint16_t *, int64_t *, uint32_t *);
  MaxpoolStatus (*plan_forward)(const MaxpoolPlan *, const uint16_t *, size_t, uint16_t *, int64_t *, uint32_t *);
  MaxpoolStatus (*backward)(const MaxpoolParams *, size_t, size_t, size_t, const uint16_t *, const int64_t *,
                            uint16_t *);
  MaxpoolStatus (*plan_backward)(const MaxpoolPlan *, size_t, const uint16_t *, const int64_t *, uint16_t *);
} Half;

static const Half F16 = {
    "f16",
    MAXPOOL_DTYPE_F16,
    {
        0xFC00, /* 0: -inf, alone with padding: it wins */
        0x8000, /* 1: -0, first of a tie with +0: it wins, sign and all */
        0x0000, /* 2: +0 */
        0x7C01, /* 3: a signalling NaN, alone: its bits come back, not quietened */
        0x0000, /* 4: +0, first of a tie with -0 */
        0x7C00, /* 5: +inf */
        0xFE02, /* 6: the window's first NaN (negative, payload 2): it wins, though +inf came first */
        0x7BFF, /* 7: 65504, the largest finite */
        0x8000, /* 8: -0 */
        0x3C00, /* 9: 1 */
        0x7E01, /* 10: a later NaN (payload 1): it does not take the window */
        0x7C00, /* 11: +inf beats the largest finite */
        0xFBFF, /* 12: -65504, alone */
        0x4000, /* 13: 2, first of a tie */
        0x4000, /* 14: 2 */
        0xFFFF, /* 15: a negative NaN with every payload bit set, alone */
    },
    {0xFC00, 0x8000, 0x7C01, 0x0000, 0xFE02, 0x7C00, 0xFBFF, 0x4000, 0xFFFF},
    {0, 1, 3, 4, 6, 11, 12, 13, 15},
    /* 2048 + 1 + 1 = 2050; per add, 2048 + 1 rounds to even, 2048, twice. 2048 + 1 + 2 = 2051, a tie between 2050
       and 2052 (f16 steps by 2 there): even is 2052; per add, 2048 then 2050. */
    {{0x6800, 0x3C00, 0x3C00}, {0x6800, 0x3C00, 0x4000}},
    {0x6801, 0x6802},
    {0x6800, 0x6801},
    maxpool_forward_f16,
    maxpool_plan_forward_f16,
    maxpool_backward_f16,
    maxpool_plan_backward_f16,
};

static const Half BF16 = {
    "bf16",
    MAXPOOL_DTYPE_BF16,
    {
        0xFF80, /* 0: -inf */
        0x8000, /* 1: -0 */
        0x0000, /* 2: +0 */
        0x7F81, /* 3: a signalling NaN */
        0x0000, /* 4: +0 */
        0x7F80, /* 5: +inf (a NaN if read as f16: the types must not be confused) */
        0xFFC2, /* 6: the first NaN, negative, payload 2 */
        0x7F7F, /* 7: the largest finite */
        0x8000, /* 8: -0 */
        0x3F80, /* 9: 1 */
        0x7FC1, /* 10: a later NaN */
        0x7F80, /* 11: +inf */
        0xFF7F, /* 12: the most negative finite */
        0x4000, /* 13: 2 */
        0x4000, /* 14: 2 */
        0xFFFF, /* 15: a negative NaN */
    },
    {0xFF80, 0x8000, 0x7F81, 0x0000, 0xFFC2, 0x7F80, 0xFF7F, 0x4000, 0xFFFF},
    {0, 1, 3, 4, 6, 11, 12, 13, 15},
    /* bf16 steps by 2 at 256: 256 + 1 + 1 = 258, per add 256; 256 + 1 + 2 = 259, a tie, to even 260; per add 258. */
    {{0x4380, 0x3F80, 0x3F80}, {0x4380, 0x3F80, 0x4000}},
    {0x4381, 0x4382},
    {0x4380, 0x4381},
    maxpool_forward_bf16,
    maxpool_plan_forward_bf16,
    maxpool_backward_bf16,
    maxpool_plan_backward_bf16,
};

static MaxpoolParams forward_params(void) { return maxpool_params_padded(2, 2, 1); }

/* The bits of a plane of results against the expected ones, reporting the first difference. */
static int same_bits(const char *what, const uint16_t *got, size_t got_stride, const uint16_t *want, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (got[i * got_stride] != want[i]) {
      CHECK(0, "%s: element %zu is 0x%04X, want 0x%04X", what, i, got[i * got_stride], want[i]);
      return 0;
    }
  return 1;
}

/* Expected multiplier: the windows do not overlap, so 1 on each winner, 0 elsewhere. */
static uint32_t want_multiplier(const Half *h, size_t i) {
  for (size_t o = 0; o < OUT_PLANE; o++)
    if (h->indices[o] == (int64_t)i) return 1;
  return 0;
}

static void check_nchw(const Half *h, const char *what, const uint16_t *values, const int64_t *indices,
                       const uint32_t *multiplier) {
  char label[160];
  snprintf(label, sizeof label, "%s %s values", h->name, what);
  same_bits(label, values, 1, h->values, OUT_PLANE);
  for (size_t o = 0; o < OUT_PLANE; o++)
    CHECK(indices[o] == h->indices[o], "%s %s: index %zu is %" PRId64 ", want %" PRId64, h->name, what, o,
          indices[o], h->indices[o]);
  for (size_t i = 0; i < PLANE; i++)
    CHECK(multiplier[i] == want_multiplier(h, i), "%s %s: multiplier %zu is %u", h->name, what, i,
          (unsigned)multiplier[i]);
}

static void forward(const Half *h) {
  MaxpoolParams p = forward_params();
  for (size_t b = 0; b < N_BACKENDS; b++) {
    const char *backend = maxpool_backend_name(ALL_BACKENDS[b]);
    MaxpoolPlan *plan = NULL;
    MaxpoolStatus made = maxpool_plan_new(ALL_BACKENDS[b], &p, H, W, &plan);
    if (made != MAXPOOL_STATUS_OK) {
      CHECK(ALL_BACKENDS[b] == MAXPOOL_BACKEND_BLOCK && made == MAXPOOL_STATUS_UNSUPPORTED, "%s: %u", backend,
            (unsigned)made);
      continue;
    }
    char what[96];
    uint16_t values[OUT_PLANE];
    int64_t indices[OUT_PLANE];
    uint32_t multiplier[PLANE];

    /* The tensor call on dense NCHW with int64_t plane indices: the slices' path. */
    memset(values, 0xAB, sizeof values);
    memset(indices, 0xAB, sizeof indices);
    memset(multiplier, 0xAB, sizeof multiplier);
    MaxpoolTensor in = maxpool_tensor_nchw((void *)(uintptr_t)h->input, h->dtype, 1, 1, H, W);
    MaxpoolTensor v = maxpool_tensor_nchw(values, h->dtype, 1, 1, OH, OW);
    MaxpoolTensor ix = maxpool_tensor_nchw(indices, MAXPOOL_DTYPE_I64, 1, 1, OH, OW);
    MaxpoolTensor m = maxpool_tensor_nchw(multiplier, MAXPOOL_DTYPE_U32, 1, 1, H, W);
    CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, &ix, MAXPOOL_INDEX_PLANE, &m), MAXPOOL_STATUS_OK, "");
    snprintf(what, sizeof what, "%s tensor nchw", backend);
    check_nchw(h, what, values, indices, multiplier);
    const char *kernel = maxpool_plan_kernel(plan, &in);
    CHECK(kernel != NULL && strcmp(kernel, "none") != 0, "%s %s: kernel %s", h->name, backend,
          kernel ? kernel : "(NULL)");

    /* The per-dtype calls, one-shot and planned. */
    memset(values, 0xAB, sizeof values);
    memset(indices, 0xAB, sizeof indices);
    memset(multiplier, 0xAB, sizeof multiplier);
    CHECK_ERROR(h->forward(ALL_BACKENDS[b], &p, h->input, 1, H, W, values, indices, multiplier), MAXPOOL_STATUS_OK,
                "");
    snprintf(what, sizeof what, "%s maxpool_forward_%s", backend, h->name);
    check_nchw(h, what, values, indices, multiplier);
    memset(values, 0xAB, sizeof values);
    memset(indices, 0xAB, sizeof indices);
    memset(multiplier, 0xAB, sizeof multiplier);
    CHECK_ERROR(h->plan_forward(plan, h->input, 1, values, indices, multiplier), MAXPOOL_STATUS_OK, "");
    snprintf(what, sizeof what, "%s maxpool_plan_forward_%s", backend, h->name);
    check_nchw(h, what, values, indices, multiplier);

    /* Channels-last, two channels (the plane, and the plane again), int32_t indices over the image: the strided
       path. */
    uint16_t in_nhwc[PLANE * CH], v_nhwc[OUT_PLANE * CH];
    int32_t ix_nhwc[OUT_PLANE * CH];
    uint32_t m_nhwc[PLANE * CH];
    for (size_t i = 0; i < PLANE; i++) in_nhwc[i * CH] = in_nhwc[i * CH + 1] = h->input[i];
    memset(v_nhwc, 0xAB, sizeof v_nhwc);
    memset(ix_nhwc, 0xAB, sizeof ix_nhwc);
    memset(m_nhwc, 0xAB, sizeof m_nhwc);
    in = maxpool_tensor_nhwc(in_nhwc, h->dtype, 1, H, W, CH);
    v = maxpool_tensor_nhwc(v_nhwc, h->dtype, 1, OH, OW, CH);
    ix = maxpool_tensor_nhwc(ix_nhwc, MAXPOOL_DTYPE_I32, 1, OH, OW, CH);
    m = maxpool_tensor_nhwc(m_nhwc, MAXPOOL_DTYPE_U32, 1, H, W, CH);
    CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, &ix, MAXPOOL_INDEX_FLAT_HWC, &m), MAXPOOL_STATUS_OK, "");
    for (size_t c = 0; c < CH; c++) {
      snprintf(what, sizeof what, "%s %s tensor nhwc channel %zu values", h->name, backend, c);
      same_bits(what, v_nhwc + c, CH, h->values, OUT_PLANE);
      for (size_t o = 0; o < OUT_PLANE; o++)
        CHECK(ix_nhwc[o * CH + c] == (int32_t)(h->indices[o] * CH + (int64_t)c), "%s %s nhwc: index %zu is %d",
              h->name, backend, o, (int)ix_nhwc[o * CH + c]);
      for (size_t i = 0; i < PLANE; i++)
        CHECK(m_nhwc[i * CH + c] == want_multiplier(h, i), "%s %s nhwc: multiplier %zu is %u", h->name, backend, i,
              (unsigned)m_nhwc[i * CH + c]);
    }
    maxpool_plan_free(plan);
  }
}

/* The backward geometry: 3x3 windows, stride 1, on 3x5 planes: 1x3 outputs, whose three windows all hold plane
   element 7 (row 1, column 2). */
enum { BH = 3, BW = 5, BOW = 3, BPLANES = 2, TARGET = 7 };

static void check_gradient(const Half *h, const char *what, const uint16_t *grad_input, size_t plane_stride,
                           size_t element_stride) {
  for (size_t p = 0; p < BPLANES; p++)
    for (size_t i = 0; i < BH * BW; i++) {
      uint16_t got = grad_input[p * plane_stride + i * element_stride];
      uint16_t want = i == TARGET ? h->summed[p] : 0x0000;
      CHECK(got == want, "%s %s: plane %zu element %zu is 0x%04X, want 0x%04X%s", h->name, what, p, i, got, want,
            i == TARGET && got == h->per_add[p] ? " (rounded after every add, not once)" : "");
    }
}

static void backward(const Half *h) {
  MaxpoolParams p = maxpool_params(3, 1);
  uint16_t grad_output[BPLANES * BOW], grad_input[BPLANES * BH * BW];
  int64_t indices[BPLANES * BOW];
  for (size_t i = 0; i < BPLANES * BOW; i++) {
    grad_output[i] = h->grads[i / BOW][i % BOW];
    indices[i] = TARGET;
  }
  const MaxpoolBackend backends[] = {MAXPOOL_BACKEND_NAIVE, MAXPOOL_BACKEND_LOOKUP, MAXPOOL_BACKEND_SIMD};
  for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
    const char *backend = maxpool_backend_name(backends[b]);
    char what[96];
    MaxpoolPlan *plan = NULL;
    CHECK_STATUS(maxpool_plan_new(backends[b], &p, BH, BW, &plan), MAXPOOL_STATUS_OK);

    /* The tensor call on dense NCHW with int64_t plane indices. */
    memset(grad_input, 0xAB, sizeof grad_input);
    MaxpoolTensor go = maxpool_tensor_nchw(grad_output, h->dtype, 1, BPLANES, 1, BOW);
    MaxpoolTensor ix = maxpool_tensor_nchw(indices, MAXPOOL_DTYPE_I64, 1, BPLANES, 1, BOW);
    MaxpoolTensor gi = maxpool_tensor_nchw(grad_input, h->dtype, 1, BPLANES, BH, BW);
    CHECK_ERROR(maxpool_plan_backward_tensor(plan, &go, &ix, MAXPOOL_INDEX_PLANE, &gi), MAXPOOL_STATUS_OK, "");
    snprintf(what, sizeof what, "%s tensor nchw", backend);
    check_gradient(h, what, grad_input, BH * BW, 1);

    /* Channels-last, int32_t indices over the image (the planes as channels): the strided path. */
    uint16_t go_nhwc[BPLANES * BOW], gi_nhwc[BPLANES * BH * BW];
    int32_t ix_nhwc[BPLANES * BOW];
    for (size_t c = 0; c < BPLANES; c++)
      for (size_t o = 0; o < BOW; o++) {
        go_nhwc[o * BPLANES + c] = h->grads[c][o];
        ix_nhwc[o * BPLANES + c] = (int32_t)(TARGET * BPLANES + c);
      }
    memset(gi_nhwc, 0xAB, sizeof gi_nhwc);
    go = maxpool_tensor_nhwc(go_nhwc, h->dtype, 1, 1, BOW, BPLANES);
    ix = maxpool_tensor_nhwc(ix_nhwc, MAXPOOL_DTYPE_I32, 1, 1, BOW, BPLANES);
    gi = maxpool_tensor_nhwc(gi_nhwc, h->dtype, 1, BH, BW, BPLANES);
    CHECK_ERROR(maxpool_plan_backward_tensor(plan, &go, &ix, MAXPOOL_INDEX_FLAT_HWC, &gi), MAXPOOL_STATUS_OK, "");
    snprintf(what, sizeof what, "%s tensor nhwc", backend);
    check_gradient(h, what, gi_nhwc, 1, BPLANES);

    /* The planned per-dtype call. */
    memset(grad_input, 0xAB, sizeof grad_input);
    CHECK_ERROR(h->plan_backward(plan, BPLANES, grad_output, indices, grad_input), MAXPOOL_STATUS_OK, "");
    snprintf(what, sizeof what, "%s maxpool_plan_backward_%s", backend, h->name);
    check_gradient(h, what, grad_input, BH * BW, 1);
    maxpool_plan_free(plan);
  }
  memset(grad_input, 0xAB, sizeof grad_input);
  CHECK_ERROR(h->backward(&p, BPLANES, BH, BW, grad_output, indices, grad_input), MAXPOOL_STATUS_OK, "");
  check_gradient(h, "one-shot per-dtype call", grad_input, BH * BW, 1);
}

/* A forward pass then the backward pass of ones: each element's gradient is how many windows it won, exactly. */
static void round_trip(const Half *h, uint16_t one) {
  MaxpoolParams p = forward_params();
  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_SIMD, &p, H, W, &plan), MAXPOOL_STATUS_OK);
  uint16_t values[OUT_PLANE], ones[OUT_PLANE], grad_input[PLANE];
  int64_t indices[OUT_PLANE];
  uint32_t multiplier[PLANE];
  CHECK_STATUS(h->plan_forward(plan, h->input, 1, values, indices, multiplier), MAXPOOL_STATUS_OK);
  for (size_t o = 0; o < OUT_PLANE; o++) ones[o] = one;
  CHECK_STATUS(h->plan_backward(plan, 1, ones, indices, grad_input), MAXPOOL_STATUS_OK);
  for (size_t i = 0; i < PLANE; i++)
    CHECK(grad_input[i] == (multiplier[i] ? one : 0), "%s round trip: element %zu is 0x%04X (multiplier %u)",
          h->name, i, grad_input[i], (unsigned)multiplier[i]);
  maxpool_plan_free(plan);
}

/* The new dtypes are refused where they do not go, with messages naming them and the argument. */
static void refusals(void) {
  const MaxpoolStatus UNSUP = MAXPOOL_STATUS_UNSUPPORTED;
  CHECK(MAXPOOL_DTYPE_F16 == 8 && MAXPOOL_DTYPE_BF16 == 9 && MAXPOOL_DTYPE_U32 == 10, "the contract's values");
  MaxpoolParams p = forward_params();
  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_NAIVE, &p, H, W, &plan), MAXPOOL_STATUS_OK);
  static _Alignas(16) uint16_t input[PLANE + 1], values[OUT_PLANE + 1];
  static _Alignas(16) int64_t indices[OUT_PLANE];
  static _Alignas(16) uint32_t multiplier[PLANE];
  memcpy(input, F16.input, sizeof F16.input);
  MaxpoolTensor in = maxpool_tensor_nchw(input, MAXPOOL_DTYPE_F16, 1, 1, H, W);
  MaxpoolTensor v = maxpool_tensor_nchw(values, MAXPOOL_DTYPE_BF16, 1, 1, OH, OW);
  MaxpoolTensor ix = maxpool_tensor_nchw(indices, MAXPOOL_DTYPE_I64, 1, 1, OH, OW);
  CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, &ix, MAXPOOL_INDEX_PLANE, NULL), UNSUP,
              "values has dtype MAXPOOL_DTYPE_BF16 (uint16_t holding bfloat16 bits); values are of the input's "
              "dtype, MAXPOOL_DTYPE_F16 (uint16_t holding IEEE binary16 bits)");
  v.dtype = MAXPOOL_DTYPE_U16;
  CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, &ix, MAXPOOL_INDEX_PLANE, NULL), UNSUP,
              "values has dtype MAXPOOL_DTYPE_U16 (uint16_t); values are of the input's dtype, MAXPOOL_DTYPE_F16");
  in.dtype = MAXPOOL_DTYPE_U16;
  v.dtype = MAXPOOL_DTYPE_F16;
  CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, &ix, MAXPOOL_INDEX_PLANE, NULL), UNSUP,
              "values has dtype MAXPOOL_DTYPE_F16");
  in.dtype = MAXPOOL_DTYPE_BF16;
  v.dtype = MAXPOOL_DTYPE_BF16;
  MaxpoolTensor half_ix = maxpool_tensor_nchw(values, MAXPOOL_DTYPE_F16, 1, 1, OH, OW);
  MaxpoolTensor out = maxpool_tensor_nchw(input, MAXPOOL_DTYPE_BF16, 1, 1, OH, OW);
  CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &out, &half_ix, MAXPOOL_INDEX_PLANE, NULL), UNSUP,
              "indices has dtype MAXPOOL_DTYPE_F16 (uint16_t holding IEEE binary16 bits); indices are");
  MaxpoolTensor half_m = maxpool_tensor_nchw(multiplier, MAXPOOL_DTYPE_BF16, 1, 1, H, W);
  CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, &ix, MAXPOOL_INDEX_PLANE, &half_m), UNSUP,
              "multiplier has dtype MAXPOOL_DTYPE_BF16");
  /* The multiplier's dtype is no input; the message lists the element types, the new ones included. */
  in.dtype = v.dtype = MAXPOOL_DTYPE_U32;
  CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, NULL, MAXPOOL_INDEX_PLANE, NULL), UNSUP,
              "MAXPOOL_DTYPE_F16 (uint16_t holding IEEE binary16 bits) or MAXPOOL_DTYPE_BF16 (uint16_t holding "
              "bfloat16 bits) (MAXPOOL_DTYPE_U32 is the multiplier's)");

  /* The backward pass: one float dtype for both gradients; integers list the floats. */
  MaxpoolTensor go = maxpool_tensor_nchw(values, MAXPOOL_DTYPE_F16, 1, 1, OH, OW);
  MaxpoolTensor gi = maxpool_tensor_nchw(input, MAXPOOL_DTYPE_BF16, 1, 1, H, W);
  for (size_t o = 0; o < OUT_PLANE; o++) indices[o] = 0;
  CHECK_ERROR(maxpool_plan_backward_tensor(plan, &go, &ix, MAXPOOL_INDEX_PLANE, &gi), UNSUP,
              "grad_input has dtype MAXPOOL_DTYPE_BF16 (uint16_t holding bfloat16 bits); grad_input is of "
              "grad_output's dtype, MAXPOOL_DTYPE_F16");
  go.dtype = gi.dtype = MAXPOOL_DTYPE_U16;
  CHECK_ERROR(maxpool_plan_backward_tensor(plan, &go, &ix, MAXPOOL_INDEX_PLANE, &gi), UNSUP,
              "grad_output has dtype MAXPOOL_DTYPE_U16 (uint16_t); the backward pass is for MAXPOOL_DTYPE_F32 "
              "(float), MAXPOOL_DTYPE_F64 (double), MAXPOOL_DTYPE_F16 (uint16_t holding IEEE binary16 bits) or "
              "MAXPOOL_DTYPE_BF16 (uint16_t holding bfloat16 bits)");

  /* Misaligned 16-bit data, in the tensor calls and the per-dtype ones. */
  const MaxpoolStatus MIS = MAXPOOL_STATUS_MISALIGNED;
  uint16_t *odd_in = (uint16_t *)(void *)((unsigned char *)input + 1);
  uint16_t *odd_v = (uint16_t *)(void *)((unsigned char *)values + 1);
  in = maxpool_tensor_nchw(odd_in, MAXPOOL_DTYPE_F16, 1, 1, H, W);
  v = maxpool_tensor_nchw(values, MAXPOOL_DTYPE_F16, 1, 1, OH, OW);
  CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, &ix, MAXPOOL_INDEX_PLANE, NULL), MIS,
              "input is not aligned for uint16_t");
  CHECK_ERROR(maxpool_forward_bf16(MAXPOOL_BACKEND_NAIVE, &p, input, 1, H, W, odd_v, NULL, NULL), MIS,
              "values is not aligned for uint16_t");
  CHECK_ERROR(maxpool_plan_forward_f16(plan, odd_in, 1, values, NULL, NULL), MIS, "input is not aligned for uint16_t");
  CHECK_ERROR(maxpool_backward_bf16(&p, 1, H, W, values, indices, odd_in), MIS,
              "grad_input is not aligned for uint16_t");
  CHECK_ERROR(maxpool_plan_backward_f16(plan, 1, odd_v, indices, input), MIS,
              "grad_output is not aligned for uint16_t");
  /* NULL buffers, and an index outside the plane. */
  CHECK_ERROR(maxpool_forward_f16(MAXPOOL_BACKEND_NAIVE, &p, input, 1, H, W, NULL, NULL, NULL),
              MAXPOOL_STATUS_NULL_POINTER, "values is NULL");
  CHECK_ERROR(maxpool_plan_backward_bf16(plan, 1, values, indices, NULL), MAXPOOL_STATUS_NULL_POINTER,
              "grad_input is NULL");
  indices[OUT_PLANE - 1] = PLANE;
  CHECK_ERROR(maxpool_plan_backward_f16(plan, 1, values, indices, input), MAXPOOL_STATUS_INDEX_OUT_OF_RANGE,
              "index 16");
  maxpool_plan_free(plan);
}

int main(void) {
  forward(&F16);
  forward(&BF16);
  backward(&F16);
  backward(&BF16);
  round_trip(&F16, 0x3C00);
  round_trip(&BF16, 0x3F80);
  refusals();
  return harness_finish("half");
}
