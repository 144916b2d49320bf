//! Issue 18's defects, one test each where the Rust API can show it: what a library running inside someone
//! else's process must never do (abort, grow without bound, count wrongly in silence), each checked here.

use maxpool::ndarray::ArrayView3;
use maxpool::{Backend, ErrorKind, Params, Plan, Want};

/// Defect 2: a plan's memory does not grow with the plane. A plane of 2^31 × 2^31 (2^62 elements, whose
/// indices still fit an i64) is planned at once by every backend but lookup, whose table is its technique; a
/// call over zero such planes returns empty outputs of the right shape. Before, each axis had a table of 24
/// bytes per output position: 2 × 24 GiB, refused as out of memory on this 24 GiB machine.
#[test]
fn plans_need_memory_independent_of_the_plane_size() {
    let side = 1usize << 31;
    let empty = ArrayView3::<f32>::from_shape((0, side, side), &[]).unwrap();
    for params in [
        Params::new(2),
        Params::new(3).with_stride(2).with_padding(1),
        Params::new(2).with_stride(3).with_dilation(2),
    ] {
        for backend in [Backend::Auto, Backend::Naive, Backend::Block, Backend::Simd] {
            let plan = match Plan::new(backend, &params, side, side) {
                Err(e) if e.kind() == ErrorKind::Unsupported => continue,
                plan => plan.unwrap_or_else(|e| panic!("{backend} {params:?}: {e}")),
            };
            assert_ne!(
                plan.backend(),
                Backend::Lookup,
                "{params:?}: auto chose a table of the plane's size"
            );
            let (oh, ow) = (plan.geometry().out_height(), plan.geometry().out_width());
            let pooled = plan.pool(empty, Want::ALL).unwrap();
            assert_eq!(pooled.values.shape(), [0, oh, ow]);
            assert_eq!(pooled.indices.unwrap().shape(), [0, oh, ow]);
            assert_eq!(pooled.multiplier.unwrap().shape(), [0, side, side]);
        }
        // The lookup table is one offset per output per tap: refused, as out of memory or too large, not aborted.
        let refused = Plan::new(Backend::Lookup, &params, side, side).unwrap_err();
        assert!(
            matches!(
                refused.kind(),
                ErrorKind::OutOfMemory | ErrorKind::InvalidShape
            ),
            "{refused}"
        );
    }
}

/// Defect 4: the multiplier's counts are u32. Where one element can lie in more windows than that holds, a call
/// that asks for the multiplier is refused at once, whatever the backend, and writes nothing. Before, a 1×1
/// input under a 65537-square kernel with 65536 of padding wrote 131073 (4295098369 mod 2^32) after half a
/// minute, and panicked on a helper thread with overflow checks.
#[test]
fn a_multiplier_count_that_cannot_fit_is_refused() {
    let too_many = Params::new(65_537).with_stride(1).with_padding(65_536);
    // Block pools only tiling windows, and lookup's table would hold 2^64 entries.
    for backend in [Backend::Auto, Backend::Naive, Backend::Simd] {
        let plan = Plan::new(backend, &too_many, 1, 1).unwrap();
        assert_eq!(plan.geometry().most_windows_per_element(), 65_537 * 65_537);
        // Far too short a values buffer: the geometry is refused before the buffers are looked at.
        let (mut values, mut multiplier) = (vec![7.0f32; 4], vec![9u32]);
        let out = maxpool::Outputs::new(&mut values).with_multiplier(&mut multiplier);
        let started = std::time::Instant::now();
        let refused = plan.forward(&[1.0f32], 1, out).unwrap_err();
        assert_eq!(
            refused.kind(),
            ErrorKind::Unsupported,
            "{backend}: {refused}"
        );
        assert!(
            refused.to_string().contains("4295098369 windows"),
            "{refused}"
        );
        assert!(
            started.elapsed().as_secs() < 5,
            "{backend}: refused only after the work"
        );
        assert_eq!(multiplier, [9]);
        assert!(values.iter().all(|&v| v == 7.0), "{backend} wrote values");
    }
    // One tap less on each axis fits: 65535² < 2^32.
    let fits = Plan::new(
        Backend::Naive,
        &Params::new(65_535).with_stride(1).with_padding(65_534),
        1,
        1,
    )
    .unwrap();
    assert_eq!(fits.geometry().most_windows_per_element(), 65_535 * 65_535);
    // Strides and dilations that leave taps out of step: with stride 4 and dilation 2, a position is reached by
    // every second tap.
    let strided = Plan::new(
        Backend::Naive,
        &Params::new(9).with_stride(4).with_dilation(2),
        100,
        100,
    )
    .unwrap();
    assert_eq!(strided.geometry().most_windows_per_element(), 5 * 5);
}
