"""Derives the f16 and bf16 vectors of maxpool2d.jsonl from its f32 and f64 ones, without the library.

A vector whose every input element is exactly a 16-bit float (NaN and the infinities included) pools to the same
winners in that type: converting exactly preserves every compare, so the expected indices and multiplier carry
over, and the values convert exactly too. Such a vector is copied with dtype "f16" or "bf16" and " (as f16)" or
" (as bf16)" added to its name; the others are left out. Run from anywhere, with Python 3 and numpy:

    python3 crates/conformance/data/derive_half.py

It rewrites the file in place: every vector that is not f16 or bf16 is kept as it was, in order, and the derived
ones follow, so running it again changes nothing.
"""

import json
import math
import pathlib
import struct

import numpy as np

PATH = pathlib.Path(__file__).with_name("maxpool2d.jsonl")
SPECIAL = {"NaN", "Infinity", "-Infinity"}


def exact_f16(x):
    return bool(np.isfinite(x)) and float(np.float16(x)) == x


def exact_bf16(x):
    # bf16 is f32's upper half: exact when x is an f32 whose low 16 bits are zero (f32 overflow is not exact).
    if not math.isfinite(x) or abs(x) > float(np.finfo(np.float32).max):
        return False
    if float(np.float32(x)) != x:
        return False
    return struct.unpack("<I", struct.pack("<f", x))[0] & 0xFFFF == 0


def representable(v, exact):
    return v in SPECIAL if isinstance(v, str) else exact(float(v))


def main():
    lines = [json.loads(l) for l in PATH.read_text().splitlines() if l.strip()]
    kept = [v for v in lines if v["dtype"] not in ("f16", "bf16")]
    derived = []
    for dtype, exact in (("f16", exact_f16), ("bf16", exact_bf16)):
        for v in kept:
            if v["dtype"] not in ("f32", "f64"):
                continue
            if not all(representable(x, exact) for x in v["input"]):
                continue
            d = dict(v)
            d["name"] = f"{v['name']} (as {dtype})"
            d["dtype"] = dtype
            derived.append(d)
    PATH.write_text("".join(json.dumps(v) + "\n" for v in kept + derived))
    print(f"{len(kept)} vectors kept, {len(derived)} derived "
          f"({sum(d['dtype'] == 'f16' for d in derived)} f16, {sum(d['dtype'] == 'bf16' for d in derived)} bf16)")


if __name__ == "__main__":
    main()
