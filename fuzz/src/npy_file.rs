//! The command's `.npy` reader on whatever bytes the fuzzer makes of a file: the header is read and checked
//! against the file by the command's own code (`crates/cli/src/npy.rs`, included as it is), then the data is
//! read as the element type the header names and pooled, as `maxpool pool` does. Nothing may panic, and
//! nothing may allocate more than the file's own size suggests (libFuzzer's -malloc_limit_mb catches that):
//! a header that lies is refused first. The first byte picks the kernel and the optional outputs.

use maxpool::ndarray::ArrayD;
use maxpool::technique::with_dtype;
use maxpool::{Backend, DType, Params, Want};
use ndarray_npy::ReadNpyError;

use crate::npy::NpyElement;

/// One input of the `npy` target.
pub fn run(bytes: &[u8]) {
    let Some((&options, file)) = bytes.split_first() else {
        return;
    };
    let supported: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
    let Ok(described) = crate::npy::describe("input.npy", file, &supported) else {
        return;
    };
    let want = Want {
        indices: options & 0x10 != 0,
        multiplier: options & 0x20 != 0,
    };
    let params = Params::new(1 + options as usize % 4);
    for dtype in DType::ALL {
        if with_dtype!(dtype, pool_as(file, &described, &params, want)) {
            return;
        }
    }
}

/// Reads the file as `T` and pools it; false when it holds another type.
fn pool_as<T: NpyElement>(
    file: &[u8],
    described: &crate::npy::Described,
    params: &Params,
    want: Want,
) -> bool {
    let input: ArrayD<T> = match T::read_npy(file) {
        Ok(input) => input,
        Err(ReadNpyError::WrongDescriptor(_)) => return false,
        Err(_) => return true,
    };
    assert_eq!(input.shape(), &described.shape[..], "the header's shape");
    let pooled = maxpool::pool(input.view(), params, Backend::Auto, want);
    if let Ok(pooled) = pooled {
        assert_eq!(pooled.indices.is_some(), want.indices);
    }
    true
}
