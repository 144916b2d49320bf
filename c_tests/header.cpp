// The header from C++: included twice (the include guard must hold), with C linkage, and the enums and struct
// laid out as the C ABI promises.
#include "maxpool.h"
#include "maxpool.h"

#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(sizeof(MaxpoolStatus) == 4, "statuses are 32-bit");
static_assert(sizeof(MaxpoolBackend) == 4, "backends are 32-bit");
static_assert(std::is_same<std::underlying_type<MaxpoolStatus>::type, uint32_t>::value, "uint32_t statuses");
static_assert(MAXPOOL_STATUS_OK == 0 && MAXPOOL_STATUS_INTERNAL == 8 && MAXPOOL_STATUS_MISALIGNED == 9, "status values");
static_assert(MAXPOOL_BACKEND_AUTO == 0 && MAXPOOL_BACKEND_LOOKUP == 3 && MAXPOOL_BACKEND_SIMD == 4, "backend values");
static_assert(sizeof(MaxpoolParams) == 10 * 4 + 4, "ten uint32_t and a bool, padded");
static_assert(MAXPOOL_VERSION_MAJOR >= 0 && MAXPOOL_VERSION_MINOR >= 0 && MAXPOOL_VERSION_PATCH >= 0, "version");

int main() {
  const float input[16] = {12, 15, 5, 0, 3, 11, 3, 7, 9, 3, 5, 2, 4, 7, 6, 8};
  float values[4];
  int64_t indices[4];
  MaxpoolParams params = maxpool_params(2, 2);
  MaxpoolPlan *plan = nullptr;
  MaxpoolStatus status = maxpool_plan_new(MAXPOOL_BACKEND_AUTO, &params, 4, 4, &plan);
  if (status == MAXPOOL_STATUS_OK)
    status = maxpool_plan_forward_f32(plan, input, 1, values, indices, nullptr);
  maxpool_plan_free(plan);
  if (status != MAXPOOL_STATUS_OK) {
    std::printf("header.cpp: %s\n", maxpool_status_message(status));
    return 1;
  }
  const float want_values[4] = {15, 7, 9, 8};
  const int64_t want_indices[4] = {1, 7, 8, 15};
  bool ok = std::memcmp(values, want_values, sizeof values) == 0 &&
            std::memcmp(indices, want_indices, sizeof indices) == 0;
  std::printf("header.cpp: %s\n", ok ? "ok" : "wrong answer");
  return ok ? 0 : 1;
}
