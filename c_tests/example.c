/* example.c: pool the notebook's 4x4 matrix with a backend named on the command line (default "auto"). */
#include <maxpool.h>
#include <stdio.h>

int main(int argc, char **argv) {
  const float input[16] = {12, 15, 5, 0, 3, 11, 3, 7, 9, 3, 5, 2, 4, 7, 6, 8};
  MaxpoolParams params = maxpool_params(2, 2); /* 2x2 windows, stride 2 */
  MaxpoolBackend backend;
  MaxpoolStatus status = maxpool_backend_from_name(argc > 1 ? argv[1] : "auto", &backend);

  size_t out_h = 0, out_w = 0;
  if (status == MAXPOOL_STATUS_OK) status = maxpool_output_shape(&params, 4, 4, &out_h, &out_w);
  float values[4];         /* planes * out_h * out_w */
  int64_t indices[4];      /* the same count; may be NULL */
  uint32_t multiplier[16]; /* planes * height * width; may be NULL */
  MaxpoolPlan *plan = NULL;  /* build once, run many times, from any thread */
  if (status == MAXPOOL_STATUS_OK) status = maxpool_plan_new(backend, &params, 4, 4, &plan);
  if (status == MAXPOOL_STATUS_OK)
    status = maxpool_plan_forward_f32(plan, input, 1, values, indices, multiplier);
  if (status != MAXPOOL_STATUS_OK) {
    fprintf(stderr, "maxpool: %s\n", maxpool_status_message(status));
    maxpool_plan_free(plan);
    return 1;
  }
  printf("%s backend, %zux%zu output\n", maxpool_backend_name(maxpool_plan_backend(plan)), out_h, out_w);
  for (int i = 0; i < 4; i++) printf("value %g at index %lld\n", values[i], (long long)indices[i]);
  maxpool_plan_free(plan);
  return 0;
}
