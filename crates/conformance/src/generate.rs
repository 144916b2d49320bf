//! Random cases over the whole parameter space, shared by the property tests and `maxpool check`.
//!
//! The generators draw every choice from a [`Source`] of numbers: a seeded generator ([`Seeded`]) for `maxpool
//! check`, or a list of numbers ([`Choices`]) that proptest draws and shrinks in the property tests. Each choice
//! maps 0 to its simplest option (the smallest size, no padding, the first listed value), so shrinking the numbers
//! towards 0 shrinks the case. One generator serves both, and the command needs no testing framework.

use maxpool::{Padding, Params};

use crate::runner::Case;
use crate::sample::Sample;

/// Where random choices come from.
pub trait Source {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;

    /// Uniform in `0..n` (`n > 0`; the bias of a 64-bit remainder is negligible for the small `n` used here).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    /// A fair coin.
    fn coin(&mut self) -> bool {
        self.below(2) == 1
    }

    /// An index into `weights`, chosen in proportion to them.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut pick = self.below(weights.iter().sum());
        for (i, &w) in weights.iter().enumerate() {
            if pick < w {
                return i;
            }
            pick -= w;
        }
        unreachable!("pick is below the sum of the weights")
    }
}

/// A seeded generator (SplitMix64): the same seed gives the same cases on every platform.
#[derive(Clone, Debug)]
pub struct Seeded {
    state: u64,
}

impl Seeded {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Seeded { state: seed }
    }
}

impl Source for Seeded {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Choices read from a list of numbers, then zeros (every choice's simplest option) once it is used up.
#[derive(Clone, Debug)]
pub struct Choices<'a> {
    words: &'a [u64],
    next: usize,
}

impl<'a> Choices<'a> {
    /// Choices from `words`, in order.
    pub fn new(words: &'a [u64]) -> Self {
        Choices { words, next: 0 }
    }
}

impl Source for Choices<'_> {
    fn next_u64(&mut self) -> u64 {
        let word = self.words.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        word
    }
}

/// Parameters over the whole space: rectangular kernels, strides, asymmetric padding, dilation, ceil mode.
/// Half are tiling (stride = kernel, dilation 1), which the block backend supports. Padding mostly stays below
/// the window's extent so that most cases pool; one case in eight pads up to 3 regardless, to exercise refusals.
pub fn params(src: &mut impl Source) -> Params {
    let mut pair = |lo, hi| [src.range(lo, hi), src.range(lo, hi)];
    let (kernel, stride, dilation) = (pair(1, 5), pair(1, 4), pair(1, 3));
    let ceil_mode = src.coin();
    let tiling = !src.coin();
    let wild = src.below(8) == 7;
    let (stride, dilation) = if tiling {
        (kernel, [1, 1])
    } else {
        (stride, dilation)
    };
    let max_pad = |axis: usize| {
        if wild {
            3
        } else {
            (dilation[axis] * (kernel[axis] - 1)).min(3)
        }
    };
    let padding = Padding {
        top: src.range(0, max_pad(0)),
        bottom: src.range(0, max_pad(0)),
        left: src.range(0, max_pad(1)),
        right: src.range(0, max_pad(1)),
    };
    Params {
        kernel,
        stride,
        padding,
        dilation,
        ceil_mode,
    }
}

/// `len` elements from the generators of `T`.
pub fn elements<T: Sample>(src: &mut impl Source, len: usize) -> Vec<T> {
    (0..len).map(|_| T::draw(src)).collect()
}

/// A case of `planes` planes of `height × width` with these parameters, its elements drawn from `T`'s generators.
pub fn drawn_case<T: Sample>(
    src: &mut impl Source,
    params: Params,
    planes: usize,
    height: usize,
    width: usize,
) -> Case<T> {
    Case {
        params,
        planes,
        height,
        width,
        input: elements(src, planes * height * width),
    }
}

/// A case of element type `T`: shapes 1..20, one to three planes, elements drawn from the edge cases or, for one
/// case in eight, a constant plane.
pub fn case<T: Sample>(src: &mut impl Source) -> Case<T> {
    let params = params(src);
    let planes = src.range(1, 3);
    let height = src.range(1, 20);
    let width = src.range(1, 20);
    if src.below(8) == 7 {
        let input = vec![T::draw(src); planes * height * width];
        Case {
            params,
            planes,
            height,
            width,
            input,
        }
    } else {
        drawn_case(src, params, planes, height, width)
    }
}

/// How many numbers [`case`] draws at most: enough for its largest case, so that a list this long decides
/// every choice.
pub const CASE_DRAWS: usize = 16 + 2 * 3 * 20 * 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_cases_repeat_and_vary() {
        let a: Vec<Case<f32>> = (0..50).scan(Seeded::new(7), |s, _| Some(case(s))).collect();
        let b: Vec<Case<f32>> = (0..50).scan(Seeded::new(7), |s, _| Some(case(s))).collect();
        let bits = |c: &Case<f32>| c.input.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert!(a.iter().zip(&b).all(|(x, y)| bits(x) == bits(y)
            && x.params == y.params
            && (x.planes, x.height, x.width) == (y.planes, y.height, y.width)));
        // The space is covered: tiling and not, ceil mode, padding, dilation, every plane count, NaN.
        assert!(a.iter().any(|c| c.params.is_tiling()) && a.iter().any(|c| !c.params.is_tiling()));
        assert!(a.iter().any(|c| c.params.ceil_mode) && a.iter().any(|c| !c.params.ceil_mode));
        assert!(a.iter().any(|c| c.params.padding.right > 0));
        assert!(a.iter().any(|c| c.params.dilation != [1, 1]));
        assert!((1..=3).all(|p| a.iter().any(|c| c.planes == p)));
        assert!(a.iter().any(|c| c.input.iter().any(|x| x.is_nan())));
    }

    #[test]
    fn zeros_are_the_simplest_case() {
        let c: Case<i8> = case(&mut Choices::new(&[]));
        assert_eq!((c.planes, c.height, c.width), (1, 1, 1));
        assert_eq!(c.params.kernel, [1, 1]);
        assert_eq!(c.params.padding, Padding::default());
        assert!(!c.params.ceil_mode);
        let words = vec![u64::MAX; CASE_DRAWS];
        let full: Case<i8> = case(&mut Choices::new(&words));
        assert!(full.input.len() <= 3 * 20 * 20);
    }

    #[test]
    fn weights_are_followed() {
        let mut s = Seeded::new(1);
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[s.weighted(&[1, 0, 2])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((9_000..11_000).contains(&counts[0]), "{counts:?}");
    }
}
