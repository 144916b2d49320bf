/*
 * All backends agree, through the ABI, on the same random inputs: random geometries (padding, dilation,
 * ceil_mode, rectangular windows), ties, NaN and integer extremes, for every element type. Each result is also
 * checked against a direct C reference, the multiplier against the bincount of the indices, and backward of
 * all-ones against the multiplier.
 */
#include <math.h>
#include <stdlib.h>

#include "harness.h"

enum { CASES_PER_TYPE = 1000 };

static int cases_run, block_run, block_skipped;

typedef struct Geometry {
  MaxpoolParams params;
  size_t planes, height, width, out_h, out_w;
} Geometry;

static MaxpoolParams random_params(void) {
  MaxpoolParams p;
  p.kernel_h = (uint32_t)rng_range(1, 4);
  p.kernel_w = (uint32_t)rng_range(1, 4);
  if (rng_next() % 2) {
    /* Non-overlapping windows, which the block backend can do too. */
    p.stride_h = p.kernel_h;
    p.stride_w = p.kernel_w;
    p.dilation_h = p.dilation_w = 1;
  } else {
    p.stride_h = (uint32_t)rng_range(1, 4);
    p.stride_w = (uint32_t)rng_range(1, 4);
    p.dilation_h = (uint32_t)rng_range(1, 3);
    p.dilation_w = (uint32_t)rng_range(1, 3);
  }
  /* Up to the window's extent less one, so padding alone rarely fills a window; sometimes it does. */
  uint32_t extent_h = p.dilation_h * (p.kernel_h - 1) + 1, extent_w = p.dilation_w * (p.kernel_w - 1) + 1;
  p.pad_top = (uint32_t)rng_range(0, extent_h - 1);
  p.pad_bottom = (uint32_t)rng_range(0, extent_h - 1);
  p.pad_left = (uint32_t)rng_range(0, extent_w - 1);
  p.pad_right = (uint32_t)rng_range(0, extent_w - 1);
  p.ceil_mode = rng_next() % 2 == 0;
  return p;
}

/* A geometry every backend must accept, or 0 when the one drawn is refused (then all backends must refuse it). */
static int random_geometry(Geometry *g) {
  g->params = random_params();
  g->planes = rng_range(0, 3);
  g->height = rng_range(1, 11);
  g->width = rng_range(1, 11);
  MaxpoolStatus s = maxpool_output_shape(&g->params, g->height, g->width, &g->out_h, &g->out_w);
  if (s == MAXPOOL_STATUS_OK) return 1;
  CHECK(s == MAXPOOL_STATUS_INVALID_PARAMS || s == MAXPOOL_STATUS_INVALID_SHAPE, "output_shape gave %u", s);
  /* Every backend refuses it the same way, except that block may first refuse windows it cannot do at all. */
  float in[1] = {0}, out[1];
  int tiling = g->params.stride_h == g->params.kernel_h && g->params.stride_w == g->params.kernel_w &&
               g->params.dilation_h == 1 && g->params.dilation_w == 1;
  for (size_t b = 0; b < N_BACKENDS; b++) {
    MaxpoolStatus want = ALL_BACKENDS[b] == MAXPOOL_BACKEND_BLOCK && !tiling ? MAXPOOL_STATUS_UNSUPPORTED : s;
    CHECK_STATUS(maxpool_forward_f32(ALL_BACKENDS[b], &g->params, in, 0, g->height, g->width, out, NULL, NULL), want);
  }
  return 0;
}

static int is_nan(double x) { return isnan(x); }

/* numpy's argmax over a window scanned row-major, padding never a candidate: the definition, written plainly. */
#define DEFINE_REFERENCE(sfx, T)                                                                             \
  static void reference_##sfx(const Geometry *g, const T *input, T *values, int64_t *indices) {              \
    const MaxpoolParams *p = &g->params;                                                                     \
    for (size_t plane = 0; plane < g->planes; plane++) {                                                     \
      const T *in = input + plane * g->height * g->width;                                                    \
      for (size_t i = 0; i < g->out_h; i++) {                                                                \
        for (size_t j = 0; j < g->out_w; j++) {                                                              \
          int found = 0;                                                                                     \
          T best = 0;                                                                                        \
          int64_t best_index = -1;                                                                           \
          for (size_t a = 0; a < p->kernel_h; a++) {                                                         \
            long r = (long)(i * p->stride_h + a * p->dilation_h) - (long)p->pad_top;                         \
            if (r < 0 || r >= (long)g->height) continue;                                                     \
            for (size_t b = 0; b < p->kernel_w; b++) {                                                       \
              long c = (long)(j * p->stride_w + b * p->dilation_w) - (long)p->pad_left;                      \
              if (c < 0 || c >= (long)g->width) continue;                                                    \
              T v = in[r * (long)g->width + c];                                                              \
              int beats = !found || (is_nan((double)v) && !is_nan((double)best)) ||                          \
                          (!is_nan((double)best) && v > best);                                               \
              if (beats) {                                                                                   \
                found = 1;                                                                                   \
                best = v;                                                                                    \
                best_index = (int64_t)(r * (long)g->width + c);                                              \
              }                                                                                              \
            }                                                                                                \
          }                                                                                                  \
          CHECK(found, "reference: window (%zu, %zu) covers no input", i, j);                                \
          values[(plane * g->out_h + i) * g->out_w + j] = best;                                              \
          indices[(plane * g->out_h + i) * g->out_w + j] = best_index;                                       \
        }                                                                                                    \
      }                                                                                                      \
    }                                                                                                        \
  }

/* Equal as bits for floats (so NaN equals NaN), as values otherwise. */
#define SAME_VALUES(a, b, n) (memcmp((a), (b), (n) * sizeof *(a)) == 0)

static void fill_f32(float *x, size_t n) {
  static const float SPECIAL[] = {NAN, -INFINITY, INFINITY, -0.0f, 0.0f};
  for (size_t i = 0; i < n; i++)
    x[i] = rng_next() % 16 == 0 ? SPECIAL[rng_next() % 5] : (float)((int)rng_range(0, 6) - 3);
}
static void fill_f64(double *x, size_t n) {
  static const double SPECIAL[] = {NAN, -INFINITY, INFINITY, -0.0, 0.0};
  for (size_t i = 0; i < n; i++)
    x[i] = rng_next() % 16 == 0 ? SPECIAL[rng_next() % 5] : (double)((int)rng_range(0, 6) - 3);
}
/* Small ranges for ties, with each type's extremes mixed in: padding must not beat the minimum. */
#define DEFINE_FILL_INT(sfx, T, MIN, MAX)                                                                    \
  static void fill_##sfx(T *x, size_t n) {                                                                   \
    for (size_t i = 0; i < n; i++) {                                                                         \
      uint64_t r = rng_next() % 16;                                                                          \
      x[i] = r == 0 ? (T)(MIN) : r == 1 ? (T)(MAX) : (T)((MIN) == 0 ? rng_range(0, 4) : rng_range(0, 6));    \
      if ((MIN) != 0 && r > 1) x[i] = (T)(x[i] - 3);                                                         \
      if (r == 2) x[i] = (T)(MIN);                                                                           \
    }                                                                                                        \
  }
DEFINE_FILL_INT(i8, int8_t, INT8_MIN, INT8_MAX)
DEFINE_FILL_INT(u8, uint8_t, 0, UINT8_MAX)
DEFINE_FILL_INT(i16, int16_t, INT16_MIN, INT16_MAX)
DEFINE_FILL_INT(u16, uint16_t, 0, UINT16_MAX)
DEFINE_FILL_INT(i32, int32_t, INT32_MIN, INT32_MAX)
DEFINE_FILL_INT(i64, int64_t, INT64_MIN, INT64_MAX)

#define DEFINE_AGREE_TEST(sfx, T)                                                                            \
  DEFINE_REFERENCE(sfx, T)                                                                                   \
  static void agree_##sfx(void) {                                                                            \
    for (int n = 0; n < CASES_PER_TYPE; n++) {                                                               \
      Geometry g;                                                                                            \
      if (!random_geometry(&g)) continue;                                                                    \
      size_t in_len = g.planes * g.height * g.width, out_len = g.planes * g.out_h * g.out_w;                 \
      T *input = malloc((in_len + 1) * sizeof *input);                                                       \
      T *want_values = malloc((out_len + 1) * sizeof *want_values);                                          \
      T *values = malloc((out_len + 1) * sizeof *values);                                                    \
      int64_t *want_indices = malloc((out_len + 1) * sizeof *want_indices);                                  \
      int64_t *indices = malloc((out_len + 1) * sizeof *indices);                                            \
      uint32_t *multiplier = malloc((in_len + 1) * sizeof *multiplier);                                      \
      uint32_t *bincount = calloc(in_len + 1, sizeof *bincount);                                             \
      float *ones = malloc((out_len + 1) * sizeof *ones);                                                    \
      float *grad = malloc((in_len + 1) * sizeof *grad);                                                     \
      fill_##sfx(input, in_len);                                                                             \
      reference_##sfx(&g, input, want_values, want_indices);                                                 \
      for (size_t k = 0; k < out_len; k++) {                                                                 \
        bincount[(k / (g.out_h * g.out_w)) * g.height * g.width + (size_t)want_indices[k]]++;                \
        ones[k] = 1.0f;                                                                                      \
      }                                                                                                      \
      cases_run++;                                                                                           \
      for (size_t b = 0; b < N_BACKENDS; b++) {                                                              \
        MaxpoolBackend backend = ALL_BACKENDS[b];                                                            \
        MaxpoolStatus s = maxpool_forward_##sfx(backend, &g.params, input, g.planes, g.height, g.width, values, \
                                                indices, multiplier);                                        \
        if (backend == MAXPOOL_BACKEND_BLOCK && s == MAXPOOL_STATUS_UNSUPPORTED) {                           \
          int tiling = g.params.stride_h == g.params.kernel_h && g.params.stride_w == g.params.kernel_w &&    \
                       g.params.dilation_h == 1 && g.params.dilation_w == 1;                                 \
          CHECK(!tiling, "block refused a tiling geometry");                                                 \
          block_skipped++;                                                                                   \
          continue;                                                                                          \
        }                                                                                                    \
        block_run += backend == MAXPOOL_BACKEND_BLOCK;                                                       \
        CHECK_STATUS(s, MAXPOOL_STATUS_OK);                                                                  \
        if (s != MAXPOOL_STATUS_OK) continue;                                                                \
        CHECK(SAME_VALUES(values, want_values, out_len), #sfx " %s: values differ from the reference (case %d)", \
              maxpool_backend_name(backend), n);                                                             \
        CHECK(SAME_VALUES(indices, want_indices, out_len),                                                   \
              #sfx " %s: indices differ from the reference (case %d, %zux%zu k%ux%u s%ux%u d%ux%u)",         \
              maxpool_backend_name(backend), n, g.height, g.width, g.params.kernel_h, g.params.kernel_w,     \
              g.params.stride_h, g.params.stride_w, g.params.dilation_h, g.params.dilation_w);               \
        CHECK(SAME_VALUES(multiplier, bincount, in_len), #sfx " %s: multiplier is not the bincount (case %d)", \
              maxpool_backend_name(backend), n);                                                             \
      }                                                                                                      \
      CHECK_STATUS(maxpool_backward_f32(&g.params, g.planes, g.height, g.width, ones, want_indices, grad),   \
                   MAXPOOL_STATUS_OK);                                                                       \
      for (size_t k = 0; k < in_len; k++)                                                                    \
        CHECK(grad[k] == (float)bincount[k], "backward of ones at %zu", k);                                  \
      free(input);                                                                                           \
      free(want_values);                                                                                     \
      free(values);                                                                                          \
      free(want_indices);                                                                                    \
      free(indices);                                                                                         \
      free(multiplier);                                                                                      \
      free(bincount);                                                                                        \
      free(ones);                                                                                            \
      free(grad);                                                                                            \
    }                                                                                                        \
  }
MAXPOOL_ELEMENT_TYPES(DEFINE_AGREE_TEST)

int main(int argc, char **argv) {
  uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 20261124u;
  printf("agree: seed %llu\n", (unsigned long long)seed);
  rng_seed(seed);
#define RUN_AGREE(sfx, T) agree_##sfx();
  MAXPOOL_ELEMENT_TYPES(RUN_AGREE)
  /* The random geometries must exercise every backend, block included, or the agreement means little. */
  CHECK(cases_run >= 8 * CASES_PER_TYPE * 6 / 10, "only %d of %d cases were valid geometries", cases_run,
        8 * CASES_PER_TYPE);
  CHECK(block_run >= cases_run / 4, "block ran only %d of %d cases", block_run, cases_run);
  printf("agree: %d cases, block ran %d and skipped %d (overlapping or dilated windows)\n", cases_run, block_run,
         block_skipped);
  return harness_finish("agree");
}
