//! A plane of more than 2^31 elements: indices past `i32::MAX` must come out exact. About 2 GiB of `u8`, so it
//! is ignored by default; CI runs it in release: `cargo test --release -p maxpool --test huge -- --ignored`.
//! The lookup backend is left out: its table holds an offset per tap, four times the plane's size.

use maxpool::{Backend, Outputs, Params, Plan};

const HEIGHT: usize = 65_600;
const WIDTH: usize = 32_768;
const K: usize = 64;

#[test]
#[ignore = "needs about 2.2 GiB; run with --ignored in release"]
fn indices_past_two_to_the_31_are_exact() {
    let n = HEIGHT * WIDTH;
    assert!(n > 1 << 31);
    let mut plane = vec![0u8; n];
    // The last element, and one just past 2^31, win their windows; every other window is all zeros, where the
    // first element wins the tie.
    let far = (1usize << 31) + 5 * WIDTH + 37;
    plane[n - 1] = 255;
    plane[far] = 7;
    let params = Params::new(K);
    for backend in [Backend::Naive, Backend::Block, Backend::Simd, Backend::Auto] {
        let plan = Plan::new(backend, &params, HEIGHT, WIDTH).unwrap();
        let (oh, ow) = (plan.geometry().out_height(), plan.geometry().out_width());
        let (mut values, mut indices) = (vec![1u8; oh * ow], vec![-1i64; oh * ow]);
        plan.forward(
            &plane,
            1,
            Outputs::new(&mut values).with_indices(&mut indices),
        )
        .unwrap();
        let at = |r: usize, c: usize| (r / K) * ow + c / K;
        assert_eq!(
            (values[oh * ow - 1], indices[oh * ow - 1]),
            (255, (n - 1) as i64),
            "{backend}: last window"
        );
        let (fr, fc) = (far / WIDTH, far % WIDTH);
        assert_eq!(
            (values[at(fr, fc)], indices[at(fr, fc)]),
            (7, far as i64),
            "{backend}: window past 2^31"
        );
        for (i, j) in [(0, 0), (oh / 2, ow - 1), (oh - 1, 1), (oh - 2, ow / 3)] {
            let first = (i * K * WIDTH + j * K) as i64;
            assert_eq!(
                (values[i * ow + j], indices[i * ow + j]),
                (0, first),
                "{backend}: window ({i}, {j})"
            );
        }
        assert!(
            indices.iter().all(|&i| (0..n as i64).contains(&i)),
            "{backend}: an index out of the plane"
        );
    }
}
