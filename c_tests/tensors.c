/*
 * The tensor calls: maxpool_tensor_nchw/_nhwc, maxpool_plan_forward_tensor, maxpool_plan_backward_tensor and
 * maxpool_plan_kernel. NCHW and channels-last (NHWC) forward passes of every element type (the 16-bit floats
 * too; half.c checks what they give), with every index format in every index type, equal the per-dtype calls'
 * results (converted); so do strided views and the backward pass. Then each kind of bad input gets its status, a
 * message naming the argument, and no output written.
 */
#include <stdlib.h>

#include "harness.h"

/* A padded, dilated geometry whose windows overlap: 3x2 windows, stride 2x1, dilation 1x2, padding 1 above, below
   and left. On 7x6 planes it gives 4x5 outputs. */
enum { N = 2, C = 3, H = 7, W = 6, OH = 4, OW = 5, IN = N * C * H * W, OUT = N * C * OH * OW };
enum { KH = 3, KW = 2, SH = 2, SW = 1, PT = 1, PL = 1, DH = 1, DW = 2 };
enum { SENTINEL = 0xAB };

static MaxpoolParams geometry(void) {
  MaxpoolParams p = maxpool_params(1, 1);
  p.kernel_h = KH;
  p.kernel_w = KW;
  p.stride_h = SH;
  p.stride_w = SW;
  p.pad_top = PT;
  p.pad_bottom = 1;
  p.pad_left = PL;
  p.pad_right = 0;
  p.dilation_h = DH;
  p.dilation_w = DW;
  return p;
}

/* The offset of (n, c, y, x) in a dense tensor of N x C x h x w, NCHW or NHWC. */
static size_t offset(int nhwc, size_t n, size_t c, size_t y, size_t x, size_t h, size_t w) {
  return nhwc ? ((n * h + y) * w + x) * C + c : ((n * C + c) * h + y) * w + x;
}

/* A dense tensor of N x C x h x w (n images), NCHW or NHWC. */
static MaxpoolTensor dense(int nhwc, void *data, MaxpoolDType dtype, size_t n, size_t h, size_t w) {
  return nhwc ? maxpool_tensor_nhwc(data, dtype, n, h, w, C) : maxpool_tensor_nchw(data, dtype, n, C, h, w);
}

/* The index `format` gives the winner at plane index p (row * W + col) of window (y, x) of plane (n, c): the
   issue's formulas, written out again here. */
static int64_t encode(MaxpoolIndexFormat format, size_t n, size_t c, size_t y, size_t x, int64_t p) {
  long long row = p / W, col = p % W;
  switch (format) {
  case MAXPOOL_INDEX_PLANE:
    return p;
  case MAXPOOL_INDEX_FLAT_NCHW:
    return (int64_t)((n * C + c) * H * W) + p;
  case MAXPOOL_INDEX_FLAT_NHWC:
    return ((int64_t)(n * H * W) + p) * C + (int64_t)c;
  case MAXPOOL_INDEX_FLAT_HWC:
    return p * C + (int64_t)c;
  case MAXPOOL_INDEX_WINDOW: {
    long long i = (row + PT - (long long)y * SH) / DH, j = (col + PL - (long long)x * SW) / DW;
    return i * KW + j;
  }
  default:
    return -1;
  }
}

/* Index i of an index buffer of type `dtype`, as int64_t. */
static int64_t index_at(const void *buffer, MaxpoolDType dtype, size_t i) {
  switch (dtype) {
  case MAXPOOL_DTYPE_I64:
    return ((const int64_t *)buffer)[i];
  case MAXPOOL_DTYPE_I32:
    return ((const int32_t *)buffer)[i];
  case MAXPOOL_DTYPE_U8:
    return ((const uint8_t *)buffer)[i];
  default:
    return -1;
  }
}

static void set_index(void *buffer, MaxpoolDType dtype, size_t i, int64_t v) {
  switch (dtype) {
  case MAXPOOL_DTYPE_I64:
    ((int64_t *)buffer)[i] = v;
    break;
  case MAXPOOL_DTYPE_I32:
    ((int32_t *)buffer)[i] = (int32_t)v;
    break;
  default:
    ((uint8_t *)buffer)[i] = (uint8_t)v;
    break;
  }
}

/* Each element type: its dtype, size, a filler (many ties) and its per-dtype plan call, the reference. */
#define DEFINE_TYPE(sfx, T)                                                                                  \
  static void fill_##sfx(void *buffer, size_t n) {                                                           \
    T *b = buffer;                                                                                            \
    for (size_t i = 0; i < n; i++) b[i] = (T)((i * 7919) % 23);                                               \
  }                                                                                                           \
  static MaxpoolStatus reference_##sfx(const MaxpoolPlan *plan, const void *input, size_t planes, void *values, \
                                       int64_t *indices, uint32_t *multiplier) {                              \
    return maxpool_plan_forward_##sfx(plan, (const T *)input, planes, (T *)values, indices, multiplier);      \
  }
MAXPOOL_ELEMENT_TYPES(DEFINE_TYPE)

/* The 16-bit floats, as uint16_t bit patterns: small numbers (many ties), both zeros, infinities and NaNs of
   several payloads, so that which NaN and which zero wins shows in the bits. */
#define DEFINE_HALF_TYPE(sfx, NEG_ZERO, ONE, TWO, INF, NAN1, NAN2)                                          \
  static void fill_##sfx(void *buffer, size_t n) {                                                           \
    static const uint16_t BITS[] = {0x0000, (NEG_ZERO), (ONE), (TWO), (ONE) | 0x8000, (INF), (INF) | 0x8000,  \
                                    (NAN1), (NAN2), (TWO) | 0x8000, (ONE), (TWO)};                            \
    uint16_t *b = buffer;                                                                                     \
    for (size_t i = 0; i < n; i++) b[i] = BITS[(i * 7919) % 23 % (sizeof BITS / sizeof BITS[0])];             \
  }                                                                                                           \
  static MaxpoolStatus reference_##sfx(const MaxpoolPlan *plan, const void *input, size_t planes, void *values, \
                                       int64_t *indices, uint32_t *multiplier) {                              \
    return maxpool_plan_forward_##sfx(plan, (const uint16_t *)input, planes, (uint16_t *)values, indices,     \
                                      multiplier);                                                            \
  }
DEFINE_HALF_TYPE(f16, 0x8000, 0x3C00, 0x4000, 0x7C00, 0x7E01, 0xFC02)
DEFINE_HALF_TYPE(bf16, 0x8000, 0x3F80, 0x4000, 0x7F80, 0x7FC1, 0xFF82)

typedef struct {
  const char *name;
  MaxpoolDType dtype;
  size_t size;
  void (*fill)(void *, size_t);
  MaxpoolStatus (*reference)(const MaxpoolPlan *, const void *, size_t, void *, int64_t *, uint32_t *);
} ElementType;

static const ElementType TYPES[] = {
    {"f32", MAXPOOL_DTYPE_F32, sizeof(float), fill_f32, reference_f32},
    {"f64", MAXPOOL_DTYPE_F64, sizeof(double), fill_f64, reference_f64},
    {"i8", MAXPOOL_DTYPE_I8, sizeof(int8_t), fill_i8, reference_i8},
    {"u8", MAXPOOL_DTYPE_U8, sizeof(uint8_t), fill_u8, reference_u8},
    {"i16", MAXPOOL_DTYPE_I16, sizeof(int16_t), fill_i16, reference_i16},
    {"u16", MAXPOOL_DTYPE_U16, sizeof(uint16_t), fill_u16, reference_u16},
    {"i32", MAXPOOL_DTYPE_I32, sizeof(int32_t), fill_i32, reference_i32},
    {"i64", MAXPOOL_DTYPE_I64, sizeof(int64_t), fill_i64, reference_i64},
    {"f16", MAXPOOL_DTYPE_F16, sizeof(uint16_t), fill_f16, reference_f16},
    {"bf16", MAXPOOL_DTYPE_BF16, sizeof(uint16_t), fill_bf16, reference_bf16},
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

static const MaxpoolIndexFormat FORMATS[] = {MAXPOOL_INDEX_PLANE, MAXPOOL_INDEX_FLAT_NCHW, MAXPOOL_INDEX_FLAT_NHWC,
                                             MAXPOOL_INDEX_FLAT_HWC, MAXPOOL_INDEX_WINDOW};
static const MaxpoolDType INDEX_TYPES[] = {MAXPOOL_DTYPE_I64, MAXPOOL_DTYPE_I32, MAXPOOL_DTYPE_U8};

/* Working storage, wide enough for any element type. */
static _Alignas(16) unsigned char nchw_in[IN * 8], nhwc_in[IN * 8], values[OUT * 8], indices[OUT * 8];
static _Alignas(16) unsigned char ref_values[OUT * 8];
static int64_t ref_indices[OUT];
static uint32_t multiplier[IN], ref_multiplier[IN];

/* NCHW elements of `size` bytes, copied to channels-last order. */
static void to_nhwc(unsigned char *to, const unsigned char *from, size_t size, size_t h, size_t w) {
  for (size_t n = 0; n < N; n++)
    for (size_t c = 0; c < C; c++)
      for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
          memcpy(to + offset(1, n, c, y, x, h, w) * size, from + offset(0, n, c, y, x, h, w) * size, size);
}

/* Every backend, element type, layout, index format and index type: the tensor call equals the per-dtype call on
   the same data, values bit for bit, indices encoded as the format says, the multiplier in the layout. */
static void forward_equals_the_per_dtype_calls(void) {
  MaxpoolParams p = geometry();
  for (size_t b = 0; b < N_BACKENDS; b++) {
    MaxpoolPlan *plan = NULL;
    MaxpoolStatus made = maxpool_plan_new(ALL_BACKENDS[b], &p, H, W, &plan);
    if (made != MAXPOOL_STATUS_OK) {
      CHECK(ALL_BACKENDS[b] == MAXPOOL_BACKEND_BLOCK && made == MAXPOOL_STATUS_UNSUPPORTED, "backend %u: %u",
            (unsigned)ALL_BACKENDS[b], (unsigned)made);
      continue;
    }
    size_t oh = 0, ow = 0;
    CHECK_STATUS(maxpool_plan_output_shape(plan, &oh, &ow), MAXPOOL_STATUS_OK);
    CHECK(oh == OH && ow == OW, "output %zux%zu, want %dx%d", oh, ow, OH, OW);
    for (size_t t = 0; t < N_TYPES; t++) {
      const ElementType *e = &TYPES[t];
      e->fill(nchw_in, IN);
      to_nhwc(nhwc_in, nchw_in, e->size, H, W);
      CHECK_STATUS(e->reference(plan, nchw_in, N * C, ref_values, ref_indices, ref_multiplier), MAXPOOL_STATUS_OK);
      for (int nhwc = 0; nhwc < 2; nhwc++) {
        for (size_t f = 0; f < sizeof FORMATS / sizeof FORMATS[0]; f++) {
          for (size_t it = 0; it < sizeof INDEX_TYPES / sizeof INDEX_TYPES[0]; it++) {
            MaxpoolDType index_type = INDEX_TYPES[it];
            if (index_type == MAXPOOL_DTYPE_U8 && FORMATS[f] != MAXPOOL_INDEX_WINDOW) continue;
            memset(values, SENTINEL, sizeof values);
            memset(indices, SENTINEL, sizeof indices);
            memset(multiplier, SENTINEL, sizeof multiplier);
            MaxpoolTensor in = dense(nhwc, nhwc ? nhwc_in : nchw_in, e->dtype, N, H, W);
            MaxpoolTensor v = dense(nhwc, values, e->dtype, N, OH, OW);
            MaxpoolTensor ix = dense(nhwc, indices, index_type, N, OH, OW);
            MaxpoolTensor m = dense(nhwc, multiplier, MAXPOOL_DTYPE_U32, N, H, W);
            MaxpoolStatus s = maxpool_plan_forward_tensor(plan, &in, &v, &ix, FORMATS[f], &m);
            CHECK(s == MAXPOOL_STATUS_OK, "%s %s %s format %u index type %u: %u (%s)",
                  maxpool_backend_name(ALL_BACKENDS[b]), e->name, nhwc ? "nhwc" : "nchw", FORMATS[f],
                  (unsigned)index_type, (unsigned)s, maxpool_last_error());
            int same_values = 1, same_indices = 1, same_multiplier = 1;
            for (size_t n = 0; n < N; n++)
              for (size_t c = 0; c < C; c++) {
                for (size_t y = 0; y < OH; y++)
                  for (size_t x = 0; x < OW; x++) {
                    size_t r = offset(0, n, c, y, x, OH, OW), o = offset(nhwc, n, c, y, x, OH, OW);
                    same_values &= memcmp(values + o * e->size, ref_values + r * e->size, e->size) == 0;
                    same_indices &=
                        index_at(indices, index_type, o) == encode(FORMATS[f], n, c, y, x, ref_indices[r]);
                  }
                for (size_t y = 0; y < H; y++)
                  for (size_t x = 0; x < W; x++)
                    same_multiplier &= multiplier[offset(nhwc, n, c, y, x, H, W)] ==
                                       ref_multiplier[offset(0, n, c, y, x, H, W)];
              }
            CHECK(same_values && same_indices && same_multiplier,
                  "%s %s %s format %u index type %u: values %s, indices %s, multiplier %s",
                  maxpool_backend_name(ALL_BACKENDS[b]), e->name, nhwc ? "nhwc" : "nchw", FORMATS[f],
                  (unsigned)index_type, same_values ? "agree" : "differ", same_indices ? "agree" : "differ",
                  same_multiplier ? "agrees" : "differs");
          }
        }
      }
    }
    maxpool_plan_free(plan);
  }
}

/* NULL indices or multiplier mean "not wanted": neither is written, and the rest is as with them. */
static void optional_outputs(void) {
  MaxpoolParams p = geometry();
  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_SIMD, &p, H, W, &plan), MAXPOOL_STATUS_OK);
  fill_f32(nchw_in, IN);
  to_nhwc(nhwc_in, nchw_in, sizeof(float), H, W);
  CHECK_STATUS(maxpool_plan_forward_f32(plan, (const float *)(void *)nchw_in, N * C, (float *)(void *)ref_values,
                                        ref_indices, ref_multiplier),
               MAXPOOL_STATUS_OK);
  MaxpoolTensor in = maxpool_tensor_nhwc(nhwc_in, MAXPOOL_DTYPE_F32, N, H, W, C);
  MaxpoolTensor v = maxpool_tensor_nhwc(values, MAXPOOL_DTYPE_F32, N, OH, OW, C);
  MaxpoolTensor m = maxpool_tensor_nhwc(multiplier, MAXPOOL_DTYPE_U32, N, H, W, C);
  for (int with_multiplier = 0; with_multiplier < 2; with_multiplier++) {
    memset(values, SENTINEL, sizeof values);
    memset(multiplier, SENTINEL, sizeof multiplier);
    CHECK_STATUS(maxpool_plan_forward_tensor(plan, &in, &v, NULL, MAXPOOL_INDEX_PLANE, with_multiplier ? &m : NULL),
                 MAXPOOL_STATUS_OK);
    int same = 1, untouched = 1;
    for (size_t n = 0; n < N; n++)
      for (size_t c = 0; c < C; c++) {
        for (size_t y = 0; y < OH; y++)
          for (size_t x = 0; x < OW; x++)
            same &= memcmp(values + offset(1, n, c, y, x, OH, OW) * 4, ref_values + offset(0, n, c, y, x, OH, OW) * 4,
                           4) == 0;
        for (size_t y = 0; y < H; y++)
          for (size_t x = 0; x < W; x++) {
            uint32_t got = multiplier[offset(1, n, c, y, x, H, W)];
            if (with_multiplier)
              same &= got == ref_multiplier[offset(0, n, c, y, x, H, W)];
            else
              untouched &= got == 0xABABABABu;
          }
      }
    CHECK(same && untouched, "values only / with the multiplier (%d): same %d, untouched %d", with_multiplier, same,
          untouched);
  }
  /* An empty batch needs no memory at all. */
  MaxpoolTensor empty_in = maxpool_tensor_nhwc(NULL, MAXPOOL_DTYPE_F32, 0, H, W, C);
  MaxpoolTensor empty_v = maxpool_tensor_nhwc(NULL, MAXPOOL_DTYPE_F32, 0, OH, OW, C);
  MaxpoolTensor empty_ix = maxpool_tensor_nhwc(NULL, MAXPOOL_DTYPE_U8, 0, OH, OW, C);
  CHECK_STATUS(maxpool_plan_forward_tensor(plan, &empty_in, &empty_v, &empty_ix, MAXPOOL_INDEX_WINDOW, NULL),
               MAXPOOL_STATUS_OK);
  maxpool_plan_free(plan);
}

/* Views with gaps: a crop of a larger channels-last buffer in, outputs with gaps between their elements (which
   stay as they were), and an input whose two images are one (stride 0 along N: inputs may share elements). */
static void strided_views(void) {
  enum { BH = H + 2, BW = W + 3, BC = C + 1 };
  static float big[N * BH * BW * BC], dense_in[IN], ref_vals[OUT], vals[2 * OUT];
  static int64_t idx[OUT];
  static uint32_t mult[3 * IN];
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) big[i] = (float)((i * 7919) % 31);
  /* The view starts at row 1, column 2 of the big buffer and uses C of its BC channels. */
  const size_t bs[4] = {BH * BW * BC, 1, BW * BC, BC};
  float *origin = big + 1 * bs[2] + 2 * bs[3];
  for (size_t n = 0; n < N; n++)
    for (size_t c = 0; c < C; c++)
      for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++)
          dense_in[offset(0, n, c, y, x, H, W)] = origin[n * bs[0] + c * bs[1] + y * bs[2] + x * bs[3]];
  MaxpoolParams p = geometry();
  for (size_t b = 0; b < N_BACKENDS; b++) {
    MaxpoolPlan *plan = NULL;
    if (maxpool_plan_new(ALL_BACKENDS[b], &p, H, W, &plan) != MAXPOOL_STATUS_OK) continue;
    CHECK_STATUS(maxpool_plan_forward_f32(plan, dense_in, N * C, ref_vals, ref_indices, ref_multiplier),
                 MAXPOOL_STATUS_OK);
    MaxpoolTensor in = {origin, MAXPOOL_DTYPE_F32, {N, C, H, W}, {bs[0], bs[1], bs[2], bs[3]}};
    /* Values NCHW, every other element; indices NCHW; the multiplier NHWC, every third element. */
    MaxpoolTensor v = {vals, MAXPOOL_DTYPE_F32, {N, C, OH, OW}, {2 * C * OH * OW, 2 * OH * OW, 2 * OW, 2}};
    MaxpoolTensor ix = maxpool_tensor_nchw(idx, MAXPOOL_DTYPE_I64, N, C, OH, OW);
    MaxpoolTensor m = {mult, MAXPOOL_DTYPE_U32, {N, C, H, W}, {3 * H * W * C, 3, 3 * W * C, 3 * C}};
    memset(vals, SENTINEL, sizeof vals);
    memset(mult, SENTINEL, sizeof mult);
    CHECK_ERROR(maxpool_plan_forward_tensor(plan, &in, &v, &ix, MAXPOOL_INDEX_FLAT_NCHW, &m), MAXPOOL_STATUS_OK, "");
    int same = 1, gaps = 1;
    for (size_t i = 0; i < OUT; i++) {
      same &= vals[2 * i] == ref_vals[i] && idx[i] == (int64_t)(i / (OH * OW) * H * W) + ref_indices[i];
      uint32_t gap;
      memcpy(&gap, &vals[2 * i + 1], sizeof gap);
      gaps &= gap == 0xABABABABu;
    }
    for (size_t n = 0; n < N; n++)
      for (size_t c = 0; c < C; c++)
        for (size_t y = 0; y < H; y++)
          for (size_t x = 0; x < W; x++) {
            size_t at = 3 * offset(1, n, c, y, x, H, W);
            same &= mult[at] == ref_multiplier[offset(0, n, c, y, x, H, W)];
            gaps &= mult[at + 1] == 0xABABABABu && mult[at + 2] == 0xABABABABu;
          }
    CHECK(same && gaps, "%s: a strided view: results %s, gaps %s", maxpool_backend_name(ALL_BACKENDS[b]),
          same ? "agree" : "differ", gaps ? "untouched" : "written");

    /* Both images are the first: stride 0 along N. */
    MaxpoolTensor twice = in;
    twice.strides[0] = 0;
    MaxpoolTensor v2 = maxpool_tensor_nchw(vals, MAXPOOL_DTYPE_F32, N, C, OH, OW);
    CHECK_STATUS(maxpool_plan_forward_tensor(plan, &twice, &v2, NULL, MAXPOOL_INDEX_PLANE, NULL), MAXPOOL_STATUS_OK);
    same = 1;
    for (size_t i = 0; i < C * OH * OW; i++) same &= vals[i] == ref_vals[i] && vals[C * OH * OW + i] == ref_vals[i];
    CHECK(same, "%s: a broadcast input", maxpool_backend_name(ALL_BACKENDS[b]));
    maxpool_plan_free(plan);
  }
}

/* The backward pass on tensors, of each layout, format and index type, equals the per-dtype one on the same
   gradients; gradients of ones give the multiplier. */
#define DEFINE_BACKWARD(sfx, T, DT)                                                                          \
  static void backward_##sfx(const MaxpoolPlan *plan) {                                                      \
    static T grad_nchw[OUT], grad[OUT], ones[OUT], ref_gi[IN], gi[IN];                                        \
    static float in_f32[IN], in_nhwc[IN], vals[OUT];                                                          \
    fill_f32(in_f32, IN);                                                                                     \
    to_nhwc((unsigned char *)in_nhwc, (const unsigned char *)in_f32, sizeof(float), H, W);                    \
    for (size_t i = 0; i < OUT; i++) grad_nchw[i] = (T)(1 + i % 5);                                           \
    CHECK_STATUS(maxpool_plan_forward_f32(plan, in_f32, N * C, vals, ref_indices, ref_multiplier), MAXPOOL_STATUS_OK); \
    CHECK_STATUS(maxpool_plan_backward_##sfx(plan, N * C, grad_nchw, ref_indices, ref_gi), MAXPOOL_STATUS_OK); \
    for (int nhwc = 0; nhwc < 2; nhwc++)                                                                      \
      for (size_t f = 0; f < sizeof FORMATS / sizeof FORMATS[0]; f++)                                         \
        for (size_t it = 0; it < sizeof INDEX_TYPES / sizeof INDEX_TYPES[0]; it++) {                          \
          MaxpoolDType index_type = INDEX_TYPES[it];                                                          \
          if (index_type == MAXPOOL_DTYPE_U8 && FORMATS[f] != MAXPOOL_INDEX_WINDOW) continue;                 \
          MaxpoolTensor in = dense(nhwc, nhwc ? in_nhwc : in_f32, MAXPOOL_DTYPE_F32, N, H, W);                \
          MaxpoolTensor v = dense(nhwc, vals, MAXPOOL_DTYPE_F32, N, OH, OW);                                  \
          MaxpoolTensor ix = dense(nhwc, indices, index_type, N, OH, OW);                                     \
          MaxpoolTensor m = dense(nhwc, multiplier, MAXPOOL_DTYPE_U32, N, H, W);                              \
          CHECK_STATUS(maxpool_plan_forward_tensor(plan, &in, &v, &ix, FORMATS[f], &m), MAXPOOL_STATUS_OK);   \
          for (size_t n = 0; n < N; n++)                                                                      \
            for (size_t c = 0; c < C; c++)                                                                    \
              for (size_t y = 0; y < OH; y++)                                                                 \
                for (size_t x = 0; x < OW; x++) {                                                             \
                  grad[offset(nhwc, n, c, y, x, OH, OW)] = grad_nchw[offset(0, n, c, y, x, OH, OW)];          \
                  ones[offset(nhwc, n, c, y, x, OH, OW)] = (T)1;                                              \
                }                                                                                             \
          MaxpoolTensor g = dense(nhwc, grad, DT, N, OH, OW), gi_t = dense(nhwc, gi, DT, N, H, W);            \
          memset(gi, SENTINEL, sizeof gi);                                                                    \
          MaxpoolStatus s = maxpool_plan_backward_tensor(plan, &g, &ix, FORMATS[f], &gi_t);                   \
          CHECK(s == MAXPOOL_STATUS_OK, #sfx " %s format %u index type %u: %u (%s)", nhwc ? "nhwc" : "nchw",   \
                FORMATS[f], (unsigned)index_type, (unsigned)s, maxpool_last_error());                         \
          int same = 1;                                                                                       \
          for (size_t n = 0; n < N; n++)                                                                      \
            for (size_t c = 0; c < C; c++)                                                                    \
              for (size_t y = 0; y < H; y++)                                                                  \
                for (size_t x = 0; x < W; x++)                                                                \
                  same &= gi[offset(nhwc, n, c, y, x, H, W)] == ref_gi[offset(0, n, c, y, x, H, W)];          \
          MaxpoolTensor o = dense(nhwc, ones, DT, N, OH, OW);                                                 \
          CHECK_STATUS(maxpool_plan_backward_tensor(plan, &o, &ix, FORMATS[f], &gi_t), MAXPOOL_STATUS_OK);    \
          for (size_t i = 0; i < IN; i++) same &= gi[i] == (T)multiplier[i];                                  \
          CHECK(same, #sfx " %s format %u index type %u: the gradient differs", nhwc ? "nhwc" : "nchw",       \
                FORMATS[f], (unsigned)index_type);                                                            \
        }                                                                                                     \
  }
DEFINE_BACKWARD(f32, float, MAXPOOL_DTYPE_F32)
DEFINE_BACKWARD(f64, double, MAXPOOL_DTYPE_F64)

static void backward_round_trips(void) {
  MaxpoolParams p = geometry();
  const MaxpoolBackend backends[] = {MAXPOOL_BACKEND_NAIVE, MAXPOOL_BACKEND_SIMD};
  for (size_t b = 0; b < 2; b++) {
    MaxpoolPlan *plan = NULL;
    CHECK_STATUS(maxpool_plan_new(backends[b], &p, H, W, &plan), MAXPOOL_STATUS_OK);
    backward_f32(plan);
    backward_f64(plan);
    maxpool_plan_free(plan);
  }
}

/* The kernel a plan runs for an input: the simd backend pools channels-last input with its channels-last
   kernel; "none" for what a call would refuse; the last error is left alone. */
static void kernel_names(void) {
  MaxpoolParams p = maxpool_params_padded(3, 2, 1);
  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_SIMD, &p, 16, 16, &plan), MAXPOOL_STATUS_OK);
  static float data[2 * 8 * 16 * 16];
  MaxpoolTensor nhwc = maxpool_tensor_nhwc(data, MAXPOOL_DTYPE_F32, 2, 16, 16, 8);
  MaxpoolTensor nchw = maxpool_tensor_nchw(data, MAXPOOL_DTYPE_F32, 2, 8, 16, 16);
  CHECK_ERROR(maxpool_plan_new(MAXPOOL_BACKEND_SIMD, NULL, 16, 16, &(MaxpoolPlan *){NULL}),
              MAXPOOL_STATUS_NULL_POINTER, "params is NULL");
  const char *k = maxpool_plan_kernel(plan, &nhwc);
  CHECK(k != NULL && strncmp(k, "simd/", 5) == 0 && strstr(k, "/nhwc") != NULL, "NHWC kernel: %s", k ? k : "(NULL)");
  CHECK(maxpool_plan_kernel(plan, &nhwc) == k, "the same name is the same static string");
  k = maxpool_plan_kernel(plan, &nchw);
  CHECK(k != NULL && strncmp(k, "simd/", 5) == 0 && strstr(k, "/nchw") != NULL, "NCHW kernel: %s", k ? k : "(NULL)");
  MaxpoolTensor wrong = maxpool_tensor_nhwc(data, MAXPOOL_DTYPE_F32, 2, 15, 16, 8);
  MaxpoolTensor u32 = maxpool_tensor_nhwc(data, MAXPOOL_DTYPE_U32, 2, 16, 16, 8);
  MaxpoolTensor unknown = maxpool_tensor_nhwc(data, 99, 2, 16, 16, 8);
  MaxpoolTensor overflowing = maxpool_tensor_nhwc(data, MAXPOOL_DTYPE_F32, SIZE_MAX, 16, 16, 8);
  const char *none[] = {maxpool_plan_kernel(NULL, &nhwc),       maxpool_plan_kernel(plan, NULL),
                        maxpool_plan_kernel(plan, &wrong),      maxpool_plan_kernel(plan, &u32),
                        maxpool_plan_kernel(plan, &unknown),    maxpool_plan_kernel(plan, &overflowing)};
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
    CHECK(none[i] != NULL && strcmp(none[i], "none") == 0, "case %zu: %s", i, none[i] ? none[i] : "(NULL)");
  CHECK(strstr(maxpool_last_error(), "params is NULL") != NULL, "maxpool_plan_kernel changed the last error: %s",
        maxpool_last_error());
  /* The naive backend gathers each plane. */
  MaxpoolPlan *naive = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_NAIVE, &p, 16, 16, &naive), MAXPOOL_STATUS_OK);
  k = maxpool_plan_kernel(naive, &nhwc);
  CHECK(k != NULL && strncmp(k, "naive/", 6) == 0, "naive kernel: %s", k ? k : "(NULL)");
  maxpool_plan_free(naive);
  maxpool_plan_free(plan);
}

static void constructors(void) {
  int x;
  MaxpoolTensor t = maxpool_tensor_nchw(&x, MAXPOOL_DTYPE_I32, 2, 3, 4, 5);
  CHECK(t.data == &x && t.dtype == MAXPOOL_DTYPE_I32, "nchw data and dtype");
  CHECK(t.shape[0] == 2 && t.shape[1] == 3 && t.shape[2] == 4 && t.shape[3] == 5, "nchw shape");
  CHECK(t.strides[0] == 60 && t.strides[1] == 20 && t.strides[2] == 5 && t.strides[3] == 1, "nchw strides");
  t = maxpool_tensor_nhwc(&x, MAXPOOL_DTYPE_I32, 2, 4, 5, 3);
  CHECK(t.shape[0] == 2 && t.shape[1] == 3 && t.shape[2] == 4 && t.shape[3] == 5, "nhwc shape, stored as NCHW");
  CHECK(t.strides[0] == 60 && t.strides[1] == 1 && t.strides[2] == 15 && t.strides[3] == 3, "nhwc strides");
  /* Overflowing strides saturate instead of wrapping. */
  t = maxpool_tensor_nchw(&x, MAXPOOL_DTYPE_I32, 2, SIZE_MAX / 2, 4, 4);
  CHECK(t.strides[0] == SIZE_MAX && t.strides[1] == 16, "saturated NCHW strides: %zu", t.strides[0]);
  t = maxpool_tensor_nhwc(&x, MAXPOOL_DTYPE_I32, 2, SIZE_MAX / 4, 8, 1);
  CHECK(t.strides[0] == SIZE_MAX && t.strides[2] == 8, "saturated NHWC strides: %zu", t.strides[0]);
  CHECK(MAXPOOL_DTYPE_U32 == 10 && MAXPOOL_DTYPE_I64 == 7 && MAXPOOL_DTYPE_F16 == 8 && MAXPOOL_DTYPE_BF16 == 9 &&
            MAXPOOL_INDEX_WINDOW == 4,
        "the contract's values");
}

/* ---- Bad input ---- */

static _Alignas(16) float b_in[IN];
static _Alignas(16) float b_grad_output[OUT];
static _Alignas(16) int64_t good_indices[OUT];
static _Alignas(16) unsigned char b_values[OUT * 8], b_indices[OUT * 8], b_multiplier[IN * 4], b_grad_input[IN * 8];
static _Alignas(16) unsigned char tensor_store[sizeof(MaxpoolTensor) + 16];
/* One buffer for tensors that must overlap each other and nothing else, wherever the compiler puts the others. */
static _Alignas(16) unsigned char arena[4096];

static void reset(void) {
  memset(arena, SENTINEL, sizeof arena);
  memset(b_values, SENTINEL, sizeof b_values);
  memset(b_indices, SENTINEL, sizeof b_indices);
  memset(b_multiplier, SENTINEL, sizeof b_multiplier);
  memset(b_grad_input, SENTINEL, sizeof b_grad_input);
}

static int all_sentinel(const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != SENTINEL) return 0;
  return 1;
}

static int untouched(void) {
  return all_sentinel(arena, sizeof arena) && all_sentinel(b_values, sizeof b_values) &&
         all_sentinel(b_indices, sizeof b_indices) &&
         all_sentinel(b_multiplier, sizeof b_multiplier) && all_sentinel(b_grad_input, sizeof b_grad_input);
}

/* A call that must be refused with `want`, say `detail` in maxpool_last_error() and write nothing. */
#define REFUSED(call, want, detail)                                                                          \
  do {                                                                                                       \
    reset();                                                                                                 \
    CHECK_ERROR(call, want, detail);                                                                         \
    CHECK(untouched(), "%s: an output was written", #call);                                                  \
  } while (0)

static MaxpoolPlan *bad_plan;
static MaxpoolTensor in, v, ix, m, go, gix, gi;

static MaxpoolStatus fwd(const MaxpoolTensor *input, const MaxpoolTensor *vals, const MaxpoolTensor *idx,
                         MaxpoolIndexFormat format, const MaxpoolTensor *mult) {
  return maxpool_plan_forward_tensor(bad_plan, input, vals, idx, format, mult);
}

static MaxpoolStatus bwd(const MaxpoolTensor *grad_output, const MaxpoolTensor *idx, MaxpoolIndexFormat format,
                         const MaxpoolTensor *grad_input) {
  return maxpool_plan_backward_tensor(bad_plan, grad_output, idx, format, grad_input);
}

/* The tensors of a call that succeeds, channels-last; each case changes one thing. */
static void good_tensors(void) {
  in = maxpool_tensor_nhwc(b_in, MAXPOOL_DTYPE_F32, N, H, W, C);
  v = maxpool_tensor_nhwc(b_values, MAXPOOL_DTYPE_F32, N, OH, OW, C);
  ix = maxpool_tensor_nhwc(b_indices, MAXPOOL_DTYPE_I64, N, OH, OW, C);
  m = maxpool_tensor_nhwc(b_multiplier, MAXPOOL_DTYPE_U32, N, H, W, C);
  go = maxpool_tensor_nhwc(b_grad_output, MAXPOOL_DTYPE_F32, N, OH, OW, C);
  gix = maxpool_tensor_nhwc(good_indices, MAXPOOL_DTYPE_I64, N, OH, OW, C);
  gi = maxpool_tensor_nhwc(b_grad_input, MAXPOOL_DTYPE_F32, N, H, W, C);
}

static void null_and_misaligned(void) {
  const MaxpoolStatus NUL = MAXPOOL_STATUS_NULL_POINTER, MIS = MAXPOOL_STATUS_MISALIGNED;
  reset();
  CHECK_ERROR(maxpool_plan_forward_tensor(NULL, &in, &v, &ix, 0, &m), NUL, "plan is NULL");
  CHECK(untouched(), "NULL plan: written");
  REFUSED(fwd(NULL, &v, &ix, 0, &m), NUL, "input is NULL");
  REFUSED(fwd(&in, NULL, &ix, 0, &m), NUL, "values is NULL");
  REFUSED(bwd(NULL, &gix, 0, &gi), NUL, "grad_output is NULL");
  REFUSED(bwd(&go, NULL, 0, &gi), NUL, "indices is NULL");
  REFUSED(bwd(&go, &gix, 0, NULL), NUL, "grad_input is NULL");
  MaxpoolTensor t = in;
  t.data = NULL;
  REFUSED(fwd(&t, &v, &ix, 0, &m), NUL, "input is NULL but must hold 252 elements");
  t = v;
  t.data = NULL;
  REFUSED(fwd(&in, &t, &ix, 0, &m), NUL, "values is NULL but must hold 120 elements");
  t = ix;
  t.data = NULL;
  REFUSED(fwd(&in, &v, &t, 0, &m), NUL, "indices is NULL but must hold 120 elements");
  t = m;
  t.data = NULL;
  REFUSED(fwd(&in, &v, &ix, 0, &t), NUL, "multiplier is NULL but must hold 252 elements");
  t = gi;
  t.data = NULL;
  REFUSED(bwd(&go, &gix, 0, &t), NUL, "grad_input is NULL but must hold 252 elements");

  t = v;
  t.data = b_values + 1;
  REFUSED(fwd(&in, &t, &ix, 0, &m), MIS, "values is not aligned for float");
  t = ix;
  t.dtype = MAXPOOL_DTYPE_I32;
  t.data = b_indices + 2;
  REFUSED(fwd(&in, &v, &t, 0, &m), MIS, "indices is not aligned for int32_t");
  t = m;
  t.data = b_multiplier + 1;
  REFUSED(fwd(&in, &v, &ix, 0, &t), MIS, "multiplier is not aligned for uint32_t");
  t = gi;
  t.dtype = MAXPOOL_DTYPE_F64;
  t.data = b_grad_input + 4;
  MaxpoolTensor g64 = go;
  g64.dtype = MAXPOOL_DTYPE_F64;
  g64.data = b_values; /* never read: refused first */
  REFUSED(bwd(&g64, &gix, 0, &t), MIS, "grad_input is not aligned for double");
  /* Empty tensors too, as the per-dtype calls. */
  t = maxpool_tensor_nhwc(b_values + 2, MAXPOOL_DTYPE_F32, 0, OH, OW, C);
  MaxpoolTensor empty_in = maxpool_tensor_nhwc(NULL, MAXPOOL_DTYPE_F32, 0, H, W, C);
  REFUSED(fwd(&empty_in, &t, NULL, 0, NULL), MIS, "values is not aligned for float");
  /* The tensor pointers themselves. */
  memcpy(tensor_store + 1, &in, sizeof in);
  const MaxpoolTensor *shifted = (const MaxpoolTensor *)(const void *)(tensor_store + 1);
  REFUSED(fwd(shifted, &v, &ix, 0, &m), MIS, "input is not aligned for MaxpoolTensor");
  memcpy(tensor_store + 4, &m, sizeof m);
  REFUSED(fwd(&in, &v, &ix, 0, (const MaxpoolTensor *)(const void *)(tensor_store + 4)), MIS,
          "multiplier is not aligned for MaxpoolTensor");
  memcpy(tensor_store + 2, &gix, sizeof gix);
  REFUSED(bwd(&go, (const MaxpoolTensor *)(const void *)(tensor_store + 2), 0, &gi), MIS,
          "indices is not aligned for MaxpoolTensor");
  const MaxpoolPlan *plan_off = (const MaxpoolPlan *)(const void *)((const char *)bad_plan + 1);
  reset();
  CHECK_ERROR(maxpool_plan_forward_tensor(plan_off, &in, &v, &ix, 0, &m), MIS, "plan is not aligned for MaxpoolPlan");
  CHECK_ERROR(maxpool_plan_backward_tensor(plan_off, &go, &gix, 0, &gi), MIS, "plan is not aligned for MaxpoolPlan");
  CHECK(untouched(), "a misaligned plan: written");
}

static void unknown_values(void) {
  const MaxpoolStatus BAD = MAXPOOL_STATUS_INVALID_PARAMS, UNSUP = MAXPOOL_STATUS_UNSUPPORTED;
  const uint32_t unknown[] = {11, 99, 0x80000000u, UINT32_MAX};
  char detail[128];
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    MaxpoolTensor t = in;
    t.dtype = unknown[i];
    snprintf(detail, sizeof detail, "input has dtype %u, which is not a MaxpoolDType", (unsigned)unknown[i]);
    REFUSED(fwd(&t, &v, &ix, 0, &m), BAD, detail);
    t = v;
    t.dtype = unknown[i];
    snprintf(detail, sizeof detail, "values has dtype %u, which is not a MaxpoolDType", (unsigned)unknown[i]);
    REFUSED(fwd(&in, &t, &ix, 0, &m), BAD, detail);
    t = ix;
    t.dtype = unknown[i];
    REFUSED(fwd(&in, &v, &t, 0, &m), BAD, "indices has dtype");
    t = m;
    t.dtype = unknown[i];
    REFUSED(fwd(&in, &v, &ix, 0, &t), BAD, "multiplier has dtype");
    t = gi;
    t.dtype = unknown[i];
    REFUSED(bwd(&go, &gix, 0, &t), BAD, "grad_input has dtype");
    t = go;
    t.dtype = unknown[i];
    REFUSED(bwd(&t, &gix, 0, &gi), BAD, "grad_output has dtype");
    snprintf(detail, sizeof detail, "index_format %u is not a MaxpoolIndexFormat", (unsigned)unknown[i]);
    REFUSED(fwd(&in, &v, &ix, unknown[i], &m), BAD, detail);
    REFUSED(fwd(&in, &v, NULL, unknown[i], NULL), BAD, detail);
    REFUSED(bwd(&go, &gix, unknown[i], &gi), BAD, detail);
  }
  REFUSED(fwd(&in, &v, &ix, 5, &m), BAD, "expected one of 0 (MAXPOOL_INDEX_PLANE), 1 (MAXPOOL_INDEX_FLAT_NCHW)");
  /* 8 and 9 are f16 and bf16 (half.c): the dtypes are known, and here only of the wrong type. */
  MaxpoolTensor t = in;
  t.dtype = 8;
  REFUSED(fwd(&t, &v, &ix, 0, &m), UNSUP, "values has dtype MAXPOOL_DTYPE_F32 (float); values are of the input's "
                                          "dtype, MAXPOOL_DTYPE_F16 (uint16_t holding IEEE binary16 bits)");
  t = go;
  t.dtype = 9;
  REFUSED(bwd(&t, &gix, 0, &gi), UNSUP, "grad_input is of grad_output's dtype, MAXPOOL_DTYPE_BF16");
}

static void types_that_do_not_go_together(void) {
  const MaxpoolStatus UNSUP = MAXPOOL_STATUS_UNSUPPORTED;
  MaxpoolTensor t = v;
  t.dtype = MAXPOOL_DTYPE_F64;
  REFUSED(fwd(&in, &t, &ix, 0, &m), UNSUP,
          "values has dtype MAXPOOL_DTYPE_F64 (double); values are of the input's dtype, MAXPOOL_DTYPE_F32 (float)");
  t = v;
  t.dtype = MAXPOOL_DTYPE_I32;
  REFUSED(fwd(&in, &t, NULL, 0, NULL), UNSUP, "values has dtype MAXPOOL_DTYPE_I32");
  t = m;
  t.dtype = MAXPOOL_DTYPE_I32;
  REFUSED(fwd(&in, &v, &ix, 0, &t), UNSUP,
          "multiplier has dtype MAXPOOL_DTYPE_I32 (int32_t); the multiplier is MAXPOOL_DTYPE_U32");
  MaxpoolTensor in_u32 = in, v_u32 = v;
  in_u32.dtype = v_u32.dtype = MAXPOOL_DTYPE_U32;
  REFUSED(fwd(&in_u32, &v_u32, NULL, 0, NULL), UNSUP, "input has dtype MAXPOOL_DTYPE_U32 (uint32_t)");
  const MaxpoolDType not_indices[] = {MAXPOOL_DTYPE_F32, MAXPOOL_DTYPE_F64, MAXPOOL_DTYPE_I8, MAXPOOL_DTYPE_I16,
                                      MAXPOOL_DTYPE_U16, MAXPOOL_DTYPE_U32};
  for (size_t i = 0; i < sizeof not_indices / sizeof not_indices[0]; i++) {
    t = ix;
    t.dtype = not_indices[i];
    REFUSED(fwd(&in, &v, &t, 0, &m), UNSUP, "indices has dtype");
    CHECK(strstr(maxpool_last_error(), "indices are MAXPOOL_DTYPE_I64") != NULL, "%s", maxpool_last_error());
    t = gix;
    t.dtype = not_indices[i];
    REFUSED(bwd(&go, &t, 0, &gi), UNSUP, "indices has dtype");
  }
  /* uint8_t indices hold only window taps. */
  t = ix;
  t.dtype = MAXPOOL_DTYPE_U8;
  for (size_t f = 0; f < 4; f++) {
    REFUSED(fwd(&in, &v, &t, FORMATS[f], &m), UNSUP, "u8 indices hold only the window format's tap numbers");
    REFUSED(bwd(&go, &t, FORMATS[f], &gi), UNSUP, "u8 indices hold only the window format's tap numbers");
  }
  /* The backward pass is for floats, of one type. */
  t = go;
  t.dtype = MAXPOOL_DTYPE_I32;
  MaxpoolTensor t2 = gi;
  t2.dtype = MAXPOOL_DTYPE_I32;
  REFUSED(bwd(&t, &gix, 0, &t2), UNSUP,
          "grad_output has dtype MAXPOOL_DTYPE_I32 (int32_t); the backward pass is for MAXPOOL_DTYPE_F32");
  t = gi;
  t.dtype = MAXPOOL_DTYPE_F64;
  REFUSED(bwd(&go, &gix, 0, &t), UNSUP,
          "grad_input has dtype MAXPOOL_DTYPE_F64 (double); grad_input is of grad_output's dtype");
}

/* Indices too narrow for the largest index of the call's format. */
static void narrow_indices(void) {
  const MaxpoolStatus UNSUP = MAXPOOL_STATUS_UNSUPPORTED;
  /* One 65536 x 65536 window over a 65536 x 65536 plane: its plane indices reach 2^32 - 1. The input is one
     element seen everywhere (strides 0): nothing is read before the refusal. */
  MaxpoolParams huge = maxpool_params(65536, 1);
  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_NAIVE, &huge, 65536, 65536, &plan), MAXPOOL_STATUS_OK);
  MaxpoolTensor one = {b_in, MAXPOOL_DTYPE_F32, {1, 1, 65536, 65536}, {0, 0, 0, 0}};
  MaxpoolTensor value = maxpool_tensor_nchw(b_values, MAXPOOL_DTYPE_F32, 1, 1, 1, 1);
  MaxpoolTensor winner = maxpool_tensor_nchw(b_indices, MAXPOOL_DTYPE_I32, 1, 1, 1, 1);
  reset();
  CHECK_ERROR(maxpool_plan_forward_tensor(plan, &one, &value, &winner, MAXPOOL_INDEX_PLANE, NULL), UNSUP,
              "i32 indices cannot hold this call's largest plane index, 4294967295; use i64");
  CHECK(untouched(), "narrow i32 indices: written");
  /* A window of 17 x 16 = 272 taps does not fit uint8_t. */
  MaxpoolParams wide = maxpool_params(1, 1);
  wide.kernel_h = 17;
  wide.kernel_w = 16;
  MaxpoolPlan *plan2 = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_SIMD, &wide, 20, 20, &plan2), MAXPOOL_STATUS_OK);
  MaxpoolTensor input = maxpool_tensor_nchw(b_in, MAXPOOL_DTYPE_F32, 1, 1, 20, 20);
  MaxpoolTensor vals = maxpool_tensor_nchw(b_values, MAXPOOL_DTYPE_F32, 1, 1, 4, 5);
  MaxpoolTensor taps = maxpool_tensor_nchw(b_indices, MAXPOOL_DTYPE_U8, 1, 1, 4, 5);
  reset();
  CHECK_ERROR(maxpool_plan_forward_tensor(plan2, &input, &vals, &taps, MAXPOOL_INDEX_WINDOW, NULL), UNSUP,
              "u8 indices cannot hold this call's largest window index, 271");
  CHECK(untouched(), "narrow u8 indices: written");
  MaxpoolTensor grads = maxpool_tensor_nchw(b_grad_output, MAXPOOL_DTYPE_F32, 1, 1, 4, 5);
  MaxpoolTensor grad_in = maxpool_tensor_nchw(b_grad_input, MAXPOOL_DTYPE_F32, 1, 1, 20, 20);
  memset(b_indices, 0, 20);
  CHECK_ERROR(maxpool_plan_backward_tensor(plan2, &grads, &taps, MAXPOOL_INDEX_WINDOW, &grad_in), UNSUP,
              "u8 indices cannot hold");
  CHECK(all_sentinel(b_grad_input, sizeof b_grad_input), "narrow u8 indices: grad_input written");
  maxpool_plan_free(plan2);
  maxpool_plan_free(plan);
}

static void shapes(void) {
  const MaxpoolStatus BAD = MAXPOOL_STATUS_INVALID_SHAPE;
  /* The input's H and W are the plan's. */
  MaxpoolTensor t = maxpool_tensor_nhwc(b_in, MAXPOOL_DTYPE_F32, N, H - 1, W, C);
  REFUSED(fwd(&t, &v, &ix, 0, &m), BAD,
          "the input has shape (N, C, H, W) = (2, 3, 6, 6) but the plan was made for planes of 7 × 6");
  t = maxpool_tensor_nhwc(b_in, MAXPOOL_DTYPE_F32, N, H, W + 1, C);
  REFUSED(fwd(&t, &v, NULL, 0, NULL), BAD, "the plan was made for planes of 7 × 6");
  /* Outputs follow from the input. */
  t = maxpool_tensor_nhwc(b_values, MAXPOOL_DTYPE_F32, N, OH + 1, OW, C);
  REFUSED(fwd(&in, &t, &ix, 0, &m), BAD,
          "values has shape (N, C, H, W) = (2, 3, 5, 5) but the call needs (N, C, H, W) = (2, 3, 4, 5)");
  t = maxpool_tensor_nhwc(b_values, MAXPOOL_DTYPE_F32, 1, OH, OW, C);
  REFUSED(fwd(&in, &t, &ix, 0, &m), BAD, "values has shape (N, C, H, W) = (1, 3, 4, 5)");
  t = maxpool_tensor_nhwc(b_values, MAXPOOL_DTYPE_F32, N, OH, OW, C - 1);
  REFUSED(fwd(&in, &t, &ix, 0, &m), BAD, "values has shape (N, C, H, W) = (2, 2, 4, 5)");
  t = maxpool_tensor_nhwc(b_indices, MAXPOOL_DTYPE_I64, N, OH, OW - 1, C);
  REFUSED(fwd(&in, &v, &t, 0, &m), BAD, "indices has shape");
  t = maxpool_tensor_nhwc(b_multiplier, MAXPOOL_DTYPE_U32, N, OH, OW, C);
  REFUSED(fwd(&in, &v, &ix, 0, &t), BAD,
          "multiplier has shape (N, C, H, W) = (2, 3, 4, 5) but the call needs (N, C, H, W) = (2, 3, 7, 6)");
  /* Backward: grad_input is the plan's; grad_output and the indices follow from it. */
  t = maxpool_tensor_nhwc(b_grad_input, MAXPOOL_DTYPE_F32, N, H, W - 1, C);
  REFUSED(bwd(&go, &gix, 0, &t), BAD,
          "grad_input has shape (N, C, H, W) = (2, 3, 7, 5) but the plan was made for planes of 7 × 6");
  t = maxpool_tensor_nhwc(b_grad_output, MAXPOOL_DTYPE_F32, 1, OH, OW, C);
  REFUSED(bwd(&t, &gix, 0, &gi), BAD, "grad_output has shape");
  t = maxpool_tensor_nhwc(good_indices, MAXPOOL_DTYPE_I64, N, OH - 1, OW, C);
  REFUSED(bwd(&go, &t, 0, &gi), BAD, "indices has shape");
  /* The same, dense NCHW, where the per-dtype calls' path would run. */
  MaxpoolTensor nchw_go = maxpool_tensor_nchw(b_grad_output, MAXPOOL_DTYPE_F32, N, C, OH, OW);
  MaxpoolTensor nchw_ix = maxpool_tensor_nchw(good_indices, MAXPOOL_DTYPE_I64, N, C, OH, OW);
  t = maxpool_tensor_nchw(b_grad_input, MAXPOOL_DTYPE_F32, N, C, H + 1, W);
  REFUSED(bwd(&nchw_go, &nchw_ix, 0, &t), BAD, "grad_input has shape (N, C, H, W) = (2, 3, 8, 6)");
  t = maxpool_tensor_nchw(b_grad_input, MAXPOOL_DTYPE_F32, 1, C, H, W);
  REFUSED(bwd(&nchw_go, &nchw_ix, 0, &t), BAD,
          "grad_output has shape (N, C, H, W) = (2, 3, 4, 5) but the call needs (N, C, H, W) = (1, 3, 4, 5)");
}

static void strides(void) {
  const MaxpoolStatus BAD = MAXPOOL_STATUS_INVALID_SHAPE;
  /* Largest offsets that overflow size_t, or reach past PTRDIFF_MAX bytes: refused before any memory is touched
     (the buffers are far smaller). */
  MaxpoolTensor t = v;
  t.strides[0] = SIZE_MAX;
  REFUSED(fwd(&in, &t, &ix, 0, &m), BAD, "the largest offset of values (its shape times its strides) overflows size_t");
  t = in;
  t.strides[2] = SIZE_MAX / 4;
  REFUSED(fwd(&t, &v, &ix, 0, &m), BAD, "the largest offset of input");
  t = m;
  t.strides[0] = SIZE_MAX / 4;
  REFUSED(fwd(&in, &v, &ix, 0, &t), BAD, "multiplier would span");
  CHECK(strstr(maxpool_last_error(), "more than PTRDIFF_MAX bytes") != NULL, "%s", maxpool_last_error());
  t = gi;
  t.strides[1] = SIZE_MAX / 2;
  REFUSED(bwd(&go, &gix, 0, &t), BAD, "the largest offset of grad_input");
  /* Strides that saturated in the constructor are refused the same way. */
  MaxpoolTensor saturated = maxpool_tensor_nchw(b_values, MAXPOOL_DTYPE_F32, 2, SIZE_MAX / 2, OH, OW);
  REFUSED(fwd(&in, &saturated, &ix, 0, &m), BAD, "overflows size_t");
  saturated = maxpool_tensor_nhwc(b_in, MAXPOOL_DTYPE_F32, SIZE_MAX, H, W, C);
  REFUSED(fwd(&saturated, &v, &ix, 0, &m), BAD, "the largest offset of input");

  /* Outputs whose strides put two elements in one place. */
  t = v;
  t.strides[0] = t.strides[1] = t.strides[2] = t.strides[3] = 0;
  REFUSED(fwd(&in, &t, &ix, 0, &m), BAD, "the strides of values, [0, 0, 0, 0], put two of its elements in one place");
  t = ix;
  t.strides[0] = 0; /* both images' indices in one place */
  REFUSED(fwd(&in, &v, &t, 0, &m), BAD, "the strides of indices");
  t = m;
  t.strides[2] = 1; /* rows one element apart */
  REFUSED(fwd(&in, &v, &ix, 0, &t), BAD, "the strides of multiplier");
  t = gi;
  t.strides[3] = 1; /* columns and channels interleaved */
  REFUSED(bwd(&go, &gix, 0, &t), BAD, "the strides of grad_input");
}

static void overlaps(void) {
  const MaxpoolStatus BAD = MAXPOOL_STATUS_INVALID_SHAPE;
  MaxpoolTensor t = ix;
  t.data = b_values;
  REFUSED(fwd(&in, &v, &t, 0, &m), BAD, "values overlaps indices");
  t = v;
  t.data = b_in + 8;
  REFUSED(fwd(&in, &t, NULL, 0, NULL), BAD, "values overlaps input");
  t = m;
  t.data = arena + 64;
  MaxpoolTensor t2 = ix;
  t2.data = arena;
  REFUSED(fwd(&in, &v, &t2, 0, &t), BAD, "indices overlaps multiplier");
  t = m;
  t.data = b_in;
  REFUSED(fwd(&in, &v, NULL, 0, &t), BAD, "multiplier overlaps input");
  t = gi;
  t.data = b_grad_output;
  REFUSED(bwd(&go, &gix, 0, &t), BAD, "grad_input overlaps grad_output");
  t = gi;
  t.data = arena + 512;
  t2 = gix;
  t2.data = arena;
  REFUSED(bwd(&go, &t2, 0, &t), BAD, "grad_input overlaps indices");
  /* Inputs may share memory with each other. */
  MaxpoolTensor shared = go;
  shared.data = b_in;
  reset();
  CHECK_STATUS(bwd(&shared, &gix, 0, &gi), MAXPOOL_STATUS_OK);
}

/* Indices that name no element of their window's plane, in each format: nothing is written. */
static void bad_indices(void) {
  const MaxpoolStatus OOR = MAXPOOL_STATUS_INDEX_OUT_OF_RANGE;
  static _Alignas(16) unsigned char idx[OUT * 8];
  /* Valid indices of every format, then one bad one at the last output. */
  static const struct {
    MaxpoolIndexFormat format;
    MaxpoolDType type;
    int64_t bad;
    const char *detail;
  } cases[] = {
      /* Dense NCHW int64_t plane indices take the per-dtype calls' path, and give its message. */
      {MAXPOOL_INDEX_PLANE, MAXPOOL_DTYPE_I64, H * W,
       "index 42 at output 19 of plane 5 is outside the plane's 42 elements"},
      {MAXPOOL_INDEX_PLANE, MAXPOOL_DTYPE_I32, -1,
       "index -1 (plane format) at output (n, c, oh, ow) = (1, 2, 3, 4) is negative"},
      {MAXPOOL_INDEX_FLAT_NCHW, MAXPOOL_DTYPE_I64, 0,
       "index 0 (flat_nchw format) at output (n, c, oh, ow) = (1, 2, 3, 4) is before its (n, c) plane"},
      {MAXPOOL_INDEX_FLAT_NHWC, MAXPOOL_DTYPE_I32, 1, "names channel 1 of 3, not its own, 2"},
      {MAXPOOL_INDEX_FLAT_HWC, MAXPOOL_DTYPE_I64, INT64_MAX, "flat_hwc format"},
      {MAXPOOL_INDEX_WINDOW, MAXPOOL_DTYPE_U8, KH * KW,
       "index 6 (window format) at output (n, c, oh, ow) = (1, 2, 3, 4) is not a tap of a 3 × 2 window"},
      /* The last window's bottom row of taps lies in the padding. */
      {MAXPOOL_INDEX_WINDOW, MAXPOOL_DTYPE_U8, 2 * KW, "names tap (2, 0), which lies in the padding"},
  };
  static float in_f32[IN], vals[OUT];
  fill_f32(in_f32, IN);
  MaxpoolTensor input = maxpool_tensor_nchw(in_f32, MAXPOOL_DTYPE_F32, N, C, H, W);
  MaxpoolTensor value = maxpool_tensor_nchw(vals, MAXPOOL_DTYPE_F32, N, C, OH, OW);
  MaxpoolTensor g = maxpool_tensor_nchw(b_grad_output, MAXPOOL_DTYPE_F32, N, C, OH, OW);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    MaxpoolTensor t = maxpool_tensor_nchw(idx, cases[i].type, N, C, OH, OW);
    CHECK_STATUS(maxpool_plan_forward_tensor(bad_plan, &input, &value, &t, cases[i].format, NULL), MAXPOOL_STATUS_OK);
    set_index(idx, cases[i].type, OUT - 1, cases[i].bad);
    MaxpoolTensor grad_in = maxpool_tensor_nchw(b_grad_input, MAXPOOL_DTYPE_F32, N, C, H, W);
    REFUSED(bwd(&g, &t, cases[i].format, &grad_in), OOR, cases[i].detail);
  }
}

static void bad_inputs(void) {
  MaxpoolParams p = geometry();
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_SIMD, &p, H, W, &bad_plan), MAXPOOL_STATUS_OK);
  for (size_t i = 0; i < IN; i++) b_in[i] = (float)((i * 13) % 7);
  for (size_t i = 0; i < OUT; i++) b_grad_output[i] = 1.0f;
  good_tensors();
  /* The unchanged calls succeed. */
  CHECK_ERROR(fwd(&in, &v, &gix, MAXPOOL_INDEX_PLANE, &m), MAXPOOL_STATUS_OK, "");
  CHECK_ERROR(bwd(&go, &gix, MAXPOOL_INDEX_PLANE, &gi), MAXPOOL_STATUS_OK, "");
  null_and_misaligned();
  unknown_values();
  types_that_do_not_go_together();
  narrow_indices();
  shapes();
  strides();
  overlaps();
  bad_indices();
  maxpool_plan_free(bad_plan);
}

int main(void) {
  constructors();
  forward_equals_the_per_dtype_calls();
  optional_outputs();
  strided_views();
  backward_round_trips();
  kernel_names();
  bad_inputs();
  return harness_finish("tensors");
}
