/*
 * Every function of the C ABI and every element type, on the notebook's matrices whose answers are known.
 */
#include <stdlib.h>

#include "harness.h"

/* The notebook's 4×4 matrix: k = 2 gives values [[15,7],[9,8]] and winners [[1,7],[8,15]]. */
static const int NOTEBOOK_4X4[16] = {12, 15, 5, 0, 3, 11, 3, 7, 9, 3, 5, 2, 4, 7, 6, 8};
static const int NOTEBOOK_4X4_VALUES[4] = {15, 7, 9, 8};
static const int64_t NOTEBOOK_4X4_WINNERS[4] = {1, 7, 8, 15};

/* The notebook's sliding window: 6×6, k = 3, stride 1, with its winners and multiplier. */
static const int SLIDING_6X6[36] = {-15, 3,  -5, -4, -12, 0,  13,  3,   -5, -1, -12, 7,  14, 14, -13, 8,  -16, 8,
                                    -9,  -13, -7, -3, -16, 5, -16, 0,   -6, 10, 0,   -4, 14, 6,  -12, -5, -8,  15};
static const int64_t SLIDING_WINNERS[16] = {12, 13, 15, 15, 12, 13, 15, 15, 12, 13, 27, 27, 30, 27, 27, 35};
static const uint32_t SLIDING_MULTIPLIER[36] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 4, 0, 0,
                                                0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 1, 0, 0, 0, 0, 1};

/*
 * For each element type: three planes of the 4×4 matrix (plane p shifted up by p) through the one-shot call with
 * every backend, and through a plan with and without the optional outputs.
 */
#define DEFINE_NOTEBOOK_TEST(sfx, T)                                                                          \
  static void notebook_##sfx(void) {                                                                          \
    enum { PLANES = 3 };                                                                                      \
    T input[PLANES * 16];                                                                                     \
    for (int p = 0; p < PLANES; p++)                                                                          \
      for (int i = 0; i < 16; i++) input[p * 16 + i] = (T)(NOTEBOOK_4X4[i] + p);                             \
    MaxpoolParams params = maxpool_params(2, 2);                                                              \
    for (size_t b = 0; b < N_BACKENDS; b++) {                                                                 \
      MaxpoolBackend backend = ALL_BACKENDS[b];                                                               \
      T values[PLANES * 4];                                                                                   \
      int64_t indices[PLANES * 4];                                                                            \
      uint32_t multiplier[PLANES * 16];                                                                       \
      CHECK_STATUS(maxpool_forward_##sfx(backend, &params, input, PLANES, 4, 4, values, indices, multiplier), \
                   MAXPOOL_STATUS_OK);                                                                        \
      for (int p = 0; p < PLANES; p++) {                                                                      \
        for (int i = 0; i < 4; i++) {                                                                         \
          CHECK(values[p * 4 + i] == (T)(NOTEBOOK_4X4_VALUES[i] + p), #sfx " %s plane %d value %d",           \
                maxpool_backend_name(backend), p, i);                                                         \
          CHECK(indices[p * 4 + i] == NOTEBOOK_4X4_WINNERS[i], #sfx " %s plane %d index %d: %" PRId64,        \
                maxpool_backend_name(backend), p, i, indices[p * 4 + i]);                                     \
        }                                                                                                     \
        for (int i = 0; i < 16; i++) {                                                                        \
          int won = i == 1 || i == 7 || i == 8 || i == 15;                                                    \
          CHECK(multiplier[p * 16 + i] == (uint32_t)won, #sfx " %s plane %d multiplier %d",                   \
                maxpool_backend_name(backend), p, i);                                                         \
        }                                                                                                     \
      }                                                                                                       \
                                                                                                              \
      MaxpoolPlan *plan = NULL;                                                                               \
      CHECK_STATUS(maxpool_plan_new(backend, &params, 4, 4, &plan), MAXPOOL_STATUS_OK);                       \
      if (plan == NULL) continue;                                                                             \
      MaxpoolBackend concrete = maxpool_plan_backend(plan);                                                   \
      CHECK(concrete != MAXPOOL_BACKEND_AUTO && (backend == MAXPOOL_BACKEND_AUTO || concrete == backend),     \
            "plan for %s runs %s", maxpool_backend_name(backend), maxpool_backend_name(concrete));            \
      T values_only[PLANES * 4];                                                                              \
      int64_t plan_indices[PLANES * 4];                                                                       \
      uint32_t plan_multiplier[PLANES * 16];                                                                  \
      memset(plan_multiplier, 0xAB, sizeof plan_multiplier);                                                  \
      CHECK_STATUS(maxpool_plan_forward_##sfx(plan, input, PLANES, values_only, NULL, NULL), MAXPOOL_STATUS_OK); \
      CHECK(memcmp(values_only, values, sizeof values) == 0, #sfx " plan values differ");                     \
      CHECK_STATUS(maxpool_plan_forward_##sfx(plan, input, PLANES, values_only, plan_indices, plan_multiplier), \
                   MAXPOOL_STATUS_OK);                                                                        \
      CHECK(memcmp(plan_indices, indices, sizeof indices) == 0, #sfx " plan indices differ");                 \
      CHECK(memcmp(plan_multiplier, multiplier, sizeof multiplier) == 0, #sfx " plan multiplier differs");    \
      /* An empty batch is valid and needs no buffers. */                                                     \
      CHECK_STATUS(maxpool_plan_forward_##sfx(plan, NULL, 0, NULL, NULL, NULL), MAXPOOL_STATUS_OK);           \
      maxpool_plan_free(plan);                                                                                \
    }                                                                                                         \
  }
MAXPOOL_ELEMENT_TYPES(DEFINE_NOTEBOOK_TEST)

/* The sliding window for the signed types and floats; block cannot do overlapping windows and says so. */
#define DEFINE_SLIDING_TEST(sfx, T)                                                                           \
  static void sliding_##sfx(void) {                                                                           \
    T input[36];                                                                                              \
    for (int i = 0; i < 36; i++) input[i] = (T)SLIDING_6X6[i];                                                \
    MaxpoolParams params = maxpool_params(3, 1);                                                              \
    for (size_t b = 0; b < N_BACKENDS; b++) {                                                                 \
      MaxpoolBackend backend = ALL_BACKENDS[b];                                                               \
      T values[16];                                                                                           \
      int64_t indices[16];                                                                                    \
      uint32_t multiplier[36];                                                                                \
      MaxpoolStatus want = backend == MAXPOOL_BACKEND_BLOCK ? MAXPOOL_STATUS_UNSUPPORTED : MAXPOOL_STATUS_OK; \
      CHECK_STATUS(maxpool_backend_supports(backend, &params), want);                                         \
      CHECK_STATUS(maxpool_forward_##sfx(backend, &params, input, 1, 6, 6, values, indices, multiplier), want); \
      if (want != MAXPOOL_STATUS_OK) continue;                                                                \
      CHECK(memcmp(indices, SLIDING_WINNERS, sizeof indices) == 0, #sfx " %s: sliding-window winners",        \
            maxpool_backend_name(backend));                                                                   \
      CHECK(memcmp(multiplier, SLIDING_MULTIPLIER, sizeof multiplier) == 0, #sfx " %s: multiplier",           \
            maxpool_backend_name(backend));                                                                   \
      for (int i = 0; i < 16; i++)                                                                            \
        CHECK(values[i] == input[SLIDING_WINNERS[i]], #sfx " %s: value %d", maxpool_backend_name(backend), i); \
    }                                                                                                         \
  }
DEFINE_SLIDING_TEST(f32, float)
DEFINE_SLIDING_TEST(f64, double)
DEFINE_SLIDING_TEST(i8, int8_t)
DEFINE_SLIDING_TEST(i16, int16_t)
DEFINE_SLIDING_TEST(i32, int32_t)
DEFINE_SLIDING_TEST(i64, int64_t)

/* Backward: scatter onto the sliding window's winners; all-ones gives the multiplier. */
#define DEFINE_BACKWARD_TEST(sfx, T)                                                                          \
  static void backward_##sfx(void) {                                                                          \
    MaxpoolParams params = maxpool_params(3, 1);                                                              \
    T ones[16], grad_output[16], grad_input[36];                                                              \
    for (int i = 0; i < 16; i++) {                                                                            \
      ones[i] = (T)1;                                                                                         \
      grad_output[i] = (T)(i + 1);                                                                            \
    }                                                                                                         \
    memset(grad_input, 0xAB, sizeof grad_input);                                                              \
    CHECK_STATUS(maxpool_backward_##sfx(&params, 1, 6, 6, ones, SLIDING_WINNERS, grad_input), MAXPOOL_STATUS_OK); \
    for (int i = 0; i < 36; i++)                                                                              \
      CHECK(grad_input[i] == (T)SLIDING_MULTIPLIER[i], #sfx " backward of ones at %d", i);                    \
    CHECK_STATUS(maxpool_backward_##sfx(&params, 1, 6, 6, grad_output, SLIDING_WINNERS, grad_input),          \
                 MAXPOOL_STATUS_OK);                                                                          \
    /* Winner 12 took outputs 0, 4 and 8 (gradients 1, 5, 9); winner 27 took 10, 11, 13 and 14. */            \
    CHECK(grad_input[12] == (T)15, #sfx " gradient at 12");                                                   \
    CHECK(grad_input[27] == (T)(11 + 12 + 14 + 15), #sfx " gradient at 27");                                  \
    CHECK(grad_input[0] == (T)0, #sfx " gradient at a loser");                                                \
    /* Two planes: each plane's indices address its own plane. */                                             \
    T grad2[32], out2[72];                                                                                    \
    int64_t idx2[32];                                                                                         \
    for (int i = 0; i < 32; i++) {                                                                            \
      grad2[i] = (T)1;                                                                                        \
      idx2[i] = SLIDING_WINNERS[i % 16];                                                                      \
    }                                                                                                         \
    CHECK_STATUS(maxpool_backward_##sfx(&params, 2, 6, 6, grad2, idx2, out2), MAXPOOL_STATUS_OK);             \
    for (int i = 0; i < 72; i++)                                                                              \
      CHECK(out2[i] == (T)SLIDING_MULTIPLIER[i % 36], #sfx " two-plane backward at %d", i);                   \
    CHECK_STATUS(maxpool_backward_##sfx(&params, 0, 6, 6, NULL, NULL, NULL), MAXPOOL_STATUS_OK);              \
  }
DEFINE_BACKWARD_TEST(f32, float)
DEFINE_BACKWARD_TEST(f64, double)

static void check_shape(MaxpoolParams params, size_t h, size_t w, size_t want_h, size_t want_w, const char *what) {
  size_t oh = 0, ow = 0;
  CHECK_STATUS(maxpool_output_shape(&params, h, w, &oh, &ow), MAXPOOL_STATUS_OK);
  CHECK(oh == want_h && ow == want_w, "%s: %zux%zu gives %zux%zu, want %zux%zu", what, h, w, oh, ow, want_h, want_w);
}

static void output_shapes(void) {
  MaxpoolParams p = maxpool_params(2, 2);
  check_shape(p, 4, 4, 2, 2, "k2 s2");
  check_shape(p, 5, 5, 2, 2, "k2 s2 floor drops the ragged edge");
  p.ceil_mode = true;
  check_shape(p, 5, 5, 3, 3, "k2 s2 ceil keeps the ragged edge");
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  check_shape(p, 5, 5, 3, 3, "k2 s2 p1 ceil: the last window would start in the trailing padding");

  MaxpoolParams stem = maxpool_params(3, 2);
  stem.pad_top = stem.pad_bottom = stem.pad_left = stem.pad_right = 1;
  check_shape(stem, 112, 112, 56, 56, "ResNet stem");

  MaxpoolParams dilated = maxpool_params(3, 1);
  dilated.dilation_h = 2;
  check_shape(dilated, 10, 10, 6, 8, "dilation 2 on the rows");

  MaxpoolParams rect = maxpool_params(2, 2);
  rect.kernel_w = 3;
  rect.stride_w = 3;
  check_shape(rect, 7, 9, 3, 3, "2x3 windows");
  check_shape(maxpool_params(1, 1), 1, 1, 1, 1, "1x1");
}

static void parameters(void) {
  MaxpoolParams p = maxpool_params(3, 2);
  CHECK(p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 2 && p.stride_w == 2, "kernel and stride");
  CHECK(p.pad_top == 0 && p.pad_bottom == 0 && p.pad_left == 0 && p.pad_right == 0, "no padding");
  CHECK(p.dilation_h == 1 && p.dilation_w == 1 && !p.ceil_mode, "dilation 1, floor mode");
  MaxpoolParams padded = maxpool_params_padded(3, 2, 1);
  CHECK(padded.kernel_h == 3 && padded.kernel_w == 3 && padded.stride_h == 2 && padded.stride_w == 2,
        "padded: kernel and stride");
  CHECK(padded.pad_top == 1 && padded.pad_bottom == 1 && padded.pad_left == 1 && padded.pad_right == 1,
        "padded: padding on every side");
  CHECK(padded.dilation_h == 1 && padded.dilation_w == 1 && !padded.ceil_mode, "padded: dilation 1, floor mode");
  check_shape(padded, 112, 112, 56, 56, "maxpool_params_padded(3, 2, 1): the ResNet stem");
}

/* A plan gives its output shape, and its backward pass equals the one-shot one. */
static void plan_shape_and_backward(void) {
  MaxpoolParams params = maxpool_params_padded(3, 2, 1);
  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_AUTO, &params, 7, 9, &plan), MAXPOOL_STATUS_OK);
  if (plan == NULL) return;
  size_t oh = 0, ow = 0, want_h = 0, want_w = 0;
  CHECK_STATUS(maxpool_plan_output_shape(plan, &oh, &ow), MAXPOOL_STATUS_OK);
  CHECK_STATUS(maxpool_output_shape(&params, 7, 9, &want_h, &want_w), MAXPOOL_STATUS_OK);
  CHECK(oh == 4 && ow == 5 && oh == want_h && ow == want_w, "plan output shape %zux%zu, want 4x5", oh, ow);
  size_t keep_h = 77, keep_w = 77;
  CHECK_ERROR(maxpool_plan_output_shape(NULL, &keep_h, &keep_w), MAXPOOL_STATUS_NULL_POINTER, "plan is NULL");
  CHECK_ERROR(maxpool_plan_output_shape(plan, &keep_h, NULL), MAXPOOL_STATUS_NULL_POINTER, "out_width is NULL");
  CHECK(keep_h == 77 && keep_w == 77, "plan_output_shape wrote on failure");

  enum { PLANES = 3, IN = 7 * 9, OUT = 4 * 5 };
  float input[PLANES * IN], values[PLANES * OUT], grad[PLANES * OUT], via_plan[PLANES * IN], once[PLANES * IN];
  double grad64[PLANES * OUT], via_plan64[PLANES * IN], once64[PLANES * IN];
  int64_t indices[PLANES * OUT];
  uint32_t multiplier[PLANES * IN];
  for (int i = 0; i < PLANES * IN; i++) input[i] = (float)((i * 29) % 23);
  for (int i = 0; i < PLANES * OUT; i++) grad[i] = (float)(grad64[i] = 1.0 + (i % 5));
  CHECK_STATUS(maxpool_plan_forward_f32(plan, input, PLANES, values, indices, multiplier), MAXPOOL_STATUS_OK);
  memset(via_plan, 0xAB, sizeof via_plan);
  CHECK_STATUS(maxpool_plan_backward_f32(plan, PLANES, grad, indices, via_plan), MAXPOOL_STATUS_OK);
  CHECK_STATUS(maxpool_backward_f32(&params, PLANES, 7, 9, grad, indices, once), MAXPOOL_STATUS_OK);
  CHECK(memcmp(via_plan, once, sizeof once) == 0, "plan backward (f32) differs from the one-shot one");
  CHECK_STATUS(maxpool_plan_backward_f64(plan, PLANES, grad64, indices, via_plan64), MAXPOOL_STATUS_OK);
  CHECK_STATUS(maxpool_backward_f64(&params, PLANES, 7, 9, grad64, indices, once64), MAXPOOL_STATUS_OK);
  CHECK(memcmp(via_plan64, once64, sizeof once64) == 0, "plan backward (f64) differs from the one-shot one");
  /* Backward of ones is the multiplier. */
  float ones[PLANES * OUT];
  for (int i = 0; i < PLANES * OUT; i++) ones[i] = 1.0f;
  CHECK_STATUS(maxpool_plan_backward_f32(plan, PLANES, ones, indices, via_plan), MAXPOOL_STATUS_OK);
  for (int i = 0; i < PLANES * IN; i++)
    CHECK(via_plan[i] == (float)multiplier[i], "plan backward of ones at %d: %g, multiplier %u", i, via_plan[i],
          multiplier[i]);
  /* The multiplier is overwritten, not added to. */
  memset(multiplier, 0x7F, sizeof multiplier);
  CHECK_STATUS(maxpool_plan_forward_f32(plan, input, PLANES, values, NULL, multiplier), MAXPOOL_STATUS_OK);
  for (int i = 0; i < PLANES * IN; i++)
    CHECK(via_plan[i] == (float)multiplier[i], "multiplier over old contents at %d: %u", i, multiplier[i]);
  /* A bad index is refused and nothing is written. */
  indices[PLANES * OUT - 1] = IN;
  memset(via_plan, 0xAB, sizeof via_plan);
  memcpy(once, via_plan, sizeof once);
  CHECK_ERROR(maxpool_plan_backward_f32(plan, PLANES, grad, indices, via_plan), MAXPOOL_STATUS_INDEX_OUT_OF_RANGE,
              "index 63 at output 19 of plane 2");
  CHECK(memcmp(via_plan, once, sizeof once) == 0, "plan backward wrote on failure");
  CHECK_ERROR(maxpool_plan_backward_f64(NULL, PLANES, grad64, indices, via_plan64), MAXPOOL_STATUS_NULL_POINTER,
              "plan is NULL");
  CHECK_STATUS(maxpool_plan_backward_f32(plan, 0, NULL, NULL, NULL), MAXPOOL_STATUS_OK);
  maxpool_plan_free(plan);
}

static void backend_names(void) {
  /* ALL_BACKENDS is every backend the library has: every value below the first unknown one has a name, and
     there are exactly as many. A backend added to the library and not here fails this. */
  uint32_t known = 0;
  while (strcmp(maxpool_backend_name((MaxpoolBackend)known), "unknown") != 0) known++;
  CHECK(known == N_BACKENDS, "the library has %u backends, the tests list %zu", known, (size_t)N_BACKENDS);
  for (uint32_t v = known; v < known + 100; v++)
    CHECK(strcmp(maxpool_backend_name((MaxpoolBackend)v), "unknown") == 0, "backend %u after a gap", v);
  static const char *const SHORT[] = {"auto", "naive", "block", "lookup", "simd"};
  static const char *const LONG[] = {"auto", "naive-loop", "block-reshape", "sliding-window-lookup", "vectorised-rows"};
  static const char *const SHOUTED[] = {"AUTO", "Naive", "BLOCK", "Sliding-Window-Lookup", "SIMD"};
  for (size_t b = 0; b < N_BACKENDS; b++) {
    CHECK(strcmp(maxpool_backend_name(ALL_BACKENDS[b]), SHORT[b]) == 0, "name of backend %u", ALL_BACKENDS[b]);
    const char *const *names[] = {SHORT, LONG, SHOUTED};
    for (size_t n = 0; n < 3; n++) {
      MaxpoolBackend parsed = (MaxpoolBackend)99;
      CHECK_STATUS(maxpool_backend_from_name(names[n][b], &parsed), MAXPOOL_STATUS_OK);
      CHECK(parsed == ALL_BACKENDS[b], "\"%s\" parses to %u", names[n][b], parsed);
    }
  }
  /* Chosen by name at run time, each backend pools the notebook's matrix. */
  float input[16], values[4];
  for (int i = 0; i < 16; i++) input[i] = (float)NOTEBOOK_4X4[i];
  MaxpoolParams params = maxpool_params(2, 2);
  for (size_t b = 0; b < N_BACKENDS; b++) {
    MaxpoolBackend backend = (MaxpoolBackend)99;
    CHECK_STATUS(maxpool_backend_from_name(LONG[b], &backend), MAXPOOL_STATUS_OK);
    CHECK_STATUS(maxpool_forward_f32(backend, &params, input, 1, 4, 4, values, NULL, NULL), MAXPOOL_STATUS_OK);
    CHECK(values[0] == 15.0f && values[3] == 8.0f, "%s by name", LONG[b]);
  }
}

static void statuses_and_version(void) {
  /* The statuses run from OK to the last one added, MISALIGNED; the next value is no status. */
  CHECK(strcmp(maxpool_status_message((MaxpoolStatus)(MAXPOOL_STATUS_MISALIGNED + 1)), "unknown status") == 0,
        "a status after MISALIGNED: is this list out of date?");
  for (unsigned s = 0; s <= MAXPOOL_STATUS_MISALIGNED; s++) {
    const char *m = maxpool_status_message((MaxpoolStatus)s);
    CHECK(m != NULL && strlen(m) > 0 && strcmp(m, "unknown status") != 0, "message of status %u", s);
    for (unsigned t = 0; t < s; t++)
      CHECK(strcmp(m, maxpool_status_message((MaxpoolStatus)t)) != 0, "statuses %u and %u share a message", s, t);
  }
  char version[64];
  snprintf(version, sizeof version, "%d.%d.%d", MAXPOOL_VERSION_MAJOR, MAXPOOL_VERSION_MINOR, MAXPOOL_VERSION_PATCH);
  CHECK(strcmp(maxpool_version(), version) == 0, "library %s, header %s", maxpool_version(), version);
}

static void threads_setting(void) {
  float input[16], values[4];
  for (int i = 0; i < 16; i++) input[i] = (float)NOTEBOOK_4X4[i];
  MaxpoolParams params = maxpool_params(2, 2);
  size_t counts[] = {1, 2, 7, 0};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    CHECK_STATUS(maxpool_set_num_threads(counts[i]), MAXPOOL_STATUS_OK);
    CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_AUTO, &params, input, 1, 4, 4, values, NULL, NULL),
                 MAXPOOL_STATUS_OK);
    CHECK(values[0] == 15.0f, "pooling with %zu threads", counts[i]);
  }
  /* More than MAXPOOL_MAX_THREADS is refused, naming the argument and the limit; the limit itself is fine. */
  size_t too_many[] = {MAXPOOL_MAX_THREADS + 1, SIZE_MAX};
  for (size_t i = 0; i < sizeof too_many / sizeof too_many[0]; i++) {
    char detail[64], limit[64];
    snprintf(detail, sizeof detail, "threads is %zu", too_many[i]);
    snprintf(limit, sizeof limit, "%zu (MAXPOOL_MAX_THREADS)", (size_t)MAXPOOL_MAX_THREADS);
    CHECK_ERROR(maxpool_set_num_threads(too_many[i]), MAXPOOL_STATUS_INVALID_PARAMS, detail);
    CHECK(strstr(maxpool_last_error(), limit) != NULL, "the message \"%s\" does not say %s", maxpool_last_error(),
          limit);
  }
  CHECK_STATUS(maxpool_set_num_threads(MAXPOOL_MAX_THREADS), MAXPOOL_STATUS_OK);
  CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_AUTO, &params, input, 1, 4, 4, values, NULL, NULL),
               MAXPOOL_STATUS_OK);
  CHECK_STATUS(maxpool_set_num_threads(0), MAXPOOL_STATUS_OK);
}

int main(void) {
#define RUN_PER_TYPE(sfx, T) notebook_##sfx();
  MAXPOOL_ELEMENT_TYPES(RUN_PER_TYPE)
  sliding_f32();
  sliding_f64();
  sliding_i8();
  sliding_i16();
  sliding_i32();
  sliding_i64();
  backward_f32();
  backward_f64();
  output_shapes();
  parameters();
  plan_shape_and_backward();
  backend_names();
  statuses_and_version();
  threads_setting();
  return harness_finish("api");
}
