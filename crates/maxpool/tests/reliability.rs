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
