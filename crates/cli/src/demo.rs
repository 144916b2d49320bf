//! `maxpool demo`: the exploration notebook's matrices through every backend, printed as the notebook showed them.

use maxpool::ndarray::{array, Array2, Ix2};
use maxpool::{pool, Backend, Params, Plan, Pooled, Want};

use crate::args::describe;
use crate::{say, Outcome};

fn show(title: &str, a: &Array2<i64>, params: Params) -> Outcome {
    say!("== {title}: {}\n{a}\n", describe(&params));
    match Plan::new(Backend::Auto, &params, a.nrows(), a.ncols()).map(|p| p.backend()) {
        Ok(chosen) => say!("auto chooses: {chosen}"),
        Err(e) => say!("auto: {e}"),
    }
    // Every backend pools the matrix; identical results are printed once, a difference would be printed in full.
    let mut shown: Vec<(Vec<&str>, Pooled<i64, Ix2>)> = Vec::new();
    for backend in Backend::CONCRETE {
        match pool(a.view(), &params, backend, Want::ALL) {
            Ok(out) => match shown.iter_mut().find(|(_, o)| *o == out) {
                Some((names, _)) => names.push(backend.name()),
                None => shown.push((vec![backend.name()], out)),
            },
            Err(e) => say!("{backend} ({}): {e}\n", backend.long_name()),
        }
    }
    if shown.len() > 1 {
        say!("THE BACKENDS DISAGREE: this is a bug, please report it\n");
    }
    for (names, out) in &shown {
        say!("{}:", names.join(", "));
        say!("values:\n{}", out.values);
        if let Some(indices) = &out.indices {
            say!("winner indices:\n{indices}");
        }
        if let Some(multiplier) = &out.multiplier {
            say!("multiplier:\n{multiplier}\n");
        }
    }
    Ok(true)
}

pub fn run() -> Outcome {
    let a = array![[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]];
    show("the 4×4 matrix", &a, Params::new(2))?;
    let a = array![
        [12, 15, 5, 0, 1],
        [3, 11, 3, 7, 2],
        [9, 3, 5, 2, 3],
        [4, 7, 6, 8, 4],
        [1, 2, 3, 4, 5]
    ];
    // The notebook zero-padded the ragged edge; ceil mode covers it with padding that never wins.
    show(
        "the 5×5 ragged edge",
        &a,
        Params::new(2).with_ceil_mode(true),
    )?;
    let a = array![
        [-15, 3, -5, -4, -12, 0],
        [13, 3, -5, -1, -12, 7],
        [14, 14, -13, 8, -16, 8],
        [-9, -13, -7, -3, -16, 5],
        [-16, 0, -6, 10, 0, -4],
        [14, 6, -12, -5, -8, 15]
    ];
    show("the 6×6 sliding window", &a, Params::new(3).with_stride(1))
}
