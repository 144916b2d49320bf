//! Pooling parameters as the caller states them; [`crate::Geometry`] validates them against an input size.

/// Implicit padding around each plane, in elements. Padding is never a candidate for the maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding {
    /// Rows above the input.
    pub top: usize,
    /// Rows below the input.
    pub bottom: usize,
    /// Columns left of the input.
    pub left: usize,
    /// Columns right of the input.
    pub right: usize,
}

impl Padding {
    /// The same padding on all four sides.
    pub const fn uniform(p: usize) -> Self {
        Padding {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }
}

/// The parameters of a 2-D max pooling: kernel, stride, padding, dilation and ceil mode, each per axis as
/// `[height, width]`.
///
/// ```
/// use maxpool_core::{Padding, Params};
/// // A ResNet stem: 3×3 windows, stride 2, one element of padding all round.
/// let p = Params::new(3).with_stride(2).with_padding(1);
/// assert_eq!(p.kernel, [3, 3]);
/// assert_eq!(p.padding, Padding::uniform(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Params {
    /// Window size, `[height, width]`, each at least 1.
    pub kernel: [usize; 2],
    /// Step between windows, `[height, width]`, each at least 1.
    pub stride: [usize; 2],
    /// Implicit padding.
    pub padding: Padding,
    /// Step between taps within a window, `[height, width]`, each at least 1.
    pub dilation: [usize; 2],
    /// Round the output size up instead of down (PyTorch's and ONNX's `ceil_mode`).
    pub ceil_mode: bool,
}

impl Params {
    /// Square `kernel` × `kernel` windows with stride equal to the kernel (PyTorch's default), no padding,
    /// dilation 1, floor mode.
    pub const fn new(kernel: usize) -> Self {
        Params::rect(kernel, kernel)
    }

    /// `kernel_h` × `kernel_w` windows with stride equal to the kernel, no padding, dilation 1, floor mode.
    pub const fn rect(kernel_h: usize, kernel_w: usize) -> Self {
        Params {
            kernel: [kernel_h, kernel_w],
            stride: [kernel_h, kernel_w],
            padding: Padding {
                top: 0,
                bottom: 0,
                left: 0,
                right: 0,
            },
            dilation: [1, 1],
            ceil_mode: false,
        }
    }

    /// The same stride on both axes.
    pub const fn with_stride(self, stride: usize) -> Self {
        self.with_stride_hw(stride, stride)
    }

    /// Stride per axis.
    pub const fn with_stride_hw(mut self, stride_h: usize, stride_w: usize) -> Self {
        self.stride = [stride_h, stride_w];
        self
    }

    /// The same padding on all four sides.
    pub const fn with_padding(self, padding: usize) -> Self {
        self.with_padding_sides(Padding::uniform(padding))
    }

    /// Padding per side.
    pub const fn with_padding_sides(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// The same dilation on both axes.
    pub const fn with_dilation(self, dilation: usize) -> Self {
        self.with_dilation_hw(dilation, dilation)
    }

    /// Dilation per axis.
    pub const fn with_dilation_hw(mut self, dilation_h: usize, dilation_w: usize) -> Self {
        self.dilation = [dilation_h, dilation_w];
        self
    }

    /// Ceil mode on or off.
    pub const fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    /// Whether windows tile the input without overlap or gaps: stride equal to kernel and dilation 1 on both
    /// axes.
    pub const fn is_tiling(&self) -> bool {
        self.stride[0] == self.kernel[0]
            && self.stride[1] == self.kernel[1]
            && self.dilation[0] == 1
            && self.dilation[1] == 1
    }

    /// Whether no input element lies in two windows: on both axes the stride is at least the window's extent,
    /// `dilation · (kernel − 1) + 1`. Then every multiplier count is 0 or 1.
    pub const fn windows_disjoint(&self) -> bool {
        self.stride[0] >= self.extent(0) && self.stride[1] >= self.extent(1)
    }

    /// How many input positions a window spans on `axis` (0: rows, 1: columns), taps and gaps between them.
    const fn extent(&self, axis: usize) -> usize {
        self.dilation[axis]
            .saturating_mul(self.kernel[axis].saturating_sub(1))
            .saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjoint_windows_share_no_element() {
        assert!(Params::new(2).windows_disjoint(), "k2 s2 tiles");
        assert!(Params::new(2).with_stride(3).windows_disjoint(), "gaps");
        assert!(
            !Params::new(3).with_stride(2).windows_disjoint(),
            "k3 s2 shares a column"
        );
        // Dilation 2 spreads a k2 window over 3 positions.
        assert!(!Params::new(2).with_dilation(2).windows_disjoint());
        assert!(Params::new(2)
            .with_dilation(2)
            .with_stride(3)
            .windows_disjoint());
        // Overlap on one axis is enough to share elements.
        assert!(!Params::new(2).with_stride_hw(2, 1).windows_disjoint());
    }
}
