//! The semantics of pooling, stated once: output size, which input elements a window covers (padding never
//! does), which element wins a window, and how a winner is encoded. Every backend imports these; none restates
//! them.

use std::ops::Range;

use crate::element::Element;
use crate::error::{Axis, Error, Result};
use crate::technique::IndexBuffers;

/// One axis of a pooling problem: the input size and the parameters along that axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisSpec {
    /// Which axis this is, for messages.
    pub axis: Axis,
    /// Input size along the axis.
    pub size: usize,
    /// Kernel size, at least 1.
    pub kernel: usize,
    /// Stride, at least 1.
    pub stride: usize,
    /// Dilation, at least 1.
    pub dilation: usize,
    /// Implicit padding before the first element.
    pub pad_before: usize,
    /// Implicit padding after the last element.
    pub pad_after: usize,
    /// Round the output size up.
    pub ceil_mode: bool,
}

/// The input elements one window covers along one axis: `taps` positions `start`, `start + step`, …, all
/// inside the input. Positions in padding are left out, so padding can never win.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The first covered input position.
    pub start: usize,
    /// How many input positions the window covers, at least 1.
    pub taps: usize,
    /// The distance between covered positions (the dilation).
    pub step: usize,
}

impl Window {
    /// The covered input positions, in scan order.
    #[inline]
    pub fn positions(self) -> impl Iterator<Item = usize> + Clone {
        (0..self.taps).map(move |t| self.start + t * self.step)
    }
}

/// Every window along one axis: which input positions each output position covers. Worked out on demand from
/// the parameters, so a plane's windows need no table, whatever its size: the whole windows (no padding cut
/// off) by one multiplication, the few near the ends by [`AxisSpec::window`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Windows {
    spec: AxisSpec,
    len: usize,
    whole: Range<usize>,
}

impl Windows {
    /// The number of output positions.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: an axis with no output is refused when the windows are worked out.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The output positions whose windows lie wholly inside the input, no tap in padding: one contiguous run,
    /// since padding cuts windows only near the ends.
    #[inline]
    pub fn whole(&self) -> Range<usize> {
        self.whole.clone()
    }

    /// The window of output position `o`, which must be below [`len`](Windows::len).
    #[inline]
    pub fn get(&self, o: usize) -> Window {
        debug_assert!(o < self.len, "window {o} of {}", self.len);
        if self.whole.contains(&o) {
            // A whole window's first tap, o·s − pad_before, is inside the input.
            Window {
                start: o * self.spec.stride - self.spec.pad_before,
                taps: self.spec.kernel,
                step: self.spec.dilation,
            }
        } else {
            self.spec.window(o).expect(
                "every window was checked to cover the input when the windows were worked out",
            )
        }
    }

    /// Which of window `o`'s taps its first covered input position ([`Window::start`] of `window`, which must be
    /// [`get(o)`](Windows::get)) is, counted from the window's first tap with padding included: how many taps
    /// the leading padding cuts off. The `window` index format and [`tap_code`] count taps this way.
    #[inline]
    pub fn first_tap(&self, o: usize, window: &Window) -> usize {
        // The window's first tap, o·s − pad_before, may lie in the padding; `start` is a whole number of
        // dilations past it.
        (window.start + self.spec.pad_before - o * self.spec.stride) / self.spec.dilation
    }

    /// The windows of output positions `range`, in order.
    #[inline]
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = Window> + Clone + '_ {
        range.map(move |o| self.get(o))
    }

    /// Every window, in order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = Window> + Clone + '_ {
        self.range(0..self.len)
    }
}

/// The greatest common divisor.
pub(crate) fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl AxisSpec {
    /// The number of output positions along this axis, PyTorch's and ONNX's rule:
    /// `eff = d·(k−1)+1`, `span = n + pad_before + pad_after − eff` (negative: no output),
    /// `out = floor(span/s)+1`, or with ceil mode `ceil(span/s)+1` less one when the last window would start
    /// beyond the input and the leading padding.
    pub fn output_size(&self) -> Result<usize> {
        self.check_params()?;
        let n = self.size as u128;
        let (k, s, d) = (
            self.kernel as u128,
            self.stride as u128,
            self.dilation as u128,
        );
        let window = d * (k - 1) + 1;
        let padded = n + self.pad_before as u128 + self.pad_after as u128;
        if self.size == 0 || padded < window {
            return Err(Error::EmptyOutput {
                axis: self.axis,
                window,
                padded,
                size: self.size,
            });
        }
        let span = padded - window;
        let mut out = if self.ceil_mode {
            span.div_ceil(s) + 1
        } else {
            span / s + 1
        };
        if self.ceil_mode && (out - 1) * s >= n + self.pad_before as u128 {
            out -= 1;
        }
        usize::try_from(out).map_err(|_| Error::Overflow("output size"))
    }

    /// The input positions covered by the window at output position `o`, or the error that refuses a window
    /// lying wholly in padding.
    pub fn window(&self, o: usize) -> Result<Window> {
        let (k, d) = (self.kernel as i128, self.dilation as i128);
        let n = self.size as i128;
        let first = o as i128 * self.stride as i128 - self.pad_before as i128;
        // Taps t in [lo, hi) land inside the input: 0 <= first + t·d < n.
        let lo = if first >= 0 { 0 } else { (-first + d - 1) / d };
        let hi = if first >= n {
            0
        } else {
            ((n - first + d - 1) / d).min(k)
        };
        if hi <= lo {
            return Err(Error::WindowInPadding {
                axis: self.axis,
                position: o,
                first,
                dilation: self.dilation,
                size: self.size,
            });
        }
        Ok(Window {
            start: (first + lo * d) as usize,
            taps: (hi - lo) as usize,
            step: self.dilation,
        })
    }

    /// The windows of every output position, worked out on demand ([`Windows`]): memory that does not grow with
    /// the input. Fails if any of them lies wholly in padding, naming the first such.
    pub fn windows(&self) -> Result<Windows> {
        let len = self.output_size()?;
        if let Some(o) = self.first_in_padding(len) {
            self.window(o)?;
        }
        let (n, k, s, d) = (
            self.size as u128,
            self.kernel as u128,
            self.stride as u128,
            self.dilation as u128,
        );
        let pb = self.pad_before as u128;
        // Whole windows: the first tap at or after 0 (o·s ≥ pb) and the last before n (o·s − pb + (k−1)·d < n).
        let first_whole = pb.div_ceil(s).min(len as u128);
        let reach = n - 1 + pb;
        let end_whole = if reach >= (k - 1) * d {
            ((reach - (k - 1) * d) / s + 1).min(len as u128)
        } else {
            0
        };
        // Both are at most `len`, a usize.
        let whole = first_whole as usize..end_whole.max(first_whole) as usize;
        Ok(Windows {
            spec: *self,
            len,
            whole,
        })
    }

    /// The first of `len` windows that covers no input element, if any, in a number of steps that does not grow
    /// with the input or the output. A window whose first tap lies inside the input covers it. One whose first
    /// tap lies at or past the end covers nothing, and those come last. One that starts in the leading padding
    /// covers nothing when it has too few taps to reach the input (the first window has the fewest) or when
    /// its first tap at or after 0 lies at or past the end; where that tap lands repeats every `d / gcd(s, d)`
    /// windows, and can only miss when the dilation is longer than the input.
    fn first_in_padding(&self, len: usize) -> Option<usize> {
        let (s, d, n) = (self.stride, self.dilation, self.size);
        let leading = self.pad_before.div_ceil(s).min(len);
        let period = if d <= n { 1 } else { d / gcd(s, d) };
        if let Some(o) = (0..leading.min(period)).find(|&o| self.window(o).is_err()) {
            return Some(o);
        }
        // The first window whose first tap is at or past the end: o·s ≥ n + pad_before.
        let past = (n as u128 + self.pad_before as u128).div_ceil(s as u128);
        (past < len as u128).then_some(past as usize)
    }

    /// Kernel, stride and dilation are at least 1.
    pub fn check_params(&self) -> Result<()> {
        for (what, v) in [
            ("kernel", self.kernel),
            ("stride", self.stride),
            ("dilation", self.dilation),
        ] {
            if v == 0 {
                return Err(Error::ZeroParam {
                    what,
                    axis: self.axis,
                });
            }
        }
        Ok(())
    }
}

/// The tie and NaN rule, numpy's `argmax`: does `candidate`, met later in the scan, take the window from `best`?
/// A strictly greater value does; NaN beats every number; among equals, including NaNs, the first one met keeps it.
#[inline(always)]
pub fn beats<T: Element>(candidate: T, best: T) -> bool {
    // Each type's own compares: hardware ones for the native types, integer ones for the 16-bit floats.
    candidate.beats(best)
}

/// [`beats`] for 16 lanes of `f32` at once, for hand-written AVX-512 kernels: the lanes where `candidate` is
/// greater than `best` or a NaN, while `best` is not a NaN. One ordered and one unordered compare, as in `beats`.
///
/// # Safety
/// The CPU must have AVX-512F. Functions compiled with that feature call it without `unsafe`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub fn beats_f32x16(
    candidate: std::arch::x86_64::__m512,
    best: std::arch::x86_64::__m512,
) -> std::arch::x86_64::__mmask16 {
    use std::arch::x86_64::*;
    let live = _mm512_cmp_ps_mask::<_CMP_ORD_Q>(best, best);
    _mm512_mask_cmp_ps_mask::<_CMP_NLE_UQ>(live, candidate, best)
}

/// [`beats`] for 32 lanes of `f16` bit patterns at once, compared natively (AVX-512 FP16): a mask of the lanes
/// where `candidate` is greater than `best` or a NaN, while `best` is not a NaN. -0 and +0 compare equal.
///
/// # Safety
/// The CPU must have AVX-512 FP16. Functions compiled with that feature call it without `unsafe`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512fp16")]
#[inline]
pub fn beats_f16x32(
    candidate: std::arch::x86_64::__m512i,
    best: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__mmask32 {
    use std::arch::x86_64::*;
    let (candidate, best) = (_mm512_castsi512_ph(candidate), _mm512_castsi512_ph(best));
    let live = _mm512_cmp_ph_mask::<_CMP_ORD_Q>(best, best);
    _mm512_mask_cmp_ph_mask::<_CMP_NLE_UQ>(live, candidate, best)
}

/// [`beats`] for 8 lanes of `f32` at once, for hand-written AVX2 kernels: all ones in the lanes where `candidate`
/// is greater than `best` or a NaN, while `best` is not a NaN; zero elsewhere.
///
/// # Safety
/// The CPU must have AVX. Functions compiled with that feature call it without `unsafe`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
pub fn beats_f32x8(
    candidate: std::arch::x86_64::__m256,
    best: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let live = _mm256_cmp_ps::<_CMP_ORD_Q>(best, best);
    _mm256_and_ps(live, _mm256_cmp_ps::<_CMP_NLE_UQ>(candidate, best))
}

/// Merges one candidate into a running winner, without branches so that loops of it vectorise: `(v, i)`
/// replaces `(best, best_index)` exactly when it [`beats`] it. Candidates must come in scan order.
#[inline(always)]
pub fn merge<T: Element, I: Copy>(best: &mut T, best_index: &mut I, v: T, i: I) {
    let take = beats(v, *best);
    // Which candidate wins is data-dependent: a branch would mispredict about half the time on real data, so
    // ask for conditional moves (which also vectorise).
    *best = std::hint::select_unpredictable(take, v, *best);
    *best_index = std::hint::select_unpredictable(take, i, *best_index);
}

/// A flat index as a backend stores it while it works: `u32` when a plane has fewer than 2^32 elements (half
/// the memory traffic, twice the vector lanes), `u64` otherwise; and `i64`, the outputs' type.
pub trait FlatIndex: Copy + Default + Send + Sync + std::fmt::Debug + 'static {
    /// The index, which the caller guarantees fits.
    fn from_usize(i: usize) -> Self;
    /// Back to `usize`.
    fn get(self) -> usize;
    /// As the `i64` the outputs hold.
    fn to_i64(self) -> i64;
    /// `self + n`, which the caller guarantees fits.
    fn plus(self, n: usize) -> Self;
    /// The buffer of this type in a technique's working storage ([`crate::Work`]).
    fn buffer(buffers: &mut IndexBuffers) -> &mut Vec<Self>;
}

macro_rules! flat_index_type {
    ($($t:ty => $buffer:ident),*) => {$(
        impl FlatIndex for $t {
            #[inline(always)]
            fn from_usize(i: usize) -> Self {
                i as $t
            }
            #[inline(always)]
            fn get(self) -> usize {
                self as usize
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn plus(self, n: usize) -> Self {
                self.wrapping_add(n as $t)
            }
            #[inline(always)]
            fn buffer(buffers: &mut IndexBuffers) -> &mut Vec<Self> {
                &mut buffers.$buffer
            }
        }
    )*};
}

// i64: the outputs' own type, for counting from them.
flat_index_type!(u32 => narrow, u64 => wide, i64 => long);

/// Whether every flat index of a plane of `plane_len` elements fits a `u32`.
pub fn fits_u32(plane_len: usize) -> bool {
    u32::try_from(plane_len).is_ok()
}

/// The index of the input element at (`row`, `col`) of a plane `width` wide: `row · width + col`, within the
/// plane of the unpadded input, as PyTorch encodes it.
#[inline(always)]
pub fn flat_index(row: usize, col: usize, width: usize) -> usize {
    row * width + col
}

/// Which tap of its window won it, as one byte: `a · kw + b` for the tap in the window's row `a` and column `b`,
/// counted from the window's first row and column with padding included, for windows `kw` wide. The multiplier
/// of overlapping windows is counted from these codes (windows of at most 255 taps).
#[inline(always)]
pub fn tap_code(a: u32, b: u32, kw: u32) -> u8 {
    (a * kw + b) as u8
}

/// The byte that is no window's [`tap_code`]: where no window starts.
pub const NO_CODE: u8 = u8::MAX;

/// The winner of one window of a row-major plane `width` wide, scanned rows then columns: the winning value and
/// its [`flat_index`].
#[inline]
pub fn window_argmax<T: Element>(
    plane: &[T],
    width: usize,
    rows: Window,
    cols: Window,
) -> (T, usize) {
    // Plain loops and a branch-free merge: backends call this for every window cut by the input's edge.
    let first = flat_index(rows.start, cols.start, width);
    let (mut best, mut best_index) = (plane[first], first);
    for r in rows.positions() {
        for c in cols.positions() {
            let i = flat_index(r, c, width);
            // The first tap merged again changes nothing: a candidate never beats itself.
            merge(&mut best, &mut best_index, plane[i], i);
        }
    }
    (best, best_index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        size: usize,
        kernel: usize,
        stride: usize,
        pad: (usize, usize),
        dilation: usize,
        ceil: bool,
    ) -> AxisSpec {
        AxisSpec {
            axis: Axis::Height,
            size,
            kernel,
            stride,
            dilation,
            pad_before: pad.0,
            pad_after: pad.1,
            ceil_mode: ceil,
        }
    }

    #[test]
    fn output_size_matches_pytorch() {
        // (n, k, s, pad, d, ceil) -> out, from torch.nn.functional.max_pool2d.
        let cases = [
            ((112, 3, 2, (1, 1), 1, false), 56),
            ((5, 2, 2, (0, 0), 1, false), 2),
            ((5, 2, 2, (0, 0), 1, true), 3),
            ((6, 3, 1, (0, 0), 1, false), 4),
            // ceil mode would start a window in the trailing padding: dropped.
            ((4, 2, 3, (1, 1), 1, true), 2),
            ((10, 3, 2, (0, 0), 2, true), 4),
        ];
        for ((n, k, s, p, d, c), out) in cases {
            assert_eq!(
                spec(n, k, s, p, d, c).output_size().unwrap(),
                out,
                "n={n} k={k} s={s} p={p:?} d={d} ceil={c}"
            );
        }
    }

    #[test]
    fn window_larger_than_padded_input_is_empty_output() {
        let e = spec(3, 4, 1, (0, 0), 1, false).output_size().unwrap_err();
        assert!(
            matches!(
                e,
                Error::EmptyOutput {
                    window: 4,
                    padded: 3,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn windows_leave_padding_out() {
        let s = spec(5, 3, 2, (1, 1), 1, false);
        let w: Vec<_> = s
            .windows()
            .unwrap()
            .iter()
            .map(|w| (w.start, w.taps))
            .collect();
        assert_eq!(w, [(0, 2), (1, 3), (3, 2)]);
    }

    /// Windows worked out on demand are the windows of every position one by one, and a geometry is refused,
    /// naming the same first window, exactly when one of them lies wholly in padding.
    #[test]
    fn windows_on_demand_are_every_window() {
        for size in 1..=9 {
            for kernel in 1..=4 {
                for stride in 1..=4 {
                    for dilation in 1..=5 {
                        for pad in [(0, 0), (1, 0), (0, 2), (2, 2), (3, 1), (5, 6), (9, 0)] {
                            for ceil in [false, true] {
                                let s = spec(size, kernel, stride, pad, dilation, ceil);
                                let Ok(len) = s.output_size() else { continue };
                                let one_by_one: Result<Vec<Window>> =
                                    (0..len).map(|o| s.window(o)).collect();
                                let case = format!("{s:?}");
                                match (s.windows(), one_by_one) {
                                    (Ok(w), Ok(expected)) => {
                                        assert_eq!(w.len(), len, "{case}");
                                        assert_eq!(
                                            w.iter().collect::<Vec<_>>(),
                                            expected,
                                            "{case}"
                                        );
                                        let whole: Vec<usize> = (0..len)
                                            .filter(|&o| expected[o].taps == kernel)
                                            .collect();
                                        assert_eq!(w.whole().collect::<Vec<_>>(), whole, "{case}");
                                    }
                                    (Err(e), Err(expected)) => assert_eq!(e, expected, "{case}"),
                                    (got, expected) => {
                                        panic!("{case}: {got:?} but one by one {expected:?}")
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A plane as long as the machine's integers allow needs no table: the windows are there at once.
    #[test]
    fn windows_of_a_huge_axis_take_no_memory() {
        let s = spec(usize::MAX / 2, 3, 2, (1, 1), 1, false);
        let w = s.windows().unwrap();
        assert_eq!(w.len(), usize::MAX / 4 + 1);
        assert_eq!(
            w.get(0),
            Window {
                start: 0,
                taps: 2,
                step: 1
            }
        );
        assert_eq!(w.get(w.len() / 2).taps, 3);
        let last = w.len() - 1;
        assert_eq!(w.get(last), s.window(last).unwrap());
    }

    #[test]
    fn dilated_window_that_skips_the_input_is_refused() {
        // n = 2, taps at -1 and 2: both in padding.
        let e = spec(2, 2, 1, (1, 1), 3, false).windows().unwrap_err();
        assert!(
            matches!(
                e,
                Error::WindowInPadding {
                    position: 0,
                    first: -1,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn nan_and_ties_follow_numpy_argmax() {
        assert!(beats(2.0, 1.0));
        assert!(!beats(1.0, 1.0));
        assert!(beats(f32::NAN, f32::INFINITY));
        assert!(!beats(f32::NAN, f32::NAN));
        assert!(!beats(f64::INFINITY, f64::NAN));
        assert!(!beats(0.0f32, -0.0f32));
        assert!(beats(i8::MIN + 1, i8::MIN));
    }
}
