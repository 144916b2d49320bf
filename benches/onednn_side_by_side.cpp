// oneDNN's max pooling beside ours, in one process: W1-W3 (f32), oneDNN's `forward_training` (values and its
// workspace: the winning tap within the window, one byte) on nhwc and nchw sources, and ours through the C ABI
// (`maxpool_plan_forward_tensor`, AUTO) on the same layouts with `u8` window indices (the same information in
// the same byte) and with `i64` plane indices (PyTorch's), at each thread count given. Values and our window
// indices are checked equal to oneDNN's values and workspace before timing. Prints the median of the timed
// calls after warm-up, in ms.
//
// Not part of the build or the tests: oneDNN is not a dependency. Build and run with
//     make bench-onednn ONEDNN=/path/to/onednn   # a folder with include/ and lib/ (see shared/PEERS.md)
#include <maxpool.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

using dnnl::memory;

struct Workload {
  const char *id;
  int n, c, h, w, k, s, p;
};

static const Workload WORKLOADS[] = {
    {"W1", 8, 64, 112, 112, 3, 2, 1},
    {"W2", 8, 128, 56, 56, 2, 2, 0},
    {"W3", 1, 16, 256, 256, 3, 1, 0},
};

static double median_ms(int runs, const std::function<void()> &f) {
  for (int i = 0; i < 3; i++) f();
  std::vector<double> t;
  for (int i = 0; i < runs; i++) {
    auto a = std::chrono::steady_clock::now();
    f();
    auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

static void check(MaxpoolStatus s, const char *what) {
  if (s != MAXPOOL_STATUS_OK) {
    std::fprintf(stderr, "%s: %s\n", what, maxpool_last_error());
    std::exit(1);
  }
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 30;
  std::vector<int> thread_counts = {1, 2};
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  std::printf("workload,threads,layout,impl,median_ms\n");
  for (const Workload &wl : WORKLOADS) {
    int oh = (wl.h + 2 * wl.p - wl.k) / wl.s + 1, ow = (wl.w + 2 * wl.p - wl.k) / wl.s + 1;
    size_t in_len = (size_t)wl.n * wl.c * wl.h * wl.w, out_len = (size_t)wl.n * wl.c * oh * ow;
    std::vector<float> x(in_len);
    uint64_t state = 0x2545f4914f6cdd1dULL;
    for (auto &v : x) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      v = (float)((int64_t)(state % 2001) - 1000);
    }
    MaxpoolParams params = maxpool_params_padded(wl.k, wl.s, wl.p);
    MaxpoolPlan *plan = nullptr;
    check(maxpool_plan_new(MAXPOOL_BACKEND_AUTO, &params, wl.h, wl.w, &plan), "plan");
    for (int threads : thread_counts) {
      omp_set_num_threads(threads);
      check(maxpool_set_num_threads(threads), "threads");
      for (const char *layout : {"nhwc", "nchw"}) {
        bool nhwc = std::strcmp(layout, "nhwc") == 0;
        auto tag = nhwc ? memory::format_tag::nhwc : memory::format_tag::nchw;
        memory::desc src_md({wl.n, wl.c, wl.h, wl.w}, memory::data_type::f32, tag);
        memory::desc dst_md({wl.n, wl.c, oh, ow}, memory::data_type::f32, tag);
        auto pd = dnnl::pooling_forward::primitive_desc(
            eng, dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max, src_md, dst_md, {wl.s, wl.s},
            {wl.k, wl.k}, {0, 0}, {wl.p, wl.p}, {wl.p, wl.p});
        memory src(src_md, eng), dst(dst_md, eng), ws(pd.workspace_desc(), eng);
        // The logical (n, c, h, w) element goes where the layout puts it.
        float *sp = (float *)src.get_data_handle();
        for (int a = 0; a < wl.n; a++)
          for (int c = 0; c < wl.c; c++)
            for (int r = 0; r < wl.h; r++)
              for (int q = 0; q < wl.w; q++) {
                size_t logical = (((size_t)a * wl.c + c) * wl.h + r) * wl.w + q;
                size_t at = nhwc ? (((size_t)a * wl.h + r) * wl.w + q) * wl.c + c : logical;
                sp[at] = x[logical];
              }
        dnnl::pooling_forward prim(pd);
        auto onednn = [&] {
          prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, ws}});
          strm.wait();
        };
        std::vector<float> values(out_len);
        std::vector<uint8_t> window(out_len);
        std::vector<int64_t> plane(out_len);
        auto tensor = [&](void *data, MaxpoolDType d, int h, int w) {
          return nhwc ? maxpool_tensor_nhwc(data, d, wl.n, h, w, wl.c) : maxpool_tensor_nchw(data, d, wl.n, wl.c, h, w);
        };
        MaxpoolTensor in = tensor(sp, MAXPOOL_DTYPE_F32, wl.h, wl.w);
        MaxpoolTensor v = tensor(values.data(), MAXPOOL_DTYPE_F32, oh, ow);
        MaxpoolTensor iw = tensor(window.data(), MAXPOOL_DTYPE_U8, oh, ow);
        MaxpoolTensor ip = tensor(plane.data(), MAXPOOL_DTYPE_I64, oh, ow);
        auto ours_window = [&] {
          check(maxpool_plan_forward_tensor(plan, &in, &v, &iw, MAXPOOL_INDEX_WINDOW, nullptr), "window");
        };
        auto ours_plane = [&] {
          check(maxpool_plan_forward_tensor(plan, &in, &v, &ip, MAXPOOL_INDEX_PLANE, nullptr), "plane");
        };
        // Same winners: values, and (when the workspace is one byte a window, in the output's layout) taps.
        onednn();
        ours_window();
        bool same_values = std::memcmp(values.data(), dst.get_data_handle(), out_len * sizeof(float)) == 0;
        bool ws_bytes = pd.workspace_desc().get_size() == out_len;
        bool same_taps = ws_bytes && std::memcmp(window.data(), ws.get_data_handle(), out_len) == 0;
        if (!same_values) {
          std::fprintf(stderr, "%s %s: values differ from oneDNN's\n", wl.id, layout);
          return 1;
        }
        std::fprintf(stderr, "%s %s: values equal; window indices %s; kernel %s\n", wl.id, layout,
                     ws_bytes ? (same_taps ? "equal to the workspace" : "DIFFER from the workspace")
                              : "not compared (workspace is not one byte a window)",
                     maxpool_plan_kernel(plan, &in));
        // Interleaved, so that both sides meet the same moments of a noisy machine.
        std::vector<double> a, b, c;
        for (int round = 0; round < 3; round++) {
          a.push_back(median_ms(runs, onednn));
          b.push_back(median_ms(runs, ours_window));
          c.push_back(median_ms(runs, ours_plane));
        }
        auto mid = [](std::vector<double> t) {
          std::sort(t.begin(), t.end());
          return t[1];
        };
        std::printf("%s,%d,%s,onednn u8 workspace,%.4f\n", wl.id, threads, layout, mid(a));
        std::printf("%s,%d,%s,ours u8 window,%.4f\n", wl.id, threads, layout, mid(b));
        std::printf("%s,%d,%s,ours i64 plane,%.4f\n", wl.id, threads, layout, mid(c));
        std::fflush(stdout);
      }
    }
    maxpool_plan_free(plan);
  }
  return 0;
}
