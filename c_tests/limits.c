/*
 * Under a capped address space (setrlimit(RLIMIT_AS)), as in a container with a memory limit:
 *  - when the helper threads cannot be started, calls that would use them run on the calling thread, with the
 *    same results, and every later call works too;
 *  - a call whose working storage cannot be allocated returns MAXPOOL_STATUS_OUT_OF_MEMORY, writes nothing,
 *    and the process goes on: the next call succeeds.
 * Not run under AddressSanitizer or valgrind, which need more address space than any cap here leaves.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/resource.h>

#include "harness.h"

/* The process's address space now, in bytes, from /proc/self/status (VmSize, in kB). */
static size_t address_space(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  size_t kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb * 1024;
}

/* Caps the address space at what the process holds now plus `headroom` bytes (the soft limit only, so that
 * `uncap` can lift it again). */
static void cap(size_t headroom) {
  struct rlimit limit;
  getrlimit(RLIMIT_AS, &limit);
  limit.rlim_cur = address_space() + headroom;
  CHECK(setrlimit(RLIMIT_AS, &limit) == 0, "setrlimit");
}

static void uncap(void) {
  struct rlimit limit;
  getrlimit(RLIMIT_AS, &limit);
  limit.rlim_cur = limit.rlim_max;
  CHECK(setrlimit(RLIMIT_AS, &limit) == 0, "setrlimit");
}

enum { PLANES = 8, SIDE = 96 };

/* Pools PLANES planes with the multiplier: enough window taps to be split across threads. */
static MaxpoolStatus pool(const float *input, float *values, int64_t *indices, uint32_t *multiplier) {
  MaxpoolParams p = maxpool_params_padded(3, 1, 1);
  return maxpool_forward_f32(MAXPOOL_BACKEND_AUTO, &p, input, PLANES, SIDE, SIDE, values, indices, multiplier);
}

int main(void) {
  size_t n = (size_t)PLANES * SIDE * SIDE;
  float *input = malloc(n * sizeof *input), *values = malloc(n * sizeof *values),
        *want_values = malloc(n * sizeof *want_values);
  int64_t *indices = malloc(n * sizeof *indices), *want_indices = malloc(n * sizeof *want_indices);
  uint32_t *multiplier = malloc(n * sizeof *multiplier), *want_multiplier = malloc(n * sizeof *want_multiplier);
  for (size_t i = 0; i < n; i++) input[i] = (float)(rng_next() % 1000);

  /* One thread: no helper is started, so the pool of helpers is still to be started below. */
  CHECK_STATUS(maxpool_set_num_threads(1), MAXPOOL_STATUS_OK);
  CHECK_STATUS(pool(input, want_values, want_indices, want_multiplier), MAXPOOL_STATUS_OK);

  /* Two threads, and no room for a helper's stack: the helpers cannot start. Every call still succeeds. */
  CHECK_STATUS(maxpool_set_num_threads(2), MAXPOOL_STATUS_OK);
  cap(512 * 1024);
  for (int round = 0; round < 3; round++) {
    memset(values, 0, n * sizeof *values);
    CHECK_STATUS(pool(input, values, indices, multiplier), MAXPOOL_STATUS_OK);
    CHECK(memcmp(values, want_values, n * sizeof *values) == 0, "round %d: values differ", round);
    CHECK(memcmp(indices, want_indices, n * sizeof *indices) == 0, "round %d: indices differ", round);
    CHECK(memcmp(multiplier, want_multiplier, n * sizeof *multiplier) == 0, "round %d: multiplier differs", round);
  }
  uncap();

  /* A 1 x 1 input under 2^24-wide windows with 2^24 - 1 columns of padding each side: 2^24 outputs, and a call
   * for the multiplier without the indices needs working storage of 16 bytes an output, 256 MiB, where the cap
   * leaves 64 MiB. */
  enum { WIDE = 1 << 24 };
  MaxpoolParams wide = maxpool_params(1, 1);
  wide.kernel_w = WIDE;
  wide.pad_left = wide.pad_right = WIDE - 1;
  float one = 1.0f;
  float *wide_values = malloc(WIDE * sizeof *wide_values);
  for (size_t i = 0; i < WIDE; i++) wide_values[i] = -1.0f;
  uint32_t count = 7;
  cap(64u << 20);
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_SIMD, &wide, &one, 1, 1, 1, wide_values, NULL, &count),
              MAXPOOL_STATUS_OUT_OF_MEMORY, "out of memory");
  int untouched = 1;
  for (size_t i = 0; i < WIDE; i++) untouched &= wide_values[i] == -1.0f;
  CHECK(untouched && count == 7, "a refused call wrote its outputs");
  /* The process goes on, and so does the library. */
  CHECK_STATUS(pool(input, values, indices, multiplier), MAXPOOL_STATUS_OK);
  CHECK(memcmp(values, want_values, n * sizeof *values) == 0, "values differ after the refusal");
  uncap();
  /* With room, the same call succeeds: every window holds the one element. */
  CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_SIMD, &wide, &one, 1, 1, 1, wide_values, NULL, &count),
               MAXPOOL_STATUS_OK);
  CHECK(count == WIDE && wide_values[0] == 1.0f && wide_values[WIDE - 1] == 1.0f, "count %u", count);

  free(wide_values);
  free(input);
  free(values);
  free(want_values);
  free(indices);
  free(want_indices);
  free(multiplier);
  free(want_multiplier);
  return harness_finish("limits");
}
