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
    (k2 s2) when numba imports.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed calls per measurement (median reported)")
    ap.add_argument("--threads", default="1,2", help="comma-separated torch.set_num_threads values")
    ap.add_argument("--json", metavar="PATH", help="also write all results and raw samples here")
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

    # --- Report ------------------------------------------------------------------------------
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
              f"| {r['median_s'] * 1e3:.3f} | {r['min_s'] * 1e3:.3f} "
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
