#!/usr/bin/env python3
"""Reference timings that maxpool compares itself with, measured side by side in one run.

Not part of the build or the tests: it runs only where torch and numpy are installed,
and exits 0 with a message otherwise.  Set up once, outside the repo:

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy  # numba optional
    /tmp/torchvenv/bin/python benches/pytorch_side_by_side.py --runs 15 --threads 1,2 --json out.json

What it measures (f32 in, int64 indices out; median of --runs timed calls after warm-up):
  * torch.nn.functional.max_pool2d(..., return_indices=True) on NCHW-contiguous and
    channels-last input, at each torch.set_num_threads value of --threads, for
      W1 8x64x112x112 k3 s2 p1,  W2 8x128x56x56 k2 s2 p0,  W3 1x16x256x256 k3 s1 p0;
  * a memcpy floor per workload: np.copyto of a uint8 buffer as big as
    input + values + indices, i.e. the bytes any implementation must at least touch.  A copy
    both reads and writes that many bytes, about twice the traffic pooling itself needs
    (read input, write outputs), so a fast kernel can come in under 1.00 "x floor";
  * the exploration notebook's numpy techniques (shared/seed/maxpool-exploration-notebook.txt)
    on one 256x256 f32 plane: "block-reshape" (final_transform + MaxPool class, k2 s2) and
    "sliding-window-lookup" (cached lookup table, k3 s1), plus the notebook's numba loop
    (k2 s2) when numba imports;
  * maxpool's Python package (when it imports; `make test-python` or `pip install ./python`), NCHW and
    channels-last, 1 and 2 threads: maxpool.max_pool2d on numpy arrays and on PyTorch tensors (outputs
    allocated per call), a Plan writing into preallocated arrays (out=), and the same plan call through the C
    ABI (maxpool_plan_forward_tensor by ctypes, into the same arrays; --libmaxpool, built by `make`);
    maxpool.torch.MaxPool2d forward + backward against torch.nn.MaxPool2d's; and W4, the notebook's 4x4 int64
    matrix k2 s2, in ns a call over batches of calls (beside `make bench-c`, the C ABI from C).
"""

import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import time

# PyTorch's OpenMP workers spin for a while after each parallel call (the default wait policy); on 2 cores, with
# the calls alternating, they held the second core through maxpool's 2-thread calls, which then ran on one.
# Passive workers sleep at once; torch's own times did not change with it (W2 channels-last f16, 2 threads: 0.64
# and 0.62 ms). Set before torch is imported (here, or by half_side_by_side.py importing this module first).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

WARMUP = 3  # untimed calls first: first-touch page faults, allocator and JIT/oneDNN setup

# (name, N, C, H, W, kernel, stride, padding)
WORKLOADS = [
    ("W1", 8, 64, 112, 112, 3, 2, 1),
    ("W2", 8, 128, 56, 56, 2, 2, 0),
    ("W3", 1, 16, 256, 256, 3, 1, 0),
]
PLANE = 256  # side of the single plane the notebook techniques run on


def out_size(n, k, s, p):
    # floor mode, dilation 1: the same rule as torch's max_pool2d defaults
    return (n + 2 * p - k) // s + 1


def time_call(fn, runs):
    """Median and min seconds over `runs` calls of fn(), after WARMUP untimed calls."""
    for _ in range(WARMUP):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), min(samples), samples


def time_pair(fa, fb, runs):
    """time_call for two functions, their calls alternating, so that the machine's drift in load hits both alike;
    returns the two results, and the median of the per-pair ratios a / b."""
    for _ in range(WARMUP):
        fa()
        fb()
    sa, sb = [], []
    for _ in range(runs):
        for fn, samples in ((fa, sa), (fb, sb)):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
    ratio = statistics.median(a / b for a, b in zip(sa, sb))
    return (statistics.median(sa), min(sa), sa), (statistics.median(sb), min(sb), sb), ratio


# ---------------------------------------------------------------------------------------------
# The notebook's techniques, copied from the notebook (cells 14, 17, 24, 30-35).  Only change:
# MaxPool.forward also returns final_original_indices, which it already computed, so the winner
# indices can be checked; no work is added or removed.
# ---------------------------------------------------------------------------------------------
def make_notebook_impls(np):
    def final_transform(matrix, k):
        # Reshape into blocks of size kxk
        reshaped_matrix = matrix.reshape(matrix.shape[0] // k, k, matrix.shape[1] // k, k)
        # Swap the last two axes
        swapped_matrix = reshaped_matrix.swapaxes(1, 2)
        # Flatten each kxk block and make each such flattened block a row in the output 2D array
        return swapped_matrix.reshape(-1, k * k)

    class MaxPool:  # notebook cell 17 (the version with a dict of cached lookups)
        def __init__(self, k):
            self.k = k
            self.lookups = {}

        def forward(self, A):
            pad_height = (self.k - A.shape[0] % self.k) % self.k
            pad_width = (self.k - A.shape[1] % self.k) % self.k
            padded_A = np.pad(A, ((0, pad_height), (0, pad_width)), mode='constant')

            key = f"{padded_A.shape[0]}x{padded_A.shape[1]}"
            if key not in self.lookups:
                rows, cols = padded_A.shape
                self.lookups[key] = np.arange(rows * cols).reshape(rows, cols)
            lookup = self.lookups[key]

            transformed_A = final_transform(padded_A, self.k)
            transformed_lookup = final_transform(lookup, self.k)
            max_indices = np.argmax(transformed_A, axis=1)
            final_original_indices = transformed_lookup[np.arange(max_indices.size), max_indices]

            max_values = padded_A.flatten()[final_original_indices]
            out_height = padded_A.shape[0] // self.k
            out_width = padded_A.shape[1] // self.k
            return max_values.reshape(out_height, out_width), final_original_indices

    def build_lookup(N, k):
        # notebook cell 30: built once per input size with Python loops; this is the cached
        # table, so it stays outside the timed region
        I = np.arange(N * N, dtype=np.int32).reshape(N, N)
        s = N - k + 1
        lookup = np.zeros((s, s, k * k), dtype=np.int32)
        for r in range(s):
            for c in range(s):
                lookup[r, c] = I[r:r + k, c:c + k].flatten()
        return lookup

    def sliding_window_lookup(A, lookup):
        # notebook cells 32, 33, 35: gather every window, argmax, map back to input indices,
        # then the bincount "multiplier" (how often each input won) that the backward pass uses
        s = lookup.shape[0]
        rel_indices = A.flatten()[lookup].argmax(axis=-1)
        i, j = np.ogrid[:s, :s]
        winner_indices = lookup[i, j, rel_indices]
        multiplier = np.bincount(winner_indices.flatten(), minlength=A.size).reshape(A.shape)
        return winner_indices, multiplier

    return final_transform, MaxPool, build_lookup, sliding_window_lookup


def make_numba_impl(np):
    """The notebook's numba loop (cell 24), or None when numba is not installed or fails."""
    try:
        from numba import jit
    except Exception:
        return None

    @jit(nopython=True)
    def maxpool_numba(A, k):
        noutY, noutX = A.shape[0] // k, A.shape[1] // k
        outIndices = np.zeros((noutY, noutX), dtype=np.int64)
        outValues = np.zeros((noutY, noutX), dtype=A.dtype)
        for outY in range(noutY):
            for outX in range(noutX):
                square = A[outY * k: (outY + 1) * k, outX * k: (outX + 1) * k]
                indexWinner = np.argmax(square)
                originalIndex = (outY * k + indexWinner // k) * A.shape[1] + (outX * k + indexWinner % k)
                outIndices[outY, outX] = originalIndex
                outValues[outY, outX] = square.flatten()[indexWinner]
        return outIndices, outValues

    try:
        maxpool_numba(np.zeros((4, 4), dtype=np.float32), 2)  # compile now, not in the warm-up
    except Exception:
        return None
    return maxpool_numba


# ---------------------------------------------------------------------------------------------
# maxpool's Python package, and the same calls through its C ABI
# ---------------------------------------------------------------------------------------------
class CTensor(ctypes.Structure):
    """MaxpoolTensor (include/maxpool.h)."""
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_uint32),
                ("shape", ctypes.c_size_t * 4), ("strides", ctypes.c_size_t * 4)]


class CParams(ctypes.Structure):
    """MaxpoolParams (include/maxpool.h)."""
    _fields_ = [(f, ctypes.c_uint32) for f in ("kernel_h", "kernel_w", "stride_h", "stride_w", "pad_top",
                                                "pad_bottom", "pad_left", "pad_right", "dilation_h",
                                                "dilation_w")] + [("ceil_mode", ctypes.c_bool)]


C_DTYPES = {"float32": 0, "int64": 7}  # MAXPOOL_DTYPE_F32, MAXPOOL_DTYPE_I64


def c_tensor(a):
    """A numpy array as a MaxpoolTensor: (N, C, H, W) with strides in elements."""
    return CTensor(a.ctypes.data, C_DTYPES[a.dtype.name], (ctypes.c_size_t * 4)(*a.shape),
                   (ctypes.c_size_t * 4)(*(s // a.itemsize for s in a.strides)))


def c_plan(lib, k, s, p, h, w):
    params = CParams(k, k, s, s, p, p, p, p, 1, 1, False)
    plan = ctypes.c_void_p()
    status = lib.maxpool_plan_new(0, ctypes.byref(params), h, w, ctypes.byref(plan))
    assert status == 0, f"maxpool_plan_new: status {status}"
    return plan


def time_batched(fn, batch, batches=15):
    """Median and min seconds a call of fn(), over `batches` batches of `batch` calls."""
    for _ in range(batch):
        fn()
    samples = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t0) / batch)
    return statistics.median(samples), min(samples), samples


def maxpool_rows(np, torch, F, rng, threads, runs, record, libpath):
    """Rows for maxpool's Python package and its C ABI, side by side with PyTorch."""
    try:
        import maxpool
        import maxpool.torch as mt
    except ImportError as e:
        print(f"maxpool's Python package: skipped, {e} (make test-python, or pip install ./python)")
        return
    lib = None
    if libpath and os.path.exists(libpath):
        lib = ctypes.CDLL(libpath)
        lib.maxpool_plan_forward_tensor.argtypes = [ctypes.c_void_p, ctypes.POINTER(CTensor),
                                                    ctypes.POINTER(CTensor), ctypes.POINTER(CTensor),
                                                    ctypes.c_uint32, ctypes.POINTER(CTensor)]
        lib.maxpool_plan_new.argtypes = [ctypes.c_uint32, ctypes.POINTER(CParams), ctypes.c_size_t,
                                         ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p)]
        lib.maxpool_set_num_threads.argtypes = [ctypes.c_size_t]
    else:
        print(f"maxpool's C ABI: skipped, {libpath} not found (make)")
    tag = f"maxpool {maxpool.__version__}"
    for name, N, C, H, W, k, s, p in WORKLOADS:
        desc = f"{name} {N}x{C}x{H}x{W} k{k} s{s} p{p}"
        OH, OW = out_size(H, k, s, p), out_size(W, k, s, p)
        nbytes = N * C * H * W * 4 + N * C * OH * OW * 12
        x = rng.standard_normal((N, C, H, W), dtype=np.float32)
        want_v, want_i = F.max_pool2d(torch.from_numpy(x), k, s, p, return_indices=True)
        plan = maxpool.Plan(k, s, p, height=H, width=W)
        cplan = c_plan(lib, k, s, p, H, W) if lib else None
        for layout in ("NCHW", "channels-last"):
            xl = x if layout == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
            xt = torch.from_numpy(xl)
            v, i = maxpool.max_pool2d(xl, k, s, p, return_indices=True)
            assert np.array_equal(v, want_v.numpy()) and np.array_equal(i, want_i.numpy()), (desc, layout)
            # Preallocated outputs in the input's memory order, shared by the plan call and the C ABI call.
            vo, io = np.empty_like(v), np.empty_like(i)
            if layout != "NCHW":
                vo = np.empty((N, OH, OW, C), np.float32).transpose(0, 3, 1, 2)
                io = np.empty((N, OH, OW, C), np.int64).transpose(0, 3, 1, 2)
            out = (vo, io)
            for nt in threads:
                maxpool.set_num_threads(nt)
                torch.set_num_threads(nt)
                record(desc, f"{tag} max_pool2d (numpy)", layout, nt, nbytes,
                       *time_call(lambda: maxpool.max_pool2d(xl, k, s, p, return_indices=True), runs))
                record(desc, f"{tag} max_pool2d (torch tensor)", layout, nt, nbytes,
                       *time_call(lambda: maxpool.max_pool2d(xt, k, s, p, return_indices=True), runs))
                record(desc, f"{tag} plan(x, out=) (numpy)", layout, nt, nbytes,
                       *time_call(lambda: plan(xl, True, out=out), runs))
                if lib:
                    lib.maxpool_set_num_threads(nt)
                    ci, cv, cx = c_tensor(io), c_tensor(vo), c_tensor(xl)
                    call = lambda: lib.maxpool_plan_forward_tensor(cplan, ctypes.byref(cx), ctypes.byref(cv),
                                                                   ctypes.byref(ci), 0, None)
                    assert call() == 0
                    record(desc, f"{tag} C ABI plan forward_tensor (ctypes, same arrays)", layout, nt, nbytes,
                           *time_call(call, runs))
        # Training: forward and backward through autograd, NCHW.
        xt = torch.from_numpy(x).requires_grad_()
        theirs, ours = torch.nn.MaxPool2d(k, s, p), mt.MaxPool2d(k, s, p)
        assert torch.equal(theirs(xt), ours(xt))

        def step(module):
            xt.grad = None
            module(xt).sum().backward()

        for nt in threads:
            maxpool.set_num_threads(nt)
            torch.set_num_threads(nt)
            a, b, ratio = time_pair(lambda: step(theirs), lambda: step(ours), runs)
            record(desc, f"torch {torch.__version__} nn.MaxPool2d forward+backward", "NCHW", nt, nbytes, *a)
            record(desc, f"{tag} maxpool.torch.MaxPool2d forward+backward (calls alternating with torch's; "
                   f"median of the pairs' ratios torch / ours: {ratio:.2f}x)", "NCHW", nt, nbytes, *b)
        del x, xt

    # W4: the notebook's 4x4 int64 matrix, k2 s2: the per-call cost of each layer.
    desc = "W4 1x1x4x4 int64 k2 s2 p0"
    a = np.array([[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]], dtype=np.int64)
    plan = maxpool.Plan(2, height=4, width=4)
    vo, io = np.empty((2, 2), np.int64), np.empty((2, 2), np.int64)
    nb = 16 * 8 + 4 * 16
    maxpool.set_num_threads(1)
    rows4 = [
        (f"{tag} max_pool2d (numpy)", lambda: maxpool.max_pool2d(a, 2, return_indices=True)),
        (f"{tag} plan(x) (numpy)", lambda: plan(a, True)),
        (f"{tag} plan(x, out=) (numpy)", lambda: plan(a, True, out=(vo, io))),
        (f"torch {torch.__version__} max_pool2d", lambda t=torch.from_numpy(a.astype(np.float32))[None, None]:
            F.max_pool2d(t, 2, return_indices=True)),
    ]
    if lib:
        cplan = c_plan(lib, 2, 2, 0, 4, 4)
        cx, cv, ci = c_tensor(a[None, None]), c_tensor(vo[None, None]), c_tensor(io[None, None])
        rows4.append((f"{tag} C ABI plan forward_tensor (ctypes)",
                      lambda: lib.maxpool_plan_forward_tensor(cplan, ctypes.byref(cx), ctypes.byref(cv),
                                                              ctypes.byref(ci), 0, None)))
        rows4.append(("ctypes: a call of a C function that does nothing (maxpool_set_num_threads(0))",
                      lambda: lib.maxpool_set_num_threads(0)))
    for impl, fn in rows4:
        record(desc, impl, "HW", 1, nb, *time_batched(fn, 20000))
    src = np.ones(nb, dtype=np.uint8)
    dst = np.empty_like(src)
    record(desc, "numpy memcpy floor", "bytes", 1, nb, *time_batched(lambda: np.copyto(dst, src), 20000))
    maxpool.set_num_threads(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed calls per measurement (median reported)")
    ap.add_argument("--threads", default="1,2", help="comma-separated torch.set_num_threads values")
    ap.add_argument("--json", metavar="PATH", help="also write all results and raw samples here")
    ap.add_argument("--libmaxpool", default=os.path.join(os.path.dirname(__file__), "..", "target", "release",
                                                         "libmaxpool.so"),
                    help="the C library for the C ABI rows (default: target/release/libmaxpool.so, from `make`)")
    ap.add_argument("--only-maxpool", action="store_true",
                    help="only the rows of maxpool's Python package and C ABI, PyTorch beside them")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",") if t.strip()]

    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"pytorch_side_by_side: skipped, {e.name} is not installed "
              f"(pip install torch numpy in a venv outside the repo to run it)")
        return 0

    rng = np.random.default_rng(0)
    rows = []  # one dict per measurement

    def record(workload, impl, layout, nthreads, nbytes, med, mn, samples):
        rows.append(dict(workload=workload, impl=impl, layout=layout, threads=nthreads,
                         bytes=nbytes, median_s=med, min_s=mn, samples_s=samples))

    # --- maxpool's Python package, its C ABI, and PyTorch's module ----------------------------
    maxpool_rows(np, torch, F, rng, threads, args.runs, record, args.libmaxpool)

    # --- PyTorch and the memcpy floor on the three workloads ---------------------------------
    for name, N, C, H, W, k, s, p in WORKLOADS:
        desc = f"{name} {N}x{C}x{H}x{W} k{k} s{s} p{p}"
        OH, OW = out_size(H, k, s, p), out_size(W, k, s, p)
        in_bytes = N * C * H * W * 4
        out_elems = N * C * OH * OW
        nbytes = in_bytes + out_elems * 4 + out_elems * 8  # input + f32 values + int64 indices

        x = torch.from_numpy(rng.standard_normal((N, C, H, W), dtype=np.float32))
        layouts = {"NCHW": x.contiguous(),
                   "channels-last": x.contiguous(memory_format=torch.channels_last)}
        ref_vals, ref_idx = F.max_pool2d(layouts["NCHW"], k, s, p, return_indices=True)
        for layout, xt in layouts.items():
            # same answer in both layouts, so the timings compare like with like
            v, i = F.max_pool2d(xt, k, s, p, return_indices=True)
            assert torch.equal(v, ref_vals) and torch.equal(i, ref_idx), (desc, layout)
            for nt in threads:
                torch.set_num_threads(nt)
                fn = lambda xt=xt: F.max_pool2d(xt, k, s, p, return_indices=True)
                record(desc, f"torch {torch.__version__}", layout, nt, nbytes, *time_call(fn, args.runs))

        # numpy's copy is single-threaded, so one row regardless of --threads
        src = np.ones(nbytes, dtype=np.uint8)
        dst = np.empty_like(src)
        record(desc, "numpy memcpy floor", "bytes", 1, nbytes,
               *time_call(lambda: np.copyto(dst, src), args.runs))
        del x, layouts, src, dst

    # --- The notebook's numpy techniques on one 256x256 plane --------------------------------
    if args.only_maxpool:
        return report(rows, args, np, torch, threads)
    final_transform, MaxPool, build_lookup, sliding_window_lookup = make_notebook_impls(np)
    A = rng.standard_normal((PLANE, PLANE), dtype=np.float32)
    At = torch.from_numpy(A)[None, None]

    def plane_bytes(k, s):
        o = out_size(PLANE, k, s, 0)
        return PLANE * PLANE * 4 + o * o * (4 + 8)

    # block-reshape, k2 s2: check values and winner indices against torch before timing
    desc = f"plane 1x1x{PLANE}x{PLANE} k2 s2 p0"
    pool = MaxPool(2)
    vals, idx = pool.forward(A)
    tv, ti = F.max_pool2d(At, 2, 2, 0, return_indices=True)
    assert np.array_equal(vals, tv[0, 0].numpy()) and np.array_equal(idx, ti.flatten().numpy())
    record(desc, "notebook block-reshape (numpy)", "HW", 1, plane_bytes(2, 2),
           *time_call(lambda: pool.forward(A), args.runs))

    maxpool_numba = make_numba_impl(np)
    if maxpool_numba is not None:
        ni, nv = maxpool_numba(A, 2)
        assert np.array_equal(nv, tv[0, 0].numpy()) and np.array_equal(ni, ti[0, 0].numpy())
        import numba
        record(desc, f"notebook loop (numba {numba.__version__})", "HW", 1, plane_bytes(2, 2),
               *time_call(lambda: maxpool_numba(A, 2), args.runs))

    # torch on the same plane, so the notebook rows have a neighbour to compare with
    for nt in threads:
        torch.set_num_threads(nt)
        record(desc, f"torch {torch.__version__}", "NCHW", nt, plane_bytes(2, 2),
               *time_call(lambda: F.max_pool2d(At, 2, 2, 0, return_indices=True), args.runs))

    # sliding-window-lookup, k3 s1: the table is the notebook's cache, built once, untimed
    desc = f"plane 1x1x{PLANE}x{PLANE} k3 s1 p0"
    lookup = build_lookup(PLANE, 3)
    win, mult = sliding_window_lookup(A, lookup)
    tv, ti = F.max_pool2d(At, 3, 1, 0, return_indices=True)
    assert np.array_equal(win, ti[0, 0].numpy())
    assert np.array_equal(mult, np.bincount(ti.flatten().numpy(), minlength=A.size).reshape(A.shape))
    record(desc, "notebook sliding-window-lookup (numpy)", "HW", 1, plane_bytes(3, 1),
           *time_call(lambda: sliding_window_lookup(A, lookup), args.runs))
    for nt in threads:
        torch.set_num_threads(nt)
        record(desc, f"torch {torch.__version__}", "NCHW", nt, plane_bytes(3, 1),
               *time_call(lambda: F.max_pool2d(At, 3, 1, 0, return_indices=True), args.runs))

    # memcpy floors for the two plane shapes
    for k, s in ((2, 2), (3, 1)):
        nb = plane_bytes(k, s)
        src = np.ones(nb, dtype=np.uint8)
        dst = np.empty_like(src)
        record(f"plane 1x1x{PLANE}x{PLANE} k{k} s{s} p0", "numpy memcpy floor", "bytes", 1, nb,
               *time_call(lambda: np.copyto(dst, src), args.runs))

    return report(rows, args, np, torch, threads)


def report(rows, args, np, torch, threads):
    floors = {r["workload"]: r["median_s"] for r in rows if r["impl"] == "numpy memcpy floor"}
    # the load average tells a reader how noisy the machine was during the run
    load = "%.2f %.2f %.2f" % os.getloadavg()
    print(f"torch {torch.__version__}, numpy {np.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load} at end, "
          f"runs={args.runs} (median after {WARMUP} warm-up calls)")
    print("GB/s = (input + f32 values + int64 indices bytes) / median; x floor = median / memcpy floor median")
    print()
    print("| workload | implementation | layout | threads | median ms | min ms | GB/s | x floor |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['workload']} | {r['impl']} | {r['layout']} | {r['threads']} "
              f"| {r['median_s'] * 1e3:.4g} | {r['min_s'] * 1e3:.4g} "
              f"| {r['bytes'] / r['median_s'] / 1e9:.2f} | {r['median_s'] / floors[r['workload']]:.2f} |")

    if args.json:
        meta = dict(torch=torch.__version__, numpy=np.__version__, python=platform.python_version(),
                    cpus=os.cpu_count(), loadavg_at_end=load, machine=platform.machine(), runs=args.runs, warmup=WARMUP,
                    threads=threads, date=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, results=rows), f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
