//! A validated geometry: parameters checked against one input plane size, with every window worked out.

use std::ops::Range;

use crate::error::{Axis, Error, Result};
use crate::params::Params;
use crate::semantics::{gcd, AxisSpec, Windows};

/// Parameters validated against an input plane of `height × width`: the output size and, per axis, the input
/// positions each window covers. Building one is the only way to check a geometry; every backend starts from it.
/// Its size does not depend on the plane's: the windows are worked out on demand ([`Windows`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    params: Params,
    height: usize,
    width: usize,
    rows: Windows,
    cols: Windows,
}

impl Geometry {
    /// Validates `params` for planes of `height × width`.
    ///
    /// Errors: a zero kernel, stride or dilation or a window wholly in padding
    /// ([`ErrorKind::InvalidParams`](crate::ErrorKind::InvalidParams)); an empty input or output, or sizes that
    /// overflow ([`ErrorKind::InvalidShape`](crate::ErrorKind::InvalidShape)).
    pub fn new(params: &Params, height: usize, width: usize) -> Result<Self> {
        let [h, w] = Self::axes(params, height, width);
        // Parameter errors come before shape errors, so a zero kernel is reported as such even on an empty input.
        h.output_size().and(w.output_size()).map_err(|e| match e {
            Error::EmptyOutput { .. } if height == 0 || width == 0 => {
                Error::EmptyInput { height, width }
            }
            e => e,
        })?;
        let plane_len = height
            .checked_mul(width)
            .ok_or(Error::Overflow("height × width"))?;
        // Indices are i64 offsets within a plane.
        i64::try_from(plane_len)
            .map_err(|_| Error::Overflow("height × width does not fit an i64 index"))?;
        let (rows, cols) = (h.windows()?, w.windows()?);
        rows.len()
            .checked_mul(cols.len())
            .ok_or(Error::Overflow("output height × output width"))?;
        Ok(Geometry {
            params: *params,
            height,
            width,
            rows,
            cols,
        })
    }

    /// Checks what can be checked without an input size: kernel, stride and dilation are at least 1.
    pub fn check_params(params: &Params) -> Result<()> {
        Self::axes(params, 1, 1)
            .iter()
            .try_for_each(AxisSpec::check_params)
    }

    fn axes(p: &Params, height: usize, width: usize) -> [AxisSpec; 2] {
        let spec = |axis, i: usize, size, pad_before, pad_after| AxisSpec {
            axis,
            size,
            kernel: p.kernel[i],
            stride: p.stride[i],
            dilation: p.dilation[i],
            pad_before,
            pad_after,
            ceil_mode: p.ceil_mode,
        };
        [
            spec(Axis::Height, 0, height, p.padding.top, p.padding.bottom),
            spec(Axis::Width, 1, width, p.padding.left, p.padding.right),
        ]
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }
    /// Input plane height.
    pub fn height(&self) -> usize {
        self.height
    }
    /// Input plane width.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Output plane height.
    pub fn out_height(&self) -> usize {
        self.rows.len()
    }
    /// Output plane width.
    pub fn out_width(&self) -> usize {
        self.cols.len()
    }
    /// Elements in an input plane.
    pub fn plane_len(&self) -> usize {
        self.height * self.width
    }
    /// Elements in an output plane.
    pub fn out_plane_len(&self) -> usize {
        self.rows.len() * self.cols.len()
    }
    /// The input rows each output row's windows cover.
    #[inline]
    pub fn row_windows(&self) -> &Windows {
        &self.rows
    }
    /// The input columns each output column's windows cover.
    #[inline]
    pub fn col_windows(&self) -> &Windows {
        &self.cols
    }
    /// At most how many windows one input element lies in, the largest count the multiplier can hold: per axis,
    /// one window per tap at most, and only the taps `t` with `t·d ≡ r + pad (mod s)` can land on a position
    /// `r`, one in every `s / gcd(s, d)`; nor more windows than there are; the two axes multiply. An upper
    /// bound, reached away from the borders of an input that spans several windows.
    pub fn most_windows_per_element(&self) -> u128 {
        let per_axis = |axis: usize, windows: &Windows| {
            let p = &self.params;
            let (k, s, d) = (p.kernel[axis], p.stride[axis], p.dilation[axis]);
            let residues = s / gcd(s, d);
            k.div_ceil(residues).min(windows.len()) as u128
        };
        per_axis(0, &self.rows) * per_axis(1, &self.cols)
    }

    /// The output rows whose windows lie wholly inside the input (no rows of padding): a contiguous range.
    #[inline]
    pub fn interior_rows(&self) -> Range<usize> {
        self.rows.whole()
    }
    /// The output columns whose windows lie wholly inside the input: a contiguous range.
    #[inline]
    pub fn interior_cols(&self) -> Range<usize> {
        self.cols.whole()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, Padding};

    #[test]
    fn resnet_stem() {
        let g = Geometry::new(&Params::new(3).with_stride(2).with_padding(1), 112, 112).unwrap();
        assert_eq!((g.out_height(), g.out_width()), (56, 56));
        assert_eq!(g.interior_rows(), 1..56);
    }

    #[test]
    fn errors_are_classified() {
        let kind = |p: Params, h, w| Geometry::new(&p, h, w).unwrap_err().kind();
        assert_eq!(kind(Params::new(0), 4, 4), ErrorKind::InvalidParams);
        assert_eq!(
            kind(Params::new(2).with_dilation_hw(1, 0), 4, 4),
            ErrorKind::InvalidParams
        );
        assert_eq!(kind(Params::new(2), 0, 4), ErrorKind::InvalidShape);
        assert_eq!(kind(Params::new(0), 0, 4), ErrorKind::InvalidParams);
        assert_eq!(kind(Params::new(5), 4, 4), ErrorKind::InvalidShape);
        let all_padding = Params::new(2)
            .with_stride(1)
            .with_padding(1)
            .with_dilation(3);
        assert_eq!(kind(all_padding, 2, 2), ErrorKind::InvalidParams);
        assert_eq!(kind(Params::new(1), usize::MAX, 2), ErrorKind::InvalidShape);
        let huge_pad = Params::new(1).with_padding_sides(Padding {
            top: usize::MAX,
            ..Padding::default()
        });
        assert!(Geometry::new(&huge_pad, 1, 1).is_err());
    }
}
