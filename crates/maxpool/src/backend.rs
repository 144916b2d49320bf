//! The run-time choice of backend, and plans that hold any of them.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use maxpool_block::BlockReshape;
use maxpool_core::{
    caught, supports, Element, Error, Float, Geometry, IndexElement, IndexFormat, IndicesRef,
    Layout, Outputs, Params, Planned, Pool, Pooled, PooledMut, Result, Technique, TensorMut,
    TensorOutputs, TensorRef, Want,
};
use maxpool_lookup::SlidingWindowLookup;
use maxpool_naive::NaiveLoop;
use maxpool_simd::VectorisedRows;
use ndarray::{Array, ArrayView, Dimension};

/// The environment variable that overrides what [`Backend::Auto`] picks, read once per process.
pub const BACKEND_ENV: &str = "MAXPOOL_BACKEND";

/// Defines [`Backend`] and [`Backend::ALL`] from one list, so that no list of backends can miss one.
macro_rules! backends {
    ($($(#[$doc:meta])* $variant:ident = $value:literal,)*) => {
        /// A backend, chosen at run time. The discriminant is the backend's number in the C ABI
        /// (`MaxpoolBackend`), never renumbered.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Backend {
            $($(#[$doc])* $variant = $value,)*
        }

        impl Backend {
            /// Every backend, `Auto` first, then the concrete ones; in the order of their numbers. Every list of
            /// backends a user sees (messages, `--help`, the C names) is made from this one.
            pub const ALL: [Backend; [$($value),*].len()] = [$(Backend::$variant),*];
        }
    };
}

backends! {
    /// Resolves to a backend that can pool the geometry (see [`Backend::resolve`]).
    #[default]
    Auto = 0,
    /// Direct loops over outputs and taps ([`NaiveLoop`]).
    Naive = 1,
    /// Argmax per block of a reshaped plane ([`BlockReshape`]); non-overlapping windows only.
    Block = 2,
    /// Gather through a precomputed table of window offsets ([`SlidingWindowLookup`]).
    Lookup = 3,
    /// Vectorised sweeps of window taps over output rows, SIMD chosen at run time ([`VectorisedRows`]).
    Simd = 4,
}

// `ALL` is in the order of the backends' numbers, so a number is an index into it.
const _: () = {
    let mut i = 0;
    while i < Backend::ALL.len() {
        assert!(Backend::ALL[i] as usize == i);
        i += 1;
    }
};

impl Backend {
    /// The concrete backends, in order: every backend but `Auto`.
    pub const CONCRETE: [Backend; Backend::ALL.len() - 1] = {
        let mut out = [Backend::Naive; Backend::ALL.len() - 1];
        let mut i = 1;
        while i < Backend::ALL.len() {
            out[i - 1] = Backend::ALL[i];
            i += 1;
        }
        out
    };

    /// The backend with this number (its discriminant, as the C ABI passes it), if there is one.
    pub const fn from_number(number: u32) -> Option<Backend> {
        if (number as usize) < Backend::ALL.len() {
            Some(Backend::ALL[number as usize])
        } else {
            None
        }
    }

    /// The backend's number in the C ABI.
    pub const fn number(self) -> u32 {
        self as u32
    }

    /// The short name, as users type it: `"auto"`, `"naive"`, `"block"`, `"lookup"`, `"simd"`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Naive => NaiveLoop::NAME,
            Backend::Block => BlockReshape::NAME,
            Backend::Lookup => SlidingWindowLookup::NAME,
            Backend::Simd => VectorisedRows::NAME,
        }
    }

    /// The descriptive name: `"auto"`, `"naive-loop"`, `"block-reshape"`, `"sliding-window-lookup"`,
    /// `"vectorised-rows"`.
    pub const fn long_name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Naive => NaiveLoop::LONG_NAME,
            Backend::Block => BlockReshape::LONG_NAME,
            Backend::Lookup => SlidingWindowLookup::LONG_NAME,
            Backend::Simd => VectorisedRows::LONG_NAME,
        }
    }

    /// One line on what the backend does and what it can pool, for help texts.
    pub const fn summary(self) -> &'static str {
        match self {
            Backend::Auto => {
                "a backend that can pool the geometry, chosen by measured speed (MAXPOOL_BACKEND overrides it)"
            }
            Backend::Naive => NaiveLoop::SUMMARY,
            Backend::Block => BlockReshape::SUMMARY,
            Backend::Lookup => SlidingWindowLookup::SUMMARY,
            Backend::Simd => VectorisedRows::SUMMARY,
        }
    }

    /// The names a backend may be given by, for messages: `"auto, naive, block, lookup, simd (or naive-loop,
    /// …)"`, made from [`Backend::ALL`].
    pub fn names() -> &'static str {
        static NAMES: OnceLock<String> = OnceLock::new();
        NAMES.get_or_init(|| {
            let short: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
            let long: Vec<&str> = Backend::ALL
                .iter()
                .filter(|b| b.long_name() != b.name())
                .map(|b| b.long_name())
                .collect();
            format!("{} (or {})", short.join(", "), long.join(", "))
        })
    }

    /// `Ok` when this backend can pool geometries with these parameters, else the error a plan would get.
    /// `Auto` can pool any valid parameters, unless `MAXPOOL_BACKEND` forces a backend that cannot.
    pub fn supports(self, params: &Params) -> Result<()> {
        self.resolve(params).map(|_| ())
    }

    /// What `Auto` tries for overlapping windows (stride below the kernel on an axis), fastest first, as measured
    /// by `cargo bench -p maxpool-benches` on W1 and W3 (figures in `BENCHMARKS.md`, "Per backend"): simd's row
    /// passes and, for 3×3/2 over f32, its AVX-512 and AVX2 kernels.
    pub const AUTO_PREFERENCE: [Backend; 4] = [
        Backend::Simd,
        Backend::Lookup,
        Backend::Naive,
        Backend::Block,
    ];

    /// What `Auto` tries for windows that do not overlap: blocks when windows tile the input, else the lookup
    /// table's gathers, which beat simd's strided sweeps, in that order on W2 at 1 and 2 threads (figures in
    /// `BENCHMARKS.md`, "Per backend").
    pub const AUTO_PREFERENCE_DISJOINT: [Backend; 4] = [
        Backend::Block,
        Backend::Lookup,
        Backend::Simd,
        Backend::Naive,
    ];

    /// Output planes with fewer elements than this go to the naive loop: its per-call cost is the lowest, and
    /// for a handful of windows that is all that counts (W4's 2×2 outputs, in `BENCHMARKS.md`, "Per backend").
    pub const AUTO_TINY_OUTPUT: usize = 64;

    /// `Auto` does not choose the lookup backend when its table, one offset per output per tap, would hold more
    /// entries than this (16 MiB of `u32` offsets): its memory grows with the image, the other backends' does
    /// not, and the simd backend pools every geometry.
    pub const AUTO_LOOKUP_MAX_ENTRIES: usize = 1 << 22;

    /// The preference list `Auto` uses for these parameters and, when known, output plane size.
    pub fn auto_preference(params: &Params, out_plane_len: Option<usize>) -> [Backend; 4] {
        let taps = params.kernel[0].saturating_mul(params.kernel[1]);
        let big_table =
            out_plane_len.is_some_and(|n| n.saturating_mul(taps) > Self::AUTO_LOOKUP_MAX_ENTRIES);
        let mut preference = Self::preference(params, out_plane_len);
        if big_table {
            // Last: every list has simd before it, which supports every geometry.
            let at = preference.iter().position(|&b| b == Backend::Lookup);
            if let Some(at) = at {
                preference[at..].rotate_left(1);
            }
        }
        preference
    }

    fn preference(params: &Params, out_plane_len: Option<usize>) -> [Backend; 4] {
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
                        reason: format!("{reason} ({BACKEND_ENV}={backend} chose it for auto)"),
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
            concrete => match concrete.technique_supports(params) {
                Err(Error::Unsupported { backend, reason }) => {
                    let can: Vec<&str> = Backend::CONCRETE
                        .iter()
                        .filter(|b| b.technique_supports(params).is_ok())
                        .map(|b| b.name())
                        .collect();
                    let can = match &can[..] {
                        [] => String::new(),
                        [one] => format!("; {one} can"),
                        [init @ .., last] => format!("; {} and {last} can", init.join(", ")),
                    };
                    Err(Error::Unsupported {
                        backend,
                        reason: format!("{reason}{can}"),
                    })
                }
                result => result.map(|()| concrete),
            },
        }
    }

    /// What a concrete backend's technique says of these parameters; `Auto` is not a technique.
    fn technique_supports(self, params: &Params) -> Result<()> {
        match self {
            Backend::Auto => Ok(()),
            Backend::Naive => supports::<NaiveLoop>(params),
            Backend::Block => supports::<BlockReshape>(params),
            Backend::Lookup => supports::<SlidingWindowLookup>(params),
            Backend::Simd => supports::<VectorisedRows>(params),
        }
    }
}

/// The error for `given`, which names no backend: it lists the names that do.
fn unknown(given: String) -> Error {
    Error::UnknownBackend {
        given,
        known: Backend::names(),
    }
}

/// `MAXPOOL_BACKEND`, parsed once. `auto` or an empty value is no override.
fn env_override() -> Result<Option<Backend>> {
    static FORCED: OnceLock<Result<Option<Backend>>> = OnceLock::new();
    FORCED
        .get_or_init(|| match std::env::var(BACKEND_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(v)) => Err(unknown(format!("{BACKEND_ENV}={v:?}"))),
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => match v.parse::<Backend>() {
                Ok(Backend::Auto) => Ok(None),
                Ok(b) => Ok(Some(b)),
                Err(_) => Err(unknown(format!("{BACKEND_ENV}={v}"))),
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
        Backend::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s) || b.long_name().eq_ignore_ascii_case(s))
            .ok_or_else(|| unknown(format!("{s:?}")))
    }
}

/// A plan: a validated geometry and one backend's precomputed state, built once and run any number of times, on
/// any number of planes, from any number of threads (`Send + Sync`, immutable).
///
/// ```
/// use maxpool::{Backend, Outputs, Params, Plan};
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
        caught(|| Self::build(backend, params, height, width))
    }

    fn build(backend: Backend, params: &Params, height: usize, width: usize) -> Result<Plan> {
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

    /// The validated geometry: parameters, input and output plane sizes.
    pub fn geometry(&self) -> &Geometry {
        Pool::geometry(self)
    }

    /// The parameters the plan was made with.
    pub fn params(&self) -> &Params {
        self.geometry().params()
    }

    /// The input plane size the plan was made for, `[height, width]`.
    pub fn in_shape(&self) -> [usize; 2] {
        let g = self.geometry();
        [g.height(), g.width()]
    }

    /// The output plane size, `[out_height, out_width]`: `values` and `indices` hold this many elements per
    /// plane.
    pub fn out_shape(&self) -> [usize; 2] {
        let g = self.geometry();
        [g.out_height(), g.out_width()]
    }

    /// The kernel a forward call on an input of this layout runs, with outputs in the input's memory order and
    /// `i64` plane indices: `"{backend}/{instruction set}/{way}"`, the way being `nchw` (dense planes in place),
    /// `nhwc` (channels-last: whole runs of channels compared at once) or `planes` (each plane gathered, then
    /// pooled). For example `"simd/avx512/nhwc"`. The plan's choice for this layout is made here, not per call.
    pub fn kernel(&self, input: &Layout) -> &'static str {
        dispatch!(&self.inner, p => p.kernel(input))
    }

    /// Pools `planes` contiguous row-major planes from `input` into `out`: `values` and, when given, `indices`
    /// (`planes × out_height × out_width`) and `multiplier` (`planes × height × width`, overwritten, not added
    /// to). On error nothing has been written. See [`Pool::forward`].
    pub fn forward<T: Element>(
        &self,
        input: &[T],
        planes: usize,
        out: Outputs<'_, T>,
    ) -> Result<()> {
        caught(|| Pool::forward(self, input, planes, out))
    }

    /// Pools an array whose last two axes are (height, width), with any strides and any number of leading axes.
    /// See [`Pool::pool`].
    pub fn pool<T: Element, D: Dimension>(
        &self,
        input: ArrayView<'_, T, D>,
        want: Want,
    ) -> Result<Pooled<T, D>> {
        caught(|| Pool::pool(self, input, want))
    }

    /// Pools tensors of any layout: `input` (N, C, H, W) into `out`, with indices in any format and type. On
    /// error nothing has been written. See [`Pool::forward_tensor`].
    pub fn forward_tensor<T: Element>(
        &self,
        input: TensorRef<'_, T>,
        out: TensorOutputs<'_, T>,
    ) -> Result<()> {
        caught(|| Pool::forward_tensor(self, input, out))
    }

    /// [`pool`](Plan::pool) with the indices in `format`, as `I` (`i64`, `i32`, or `u8` for the window format).
    /// See [`Pool::pool_with`].
    pub fn pool_with<T: Element, D: Dimension, I: IndexElement>(
        &self,
        input: ArrayView<'_, T, D>,
        want: Want,
        format: IndexFormat,
    ) -> Result<Pooled<T, D, I>> {
        caught(|| Pool::pool_with(self, input, want, format))
    }

    /// Pools a channels-last array, whose last three axes are (height, width, channels), in place; the outputs
    /// are channels-last too. See [`Pool::pool_nhwc`].
    pub fn pool_nhwc<T: Element, D: Dimension, I: IndexElement>(
        &self,
        input: ArrayView<'_, T, D>,
        want: Want,
        format: IndexFormat,
    ) -> Result<Pooled<T, D, I>> {
        caught(|| Pool::pool_nhwc(self, input, want, format))
    }

    /// Pools into arrays the caller made, written in place. See [`Pool::pool_into`].
    pub fn pool_into<T: Element, D: Dimension, I: IndexElement>(
        &self,
        input: ArrayView<'_, T, D>,
        out: PooledMut<'_, T, D, I>,
        format: IndexFormat,
    ) -> Result<()> {
        caught(|| Pool::pool_into(self, input, out, format))
    }

    /// Pools a channels-last array into arrays the caller made. See [`Pool::pool_nhwc_into`].
    pub fn pool_nhwc_into<T: Element, D: Dimension, I: IndexElement>(
        &self,
        input: ArrayView<'_, T, D>,
        out: PooledMut<'_, T, D, I>,
        format: IndexFormat,
    ) -> Result<()> {
        caught(|| Pool::pool_nhwc_into(self, input, out, format))
    }

    /// The backward pass on tensors of any layout, with indices in any format and type. See
    /// [`Pool::backward_tensor`].
    pub fn backward_tensor<T: Float>(
        &self,
        grad_output: TensorRef<'_, T>,
        indices: IndicesRef<'_>,
        format: IndexFormat,
        grad_input: TensorMut<'_, T>,
    ) -> Result<()> {
        caught(|| Pool::backward_tensor(self, grad_output, indices, format, grad_input))
    }

    /// The backward pass on slices: zeroes `grad_input` (`planes × height × width`), then adds each
    /// `grad_output` element onto the input element its index names, in output order. See [`Pool::backward`].
    pub fn backward<T: Float>(
        &self,
        planes: usize,
        grad_output: &[T],
        indices: &[i64],
        grad_input: &mut [T],
    ) -> Result<()> {
        caught(|| Pool::backward(self, planes, grad_output, indices, grad_input))
    }

    /// The backward pass on arrays shaped like a forward call's `values` and `indices`; returns the gradient
    /// shaped like its input. See [`Pool::backward_array`].
    pub fn backward_array<T: Float, D: Dimension>(
        &self,
        grad_output: ArrayView<'_, T, D>,
        indices: ArrayView<'_, i64, D>,
    ) -> Result<Array<T, D>> {
        caught(|| Pool::backward_array(self, grad_output, indices))
    }

    /// The backward pass on arrays of any strides, with indices in any format and type; the gradient comes back
    /// in `grad_output`'s memory order. See [`Pool::backward_with`].
    pub fn backward_with<T: Float, D: Dimension, I: IndexElement>(
        &self,
        grad_output: ArrayView<'_, T, D>,
        indices: ArrayView<'_, I, D>,
        format: IndexFormat,
    ) -> Result<Array<T, D>> {
        caught(|| Pool::backward_with(self, grad_output, indices, format))
    }

    /// The backward pass on channels-last arrays, (…, out_height, out_width, channels), as
    /// [`pool_nhwc`](Plan::pool_nhwc) makes them. See [`Pool::backward_nhwc`].
    pub fn backward_nhwc<T: Float, D: Dimension, I: IndexElement>(
        &self,
        grad_output: ArrayView<'_, T, D>,
        indices: ArrayView<'_, I, D>,
        format: IndexFormat,
    ) -> Result<Array<T, D>> {
        caught(|| Pool::backward_nhwc(self, grad_output, indices, format))
    }
}

impl Pool for Plan {
    fn geometry(&self) -> &Geometry {
        dispatch!(&self.inner, p => p.geometry())
    }

    fn forward<T: Element>(&self, input: &[T], planes: usize, out: Outputs<'_, T>) -> Result<()> {
        dispatch!(&self.inner, p => p.forward(input, planes, out))
    }

    fn forward_tensor<T: Element>(
        &self,
        input: TensorRef<'_, T>,
        out: TensorOutputs<'_, T>,
    ) -> Result<()> {
        dispatch!(&self.inner, p => p.forward_tensor(input, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_both_ways() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
            assert_eq!(b.long_name().to_uppercase().parse::<Backend>().unwrap(), b);
        }
        assert_eq!(
            "sliding-window-lookup".parse::<Backend>().unwrap(),
            Backend::Lookup
        );
        let e = "fast".parse::<Backend>().unwrap_err();
        assert!(e.to_string().contains("\"fast\" is not a backend"), "{e}");
        // The message lists every backend, by both names.
        for b in Backend::ALL {
            assert!(e.to_string().contains(b.name()), "{e}");
            assert!(e.to_string().contains(b.long_name()), "{e}");
        }
        assert_eq!(Backend::CONCRETE.len() + 1, Backend::ALL.len());
        assert!(!Backend::CONCRETE.contains(&Backend::Auto));
        for (i, b) in Backend::ALL.into_iter().enumerate() {
            assert_eq!(Backend::from_number(i as u32), Some(b));
        }
        assert_eq!(Backend::from_number(Backend::ALL.len() as u32), None);
        assert_eq!(Backend::from_number(u32::MAX), None);
    }

    #[test]
    fn block_refuses_overlap_and_says_who_can() {
        let e = Plan::new(Backend::Block, &Params::new(3).with_stride(1), 6, 6).unwrap_err();
        assert_eq!(e.kind(), maxpool_core::ErrorKind::Unsupported);
        assert!(e.to_string().contains("naive, lookup and simd can"), "{e}");
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
