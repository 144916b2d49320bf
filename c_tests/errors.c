/*
 * Each kind of bad input gets its status, and no output buffer is touched: every output starts filled with a
 * sentinel and must still hold it afterwards.
 */
#include <stdlib.h>

#include "harness.h"

#define SENTINEL 0xAB

static float input[2 * 16];
static float values[2 * 16];
static int64_t indices[2 * 16];
static uint32_t multiplier[2 * 16];
static float grad_input[2 * 16];

static void reset_outputs(void) {
  memset(values, SENTINEL, sizeof values);
  memset(indices, SENTINEL, sizeof indices);
  memset(multiplier, SENTINEL, sizeof multiplier);
  memset(grad_input, SENTINEL, sizeof grad_input);
}

static int untouched(const void *buffer, size_t bytes) {
  const unsigned char *b = buffer;
  for (size_t i = 0; i < bytes; i++)
    if (b[i] != SENTINEL) return 0;
  return 1;
}

#define CHECK_UNTOUCHED(what)                                                                                \
  do {                                                                                                       \
    CHECK(untouched(values, sizeof values), "%s: values written", what);                                     \
    CHECK(untouched(indices, sizeof indices), "%s: indices written", what);                                  \
    CHECK(untouched(multiplier, sizeof multiplier), "%s: multiplier written", what);                         \
    CHECK(untouched(grad_input, sizeof grad_input), "%s: grad_input written", what);                         \
  } while (0)

/* A forward call on 4×4 planes that must fail with `want` and write nothing, one-shot and, where the
   parameters make a plan, through the plan. */
static void forward_fails(MaxpoolBackend backend, MaxpoolParams params, size_t planes, size_t h, size_t w,
                          const float *in, float *vals, int64_t *idx, uint32_t *mult, MaxpoolStatus want,
                          const char *what) {
  reset_outputs();
  CHECK_STATUS(maxpool_forward_f32(backend, &params, in, planes, h, w, vals, idx, mult), want);
  CHECK_UNTOUCHED(what);
  CHECK(strlen(maxpool_last_error()) > 0, "%s: no message from maxpool_last_error", what);
  MaxpoolPlan *plan = (MaxpoolPlan *)&plan; /* a sentinel: plan_new must not write it on failure */
  MaxpoolStatus made = maxpool_plan_new(backend, &params, h, w, &plan);
  if (made == MAXPOOL_STATUS_OK) {
    CHECK_STATUS(maxpool_plan_forward_f32(plan, in, planes, vals, idx, mult), want);
    CHECK_UNTOUCHED(what);
    maxpool_plan_free(plan);
  } else {
    CHECK(made == want, "%s: plan_new gave %u, want %u", what, made, want);
    CHECK(plan == (MaxpoolPlan *)&plan, "%s: plan_new wrote *plan on failure", what);
  }
}

static void null_pointers(void) {
  MaxpoolParams p = maxpool_params(2, 2);
  const MaxpoolStatus NUL = MAXPOOL_STATUS_NULL_POINTER;
  forward_fails(MAXPOOL_BACKEND_NAIVE, p, 1, 4, 4, NULL, values, indices, multiplier, NUL, "NULL input");
  forward_fails(MAXPOOL_BACKEND_NAIVE, p, 1, 4, 4, input, NULL, indices, multiplier, NUL, "NULL values");
  reset_outputs();
  CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, NULL, input, 1, 4, 4, values, indices, multiplier), NUL);
  CHECK_UNTOUCHED("NULL params");
  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_NAIVE, NULL, 4, 4, &plan), NUL);
  CHECK(plan == NULL, "plan_new with NULL params wrote *plan");
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_NAIVE, &p, 4, 4, NULL), NUL);
  CHECK_STATUS(maxpool_plan_forward_f32(NULL, input, 1, values, indices, multiplier), NUL);
  CHECK_UNTOUCHED("NULL plan");
  /* The optional outputs may be NULL; an empty batch needs no buffers at all. */
  CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, input, 1, 4, 4, values, NULL, NULL), MAXPOOL_STATUS_OK);
  CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, NULL, 0, 4, 4, NULL, NULL, NULL), MAXPOOL_STATUS_OK);

  size_t oh = 7, ow = 7;
  CHECK_STATUS(maxpool_output_shape(NULL, 4, 4, &oh, &ow), NUL);
  CHECK_STATUS(maxpool_output_shape(&p, 4, 4, NULL, &ow), NUL);
  CHECK_STATUS(maxpool_output_shape(&p, 4, 4, &oh, NULL), NUL);
  CHECK(oh == 7 && ow == 7, "output_shape wrote a size on failure");

  int64_t idx[4] = {0, 1, 2, 3};
  float grad[4] = {1, 1, 1, 1};
  reset_outputs();
  CHECK_STATUS(maxpool_backward_f32(NULL, 1, 4, 4, grad, idx, grad_input), NUL);
  CHECK_STATUS(maxpool_backward_f32(&p, 1, 4, 4, NULL, idx, grad_input), NUL);
  CHECK_STATUS(maxpool_backward_f32(&p, 1, 4, 4, grad, NULL, grad_input), NUL);
  CHECK_STATUS(maxpool_backward_f32(&p, 1, 4, 4, grad, idx, NULL), NUL);
  CHECK_UNTOUCHED("backward with a NULL");

  MaxpoolBackend backend = MAXPOOL_BACKEND_LOOKUP;
  CHECK_STATUS(maxpool_backend_from_name(NULL, &backend), NUL);
  CHECK_STATUS(maxpool_backend_from_name("naive", NULL), NUL);
  CHECK(backend == MAXPOOL_BACKEND_LOOKUP, "backend_from_name wrote on failure");
  CHECK_STATUS(maxpool_backend_supports(MAXPOOL_BACKEND_NAIVE, NULL), NUL);
  CHECK(maxpool_plan_backend(NULL) == MAXPOOL_BACKEND_AUTO, "plan_backend(NULL)");
  maxpool_plan_free(NULL);
}

static void invalid_params(void) {
  const MaxpoolStatus BAD = MAXPOOL_STATUS_INVALID_PARAMS;
  for (size_t b = 0; b < N_BACKENDS; b++) {
    MaxpoolBackend backend = ALL_BACKENDS[b];
    MaxpoolParams p = maxpool_params(2, 2);
    p.kernel_h = 0;
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, BAD, "kernel_h 0");
    p = maxpool_params(2, 2);
    p.kernel_w = 0;
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, BAD, "kernel_w 0");
    p = maxpool_params(2, 2);
    p.stride_h = 0;
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, BAD, "stride_h 0");
    p = maxpool_params(2, 2);
    p.stride_w = 0;
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, BAD, "stride_w 0");
    p = maxpool_params(2, 2);
    p.dilation_h = 0;
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, BAD, "dilation_h 0");
    p = maxpool_params(2, 2);
    p.dilation_w = 0;
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, BAD, "dilation_w 0");
    /* The first window would cover only padding rows. */
    p = maxpool_params(2, 2);
    p.pad_top = 2;
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, BAD, "a window wholly in padding");
    p = maxpool_params(2, 2);
    p.pad_right = 3;
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, BAD, "a window wholly in right padding");
  }
}

static void invalid_shapes(void) {
  const MaxpoolStatus BAD = MAXPOOL_STATUS_INVALID_SHAPE;
  MaxpoolParams p = maxpool_params(2, 2);
  for (size_t b = 0; b < N_BACKENDS; b++) {
    MaxpoolBackend backend = ALL_BACKENDS[b];
    forward_fails(backend, p, 1, 0, 4, input, values, indices, multiplier, BAD, "height 0");
    forward_fails(backend, p, 1, 4, 0, input, values, indices, multiplier, BAD, "width 0");
    MaxpoolParams big = maxpool_params(5, 5);
    forward_fails(backend, big, 1, 4, 4, input, values, indices, multiplier, BAD, "a window larger than the input");
    /* Byte counts that overflow are refused before any memory is touched (the buffers are far smaller). */
    forward_fails(backend, p, SIZE_MAX, 4, 4, input, values, indices, multiplier, BAD, "planes SIZE_MAX");
    forward_fails(backend, p, SIZE_MAX / 64, 4, 4, input, values, indices, multiplier, BAD, "bytes overflow");
    forward_fails(backend, p, 1, SIZE_MAX / 2, 4, input, values, indices, multiplier, BAD, "height SIZE_MAX/2");
    forward_fails(backend, p, 1, (size_t)1 << 32, (size_t)1 << 32, input, values, indices, multiplier, BAD,
                  "height x width overflows");
  }
  size_t oh = 7, ow = 7;
  CHECK_STATUS(maxpool_output_shape(&p, 0, 4, &oh, &ow), BAD);
  CHECK_STATUS(maxpool_output_shape(&p, 1, 4, &oh, &ow), BAD);
  CHECK(oh == 7 && ow == 7, "output_shape wrote a size on failure");

  /* Outputs that overlap each other or the input. */
  forward_fails(MAXPOOL_BACKEND_NAIVE, p, 1, 4, 4, input, values, (int64_t *)(void *)values, NULL, BAD,
                "values and indices overlap");
  forward_fails(MAXPOOL_BACKEND_NAIVE, p, 1, 4, 4, input, values, NULL, (uint32_t *)(void *)(values + 2), BAD,
                "values and multiplier overlap");
  memcpy(values, input, sizeof input);
  reset_outputs();
  CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, values, 1, 4, 4, values + 8, NULL, NULL), BAD);
  CHECK_UNTOUCHED("values inside the input");
  int64_t idx[4] = {0, 1, 2, 3};
  reset_outputs();
  CHECK_STATUS(maxpool_backward_f32(&p, 1, 4, 4, grad_input + 4, idx, grad_input), BAD);
  CHECK_UNTOUCHED("grad_output inside grad_input");
}

static void unsupported(void) {
  const MaxpoolStatus UNSUP = MAXPOOL_STATUS_UNSUPPORTED;
  MaxpoolParams overlapping = maxpool_params(3, 1);
  forward_fails(MAXPOOL_BACKEND_BLOCK, overlapping, 1, 4, 4, input, values, indices, multiplier, UNSUP,
                "block with overlapping windows");
  CHECK_STATUS(maxpool_backend_supports(MAXPOOL_BACKEND_BLOCK, &overlapping), UNSUP);
  MaxpoolParams dilated = maxpool_params(2, 2);
  dilated.dilation_w = 2;
  forward_fails(MAXPOOL_BACKEND_BLOCK, dilated, 1, 4, 4, input, values, indices, multiplier, UNSUP,
                "block with dilated windows");
  CHECK_STATUS(maxpool_backend_supports(MAXPOOL_BACKEND_BLOCK, &dilated), UNSUP);
  MaxpoolParams gapped = maxpool_params(2, 3);
  forward_fails(MAXPOOL_BACKEND_BLOCK, gapped, 1, 4, 4, input, values, indices, multiplier, UNSUP,
                "block with gaps between windows");
}

static void unknown_backends(void) {
  const MaxpoolStatus UNK = MAXPOOL_STATUS_UNKNOWN_BACKEND;
  /* In C, MaxpoolBackend is a uint32_t: any of its values may arrive, and none is undefined behaviour. */
  const uint32_t bad[] = {5, 6, 99, 0x80000000u, UINT32_MAX};
  MaxpoolParams p = maxpool_params(2, 2);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    MaxpoolBackend backend = (MaxpoolBackend)bad[i];
    forward_fails(backend, p, 1, 4, 4, input, values, indices, multiplier, UNK, "an unknown backend value");
    CHECK_STATUS(maxpool_backend_supports(backend, &p), UNK);
    CHECK(strcmp(maxpool_backend_name(backend), "unknown") == 0, "name of backend %u", bad[i]);
  }
  static const char *const names[] = {"", "fast", "naive ", "naive-", "look up", "\xff\xfe", "sliding"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    MaxpoolBackend backend = MAXPOOL_BACKEND_LOOKUP;
    CHECK_STATUS(maxpool_backend_from_name(names[i], &backend), UNK);
    CHECK(backend == MAXPOOL_BACKEND_LOOKUP, "backend_from_name(\"%s\") wrote on failure", names[i]);
  }
}

static void index_out_of_range(void) {
  MaxpoolParams p = maxpool_params(2, 2);
  float grad[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  /* Two planes of 4×4: each plane's indices must lie in 0..15; the bad one is last, after valid ones. */
  const int64_t bad[] = {16, -1, INT64_MIN, INT64_MAX, 31};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t idx[8] = {0, 5, 10, 15, 1, 2, 3, 0};
    idx[7] = bad[i];
    reset_outputs();
    CHECK_STATUS(maxpool_backward_f32(&p, 2, 4, 4, grad, idx, grad_input), MAXPOOL_STATUS_INDEX_OUT_OF_RANGE);
    CHECK_UNTOUCHED("an index outside its plane");
    double grad64[8] = {1, 1, 1, 1, 1, 1, 1, 1}, out64[32];
    memset(out64, SENTINEL, sizeof out64);
    CHECK_STATUS(maxpool_backward_f64(&p, 2, 4, 4, grad64, idx, out64), MAXPOOL_STATUS_INDEX_OUT_OF_RANGE);
    CHECK(untouched(out64, sizeof out64), "f64 backward wrote on failure");
  }
}

static void out_of_memory(void) {
  /* A lookup table for 2^20 × 2^20 planes with 3×3 windows would need about 2^49 bytes: more than the address
     space, so the allocation fails on any machine, and must become a status rather than an abort. */
  MaxpoolParams p = maxpool_params(3, 1);
  MaxpoolPlan *plan = (MaxpoolPlan *)&plan;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_LOOKUP, &p, (size_t)1 << 20, (size_t)1 << 20, &plan),
               MAXPOOL_STATUS_OUT_OF_MEMORY);
  CHECK(plan == (MaxpoolPlan *)&plan, "plan_new wrote *plan on failure");
}

/* maxpool_last_error says what the status cannot: which argument, which field, which value. */
static void messages(void) {
  MaxpoolParams p = maxpool_params(2, 2);
  CHECK(strcmp(maxpool_last_error(), "") != 0, "a failed call before left no message");
  CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, input, 1, 4, 4, values, NULL, NULL), MAXPOOL_STATUS_OK);
  CHECK(strcmp(maxpool_last_error(), "") == 0, "a success leaves \"%s\"", maxpool_last_error());

  /* A designated initialiser that leaves out the dilation gets told so, and where to start instead. */
  MaxpoolParams partial = {.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2};
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_AUTO, &partial, input, 1, 4, 4, values, NULL, NULL),
              MAXPOOL_STATUS_INVALID_PARAMS, "dilation_h is 0; it must be at least 1");
  CHECK(strstr(maxpool_last_error(), "maxpool_params_padded()") != NULL, "no hint: %s", maxpool_last_error());
  MaxpoolParams q = maxpool_params(2, 2);
  q.kernel_w = 0;
  CHECK_ERROR(maxpool_output_shape(&q, 4, 4, &(size_t){0}, &(size_t){0}), MAXPOOL_STATUS_INVALID_PARAMS,
              "kernel_w is 0; it must be at least 1");
  q = maxpool_params(2, 2);
  q.stride_h = 0;
  CHECK_ERROR(maxpool_backend_supports(MAXPOOL_BACKEND_SIMD, &q), MAXPOOL_STATUS_INVALID_PARAMS, "stride_h is 0");
  CHECK_ERROR(maxpool_output_shape(&(MaxpoolParams){0}, 4, 4, &(size_t){0}, &(size_t){0}),
              MAXPOOL_STATUS_INVALID_PARAMS, "kernel_h is 0");
  MaxpoolParams seven = maxpool_params(7, 1);
  CHECK_ERROR(maxpool_output_shape(&seven, 5, 5, &(size_t){0}, &(size_t){0}), MAXPOOL_STATUS_INVALID_SHAPE,
              "the window's height, 7, is larger than the input's 5 plus padding");
  q = maxpool_params(2, 2);
  q.pad_left = 2;
  CHECK_ERROR(maxpool_output_shape(&q, 4, 4, &(size_t){0}, &(size_t){0}), MAXPOOL_STATUS_INVALID_PARAMS,
              "covers only padding");

  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, NULL, input, 1, 4, 4, values, NULL, NULL),
              MAXPOOL_STATUS_NULL_POINTER, "params is NULL");
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, NULL, 2, 4, 4, values, NULL, NULL),
              MAXPOOL_STATUS_NULL_POINTER, "input is NULL but must hold 32 elements");
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, input, 2, 4, 4, NULL, NULL, NULL),
              MAXPOOL_STATUS_NULL_POINTER, "values is NULL but must hold 8 elements");
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, input, 1, 4, 4, values, (int64_t *)(void *)values, NULL),
              MAXPOOL_STATUS_INVALID_SHAPE, "values overlaps indices");
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, input, 1, 4, 4, input + 2, NULL, NULL),
              MAXPOOL_STATUS_INVALID_SHAPE, "values overlaps input");
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, input, SIZE_MAX, 4, 4, values, NULL, NULL),
              MAXPOOL_STATUS_INVALID_SHAPE, "overflows size_t");
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, &p, input, 4, 4, 4, values, NULL, NULL),
              MAXPOOL_STATUS_OK, "");
  CHECK_ERROR(maxpool_forward_f32((MaxpoolBackend)7, &p, input, 1, 4, 4, values, NULL, NULL),
              MAXPOOL_STATUS_UNKNOWN_BACKEND, "backend 7 is not a MaxpoolBackend; expected one of 0 (auto), 1 (naive)");
  MaxpoolBackend b;
  CHECK_ERROR(maxpool_backend_from_name("nope", &b), MAXPOOL_STATUS_UNKNOWN_BACKEND,
              "\"nope\" is not a backend; expected one of auto, naive, block, lookup, simd");
  CHECK_ERROR(maxpool_backend_from_name(NULL, &b), MAXPOOL_STATUS_NULL_POINTER, "name is NULL");
  MaxpoolParams overlapping = maxpool_params(3, 1);
  CHECK_ERROR(maxpool_backend_supports(MAXPOOL_BACKEND_BLOCK, &overlapping), MAXPOOL_STATUS_UNSUPPORTED,
              "the block backend cannot pool this geometry: it needs non-overlapping windows");
  CHECK(strstr(maxpool_last_error(), "naive, lookup and simd can") != NULL, "who can: %s", maxpool_last_error());
  int64_t idx[4] = {0, 1, 2, 16};
  float grad[4] = {1, 1, 1, 1};
  CHECK_ERROR(maxpool_backward_f32(&p, 1, 4, 4, grad, idx, grad_input), MAXPOOL_STATUS_INDEX_OUT_OF_RANGE,
              "index 16 at output 3 of plane 0 is outside the plane's 16 elements");
  MaxpoolPlan *plan = NULL;
  CHECK_ERROR(maxpool_plan_new(MAXPOOL_BACKEND_LOOKUP, &overlapping, (size_t)1 << 20, (size_t)1 << 20, &plan),
              MAXPOOL_STATUS_OUT_OF_MEMORY, "out of memory: could not allocate");
  /* Functions that return no status leave the message alone. */
  (void)maxpool_backend_name(MAXPOOL_BACKEND_NAIVE);
  (void)maxpool_status_message(MAXPOOL_STATUS_OK);
  (void)maxpool_plan_backend(NULL);
  maxpool_plan_free(NULL);
  CHECK(strstr(maxpool_last_error(), "out of memory") != NULL, "the message changed: %s", maxpool_last_error());
}

static void bool_and_status_values(void) {
  /* ceil_mode is read as a byte: any nonzero value is true, whatever a C compiler stored there. */
  MaxpoolParams p = maxpool_params(2, 2);
  unsigned char two = 2;
  memcpy(&p.ceil_mode, &two, 1);
  size_t oh = 0, ow = 0;
  CHECK_STATUS(maxpool_output_shape(&p, 5, 5, &oh, &ow), MAXPOOL_STATUS_OK);
  CHECK(oh == 3 && ow == 3, "ceil_mode stored as 2 is ceil mode: %zux%zu", oh, ow);
  const uint32_t bad[] = {MAXPOOL_STATUS_MISALIGNED + 1, 100, UINT32_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *m = maxpool_status_message((MaxpoolStatus)bad[i]);
    CHECK(m != NULL && strcmp(m, "unknown status") == 0, "message of status %u", bad[i]);
  }
}

int main(void) {
  for (size_t i = 0; i < sizeof input / sizeof input[0]; i++) input[i] = (float)((i * 7) % 16);
  null_pointers();
  invalid_params();
  invalid_shapes();
  unsupported();
  unknown_backends();
  index_out_of_range();
  out_of_memory();
  messages();
  bool_and_status_values();
  return harness_finish("errors");
}
