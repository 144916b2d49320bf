//! The benchmark workloads: the shapes and parameters of `BENCHMARKS.md`, the bytes a call must move, and a
//! deterministic input. The criterion benches and `maxpool bench` both run them.

use maxpool::{bf16, f16, DType, Element, Params};

/// One benchmark workload: an NCHW batch and pooling parameters.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Short id, as in `BENCHMARKS.md`.
    pub id: &'static str,
    /// What it stands for.
    pub what: &'static str,
    /// N, C, H, W.
    pub shape: [usize; 4],
    /// The parameters.
    pub params: Params,
    /// The element type.
    pub dtype: DType,
}

impl Workload {
    /// N·C, the number of planes.
    pub fn planes(&self) -> usize {
        self.shape[0] * self.shape[1]
    }
}

/// The workloads of the speed targets (issue 5).
pub const WORKLOADS: [Workload; 4] = [
    Workload {
        id: "W1",
        what: "ResNet stem 8×64×112×112, k3 s2 p1",
        shape: [8, 64, 112, 112],
        params: Params::new(3).with_stride(2).with_padding(1),
        dtype: DType::F32,
    },
    Workload {
        id: "W2",
        what: "VGG block 8×128×56×56, k2 s2",
        shape: [8, 128, 56, 56],
        params: Params::new(2),
        dtype: DType::F32,
    },
    Workload {
        id: "W3",
        what: "notebook sliding window 1×16×256×256, k3 s1",
        shape: [1, 16, 256, 256],
        params: Params::new(3).with_stride(1),
        dtype: DType::F32,
    },
    Workload {
        id: "W4",
        what: "notebook tiny 1×1×4×4 i64, k2 s2",
        shape: [1, 1, 4, 4],
        params: Params::new(2),
        dtype: DType::I64,
    },
];

/// The bytes a forward call with indices must move at least: read the input, write values and indices. A memcpy
/// of this many bytes is the floor every backend is compared with.
pub fn traffic_bytes(element_size: usize, input_len: usize, output_len: usize) -> usize {
    input_len * element_size + output_len * (element_size + size_of::<i64>())
}

/// A deterministic input with many distinct values and some ties: values in -1000..=1000, folded into 0..128
/// for types too narrow to hold them.
pub fn input<T: TryFrom<i16> + Default>(len: usize) -> impl Iterator<Item = T> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let v = (state % 2001) as i16 - 1000;
        T::try_from(v)
            .or_else(|_| T::try_from(v.rem_euclid(128)))
            .unwrap_or_default()
    })
}

/// The workload input for an element type: [`input`], for the types it converts `i16` to; the 16-bit floats round
/// its values (integers in -1000..=1000: `f16` holds them all, `bf16` those of at most 8 significant bits, so it
/// has more ties).
pub trait Sampled: Element {
    /// `len` elements of the workload input.
    fn sampled(len: usize) -> impl Iterator<Item = Self>;
}

macro_rules! sampled {
    (native: $($t:ty),*) => {$(
        impl Sampled for $t {
            fn sampled(len: usize) -> impl Iterator<Item = Self> {
                input::<$t>(len)
            }
        }
    )*};
    (half: $($t:ty),*) => {$(
        impl Sampled for $t {
            fn sampled(len: usize) -> impl Iterator<Item = Self> {
                input::<i16>(len).map(|v| <$t>::from_f32(f32::from(v)))
            }
        }
    )*};
}
sampled!(native: f32, f64, i8, u8, i16, u16, i32, i64);
sampled!(half: f16, bf16);
