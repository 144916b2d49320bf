//! Which instruction set the kernels are compiled for, chosen once per process from the CPU's features. The same
//! generic kernel is compiled once per level (`#[target_feature]`), so every level computes the same thing and
//! the conformance suite can run on each: `MAXPOOL_SIMD` caps the level, for tests and for comparison.

use std::fmt;
use std::sync::OnceLock;

/// The environment variable that caps the instruction set: `portable`, `avx2` or `avx512`. Read once per process.
pub const SIMD_ENV: &str = "MAXPOOL_SIMD";

/// An instruction-set level the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Simd {
    /// The target's baseline: SSE2 on x86-64, NEON on aarch64, plain code elsewhere.
    Portable,
    /// AVX2 (x86-64).
    Avx2,
    /// AVX-512 F/BW/DQ/VL (x86-64).
    Avx512,
}

impl Simd {
    /// Every level, lowest first.
    pub const ALL: [Simd; 3] = [Simd::Portable, Simd::Avx2, Simd::Avx512];

    /// The name `MAXPOOL_SIMD` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Simd::Portable => "portable",
            Simd::Avx2 => "avx2",
            Simd::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run this level.
    pub fn is_available(self) -> bool {
        match self {
            Simd::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => {
                Simd::Avx2.is_available()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The levels this CPU can run, lowest first.
    pub fn available() -> Vec<Simd> {
        Simd::ALL.into_iter().filter(|s| s.is_available()).collect()
    }

    /// The level in use: the best this CPU has, at most what `MAXPOOL_SIMD` asks for; an error message when
    /// `MAXPOOL_SIMD` names no level.
    pub fn active() -> Result<Simd, &'static str> {
        static ACTIVE: OnceLock<Result<Simd, &'static str>> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let best = Simd::ALL
                .into_iter()
                .rev()
                .find(|s| s.is_available())
                .unwrap_or(Simd::Portable);
            match std::env::var(SIMD_ENV) {
                Err(_) => Ok(best),
                Ok(v) => match Simd::ALL
                    .into_iter()
                    .find(|s| s.name().eq_ignore_ascii_case(v.trim()))
                {
                    Some(cap) => Ok(cap.min(best)),
                    None => Err("MAXPOOL_SIMD must be portable, avx2 or avx512"),
                },
            }
        })
    }
}

impl fmt::Display for Simd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
