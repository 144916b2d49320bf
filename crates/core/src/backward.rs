//! The backward pass: gradients scattered back onto the winners.

use crate::element::{as_type, as_type_mut, Float, Summed};
use crate::error::{check_len, Error, Result};
use crate::geometry::Geometry;
use crate::technique::try_reserve;

/// Zeroes `grad_input` (planes × height × width), then for every output element in order adds
/// `grad_output[p, o]` onto `grad_input[p, indices[p, o]]`. The order is fixed, so the result is deterministic.
/// Every index is checked before anything is written: an index outside its plane is
/// [`Error::IndexOutOfRange`] and `grad_input` is left as it was. `f16` and `bf16` gradients are summed in `f32`
/// and each sum rounded once.
pub fn backward<T: Float>(
    geometry: &Geometry,
    planes: usize,
    grad_output: &[T],
    indices: &[i64],
    grad_input: &mut [T],
) -> Result<()> {
    if let (Some(go), Some(gi)) = (
        as_type::<T, T::Sum>(grad_output),
        as_type_mut::<T, T::Sum>(grad_input),
    ) {
        return summed(geometry, planes, go, indices, gi);
    }
    check_len("grad_input", grad_input.len(), planes, geometry.plane_len())?;
    let mut sums = Vec::new();
    try_reserve(&mut sums, grad_input.len(), "the gradient sums in f32")?;
    sums.resize(grad_input.len(), <T::Sum as Summed>::ZERO);
    summed(geometry, planes, grad_output, indices, &mut sums)?;
    for (g, &sum) in grad_input.iter_mut().zip(&sums) {
        *g = T::narrow(sum);
    }
    Ok(())
}

/// [`backward`] into sums of the gradients' sum type (the type itself for `f32` and `f64`), each gradient
/// widened as it is added.
fn summed<S: Float>(
    geometry: &Geometry,
    planes: usize,
    grad_output: &[S],
    indices: &[i64],
    grad_input: &mut [S::Sum],
) -> Result<()> {
    let (plane_len, out_len) = (geometry.plane_len(), geometry.out_plane_len());
    check_len("grad_output", grad_output.len(), planes, out_len)?;
    check_len("indices", indices.len(), planes, out_len)?;
    check_len("grad_input", grad_input.len(), planes, plane_len)?;
    if let Some(i) = indices
        .iter()
        .position(|&ix| !(0..plane_len as i64).contains(&ix))
    {
        return Err(Error::IndexOutOfRange {
            plane: i / out_len,
            position: i % out_len,
            index: indices[i],
            plane_len,
        });
    }
    grad_input.fill(<S::Sum as Summed>::ZERO);
    if planes == 0 {
        return Ok(());
    }
    for ((grad_in, grad_out), idx) in grad_input
        .chunks_exact_mut(plane_len)
        .zip(grad_output.chunks_exact(out_len))
        .zip(indices.chunks_exact(out_len))
    {
        for (&g, &i) in grad_out.iter().zip(idx) {
            grad_in[i as usize] += g.widen();
        }
    }
    Ok(())
}
