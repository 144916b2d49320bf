//! The criterion benches' support: the workloads (defined in `maxpool-conformance`, which `maxpool bench` shares)
//! and the traffic floor every backend is compared with.

use maxpool::IndexElement;
pub use maxpool_conformance::workloads::{input, traffic_bytes, Sampled, Workload, WORKLOADS};

/// The least work that moves a forward call's bytes, to set beside the memcpy: one pass, block by block as a
/// kernel goes, that reads each element of `input` once and writes each of `values` and `indices` once, with
/// no pooling (a block's outputs get its running maxima, lane by lane, and indices count up). A memcpy of
/// [`traffic_bytes`] reads as much as it writes; a forward call reads its input and writes less, and one core's
/// reads and writes do not cost the same, so this is the closer floor for a given workload.
pub fn traffic_floor<T: Copy + PartialOrd, I: IndexElement>(
    input: &[T],
    values: &mut [T],
    indices: &mut [I],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked).
            return unsafe { traffic_floor_avx512(input, values, indices) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked).
            return unsafe { traffic_floor_avx2(input, values, indices) };
        }
    }
    stream(input, values, indices)
}

/// [`traffic_floor`] split into `parts` contiguous parts of the outputs, each with its share of the input, for
/// that many threads to make at once.
pub fn traffic_parts<'a, T, I>(
    input: &'a [T],
    values: &'a mut [T],
    indices: &'a mut [I],
    parts: usize,
) -> Vec<(&'a [T], &'a mut [T], &'a mut [I])> {
    assert_eq!(values.len(), indices.len(), "one index per value");
    let (n_in, n_out, parts) = (input.len(), values.len(), parts.max(1));
    let (mut input, mut values, mut indices) = (input, values, indices);
    let (mut at_in, mut at_out) = (0, 0);
    (1..=parts)
        .map(|k| {
            let (end_out, end_in) = if k == parts {
                (n_out, n_in)
            } else {
                let end = k * n_out / parts;
                (end, end * n_in / n_out.max(1))
            };
            let (x, rest) = input.split_at(end_in - at_in);
            let (v, rest_v) = std::mem::take(&mut values).split_at_mut(end_out - at_out);
            let (i, rest_i) = std::mem::take(&mut indices).split_at_mut(end_out - at_out);
            (input, values, indices) = (rest, rest_v, rest_i);
            (at_in, at_out) = (end_in, end_out);
            (x, v, i)
        })
        .collect()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn traffic_floor_avx512<T: Copy + PartialOrd, I: IndexElement>(
    input: &[T],
    values: &mut [T],
    indices: &mut [I],
) {
    stream(input, values, indices)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn traffic_floor_avx2<T: Copy + PartialOrd, I: IndexElement>(
    input: &[T],
    values: &mut [T],
    indices: &mut [I],
) {
    stream(input, values, indices)
}

/// [`traffic_floor`]'s pass, vectorised by the compiler for the caller's instruction set.
#[inline(always)]
fn stream<T: Copy + PartialOrd, I: IndexElement>(input: &[T], values: &mut [T], indices: &mut [I]) {
    // As many running maxima as outputs in a block: four AVX-512 registers, whose chains of dependent maxima are
    // a quarter as long as one register's would be.
    const BLOCK: usize = 64;
    const LANES: usize = BLOCK;
    assert_eq!(values.len(), indices.len(), "one index per value");
    let Some(&seed) = input.first() else {
        return;
    };
    let (n_in, n_out) = (input.len(), values.len().max(1));
    for (b, (values, indices)) in values
        .chunks_mut(BLOCK)
        .zip(indices.chunks_mut(BLOCK))
        .enumerate()
    {
        // This block's share of the input, in proportion.
        let first = b * BLOCK;
        let (lo, hi) = (first * n_in / n_out, (first + values.len()) * n_in / n_out);
        let block = &input[lo..hi];
        let mut max = [block.first().copied().unwrap_or(seed); LANES];
        let chunks = block.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (m, &x) in max.iter_mut().zip(chunk) {
                *m = if x > *m { x } else { *m };
            }
        }
        for (m, &x) in max.iter_mut().zip(rest) {
            *m = if x > *m { x } else { *m };
        }
        values.copy_from_slice(&max[..values.len()]);
        for (k, i) in indices.iter_mut().enumerate() {
            // Wraps for narrow index types: the floor only needs the write.
            *i = I::from_u64((lo + k) as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts cover the input and the outputs exactly, in order.
    #[test]
    fn traffic_parts_cover_everything_once() {
        for (n_in, n_out, parts) in [
            (12_544, 3_136, 2),
            (65_536, 64_516, 2),
            (10, 3, 4),
            (5, 5, 1),
        ] {
            let x: Vec<u8> = vec![0; n_in];
            let (mut values, mut indices) = (vec![0u8; n_out], vec![0i64; n_out]);
            let got = traffic_parts(&x, &mut values, &mut indices, parts);
            assert_eq!(got.len(), parts);
            assert_eq!(got.iter().map(|p| p.0.len()).sum::<usize>(), n_in);
            assert_eq!(got.iter().map(|p| p.1.len()).sum::<usize>(), n_out);
            assert!(got.iter().all(|p| p.1.len() == p.2.len()));
            let (lo, hi) = (n_out / parts, n_out.div_ceil(parts));
            assert!(
                got.iter().all(|p| (lo..=hi).contains(&p.1.len())),
                "{n_out} in {parts}"
            );
        }
    }

    /// The floor is only a floor if it reads all the input and writes every output: a pass that skipped some
    /// would flatter every ratio against it.
    #[test]
    fn traffic_floor_reads_everything_and_writes_every_output() {
        for (n_in, n_out) in [(12_544, 3_136), (65_536, 64_516), (100, 7), (5, 5)] {
            let x: Vec<f32> = (0..n_in).map(|i| i as f32).collect();
            let (mut values, mut indices) = (vec![f32::NAN; n_out], vec![-1i64; n_out]);
            traffic_floor(&x, &mut values, &mut indices);
            // Every value is one of the input's (its elements are the integers 0..n_in).
            assert!(
                values
                    .iter()
                    .all(|&v| (0.0..n_in as f32).contains(&v) && v.fract() == 0.0),
                "{n_in}→{n_out}"
            );
            assert!(indices.windows(2).all(|w| w[0] < w[1]) && indices[0] >= 0);
            // A whole block of outputs shows all its running maxima: their maximum is that of its share of the
            // input, so every element was read.
            for (b, block) in values.chunks(64).enumerate() {
                let hi = (b * 64 + block.len()) * n_in / n_out;
                if block.len() == 64 {
                    let top = block.iter().fold(f32::MIN, |m, &v| m.max(v));
                    assert_eq!(top, (hi - 1) as f32, "{n_in}→{n_out}, block {b}");
                }
            }
        }
    }
}
