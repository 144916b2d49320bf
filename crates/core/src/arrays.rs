//! ndarray arrays as tensors: an array whose last two axes are (H, W) is a [`Layout`] without a copy (its
//! third-last axis is C, the axes before it N), and outputs are made in the input's memory order.

use std::mem::MaybeUninit;

use ndarray::{Array, ArrayView, Dimension, ShapeBuilder};

use crate::error::{Error, Result};
use crate::technique::try_reserve;
use crate::tensor::{dense_order, Layout};

/// The 4-D layout of an array whose last two axes are (H, W): 2-D is one plane, 3-D (C, H, W), 4-D
/// (N, C, H, W), and more axes are merged into N. `None` when a stride is negative or the leading axes cannot be
/// merged; such an array is copied.
pub(crate) fn layout_of<E, D: Dimension>(view: &ArrayView<'_, E, D>) -> Option<Layout> {
    let nd = view.ndim();
    let shape = view.shape();
    let strides = view.strides();
    // An axis of one element has no stride that matters.
    let stride = |a: usize| -> Option<usize> {
        if shape[a] <= 1 {
            Some(0)
        } else {
            usize::try_from(strides[a]).ok()
        }
    };
    let (h, w) = (nd - 2, nd - 1);
    let (c, sc) = if nd >= 3 {
        (shape[nd - 3], stride(nd - 3)?)
    } else {
        (1, 0)
    };
    // N: the leading axes, merged from the innermost out while each one's stride steps over the ones inside.
    let (mut n, mut sn) = (1usize, 0usize);
    for a in (0..nd.saturating_sub(3)).rev() {
        if shape[a] == 1 {
            continue;
        }
        if shape[a] == 0 {
            (n, sn) = (0, 0);
            break;
        }
        let s = stride(a)?;
        if n == 1 {
            (n, sn) = (shape[a], s);
        } else if s == sn.checked_mul(n)? {
            n = n.checked_mul(shape[a])?;
        } else {
            return None;
        }
    }
    Some(Layout {
        shape: [n, c, shape[h], shape[w]],
        strides: [sn, sc, stride(h)?, stride(w)?],
    })
}

/// An uninitialised array of shape `dim`, dense, with its axes in the memory order of an array of `like_shape`
/// and `like_strides` (outermost the largest stride); every element is to be written before the array is read,
/// and `assume_init` made. An allocation that fails is [`Error::OutOfMemory`] for `what`.
pub(crate) fn uninit_like<E, D: Dimension>(
    dim: D,
    like_shape: &[usize],
    like_strides: &[isize],
    what: &'static str,
) -> Result<Array<MaybeUninit<E>, D>> {
    let len = dim
        .size_checked()
        .ok_or(Error::Overflow("the number of elements of an array"))?;
    let mut elements = Vec::new();
    try_reserve(&mut elements, len, what)?;
    // SAFETY: the capacity was reserved, and uninitialised `MaybeUninit`s are valid.
    unsafe { elements.set_len(len) };
    if len == 0 {
        // No order to follow, and strides in another one could overflow where row-major ones do not.
        return Ok(Array::from_shape_vec(dim, elements).expect("no elements"));
    }
    Ok(in_order_of(dim, like_shape, like_strides, elements))
}

/// `elements` (as many as `dim` holds, at least one) as an array of shape `dim`, dense, its axes in the memory
/// order of an array of `like_shape` and `like_strides`.
fn in_order_of<E, D: Dimension>(
    dim: D,
    like_shape: &[usize],
    like_strides: &[isize],
    elements: Vec<E>,
) -> Array<E, D> {
    // Row-major, the common case, needs no ordering of the axes.
    let row_major = like_shape
        .iter()
        .zip(like_strides)
        .filter(|&(&n, _)| n > 1)
        .map(|(_, s)| s.unsigned_abs())
        .is_sorted_by(|a, b| a >= b);
    if row_major {
        return Array::from_shape_vec(dim, elements).expect("as many elements as the shape holds");
    }
    let like: Vec<usize> = like_strides.iter().map(|&s| s.unsigned_abs()).collect();
    let mut strides = dim.clone();
    strides
        .slice_mut()
        .copy_from_slice(&dense_order(like_shape, &like, dim.slice()));
    Array::from_shape_vec(dim.strides(strides), elements)
        .expect("dense strides in some order fit as many elements as the shape holds")
}

/// For an array of `nd` axes whose last three are (height, width, channels): the axes that make it
/// (…, channels, height, width), and those that make that back. Fewer than 3 axes is an error naming `what`.
pub(crate) fn channels_last_axes<D: Dimension>(nd: usize, what: &str) -> Result<(D, D)> {
    if nd < 3 {
        return Err(Error::ArrayShape(format!(
            "a channels-last {what} has at least 3 axes, (height, width, channels); this one has {nd}"
        )));
    }
    let mut to_planes = D::zeros(nd);
    let mut back = D::zeros(nd);
    for a in 0..nd - 3 {
        to_planes[a] = a;
        back[a] = a;
    }
    to_planes[nd - 3] = nd - 1;
    to_planes[nd - 2] = nd - 3;
    to_planes[nd - 1] = nd - 2;
    back[nd - 3] = nd - 2;
    back[nd - 2] = nd - 1;
    back[nd - 1] = nd - 3;
    Ok((to_planes, back))
}

/// The tensor layout an array is pooled in place with: its last two axes (height, width), or with
/// `channels_last` its last three (height, width, channels); the axes before are N. `None` when the array has
/// no such layout (a negative stride, leading axes that cannot be merged, or fewer axes than that), and is
/// copied to row-major order first.
pub fn array_layout<E, D: Dimension>(
    view: ArrayView<'_, E, D>,
    channels_last: bool,
) -> Option<Layout> {
    if !channels_last {
        return (view.ndim() >= 2).then(|| layout_of(&view)).flatten();
    }
    let (to_planes, _) = channels_last_axes::<D>(view.ndim(), "input").ok()?;
    layout_of(&view.permuted_axes(to_planes))
}
