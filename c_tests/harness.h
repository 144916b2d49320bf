/*
 * A tiny test harness for the C tests: checks that report and count instead of aborting, a seeded random
 * generator, and the list of element types. Each test program ends with `return harness_finish("name");`.
 */
#ifndef MAXPOOL_C_TESTS_HARNESS_H
#define MAXPOOL_C_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "maxpool.h"

static int harness_checks;
static int harness_failures;

#define CHECK(cond, ...)                                                                                     \
  do {                                                                                                       \
    harness_checks++;                                                                                        \
    if (!(cond) && ++harness_failures <= 50) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                               \
      fprintf(stderr, __VA_ARGS__);                                                                          \
      fputc('\n', stderr);                                                                                   \
    }                                                                                                        \
  } while (0)

/* Checks a status, naming both statuses when they differ. */
#define CHECK_STATUS(call, want)                                                                             \
  do {                                                                                                       \
    MaxpoolStatus got_status_ = (call);                                                                      \
    CHECK(got_status_ == (MaxpoolStatus)(want), "%s gave %u (%s), want %u (%s)", #call, (unsigned)got_status_, \
          maxpool_status_message(got_status_), (unsigned)(want), maxpool_status_message((MaxpoolStatus)(want))); \
  } while (0)

/* Checks a status and that maxpool_last_error() then says `detail` (a substring of its message). */
#define CHECK_ERROR(call, want, detail)                                                                      \
  do {                                                                                                       \
    CHECK_STATUS(call, want);                                                                                \
    const char *last_error_ = maxpool_last_error();                                                          \
    CHECK(last_error_ != NULL && strstr(last_error_, (detail)) != NULL, "%s: the last error is \"%s\", want \"%s\" in it", \
          #call, last_error_ ? last_error_ : "(NULL)", (detail));                                            \
  } while (0)

static inline int harness_finish(const char *name) {
  printf("%s: %d checks, %d failed%s\n", name, harness_checks, harness_failures,
         harness_failures > 50 ? " (the first 50 shown)" : "");
  return harness_failures == 0 ? 0 : 1;
}

/* xorshift64*: the same sequence on every platform, so a failure can be reproduced from its seed. */
static uint64_t harness_rng_state = 0x9E3779B97F4A7C15u;

static inline void rng_seed(uint64_t seed) { harness_rng_state = seed ? seed : 0x9E3779B97F4A7C15u; }

static inline uint64_t rng_next(void) {
  harness_rng_state ^= harness_rng_state >> 12;
  harness_rng_state ^= harness_rng_state << 25;
  harness_rng_state ^= harness_rng_state >> 27;
  return harness_rng_state * 0x2545F4914F6CDD1Du;
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(size_t lo, size_t hi) { return lo + (size_t)(rng_next() % (uint64_t)(hi - lo + 1)); }

/* The backends a caller can name, AUTO first. */
static const MaxpoolBackend ALL_BACKENDS[] = {MAXPOOL_BACKEND_AUTO, MAXPOOL_BACKEND_NAIVE, MAXPOOL_BACKEND_BLOCK,
                                              MAXPOOL_BACKEND_LOOKUP, MAXPOOL_BACKEND_SIMD};
#define N_BACKENDS (sizeof ALL_BACKENDS / sizeof ALL_BACKENDS[0])

/* X(suffix, C type) for each element type of the ABI. */
#define MAXPOOL_ELEMENT_TYPES(X)                                                                             \
  X(f32, float)                                                                                              \
  X(f64, double)                                                                                             \
  X(i8, int8_t)                                                                                              \
  X(u8, uint8_t)                                                                                             \
  X(i16, int16_t)                                                                                            \
  X(u16, uint16_t)                                                                                           \
  X(i32, int32_t)                                                                                            \
  X(i64, int64_t)

#endif /* MAXPOOL_C_TESTS_HARNESS_H */
