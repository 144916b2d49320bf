//! The run-time choice of backend, and plans that hold any of them.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use maxpool_block::BlockReshape;
use maxpool_core::{
    supports, Element, Error, Geometry, Outputs, Params, Planned, Pool, Result, Technique,
};
use maxpool_lookup::SlidingWindowLookup;
use maxpool_naive::NaiveLoop;
use maxpool_simd::VectorisedRows;

/// The environment variable that overrides what [`Backend::Auto`] picks, read once per process.
pub const BACKEND_ENV: &str = "MAXPOOL_BACKEND";

/// A backend, chosen at run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Resolves to a backend that can pool the geometry (see [`Backend::resolve`]).
    #[default]
    Auto,
    /// Direct loops over outputs and taps ([`NaiveLoop`]).
    Naive,
    /// Argmax per block of a reshaped plane ([`BlockReshape`]); non-overlapping windows only.
    Block,
    /// Gather through a precomputed table of window offsets ([`SlidingWindowLookup`]).
    Lookup,
    /// Vectorised sweeps of window taps over output rows, SIMD chosen at run time ([`VectorisedRows`]).
    Simd,
}

impl Backend {
    /// The concrete backends, in order.
    pub const CONCRETE: [Backend; 4] = [
        Backend::Naive,
        Backend::Block,
        Backend::Lookup,
        Backend::Simd,
    ];

    /// The short name: `"auto"`, `"naive"`, `"block"`, `"lookup"`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Naive => NaiveLoop::NAME,
            Backend::Block => BlockReshape::NAME,
            Backend::Lookup => SlidingWindowLookup::NAME,
            Backend::Simd => VectorisedRows::NAME,
        }
    }

    /// The descriptive name: `"auto"`, `"naive-loop"`, `"block-reshape"`, `"sliding-window-lookup"`.
    pub const fn long_name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Naive => NaiveLoop::LONG_NAME,
            Backend::Block => BlockReshape::LONG_NAME,
            Backend::Lookup => SlidingWindowLookup::LONG_NAME,
            Backend::Simd => VectorisedRows::LONG_NAME,
        }
    }

    /// `Ok` when this backend can pool geometries with these parameters, else the error a plan would get.
    /// `Auto` can pool any valid parameters, unless `MAXPOOL_BACKEND` forces a backend that cannot.
    pub fn supports(self, params: &Params) -> Result<()> {
        self.resolve(params).map(|_| ())
    }

    /// What `Auto` tries for overlapping windows (stride below the kernel on an axis), fastest first, as measured
    /// by `cargo bench -p maxpool-benches` (see `BENCHMARKS.md`): simd's row passes and, for 3×3/2 over f32,
    /// its AVX-512 and AVX2 kernels (W1: simd 1.96 ms, lookup 5.01 ms; W3: 0.92 ms against 3.13 ms).
    pub const AUTO_PREFERENCE: [Backend; 4] = [
        Backend::Simd,
        Backend::Lookup,
        Backend::Naive,
        Backend::Block,
    ];

    /// What `Auto` tries for windows that do not overlap: blocks when windows tile the input, else the lookup
    /// table's gathers, which beat simd's strided sweeps (W2, whose 2×2 f32 tiles block pools with its AVX-512
    /// kernel: block 0.86 ms, lookup 1.63 ms, simd 2.46 ms; at 2 threads 0.45, 0.89 and 1.22 ms).
    pub const AUTO_PREFERENCE_DISJOINT: [Backend; 4] = [
        Backend::Block,
        Backend::Lookup,
        Backend::Simd,
        Backend::Naive,
    ];

    /// Output planes with fewer elements than this go to the naive loop: its per-call cost is the lowest, and
    /// for a handful of windows that is all that counts (W4, 2×2 outputs: naive 63 ns a call through the C
    /// ABI, lookup 118 ns, simd 153 ns).
    pub const AUTO_TINY_OUTPUT: usize = 64;

    /// The preference list `Auto` uses for these parameters and, when known, output plane size.
    pub fn auto_preference(params: &Params, out_plane_len: Option<usize>) -> [Backend; 4] {
        if out_plane_len.is_some_and(|n| n < Self::AUTO_TINY_OUTPUT) {
            [
                Backend::Naive,
                Backend::Lookup,
                Backend::Simd,
                Backend::Block,
            ]
        } else if params.stride[0] >= params.kernel[0] && params.stride[1] >= params.kernel[1] {
            Self::AUTO_PREFERENCE_DISJOINT
        } else {
            Self::AUTO_PREFERENCE
        }
    }

    /// The concrete backend a plan with these parameters uses. A concrete backend resolves to itself, or to
    /// [`Error::Unsupported`]. `Auto` resolves to the backend named by `MAXPOOL_BACKEND` when it is set (and
    /// not `auto`), else to the first of [`Backend::auto_preference`] that supports the parameters.
    pub fn resolve(self, params: &Params) -> Result<Backend> {
        self.resolve_for(params, None)
    }

    /// As [`resolve`](Backend::resolve), for planes of `height × width`: `Auto` then also weighs the plane's
    /// size (see [`Backend::auto_preference`]). This is what [`Plan::new`] uses.
    pub fn resolve_sized(self, params: &Params, height: usize, width: usize) -> Result<Backend> {
        let out = Geometry::new(params, height, width)
            .map(|g| g.out_plane_len())
            .ok();
        self.resolve_for(params, out)
    }

    fn resolve_for(self, params: &Params, out_plane_len: Option<usize>) -> Result<Backend> {
        match self {
            Backend::Auto => match env_override()? {
                Some(forced) => forced.resolve(params).map_err(|e| match e {
                    Error::Unsupported { backend, reason } => Error::Unsupported {
                        backend,
                        reason: format!("{reason} ({BACKEND_ENV} chose {backend} for auto)"),
                    },
                    e => e,
                }),
                None => {
                    let mut last = None;
                    for b in Self::auto_preference(params, out_plane_len) {
                        match b.resolve(params) {
                            Err(e) if e.kind() == maxpool_core::ErrorKind::Unsupported => {
                                last = Some(e)
                            }
                            result => return result,
                        }
                    }
                    Err(last.expect("the preference list is not empty"))
                }
            },
            Backend::Naive => supports::<NaiveLoop>(params).map(|()| self),
            Backend::Block => supports::<BlockReshape>(params).map(|()| self),
            Backend::Lookup => supports::<SlidingWindowLookup>(params).map(|()| self),
            Backend::Simd => supports::<VectorisedRows>(params).map(|()| self),
        }
    }
}

/// `MAXPOOL_BACKEND`, parsed once. `auto` or an empty value is no override.
fn env_override() -> Result<Option<Backend>> {
    static FORCED: OnceLock<Result<Option<Backend>>> = OnceLock::new();
    FORCED
        .get_or_init(|| match std::env::var(BACKEND_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(v)) => {
                Err(Error::UnknownBackend(format!("{BACKEND_ENV}={v:?}")))
            }
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => match v.parse::<Backend>() {
                Ok(Backend::Auto) => Ok(None),
                Ok(b) => Ok(Some(b)),
                Err(_) => Err(Error::UnknownBackend(format!("{BACKEND_ENV}={v}"))),
            },
        })
        .clone()
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = Error;
    /// Parses a short or long name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self> {
        [Backend::Auto]
            .into_iter()
            .chain(Backend::CONCRETE)
            .find(|b| b.name().eq_ignore_ascii_case(s) || b.long_name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownBackend(s.to_owned()))
    }
}

/// A plan: a validated geometry and one backend's precomputed state, built once and run any number of times, on
/// any number of planes, from any number of threads (`Send + Sync`, immutable).
///
/// ```
/// use maxpool::{Backend, Outputs, Params, Plan, Pool};
///
/// let plan = Plan::new(Backend::Lookup, &Params::new(3).with_stride(1), 6, 6)?;
/// let input: Vec<f32> = (0..72).map(|i| ((i * 7) % 11) as f32).collect(); // two 6×6 planes
/// let (mut values, mut indices) = (vec![0.0; 32], vec![0i64; 32]);
/// plan.forward(&input, 2, Outputs::new(&mut values).with_indices(&mut indices))?;
/// assert_eq!(values[0], 10.0);
/// # Ok::<(), maxpool::Error>(())
/// ```
#[derive(Debug)]
pub struct Plan {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Naive(Planned<NaiveLoop>),
    Block(Planned<BlockReshape>),
    Lookup(Planned<SlidingWindowLookup>),
    Simd(Planned<VectorisedRows>),
}

/// Runs `$body` with `$p` bound to the concrete plan: static dispatch, no `dyn` in the hot path.
macro_rules! dispatch {
    ($inner:expr, $p:ident => $body:expr) => {
        match $inner {
            Inner::Naive($p) => $body,
            Inner::Block($p) => $body,
            Inner::Lookup($p) => $body,
            Inner::Simd($p) => $body,
        }
    };
}

impl Plan {
    /// Validates `params` for planes of `height × width`, resolves `backend` and precomputes its state.
    pub fn new(backend: Backend, params: &Params, height: usize, width: usize) -> Result<Plan> {
        // The geometry is built once, for Auto's choice and for the plan. Resolution errors come first, as
        // from `resolve_sized`, then the geometry's own.
        let geometry = Geometry::new(params, height, width);
        let out_plane_len = geometry.as_ref().ok().map(Geometry::out_plane_len);
        let backend = backend.resolve_for(params, out_plane_len)?;
        let geometry = geometry?;
        let inner = match backend {
            Backend::Naive => Inner::Naive(Planned::from_geometry(geometry)?),
            Backend::Block => Inner::Block(Planned::from_geometry(geometry)?),
            Backend::Lookup => Inner::Lookup(Planned::from_geometry(geometry)?),
            Backend::Simd => Inner::Simd(Planned::from_geometry(geometry)?),
            Backend::Auto => unreachable!("resolve returns a concrete backend"),
        };
        Ok(Plan { inner })
    }

    /// The concrete backend this plan runs, never `Auto`.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Naive(_) => Backend::Naive,
            Inner::Block(_) => Backend::Block,
            Inner::Lookup(_) => Backend::Lookup,
            Inner::Simd(_) => Backend::Simd,
        }
    }
}

impl Pool for Plan {
    fn geometry(&self) -> &Geometry {
        dispatch!(&self.inner, p => p.geometry())
    }

    fn forward<T: Element>(&self, input: &[T], planes: usize, out: Outputs<'_, T>) -> Result<()> {
        dispatch!(&self.inner, p => p.forward(input, planes, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_both_ways() {
        for b in [Backend::Auto].into_iter().chain(Backend::CONCRETE) {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
            assert_eq!(b.long_name().to_uppercase().parse::<Backend>().unwrap(), b);
        }
        assert_eq!(
            "sliding-window-lookup".parse::<Backend>().unwrap(),
            Backend::Lookup
        );
        let e = "fast".parse::<Backend>().unwrap_err();
        assert!(e.to_string().contains("\"fast\""), "{e}");
    }

    #[test]
    fn block_refuses_overlap_and_says_who_can() {
        let e = Plan::new(Backend::Block, &Params::new(3).with_stride(1), 6, 6).unwrap_err();
        assert_eq!(e.kind(), maxpool_core::ErrorKind::Unsupported);
        assert!(e.to_string().contains("naive, lookup and simd"), "{e}");
        assert!(Backend::Block.supports(&Params::new(3)).is_ok());
        assert_eq!(
            Backend::Block.supports(&Params::new(0)).unwrap_err().kind(),
            maxpool_core::ErrorKind::InvalidParams
        );
    }

    #[test]
    fn plans_are_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Plan>();
    }
}
