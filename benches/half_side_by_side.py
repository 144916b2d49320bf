"""f16 and bf16 (with f32 beside them) through PyTorch's max_pool2d(return_indices=True) and maxpool's, in one
process, NCHW and channels-last, W1-W3, at each thread count: issue 21's peer comparison.

    pip install torch numpy ml_dtypes && pip install ./python   # or `maturin develop --release` in python/
    python benches/half_side_by_side.py --runs 25 --threads 1,2

Both are given the same torch tensor and return torch tensors (maxpool's through zero-copy views). The calls
alternate, torch's then ours, so that drift in the machine's load hits both alike; the table shows each side's
median and the median of the per-pair ratios torch / ours. Values are checked bit for bit against torch's first,
and indices too.
"""

import argparse

# The workloads and the alternating timer of the f32 side-by-side, beside this file; imported before torch, since
# it sets torch's OpenMP wait policy (see there).
from pytorch_side_by_side import WORKLOADS, time_pair

import maxpool
import torch
import torch.nn.functional as F


def bits(t):
    return t.view(torch.int16) if t.element_size() == 2 else t.view(torch.int32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=25, help="timed pairs of calls per cell (medians reported)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    print(f"torch {torch.__version__}, maxpool {maxpool.__version__}; medians of {args.runs} alternating pairs")
    print(f"{'workload':4} {'layout':13} {'dtype':9} {'thr':>3} {'torch ms':>9} {'ours ms':>8} {'torch/ours':>10}")
    gen = torch.Generator().manual_seed(0)
    for name, N, C, H, W, k, s, p in WORKLOADS:
        base = torch.randn((N, C, H, W), generator=gen)
        for layout in ("NCHW", "channels-last"):
            for dtype in (torch.float32, torch.float16, torch.bfloat16):
                x = base.to(dtype)
                if layout != "NCHW":
                    x = x.contiguous(memory_format=torch.channels_last)
                want_v, want_i = F.max_pool2d(x, k, s, p, return_indices=True)
                got_v, got_i = maxpool.max_pool2d(x, k, s, p, return_indices=True)
                assert torch.equal(bits(got_v.contiguous()), bits(want_v.contiguous())), (name, layout, dtype)
                mismatched = (got_i != want_i).sum().item()
                assert mismatched == 0, f"{name} {layout} {dtype}: {mismatched} indices differ from torch's"
                for nt in threads:
                    torch.set_num_threads(nt)
                    maxpool.set_num_threads(nt)
                    (t, _, _), (o, _, _), r = time_pair(
                        lambda: F.max_pool2d(x, k, s, p, return_indices=True),
                        lambda: maxpool.max_pool2d(x, k, s, p, return_indices=True),
                        args.runs,
                    )
                    dt = str(dtype).removeprefix("torch.")
                    print(f"{name:4} {layout:13} {dt:9} {nt:3} {t * 1e3:9.3f} {o * 1e3:8.3f} {r:9.2f}x", flush=True)


if __name__ == "__main__":
    main()
