/*
 * Every pointer argument of every function, passed one byte past an aligned address: where that breaks its type's
 * alignment the call is MAXPOOL_STATUS_MISALIGNED, names the argument in maxpool_last_error(), and writes nothing;
 * where it does not (int8_t and uint8_t buffers) the call succeeds. The rule holds for empty buffers too.
 */
#include <stdlib.h>

#include "harness.h"

enum { PLANES = 2, HEIGHT = 4, WIDTH = 4, IN_LEN = PLANES * HEIGHT * WIDTH, OUT_LEN = PLANES * 2 * 2 };
enum { SENTINEL = 0xAB, SLACK = 16 };

/* Byte stores wide enough for any element type, 16-aligned, so that `store + k` is aligned exactly as k is. */
static _Alignas(16) unsigned char input_store[IN_LEN * 8 + SLACK];
static _Alignas(16) unsigned char values_store[OUT_LEN * 8 + SLACK];
static _Alignas(16) unsigned char indices_store[OUT_LEN * 8 + SLACK];
static _Alignas(16) unsigned char multiplier_store[IN_LEN * 4 + SLACK];
static _Alignas(16) unsigned char grad_input_store[IN_LEN * 8 + SLACK];
static _Alignas(16) unsigned char params_store[sizeof(MaxpoolParams) + SLACK];
static _Alignas(16) unsigned char small_store[4 * sizeof(size_t) + SLACK];

/* A pointer of type T to `offset` bytes into a store. */
#define AT(T, store, offset) ((T *)(void *)((store) + (offset)))

/* Inputs hold zeros (a valid element and a valid index), outputs the sentinel. */
static void reset(void) {
  memset(input_store, 0, sizeof input_store);
  memset(values_store, SENTINEL, sizeof values_store);
  memset(indices_store, 0, sizeof indices_store);
  memset(multiplier_store, SENTINEL, sizeof multiplier_store);
  memset(grad_input_store, SENTINEL, sizeof grad_input_store);
  memset(small_store, SENTINEL, sizeof small_store);
}

static int all_sentinel(const unsigned char *store, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (store[i] != SENTINEL) return 0;
  return 1;
}

/* The outputs a refused call must have left alone. */
static int outputs_untouched(void) {
  return all_sentinel(values_store, sizeof values_store) && all_sentinel(multiplier_store, sizeof multiplier_store) &&
         all_sentinel(grad_input_store, sizeof grad_input_store) && all_sentinel(small_store, sizeof small_store);
}

/* The parameters, copied to `offset` bytes into their store. */
static const MaxpoolParams *params_at(size_t offset) {
  MaxpoolParams p = maxpool_params(2, 2);
  memcpy(params_store + offset, &p, sizeof p);
  return AT(const MaxpoolParams, params_store, offset);
}

/*
 * Checks the status of a call given `ptr` for `name`, a `c_type *` that must be aligned to `align`: MISALIGNED
 * with the message naming it and nothing written when `ptr` is not aligned, OK otherwise. `align` 0 means
 * unknown (an opaque type): the message is then checked up to the address.
 */
static void check_refusal(MaxpoolStatus got, const char *what, const char *name, const char *c_type, const void *ptr,
                          size_t align) {
  int misaligned = align == 0 || (uintptr_t)ptr % align != 0;
  if (!misaligned) {
    CHECK(got == MAXPOOL_STATUS_OK, "%s: %s at %p, aligned for %s, gave %u (%s): %s", what, name, ptr, c_type,
          (unsigned)got, maxpool_status_message(got), maxpool_last_error());
    return;
  }
  CHECK(got == MAXPOOL_STATUS_MISALIGNED, "%s: %s at %p gave %u (%s), want MISALIGNED", what, name, ptr, (unsigned)got,
        maxpool_status_message(got));
  char want[256];
  if (align)
    snprintf(want, sizeof want, "%s is not aligned for %s: address 0x%" PRIxPTR " is not a multiple of %zu", name,
             c_type, (uintptr_t)ptr, align);
  else
    snprintf(want, sizeof want, "%s is not aligned for %s: address 0x%" PRIxPTR " is not a multiple of ", name,
             c_type, (uintptr_t)ptr);
  CHECK(strncmp(maxpool_last_error(), want, strlen(want)) == 0, "%s: the last error is \"%s\", want \"%s\"", what,
        maxpool_last_error(), want);
  CHECK(outputs_untouched(), "%s: %s misaligned, yet an output was written", what, name);
}

/*
 * For each element type, one-shot and planned forward calls with each buffer in turn one byte off (and, for the
 * wider types, off by half their alignment), and with the parameters and the plan off by one.
 */
#define DEFINE_FORWARD_TEST(sfx, T)                                                                           \
  static void forward_##sfx(void) {                                                                           \
    MaxpoolPlan *plan = NULL;                                                                                 \
    CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_AUTO, params_at(0), HEIGHT, WIDTH, &plan), MAXPOOL_STATUS_OK); \
    static const char *const names[4] = {"input", "values", "indices", "multiplier"};                         \
    const char *const types[4] = {#T, #T, "int64_t", "uint32_t"};                                             \
    const size_t aligns[4] = {_Alignof(T), _Alignof(T), _Alignof(int64_t), _Alignof(uint32_t)};               \
    for (int arg = 0; arg < 4; arg++) {                                                                       \
      const size_t shifts[2] = {1, aligns[arg] / 2};                                                          \
      for (int s = 0; s < 2; s++) {                                                                           \
        if (shifts[s] == 0 || (s == 1 && shifts[1] == 1)) continue;                                           \
        size_t off[4] = {0, 0, 0, 0};                                                                         \
        off[arg] = shifts[s];                                                                                 \
        const T *input = AT(const T, input_store, off[0]);                                                    \
        T *values = AT(T, values_store, off[1]);                                                              \
        int64_t *indices = AT(int64_t, indices_store, off[2]);                                                \
        uint32_t *multiplier = AT(uint32_t, multiplier_store, off[3]);                                        \
        const void *const ptrs[4] = {input, values, indices, multiplier};                                     \
        reset();                                                                                              \
        memset(indices_store, SENTINEL, sizeof indices_store);                                                \
        check_refusal(maxpool_forward_##sfx(MAXPOOL_BACKEND_AUTO, params_at(0), input, PLANES, HEIGHT, WIDTH,   \
                                            values, indices, multiplier),                                     \
                      "maxpool_forward_" #sfx, names[arg], types[arg], ptrs[arg], aligns[arg]);               \
        CHECK(aligns[arg] == 1 || all_sentinel(indices_store, sizeof indices_store),                          \
              "maxpool_forward_" #sfx ": indices written");                                                  \
        reset();                                                                                              \
        memset(indices_store, SENTINEL, sizeof indices_store);                                                \
        check_refusal(maxpool_plan_forward_##sfx(plan, input, PLANES, values, indices, multiplier),           \
                      "maxpool_plan_forward_" #sfx, names[arg], types[arg], ptrs[arg], aligns[arg]);          \
        CHECK(aligns[arg] == 1 || all_sentinel(indices_store, sizeof indices_store),                          \
              "maxpool_plan_forward_" #sfx ": indices written");                                             \
      }                                                                                                       \
    }                                                                                                         \
    reset();                                                                                                  \
    memset(indices_store, SENTINEL, sizeof indices_store);                                                    \
    const MaxpoolParams *p = params_at(1);                                                                    \
    check_refusal(maxpool_forward_##sfx(MAXPOOL_BACKEND_AUTO, p, AT(const T, input_store, 0), PLANES, HEIGHT,  \
                                        WIDTH, AT(T, values_store, 0), AT(int64_t, indices_store, 0),         \
                                        AT(uint32_t, multiplier_store, 0)),                                   \
                  "maxpool_forward_" #sfx, "params", "MaxpoolParams", p, _Alignof(MaxpoolParams));            \
    const MaxpoolPlan *shifted = (const MaxpoolPlan *)(const void *)((const char *)plan + 1);                 \
    check_refusal(maxpool_plan_forward_##sfx(shifted, AT(const T, input_store, 0), PLANES, AT(T, values_store, 0), \
                                             AT(int64_t, indices_store, 0), AT(uint32_t, multiplier_store, 0)), \
                  "maxpool_plan_forward_" #sfx, "plan", "MaxpoolPlan", shifted, 0);                           \
    CHECK(all_sentinel(indices_store, sizeof indices_store), "maxpool_forward_" #sfx ": indices written");    \
    maxpool_plan_free(plan);                                                                                  \
  }
MAXPOOL_ELEMENT_TYPES(DEFINE_FORWARD_TEST)

/* Backward, one-shot and planned: grad_output, indices and grad_input in turn, then the parameters and the plan. */
#define DEFINE_BACKWARD_TEST(sfx, T)                                                                          \
  static void backward_##sfx(void) {                                                                          \
    MaxpoolPlan *plan = NULL;                                                                                 \
    CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_AUTO, params_at(0), HEIGHT, WIDTH, &plan), MAXPOOL_STATUS_OK); \
    static const char *const names[3] = {"grad_output", "indices", "grad_input"};                             \
    const char *const types[3] = {#T, "int64_t", #T};                                                         \
    const size_t aligns[3] = {_Alignof(T), _Alignof(int64_t), _Alignof(T)};                                   \
    for (int arg = 0; arg < 3; arg++) {                                                                       \
      const size_t shifts[2] = {1, aligns[arg] / 2};                                                          \
      for (int s = 0; s < 2; s++) {                                                                           \
        size_t off[3] = {0, 0, 0};                                                                            \
        off[arg] = shifts[s];                                                                                 \
        /* grad_output lives in the input store, which holds zeros: valid gradients. */                       \
        const T *grad_output = AT(const T, input_store, off[0]);                                              \
        const int64_t *indices = AT(const int64_t, indices_store, off[1]);                                    \
        T *grad_input = AT(T, grad_input_store, off[2]);                                                      \
        const void *const ptrs[3] = {grad_output, indices, grad_input};                                       \
        reset();                                                                                              \
        check_refusal(maxpool_backward_##sfx(params_at(0), PLANES, HEIGHT, WIDTH, grad_output, indices, grad_input), \
                      "maxpool_backward_" #sfx, names[arg], types[arg], ptrs[arg], aligns[arg]);              \
        reset();                                                                                              \
        check_refusal(maxpool_plan_backward_##sfx(plan, PLANES, grad_output, indices, grad_input),           \
                      "maxpool_plan_backward_" #sfx, names[arg], types[arg], ptrs[arg], aligns[arg]);         \
      }                                                                                                       \
    }                                                                                                         \
    reset();                                                                                                  \
    const MaxpoolParams *p = params_at(1);                                                                    \
    check_refusal(maxpool_backward_##sfx(p, PLANES, HEIGHT, WIDTH, AT(const T, input_store, 0),               \
                                         AT(const int64_t, indices_store, 0), AT(T, grad_input_store, 0)),    \
                  "maxpool_backward_" #sfx, "params", "MaxpoolParams", p, _Alignof(MaxpoolParams));           \
    const MaxpoolPlan *shifted = (const MaxpoolPlan *)(const void *)((const char *)plan + 1);                 \
    check_refusal(maxpool_plan_backward_##sfx(shifted, PLANES, AT(const T, input_store, 0),                   \
                                              AT(const int64_t, indices_store, 0), AT(T, grad_input_store, 0)), \
                  "maxpool_plan_backward_" #sfx, "plan", "MaxpoolPlan", shifted, 0);                          \
    maxpool_plan_free(plan);                                                                                  \
  }
DEFINE_BACKWARD_TEST(f32, float)
DEFINE_BACKWARD_TEST(f64, double)

/* The functions that take parameters, a plan or output pointers to single values. */
static void other_functions(void) {
  MaxpoolPlan *plan = NULL;
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_AUTO, params_at(0), HEIGHT, WIDTH, &plan), MAXPOOL_STATUS_OK);
  const MaxpoolPlan *shifted = (const MaxpoolPlan *)(const void *)((const char *)plan + 1);
  size_t *h = AT(size_t, small_store, 0), *w = AT(size_t, small_store, 2 * sizeof(size_t));
  size_t *h_off = AT(size_t, small_store, 1), *w_off = AT(size_t, small_store, 2 * sizeof(size_t) + 1);

  reset();
  check_refusal(maxpool_output_shape(params_at(1), HEIGHT, WIDTH, h, w), "maxpool_output_shape", "params",
                "MaxpoolParams", params_at(1), _Alignof(MaxpoolParams));
  reset();
  check_refusal(maxpool_output_shape(params_at(0), HEIGHT, WIDTH, h_off, w), "maxpool_output_shape", "out_height",
                "size_t", h_off, _Alignof(size_t));
  reset();
  check_refusal(maxpool_output_shape(params_at(0), HEIGHT, WIDTH, h, w_off), "maxpool_output_shape", "out_width",
                "size_t", w_off, _Alignof(size_t));
  reset();
  check_refusal(maxpool_plan_output_shape(shifted, h, w), "maxpool_plan_output_shape", "plan", "MaxpoolPlan", shifted,
                0);
  reset();
  check_refusal(maxpool_plan_output_shape(plan, h_off, w), "maxpool_plan_output_shape", "out_height", "size_t", h_off,
                _Alignof(size_t));
  reset();
  check_refusal(maxpool_plan_output_shape(plan, h, w_off), "maxpool_plan_output_shape", "out_width", "size_t", w_off,
                _Alignof(size_t));

  reset();
  MaxpoolPlan **plan_off = AT(MaxpoolPlan *, small_store, 1);
  check_refusal(maxpool_plan_new(MAXPOOL_BACKEND_AUTO, params_at(0), HEIGHT, WIDTH, plan_off), "maxpool_plan_new",
                "plan", "MaxpoolPlan *", plan_off, _Alignof(MaxpoolPlan *));
  reset();
  MaxpoolPlan *untouched = (MaxpoolPlan *)&untouched;
  check_refusal(maxpool_plan_new(MAXPOOL_BACKEND_AUTO, params_at(1), HEIGHT, WIDTH, &untouched), "maxpool_plan_new",
                "params", "MaxpoolParams", params_at(1), _Alignof(MaxpoolParams));
  CHECK(untouched == (MaxpoolPlan *)&untouched, "maxpool_plan_new wrote *plan on failure");

  reset();
  check_refusal(maxpool_backend_supports(MAXPOOL_BACKEND_NAIVE, params_at(1)), "maxpool_backend_supports", "params",
                "MaxpoolParams", params_at(1), _Alignof(MaxpoolParams));
  reset();
  MaxpoolBackend *backend_off = AT(MaxpoolBackend, small_store, 1);
  check_refusal(maxpool_backend_from_name("naive", backend_off), "maxpool_backend_from_name", "backend",
                "MaxpoolBackend", backend_off, _Alignof(MaxpoolBackend));

  /* The functions without a status treat a pointer that cannot be a plan as they treat NULL. */
  CHECK(maxpool_plan_backend(shifted) == MAXPOOL_BACKEND_AUTO, "plan_backend of a misaligned plan");
  maxpool_plan_free((MaxpoolPlan *)(void *)((char *)plan + 1));
  CHECK(maxpool_plan_backend(plan) != MAXPOOL_BACKEND_AUTO, "the plan is still alive and well");
  maxpool_plan_free(plan);
}

/* An empty buffer is refused when misaligned as a full one is: the rule does not depend on sizes. NULL, which is
   aligned, stays fine for it. */
static void empty_buffers(void) {
  const MaxpoolParams *p = params_at(0);
  reset();
  float *values = AT(float, values_store, 0);
  const float *input_off = AT(const float, input_store, 1);
  check_refusal(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, p, input_off, 0, HEIGHT, WIDTH, values, NULL, NULL),
                "an empty batch", "input", "float", input_off, _Alignof(float));
  int64_t *indices_off = AT(int64_t, indices_store, 4);
  memset(indices_store, SENTINEL, sizeof indices_store);
  check_refusal(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, p, NULL, 0, HEIGHT, WIDTH, NULL, indices_off, NULL),
                "an empty batch", "indices", "int64_t", indices_off, _Alignof(int64_t));
  CHECK(all_sentinel(indices_store, sizeof indices_store), "an empty batch wrote indices");
  reset();
  check_refusal(maxpool_backward_f64(p, 0, HEIGHT, WIDTH, NULL, NULL, AT(double, grad_input_store, 4)),
                "an empty backward", "grad_input", "double", AT(double, grad_input_store, 4), _Alignof(double));
  CHECK_STATUS(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, p, NULL, 0, HEIGHT, WIDTH, NULL, NULL, NULL),
               MAXPOOL_STATUS_OK);
}

/* The alignment check comes before the overlap check of the same buffers, and does not replace it. */
static void overlap_still_checked(void) {
  const MaxpoolParams *p = params_at(0);
  reset();
  float *values = AT(float, values_store, 0);
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, p, AT(const float, input_store, 0), PLANES, HEIGHT, WIDTH,
                                  values, AT(int64_t, values_store, 8), NULL),
              MAXPOOL_STATUS_INVALID_SHAPE, "values overlaps indices");
  CHECK_ERROR(maxpool_forward_f32(MAXPOOL_BACKEND_NAIVE, p, AT(const float, input_store, 0), PLANES, HEIGHT, WIDTH,
                                  values, AT(int64_t, values_store, 9), NULL),
              MAXPOOL_STATUS_MISALIGNED, "indices is not aligned for int64_t");
  CHECK(all_sentinel(values_store, sizeof values_store), "values written");
}

int main(void) {
#define RUN_FORWARD(sfx, T) forward_##sfx();
  MAXPOOL_ELEMENT_TYPES(RUN_FORWARD)
  backward_f32();
  backward_f64();
  other_functions();
  empty_buffers();
  overlap_still_checked();
  CHECK(strcmp(maxpool_status_message(MAXPOOL_STATUS_MISALIGNED), "unknown status") != 0, "MISALIGNED has a message");
  return harness_finish("misaligned");
}
