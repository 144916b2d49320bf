/*
 * One plan shared by several pthreads at once, each pooling the same input many times, while another thread
 * keeps changing the global thread count: every result must equal the single-threaded one, bit for bit.
 *
 * The calls are large enough for the library to split them over helper threads (see ENGINE_PARALLEL_MIN_TAPS),
 * and the thread counts go above the number of callers, so that calls take helpers while others pool: over
 * planes when the multiplier is asked for, over runs of rows when it is not. (CI's ThreadSanitizer step runs the
 * Rust side of this, the conformance suite's shared plans: GCC 12's libtsan lacks __tsan_memcpy and
 * __tsan_memset, which rustc's instrumentation calls, so a C program cannot link a library built with
 * -Zsanitizer=thread.)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "harness.h"

enum { PLANES = 8, HEIGHT = 96, WIDTH = 96, WORKERS = 4, ROUNDS = 6, MOST_THREADS = 8 };

/* PARALLEL_MIN_TAPS in crates/core/src/engine.rs: calls with fewer window taps run on the calling thread alone. */
#define ENGINE_PARALLEL_MIN_TAPS 65536

typedef struct Shared {
  const MaxpoolPlan *plan;
  const float *input;
  const float *want_values;
  const int64_t *want_indices;
  const uint32_t *want_multiplier;
  size_t out_len;
  int mismatches;
  MaxpoolStatus status;
} Shared;

static atomic_int stop_toggling;

static void *worker(void *arg) {
  Shared *s = arg;
  float *values = malloc(s->out_len * sizeof *values);
  int64_t *indices = malloc(s->out_len * sizeof *indices);
  uint32_t *multiplier = malloc(PLANES * HEIGHT * WIDTH * sizeof *multiplier);
  for (int round = 0; round < ROUNDS; round++) {
    /* Without the multiplier, a call with fewer than 8 planes per thread splits planes into runs of rows. */
    int whole = round % 2 == 0;
    MaxpoolStatus st =
        maxpool_plan_forward_f32(s->plan, s->input, PLANES, values, indices, whole ? multiplier : NULL);
    if (st != MAXPOOL_STATUS_OK) s->status = st;
    if (memcmp(values, s->want_values, s->out_len * sizeof *values) != 0 ||
        memcmp(indices, s->want_indices, s->out_len * sizeof *indices) != 0 ||
        (whole && memcmp(multiplier, s->want_multiplier, PLANES * HEIGHT * WIDTH * sizeof *multiplier) != 0))
      s->mismatches++;
  }
  free(values);
  free(indices);
  free(multiplier);
  return NULL;
}

static void *toggler(void *arg) {
  (void)arg;
  size_t n = 0;
  while (!stop_toggling) maxpool_set_num_threads(n++ % (MOST_THREADS + 1));
  return NULL;
}

static void shared_plan(MaxpoolBackend backend) {
  MaxpoolParams params = maxpool_params(3, 2);
  params.pad_top = params.pad_bottom = params.pad_left = params.pad_right = 1;
  if (backend == MAXPOOL_BACKEND_BLOCK) params = maxpool_params(2, 2);
  size_t oh = 0, ow = 0;
  CHECK_STATUS(maxpool_output_shape(&params, HEIGHT, WIDTH, &oh, &ow), MAXPOOL_STATUS_OK);
  size_t in_len = PLANES * HEIGHT * WIDTH, out_len = PLANES * oh * ow;
  CHECK(out_len * params.kernel_h * params.kernel_w >= ENGINE_PARALLEL_MIN_TAPS,
        "%s: %zu window taps a call, too few to be split over threads", maxpool_backend_name(backend),
        out_len * params.kernel_h * params.kernel_w);
  float *input = malloc(in_len * sizeof *input), *values = malloc(out_len * sizeof *values);
  int64_t *indices = malloc(out_len * sizeof *indices);
  uint32_t *multiplier = malloc(in_len * sizeof *multiplier);
  for (size_t i = 0; i < in_len; i++) input[i] = (float)(rng_next() % 50) - 25.0f;

  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(backend, &params, HEIGHT, WIDTH, &plan), MAXPOOL_STATUS_OK);
  CHECK_STATUS(maxpool_set_num_threads(1), MAXPOOL_STATUS_OK);
  CHECK_STATUS(maxpool_plan_forward_f32(plan, input, PLANES, values, indices, multiplier), MAXPOOL_STATUS_OK);

  /* One caller alone, which takes helpers: the same results. */
  CHECK_STATUS(maxpool_set_num_threads(MOST_THREADS), MAXPOOL_STATUS_OK);
  {
    float *v = malloc(out_len * sizeof *v);
    int64_t *ix = malloc(out_len * sizeof *ix);
    uint32_t *m = malloc(in_len * sizeof *m);
    CHECK_STATUS(maxpool_plan_forward_f32(plan, input, PLANES, v, ix, m), MAXPOOL_STATUS_OK);
    CHECK(memcmp(v, values, out_len * sizeof *v) == 0 && memcmp(ix, indices, out_len * sizeof *ix) == 0 &&
              memcmp(m, multiplier, in_len * sizeof *m) == 0,
          "%s: %d threads pool differently from one", maxpool_backend_name(backend), MOST_THREADS);
    CHECK_STATUS(maxpool_plan_forward_f32(plan, input, PLANES, v, ix, NULL), MAXPOOL_STATUS_OK);
    CHECK(memcmp(v, values, out_len * sizeof *v) == 0 && memcmp(ix, indices, out_len * sizeof *ix) == 0,
          "%s: %d threads, split over rows, pool differently from one", maxpool_backend_name(backend),
          MOST_THREADS);
    free(v);
    free(ix);
    free(m);
  }

  Shared shared[WORKERS];
  pthread_t threads[WORKERS], toggle;
  stop_toggling = 0;
  CHECK(pthread_create(&toggle, NULL, toggler, NULL) == 0, "pthread_create");
  for (int t = 0; t < WORKERS; t++) {
    Shared s = {plan, input, values, indices, multiplier, out_len, 0, MAXPOOL_STATUS_OK};
    shared[t] = s;
    CHECK(pthread_create(&threads[t], NULL, worker, &shared[t]) == 0, "pthread_create");
  }
  for (int t = 0; t < WORKERS; t++) {
    pthread_join(threads[t], NULL);
    CHECK_STATUS(shared[t].status, MAXPOOL_STATUS_OK);
    CHECK(shared[t].mismatches == 0, "%s: thread %d saw %d of %d results differ", maxpool_backend_name(backend), t,
          shared[t].mismatches, ROUNDS);
  }
  stop_toggling = 1;
  pthread_join(toggle, NULL);
  CHECK_STATUS(maxpool_set_num_threads(0), MAXPOOL_STATUS_OK);
  maxpool_plan_free(plan);
  free(input);
  free(values);
  free(indices);
  free(multiplier);
}

/* Each thread has its own last error: a failure on one thread is not seen, nor cleared, by another. */
static void *fail_with_kernel_w(void *arg) {
  MaxpoolParams p = maxpool_params(2, 2);
  p.kernel_w = 0;
  size_t oh, ow;
  *(MaxpoolStatus *)arg = maxpool_output_shape(&p, 4, 4, &oh, &ow);
  CHECK(strstr(maxpool_last_error(), "kernel_w is 0") != NULL, "in the thread: %s", maxpool_last_error());
  return NULL;
}

static void last_error_per_thread(void) {
  MaxpoolParams p = maxpool_params(2, 2);
  p.dilation_w = 0;
  size_t oh, ow;
  CHECK_ERROR(maxpool_output_shape(&p, 4, 4, &oh, &ow), MAXPOOL_STATUS_INVALID_PARAMS, "dilation_w is 0");
  MaxpoolStatus other = MAXPOOL_STATUS_OK;
  pthread_t t;
  CHECK(pthread_create(&t, NULL, fail_with_kernel_w, &other) == 0, "pthread_create");
  pthread_join(t, NULL);
  CHECK_STATUS(other, MAXPOOL_STATUS_INVALID_PARAMS);
  CHECK(strstr(maxpool_last_error(), "dilation_w is 0") != NULL, "another thread changed this one's message: %s",
        maxpool_last_error());
}

int main(void) {
  rng_seed(7);
  last_error_per_thread();
  for (size_t b = 0; b < N_BACKENDS; b++) shared_plan(ALL_BACKENDS[b]);
  return harness_finish("threads");
}
