/* example.c: pool the notebook's 4x4 matrix with a backend named on the command line (default "auto"), then
   run the backward pass. */
#include <maxpool.h>
#include <stdio.h>

int main(int argc, char **argv) {
  const float input[16] = {12, 15, 5, 0, 3, 11, 3, 7, 9, 3, 5, 2, 4, 7, 6, 8};
  MaxpoolParams params = maxpool_params_padded(2, 2, 0); /* 2x2 windows, stride 2, no padding */
  MaxpoolBackend backend;
  MaxpoolPlan *plan = NULL; /* build once, run many times, from any thread */
  MaxpoolStatus status = maxpool_backend_from_name(argc > 1 ? argv[1] : "auto", &backend);
  if (status == MAXPOOL_STATUS_OK) status = maxpool_plan_new(backend, &params, 4, 4, &plan);

  size_t out_h = 0, out_w = 0;
  if (status == MAXPOOL_STATUS_OK) status = maxpool_plan_output_shape(plan, &out_h, &out_w);
  float values[4];         /* planes * out_h * out_w */
  int64_t indices[4];      /* the same count; may be NULL */
  uint32_t multiplier[16]; /* planes * height * width, overwritten; may be NULL */
  if (status == MAXPOOL_STATUS_OK)
    status = maxpool_plan_forward_f32(plan, input, 1, values, indices, multiplier);
  const float grad_values[4] = {1, 1, 1, 1};
  float grad_input[16]; /* planes * height * width */
  if (status == MAXPOOL_STATUS_OK)
    status = maxpool_plan_backward_f32(plan, 1, grad_values, indices, grad_input);
  if (status != MAXPOOL_STATUS_OK) {
    /* The status says what kind of error; maxpool_last_error() says what exactly, naming the argument. */
    fprintf(stderr, "maxpool: %s: %s\n", maxpool_status_message(status), maxpool_last_error());
    maxpool_plan_free(plan);
    return 1;
  }
  printf("%s backend, %zux%zu output\n", maxpool_backend_name(maxpool_plan_backend(plan)), out_h, out_w);
  for (int i = 0; i < 4; i++) printf("value %g at index %lld\n", values[i], (long long)indices[i]);
  printf("gradient %g at index 1, %g at index 0\n", grad_input[1], grad_input[0]);
  maxpool_plan_free(plan);
  return 0;
}
