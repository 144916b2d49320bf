/*
 * AUTO resolves as in Rust, the MAXPOOL_BACKEND environment variable included. The test harness runs this program
 * under several environments and says what to expect:
 *
 *     env TILING OVERLAPPING
 *
 * each argument being what an AUTO plan should run for that geometry (a backend name), or "status:N" for the
 * status plan_new should give.
 */
#include <stdlib.h>

#include "harness.h"

static void expect(const char *what, MaxpoolParams params, const char *want) {
  MaxpoolPlan *plan = NULL;
  MaxpoolStatus s = maxpool_plan_new(MAXPOOL_BACKEND_AUTO, &params, 8, 8, &plan);
  if (strncmp(want, "status:", 7) == 0) {
    CHECK_STATUS(s, (MaxpoolStatus)strtoul(want + 7, NULL, 10));
    CHECK(plan == NULL, "%s: a plan despite the status", what);
    /* The message names the variable, and its value when that is no backend. */
    const char *env = getenv("MAXPOOL_BACKEND");
    char named[256];
    snprintf(named, sizeof named, "MAXPOOL_BACKEND=%s", env && s == MAXPOOL_STATUS_UNKNOWN_BACKEND ? env : "");
    CHECK(strstr(maxpool_last_error(), named) != NULL, "%s: the message \"%s\" does not say %s", what,
          maxpool_last_error(), named);
  } else {
    CHECK_STATUS(s, MAXPOOL_STATUS_OK);
    CHECK(plan != NULL && strcmp(maxpool_backend_name(maxpool_plan_backend(plan)), want) == 0,
          "%s: AUTO runs %s, want %s", what, plan ? maxpool_backend_name(maxpool_plan_backend(plan)) : "nothing",
          want);
  }
  maxpool_plan_free(plan);
  /* A backend named explicitly is never overridden. */
  CHECK_STATUS(maxpool_plan_new(MAXPOOL_BACKEND_NAIVE, &params, 8, 8, &plan), MAXPOOL_STATUS_OK);
  CHECK(maxpool_plan_backend(plan) == MAXPOOL_BACKEND_NAIVE, "%s: explicit naive overridden", what);
  maxpool_plan_free(plan);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: env TILING OVERLAPPING\n");
    return 2;
  }
  const char *env = getenv("MAXPOOL_BACKEND");
  printf("env: MAXPOOL_BACKEND=%s\n", env ? env : "(unset)");
  expect("tiling k2 s2", maxpool_params(2, 2), argv[1]);
  expect("overlapping k3 s1", maxpool_params(3, 1), argv[2]);
  return harness_finish("env");
}
