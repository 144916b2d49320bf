//! A plain reference implementation, written apart from the library: it pads each plane explicitly with
//! "no element" markers, enumerates window starts instead of using the output-size formula, and scans every
//! window in row-major order. Slow and obvious on purpose.

use maxpool::{ErrorKind, Params};

use crate::sample::Sample;

/// What a pooling call must return.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected<T> {
    /// Output plane height.
    pub out_height: usize,
    /// Output plane width.
    pub out_width: usize,
    /// planes × out_height × out_width maxima.
    pub values: Vec<T>,
    /// Their flat indices within the plane.
    pub indices: Vec<i64>,
    /// planes × height × width counts of windows won.
    pub multiplier: Vec<u32>,
    /// Where each output row's window starts, in padded coordinates (the input starts at the top padding).
    pub row_starts: Vec<usize>,
    /// Where each output column's window starts, in padded coordinates.
    pub col_starts: Vec<usize>,
}

/// Window starts along one axis, in padded coordinates. Floor mode: every window that fits in the padded axis.
/// Ceil mode: also a last window that sticks out past the end, then, as PyTorch does, the last window is dropped
/// if it starts beyond the input and the leading padding.
fn starts(
    n: usize,
    k: usize,
    s: usize,
    pad_before: usize,
    pad_after: usize,
    d: usize,
    ceil: bool,
) -> Vec<usize> {
    let padded = n + pad_before + pad_after;
    let extent = d * (k - 1) + 1;
    let mut out: Vec<usize> = vec![];
    let mut start = 0;
    while start + extent <= padded || (ceil && padded >= extent && start < padded - extent + s) {
        out.push(start);
        start += s;
    }
    if ceil && out.last().is_some_and(|&last| last >= n + pad_before) {
        out.pop();
    }
    out
}

/// The reference result, or the class of error the call must be refused with.
pub fn reference<T: Sample>(
    p: &Params,
    planes: usize,
    h: usize,
    w: usize,
    input: &[T],
) -> Result<Expected<T>, ErrorKind> {
    assert_eq!(input.len(), planes * h * w);
    if p.kernel.contains(&0) || p.stride.contains(&0) || p.dilation.contains(&0) {
        return Err(ErrorKind::InvalidParams);
    }
    let pad = p.padding;
    let rows = starts(
        h,
        p.kernel[0],
        p.stride[0],
        pad.top,
        pad.bottom,
        p.dilation[0],
        p.ceil_mode,
    );
    let cols = starts(
        w,
        p.kernel[1],
        p.stride[1],
        pad.left,
        pad.right,
        p.dilation[1],
        p.ceil_mode,
    );
    if h == 0 || w == 0 || rows.is_empty() || cols.is_empty() {
        return Err(ErrorKind::InvalidShape);
    }
    let (ph, pw) = (h + pad.top + pad.bottom, w + pad.left + pad.right);
    let mut e = Expected {
        out_height: rows.len(),
        out_width: cols.len(),
        values: vec![],
        indices: vec![],
        multiplier: vec![0; planes * h * w],
        row_starts: rows.clone(),
        col_starts: cols.clone(),
    };
    for plane in 0..planes {
        // The padded plane: None is padding, which is never a candidate.
        let mut padded: Vec<Option<(T, i64)>> = vec![None; ph * pw];
        for r in 0..h {
            for c in 0..w {
                padded[(r + pad.top) * pw + c + pad.left] =
                    Some((input[plane * h * w + r * w + c], (r * w + c) as i64));
            }
        }
        for &r0 in &rows {
            for &c0 in &cols {
                let mut best: Option<(T, i64)> = None;
                for i in 0..p.kernel[0] {
                    for j in 0..p.kernel[1] {
                        let (r, c) = (r0 + i * p.dilation[0], c0 + j * p.dilation[1]);
                        if r >= ph || c >= pw {
                            continue;
                        }
                        let Some((v, idx)) = padded[r * pw + c] else {
                            continue;
                        };
                        let replace = match best {
                            None => true,
                            Some((b, _)) => T::reference_beats(v, b),
                        };
                        if replace {
                            best = Some((v, idx));
                        }
                    }
                }
                let (v, idx) = best.ok_or(ErrorKind::InvalidParams)?;
                e.values.push(v);
                e.indices.push(idx);
                e.multiplier[plane * h * w + idx as usize] += 1;
            }
        }
    }
    Ok(e)
}
