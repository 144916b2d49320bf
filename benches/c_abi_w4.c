/*
 * W4 through the C ABI: the notebook's tiny 4x4 int64 matrix, k2 s2, as a C caller pools it, with a plan made
 * once (maxpool_plan_forward_i64) and with the one-shot call that plans every time (maxpool_forward_i64), beside
 * a memcpy of the same bytes. Run with `make bench-c`. Prints the median of 31 batches, in ns a call.
 */
#define _POSIX_C_SOURCE 199309L
#include <maxpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BATCH = 200000, BATCHES = 31 };

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static const int64_t input[16] = {12, 15, 5, 0, 3, 11, 3, 7, 9, 3, 5, 2, 4, 7, 6, 8};
static int64_t values[4], indices[4];
static MaxpoolPlan *plan;
static MaxpoolParams params;
static unsigned char src[16 * 8 + 4 * 16], dst[sizeof src];

static MaxpoolStatus planned(void) { return maxpool_plan_forward_i64(plan, input, 1, values, indices, NULL); }
static MaxpoolStatus one_shot(void) {
  return maxpool_forward_i64(MAXPOOL_BACKEND_AUTO, &params, input, 1, 4, 4, values, indices, NULL);
}
static MaxpoolStatus copy(void) {
  memcpy(dst, src, sizeof src);
  __asm__ volatile("" ::: "memory"); /* keep the copy */
  return MAXPOOL_STATUS_OK;
}

static void measure(const char *name, MaxpoolStatus (*call)(void)) {
  double per_call[BATCHES];
  for (int b = 0; b < BATCHES; b++) {
    double start = now_ns();
    for (int i = 0; i < BATCH; i++) {
      if (call() != MAXPOOL_STATUS_OK) {
        fprintf(stderr, "%s failed\n", name);
        exit(1);
      }
    }
    per_call[b] = (now_ns() - start) / BATCH;
  }
  qsort(per_call, BATCHES, sizeof per_call[0], by_value);
  printf("%-44s %8.1f ns a call (median of %d batches of %d)\n", name, per_call[BATCHES / 2], BATCHES, BATCH);
}

int main(void) {
  params = maxpool_params(2, 2);
  if (maxpool_plan_new(MAXPOOL_BACKEND_AUTO, &params, 4, 4, &plan) != MAXPOOL_STATUS_OK) return 1;
  printf("W4 1x1x4x4 int64, k2 s2, through the C ABI; auto chose %s\n",
         maxpool_backend_name(maxpool_plan_backend(plan)));
  measure("maxpool_plan_forward_i64 (plan reused)", planned);
  measure("maxpool_forward_i64 (plans every call)", one_shot);
  measure("memcpy of the same bytes", copy);
  if (values[0] != 15 || indices[3] != 15) return 1;
  maxpool_plan_free(plan);
  return 0;
}
