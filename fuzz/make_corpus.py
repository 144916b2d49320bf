"""Writes the seed corpus of the fuzz targets. rust_api and c_api (the byte layout is in fuzz_targets/common.rs,
and c_api's pointer offsets in fuzz_targets/c_api.rs): padding, ceil mode, dilation, NaN, integer extremes,
one-row and one-column planes, raw refusals, for rust_api hostile geometries (raw mode), and for c_api pointers
off their alignment. npy: an options byte, then .npy files, well formed and lying."""
import os
import struct

def header(kh, kw, sh, sw, dh, dw, pads, ceil, dtype, backend, planes, h, w, raw=False):
    flags = ceil | (dtype << 1) | (backend << 4) | (0x80 if raw else 0)
    return bytes([kh - 1 if not raw else kh, kw - 1 if not raw else kw, sh - 1 if not raw else sh,
                  sw - 1 if not raw else sw, dh - 1 if not raw else dh, dw - 1 if not raw else dw,
                  *pads, flags, planes, h - 1 if not raw else h, w - 1 if not raw else w])

f32 = lambda *xs: b"".join(struct.pack("<f", x) for x in xs)
nan = struct.pack("<I", 0x7FC00001)
seeds = {
    "padding_ceil": header(3, 3, 2, 2, 1, 1, [1, 1, 1, 1], 1, 0, 0, 2, 7, 9) + f32(-1, -2, -3, -4, -5) * 20,
    "dilation": header(3, 2, 1, 2, 2, 3, [2, 0, 1, 2], 0, 0, 4, 1, 11, 13) + f32(3, 1, 4, 1, 5, 9, 2, 6) * 30,
    "nan": header(2, 2, 1, 1, 1, 1, [0, 0, 0, 0], 0, 0, 3, 1, 5, 5) + (nan + f32(1.0, float("inf"))) * 20,
    "i8_extremes": header(2, 3, 2, 3, 1, 1, [1, 0, 2, 1], 1, 2, 2, 3, 6, 9) + bytes([0x80, 0x7F, 0, 0xFF]) * 50,
    "i64_extremes": header(3, 3, 1, 1, 1, 1, [2, 2, 2, 2], 0, 7, 1, 1, 4, 4)
    + struct.pack("<qq", -(2**63), 2**63 - 1) * 10,
    "one_row": header(1, 3, 1, 1, 1, 1, [0, 0, 1, 1], 0, 0, 4, 2, 1, 17) + f32(5, 4, 3, 2, 1) * 10,
    "one_column": header(3, 1, 2, 1, 1, 1, [1, 1, 0, 0], 1, 3, 2, 1, 19, 1) + bytes(range(40)),
    "u8_padding_never_wins": header(3, 3, 3, 3, 1, 1, [2, 2, 2, 2], 1, 3, 2, 1, 8, 8) + bytes(64),
    "raw_zero_kernel": header(0, 3, 1, 1, 1, 1, [0, 0, 0, 0], 0, 0, 0, 1, 4, 4, raw=True) + f32(1) * 16,
    "raw_window_in_padding": header(2, 2, 2, 2, 1, 1, [9, 0, 0, 0], 0, 0, 1, 1, 4, 4, raw=True) + f32(1) * 16,
    "raw_overflow": header(2, 2, 2, 2, 1, 1, [0, 0, 0, 0], 0, 0, 1, 0x41, 200, 200, raw=True),
    "raw_unknown_backend": header(2, 2, 2, 2, 1, 1, [0, 0, 0, 0], 0, 0, 7, 6, 4, 4, raw=True) + f32(2) * 16,
    # Scaled by rust_api's hostile mode: a 2^16-square kernel and padding on a 1 x 1 plane; a plane of 2^39.
    "raw_huge_multiplier": header(1, 1, 1, 1, 1, 1, [1, 1, 1, 1], 0, 0, 1, 0, 1, 1, raw=True) + bytes([16, 0]),
    "raw_huge_plane": header(2, 2, 2, 2, 1, 1, [0, 0, 0, 0], 0, 0, 0, 0, 255, 255, raw=True) + bytes([0, 32]),
}


def npy(descr, shape, data):
    """A .npy file (version 1.0) saying `descr` and `shape`, holding `data` whatever they say."""
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    d += " " * ((-(10 + len(d) + 1)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + data


npy_seeds = {
    "f32_planes": bytes([0x01]) + npy("<f4", "(2, 4, 4)", f32(*range(32))),
    "u8_plane_multiplier": bytes([0x12]) + npy("|u1", "(5, 5)", bytes(range(25))),
    "i16_nhwc": bytes([0x41]) + npy("<i2", "(1, 4, 4, 2)", struct.pack("<32h", *range(-16, 16))),
    "f64_big_endian": bytes([0x00]) + npy(">f8", "(3, 3)", struct.pack(">9d", *range(9))),
    "lying_cube": bytes([0x01]) + npy("<f4", "(4096, 4096, 4096)", bytes(16)),
    "zero_planes_huge": bytes([0x11]) + npy("<f4", "(0, 1073741824, 1073741824)", b""),
    "truncated": bytes([0x01]) + npy("<f4", "(2, 4, 4)", f32(*range(30))),
    "float16": bytes([0x01]) + npy("<f2", "(4, 4)", bytes(32)),
    # A descriptor of no known size with a huge shape: read as f32, it allocated 96 GiB before the fix.
    "lying_unknown_type": bytes([0x01]) + npy("<d2", "(24, 1073741824)", b""),
    # An empty axis beside axes whose product no array can have: ndarray-npy panicked building it.
    "unaddressable_empty": bytes([0x01]) + npy("<f4", "(0, 21073741824, 1073741824)", b""),
}
def offsets(input=0, values=0, indices=0, multiplier=0):
    """c_api's two bytes after the header: each pointer's byte offset, 3 bits each."""
    return struct.pack("<H", input | values << 3 | indices << 6 | multiplier << 9)

# c_api reads pointer offsets after the header: the shared seeds keep every pointer aligned, and a few more are off.
c_api_seeds = {name: data[:14] + offsets() + data[14:] for name, data in seeds.items()}
geometry = header(3, 3, 2, 2, 1, 1, [1, 1, 1, 1], 1, 0, 0, 2, 7, 9)
c_api_seeds.update({
    "misaligned_input": geometry + offsets(input=1) + f32(-1, -2, -3, -4, -5) * 20,
    "misaligned_values": geometry + offsets(values=2) + f32(-1, -2, -3, -4, -5) * 20,
    "misaligned_indices": geometry + offsets(indices=4) + f32(-1, -2, -3, -4, -5) * 20,
    "misaligned_multiplier": geometry + offsets(multiplier=7) + f32(-1, -2, -3, -4, -5) * 20,
    "aligned_offsets": geometry + offsets(4, 4, 0, 4) + f32(-1, -2, -3, -4, -5) * 20,
    "misaligned_and_refused": header(0, 3, 1, 1, 1, 1, [0, 0, 0, 0], 0, 0, 0, 1, 4, 4, raw=True)
    + offsets(values=1) + f32(1) * 16,
})
for target, target_seeds in (("rust_api", seeds), ("c_api", c_api_seeds), ("npy", npy_seeds)):
    os.makedirs(f"corpus/{target}", exist_ok=True)
    for name, data in target_seeds.items():
        with open(f"corpus/{target}/{name}", "wb") as f:
            f.write(data)
