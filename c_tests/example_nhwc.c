/* example_nhwc.c: pool a channels-last image in place, (N, H, W, C) = (1, 4, 4, 2), with each winner written as
   its tap within its window in one byte (oneDNN's workspace), then run the backward pass on those bytes. */
#include <maxpool.h>
#include <stdio.h>

int main(void) {
  float image[4 * 4 * 2]; /* channel c of pixel (y, x) at (y * 4 + x) * 2 + c */
  for (int i = 0; i < 32; i++) image[i] = (float)((i * 7) % 11);
  MaxpoolParams params = maxpool_params(2, 2);
  MaxpoolPlan *plan = NULL;
  MaxpoolStatus status = maxpool_plan_new(MAXPOOL_BACKEND_SIMD, &params, 4, 4, &plan);

  float values[2 * 2 * 2], ones[2 * 2 * 2] = {1, 1, 1, 1, 1, 1, 1, 1}, grad[4 * 4 * 2];
  uint8_t taps[2 * 2 * 2]; /* i * kernel_w + j of each winner */
  /* Shapes are given as the memory holds them, and stored as (N, C, H, W) with channels-last strides. */
  MaxpoolTensor input = maxpool_tensor_nhwc(image, MAXPOOL_DTYPE_F32, 1, 4, 4, 2);
  MaxpoolTensor pooled = maxpool_tensor_nhwc(values, MAXPOOL_DTYPE_F32, 1, 2, 2, 2);
  MaxpoolTensor winners = maxpool_tensor_nhwc(taps, MAXPOOL_DTYPE_U8, 1, 2, 2, 2);
  MaxpoolTensor grad_values = maxpool_tensor_nhwc(ones, MAXPOOL_DTYPE_F32, 1, 2, 2, 2);
  MaxpoolTensor grad_input = maxpool_tensor_nhwc(grad, MAXPOOL_DTYPE_F32, 1, 4, 4, 2);
  if (status == MAXPOOL_STATUS_OK) /* NULL: no multiplier */
    status = maxpool_plan_forward_tensor(plan, &input, &pooled, &winners, MAXPOOL_INDEX_WINDOW, NULL);
  if (status == MAXPOOL_STATUS_OK)
    status = maxpool_plan_backward_tensor(plan, &grad_values, &winners, MAXPOOL_INDEX_WINDOW, &grad_input);
  if (status != MAXPOOL_STATUS_OK) {
    fprintf(stderr, "maxpool: %s: %s\n", maxpool_status_message(status), maxpool_last_error());
    maxpool_plan_free(plan);
    return 1;
  }
  printf("kernel %s\n", maxpool_plan_kernel(plan, &input)); /* "simd/avx2/nhwc", say */
  for (int i = 0; i < 8; i++)
    printf("output (%d, %d) channel %d: %g, tap %d\n", i / 4, i / 2 % 2, i % 2, values[i], taps[i]);
  printf("gradient %g at pixel (0, 1) channel 1\n", grad[1 * 2 + 1]);
  maxpool_plan_free(plan);
  return 0;
}
