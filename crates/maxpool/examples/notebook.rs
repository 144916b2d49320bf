//! The exploration notebook's matrices, pooled by every backend: values, winner indices and multiplier.

use maxpool::ndarray::{array, Array2};
use maxpool::{pool, Backend, Params, Want};

fn show(title: &str, a: &Array2<i64>, params: Params) -> maxpool::Result<()> {
    println!("== {title}\n{a}\n");
    println!("auto chooses: {}", Backend::Auto.resolve(&params)?);
    for backend in Backend::CONCRETE {
        match pool(a.view(), &params, backend, Want::ALL) {
            Ok(out) => {
                println!("-- {} ({})", backend, backend.long_name());
                println!("values:\n{}", out.values);
                println!("winner indices:\n{}", out.indices.expect("asked for"));
                println!("multiplier:\n{}\n", out.multiplier.expect("asked for"));
            }
            Err(e) => println!("-- {backend}: {e}\n"),
        }
    }
    Ok(())
}

fn main() -> maxpool::Result<()> {
    let a = array![[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]];
    show("4×4, k = 2", &a, Params::new(2))?;
    let a = array![
        [12, 15, 5, 0, 1],
        [3, 11, 3, 7, 2],
        [9, 3, 5, 2, 3],
        [4, 7, 6, 8, 4],
        [1, 2, 3, 4, 5]
    ];
    show(
        "5×5, k = 2, ragged edge (ceil mode; padding never wins)",
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
    show(
        "6×6 sliding window, k = 3, stride 1",
        &a,
        Params::new(3).with_stride(1),
    )
}
