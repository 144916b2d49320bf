// oneDNN's max pooling beside ours, in one process: W1-W3 in one element type (f32, bf16 or f16), oneDNN's
// `forward_training` (values and its workspace: the winning tap within the window, one byte) on nhwc and nchw
// sources, and ours through the C ABI (`maxpool_plan_forward_tensor`, AUTO) on the same layouts with `u8` window
// indices (the same information in the same byte) and with `i64` plane indices (PyTorch's), at each thread count
// given. Both are fed the same bits; before timing, our values are checked equal to oneDNN's bit for bit (the
// count of mismatches is printed, with oneDNN's implementation and our kernel) and our window indices against
// its workspace. A cell whose values differ is not timed, and the program then exits with 1. Prints the median of
// the timed calls after warm-up, in ms, as CSV; its `kernel` column is oneDNN's implementation
// (`impl_info_str()`: "ref:any" is its plain C++ fallback) and, for ours, `maxpool_plan_kernel` (which names the
// i64 plane call's kernel, so the u8 window row leaves it empty).
//
// Not part of the build or the tests: oneDNN is not a dependency. Build and run with
//     make bench-onednn ONEDNN=/path/to/onednn [RUNS=30] [DTYPE=f32|bf16|f16]   # ONEDNN: include/ and lib/
// (see shared/PEERS.md), or run the program as `onednn_side_by_side [runs] [f32|bf16|f16]`.
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

// The element types compared: both libraries take 16-bit floats as their bit patterns.
struct DType {
  const char *name;
  memory::data_type onednn;
  MaxpoolDType ours;
  size_t size;
};

static const DType DTYPES[] = {
    {"f32", memory::data_type::f32, MAXPOOL_DTYPE_F32, 4},
    {"bf16", memory::data_type::bf16, MAXPOOL_DTYPE_BF16, 2},
    {"f16", memory::data_type::f16, MAXPOOL_DTYPE_F16, 2},
};

// bfloat16 from a float: the upper half, rounded to nearest, ties to even (as vcvtneps2bf16 and PyTorch do).
static uint16_t f32_to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  if ((b & 0x7fffffff) > 0x7f800000) return (uint16_t)((b >> 16) | 0x40);  // NaN stays NaN (quiet)
  return (uint16_t)((b + 0x7fff + ((b >> 16) & 1)) >> 16);
}

// IEEE binary16 from a float, rounded to nearest, ties to even: what _cvtss_sh gives (checked against it on
// every 61st float and around each boundary), without needing -mf16c.
static uint16_t f32_to_f16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  uint16_t sign = (uint16_t)((b >> 16) & 0x8000);
  uint32_t abs = b & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00 | (uint16_t)((abs >> 13) & 0x3ff);  // NaN (quiet)
  if (abs >= 0x477ff000) return sign | 0x7c00;  // 65520 and up round to infinity
  uint32_t h, rem, half;
  if (abs >= 0x38800000) {  // a normal half: rebias the exponent, drop 13 mantissa bits
    uint32_t rebiased = abs - ((127u - 15u) << 23);
    h = rebiased >> 13, rem = rebiased & 0x1fff, half = 0x1000;
  } else {  // a subnormal half (or zero): the full mantissa shifted to units of 2^-24
    int shift = 126 - (int)(abs >> 23);
    if (shift > 24) return sign;  // below half the smallest subnormal
    uint32_t m = (abs & 0x7fffff) | 0x800000;
    h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  }
  if (rem > half || (rem == half && (h & 1))) h++;  // a carry into the exponent is still right
  return sign | (uint16_t)h;
}

// Elements of `size` bytes at `a` and `b` whose bits differ.
static size_t mismatches(const void *a, const void *b, size_t len, size_t size) {
  size_t count = 0;
  for (size_t i = 0; i < len; i++)
    count += std::memcmp((const char *)a + i * size, (const char *)b + i * size, size) != 0;
  return count;
}

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
  // Arguments in any order: a number of timed calls, an element type.
  int runs = 30;
  const DType *dt = &DTYPES[0];
  for (int i = 1; i < argc; i++) {
    auto named = std::find_if(std::begin(DTYPES), std::end(DTYPES),
                              [&](const DType &d) { return std::strcmp(d.name, argv[i]) == 0; });
    if (named != std::end(DTYPES)) {
      dt = named;
    } else if (std::atoi(argv[i]) > 0) {
      runs = std::atoi(argv[i]);
    } else {
      std::fprintf(stderr, "usage: %s [runs] [f32|bf16|f16]\n", argv[0]);
      return 2;
    }
  }
  std::vector<int> thread_counts = {1, 2};
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  bool all_equal = true;
  std::printf("workload,dtype,threads,layout,impl,kernel,median_ms\n");
  std::fflush(stdout);  // before the first check line on stderr
  for (const Workload &wl : WORKLOADS) {
    int oh = (wl.h + 2 * wl.p - wl.k) / wl.s + 1, ow = (wl.w + 2 * wl.p - wl.k) / wl.s + 1;
    size_t in_len = (size_t)wl.n * wl.c * wl.h * wl.w, out_len = (size_t)wl.n * wl.c * oh * ow;
    // Logical NCHW input as the chosen type's bits: random whole floats, rounded to 16 bits when asked.
    std::vector<char> x(in_len * dt->size);
    uint64_t state = 0x2545f4914f6cdd1dULL;
    for (size_t i = 0; i < in_len; i++) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      float v = (float)((int64_t)(state % 2001) - 1000);
      uint16_t half = dt->ours == MAXPOOL_DTYPE_BF16 ? f32_to_bf16(v) : f32_to_f16(v);
      std::memcpy(&x[i * dt->size], dt->size == 4 ? (const void *)&v : (const void *)&half, dt->size);
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
        memory::desc src_md({wl.n, wl.c, wl.h, wl.w}, dt->onednn, tag);
        memory::desc dst_md({wl.n, wl.c, oh, ow}, dt->onednn, tag);
        // oneDNN refuses by throwing when no implementation takes the type and layout on this CPU.
        dnnl::pooling_forward::primitive_desc pd;
        try {
          pd = dnnl::pooling_forward::primitive_desc(
              eng, dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max, src_md, dst_md, {wl.s, wl.s},
              {wl.k, wl.k}, {0, 0}, {wl.p, wl.p}, {wl.p, wl.p});
        } catch (const dnnl::error &e) {
          std::fprintf(stderr, "%s %s %s %d thread(s): oneDNN unsupported (%s)\n", wl.id, layout, dt->name, threads,
                       e.what());
          std::printf("%s,%s,%d,%s,onednn u8 workspace,unsupported,\n", wl.id, dt->name, threads, layout);
          std::fflush(stdout);
          continue;
        }
        std::string impl = pd.impl_info_str();
        memory src(src_md, eng), dst(dst_md, eng), ws(pd.workspace_desc(), eng);
        // The logical (n, c, h, w) element goes where the layout puts it.
        char *sp = (char *)src.get_data_handle();
        for (int a = 0; a < wl.n; a++)
          for (int c = 0; c < wl.c; c++)
            for (int r = 0; r < wl.h; r++)
              for (int q = 0; q < wl.w; q++) {
                size_t logical = (((size_t)a * wl.c + c) * wl.h + r) * wl.w + q;
                size_t at = nhwc ? (((size_t)a * wl.h + r) * wl.w + q) * wl.c + c : logical;
                std::memcpy(sp + at * dt->size, &x[logical * dt->size], dt->size);
              }
        dnnl::pooling_forward prim(pd);
        auto onednn = [&] {
          prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, ws}});
          strm.wait();
        };
        // float storage: aligned for any of the types, and large enough for 16-bit ones.
        std::vector<float> values(out_len);
        std::vector<uint8_t> window(out_len);
        std::vector<int64_t> plane(out_len);
        auto tensor = [&](void *data, MaxpoolDType d, int h, int w) {
          return nhwc ? maxpool_tensor_nhwc(data, d, wl.n, h, w, wl.c) : maxpool_tensor_nchw(data, d, wl.n, wl.c, h, w);
        };
        MaxpoolTensor in = tensor(sp, dt->ours, wl.h, wl.w);
        MaxpoolTensor v = tensor(values.data(), dt->ours, oh, ow);
        MaxpoolTensor iw = tensor(window.data(), MAXPOOL_DTYPE_U8, oh, ow);
        MaxpoolTensor ip = tensor(plane.data(), MAXPOOL_DTYPE_I64, oh, ow);
        auto ours_window = [&] {
          check(maxpool_plan_forward_tensor(plan, &in, &v, &iw, MAXPOOL_INDEX_WINDOW, nullptr), "window");
        };
        auto ours_plane = [&] {
          check(maxpool_plan_forward_tensor(plan, &in, &v, &ip, MAXPOOL_INDEX_PLANE, nullptr), "plane");
        };
        // Same winners: values bit for bit (max pooling only copies elements), and (when the workspace is one
        // byte a window, in the output's layout) taps.
        onednn();
        ours_window();
        size_t value_mismatches = mismatches(values.data(), dst.get_data_handle(), out_len, dt->size);
        bool ws_bytes = pd.workspace_desc().get_size() == out_len;
        std::string taps = "not compared (workspace is not one byte a window)";
        if (ws_bytes) {
          size_t m = mismatches(window.data(), ws.get_data_handle(), out_len, 1);
          taps = m == 0 ? "equal to the workspace" : std::to_string(m) + " DIFFER from the workspace";
        }
        const char *kernel = maxpool_plan_kernel(plan, &in);
        // A ref: implementation is oneDNN's plain C++ fallback, not its JIT code: worth seeing beside the times.
        bool reference = impl.compare(0, 4, "ref:") == 0;
        std::fprintf(stderr, "%s %s %s %d thread(s): oneDNN %s%s; values: %zu of %zu differ; window indices %s; "
                     "our kernel %s\n", wl.id, layout, dt->name, threads, impl.c_str(),
                     reference ? " (reference implementation)" : "", value_mismatches, out_len, taps.c_str(), kernel);
        if (value_mismatches != 0) {
          std::printf("%s,%s,%d,%s,values differ,%s,\n", wl.id, dt->name, threads, layout, impl.c_str());
          std::fflush(stdout);
          all_equal = false;
          continue;
        }
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
        std::printf("%s,%s,%d,%s,onednn u8 workspace,%s,%.4f\n", wl.id, dt->name, threads, layout, impl.c_str(),
                    mid(a));
        std::printf("%s,%s,%d,%s,ours u8 window,,%.4f\n", wl.id, dt->name, threads, layout, mid(b));
        std::printf("%s,%s,%d,%s,ours i64 plane,%s,%.4f\n", wl.id, dt->name, threads, layout, kernel, mid(c));
        std::fflush(stdout);
      }
    }
    maxpool_plan_free(plan);
  }
  if (!all_equal) {
    std::fprintf(stderr, "values differ from oneDNN's in some cells (not timed)\n");
    return 1;
  }
  return 0;
}
