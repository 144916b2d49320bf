//! The benchmark workloads, shared by the criterion benches.

use maxpool::{DType, Params};

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

/// A deterministic input with many distinct values and some ties.
pub fn input<T: From<i16>>(len: usize) -> Vec<T> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            T::from((state % 2001) as i16 - 1000)
        })
        .collect()
}
