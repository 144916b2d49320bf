//! Argument syntax shared by the subcommands: `H,W` pairs, padding, shapes, backends and element types.

use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use maxpool::IndexFormat;
use maxpool::{Backend, DType, Padding, Params};

/// Window parameters, as `pool` and `bench` take them. `pool` requires `--kernel`; `bench` has a default
/// workload, and takes the other options only with `--kernel`.
#[derive(Args, Clone, Debug)]
pub struct WindowArgs {
    /// Window size: K, or H,W.
    #[arg(long, value_name = "K|H,W", value_parser = pair)]
    pub kernel: Option<[usize; 2]>,
    /// Step between windows: S, or H,W [default: the kernel].
    #[arg(long, value_name = "S|H,W", value_parser = pair, requires = "kernel")]
    pub stride: Option<[usize; 2]>,
    /// Implicit padding, which never wins: P, H,W, or T,B,L,R [default: 0].
    #[arg(long, value_name = "P|H,W|T,B,L,R", value_parser = padding, requires = "kernel")]
    pub padding: Option<Padding>,
    /// Step between window taps: D, or H,W [default: 1].
    #[arg(long, value_name = "D|H,W", value_parser = pair, requires = "kernel")]
    pub dilation: Option<[usize; 2]>,
    /// Round the output size up (PyTorch's ceil_mode).
    #[arg(long, requires = "kernel")]
    pub ceil: bool,
}

impl WindowArgs {
    /// The parameters given, or `default` when no kernel is given (clap makes sure no other window option is).
    pub fn params(&self, default: Option<Params>) -> Result<Params, String> {
        let Some(kernel) = self.kernel else {
            return default.ok_or_else(|| "--kernel is required".into());
        };
        Ok(Params {
            kernel,
            stride: self.stride.unwrap_or(kernel),
            padding: self.padding.unwrap_or_default(),
            dilation: self.dilation.unwrap_or([1, 1]),
            ceil_mode: self.ceil,
        })
    }
}

/// A backend as the command line names it: the possible values, with their long names as aliases and their
/// summaries as help, are made from [`Backend::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendName(pub Backend);

const BACKEND_NAMES: [BackendName; Backend::ALL.len()] = {
    let mut out = [BackendName(Backend::Auto); Backend::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = BackendName(Backend::ALL[i]);
        i += 1;
    }
    out
};

impl ValueEnum for BackendName {
    fn value_variants<'a>() -> &'a [Self] {
        &BACKEND_NAMES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let b = self.0;
        let value = PossibleValue::new(b.name()).help(b.summary());
        Some(if b.long_name() == b.name() {
            value
        } else {
            value.alias(b.long_name())
        })
    }
}

/// An element type as the command line names it, from [`DType::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DTypeName(pub DType);

const DTYPE_NAMES: [DTypeName; DType::ALL.len()] = {
    let mut out = [DTypeName(DType::F32); DType::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = DTypeName(DType::ALL[i]);
        i += 1;
    }
    out
};

impl ValueEnum for DTypeName {
    fn value_variants<'a>() -> &'a [Self] {
        &DTYPE_NAMES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()))
    }
}

/// Parses comma-separated non-negative integers.
fn numbers(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(|part| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("{part:?} is not a non-negative integer"))
        })
        .collect()
}

/// `K` or `H,W`.
pub fn pair(s: &str) -> Result<[usize; 2], String> {
    match numbers(s)?[..] {
        [k] => Ok([k, k]),
        [h, w] => Ok([h, w]),
        _ => Err(format!("expected one number or two as H,W, got {s:?}")),
    }
}

/// `P`, `H,W` or `T,B,L,R`.
pub fn padding(s: &str) -> Result<Padding, String> {
    let [top, bottom, left, right] = match numbers(s)?[..] {
        [p] => [p; 4],
        [h, w] => [h, h, w, w],
        [t, b, l, r] => [t, b, l, r],
        _ => return Err(format!("expected P, H,W or T,B,L,R, got {s:?}")),
    };
    Ok(Padding {
        top,
        bottom,
        left,
        right,
    })
}

/// `N,C,H,W`.
pub fn shape(s: &str) -> Result<[usize; 4], String> {
    match numbers(s)?[..] {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(format!("expected N,C,H,W, got {s:?}")),
    }
}

pub use crate::npy::dims;

/// How parameters are printed.
pub fn describe(p: &Params) -> String {
    let Padding {
        top,
        bottom,
        left,
        right,
    } = p.padding;
    format!(
        "kernel {}, stride {}, padding {top},{bottom},{left},{right}, dilation {}{}",
        dims(&p.kernel),
        dims(&p.stride),
        dims(&p.dilation),
        if p.ceil_mode { ", ceil mode" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_padding() {
        assert_eq!(pair("3"), Ok([3, 3]));
        assert_eq!(pair("2, 3"), Ok([2, 3]));
        assert!(pair("2,3,4").is_err());
        assert!(pair("-1")
            .unwrap_err()
            .contains("not a non-negative integer"));
        assert_eq!(
            padding("1"),
            Ok(Padding {
                top: 1,
                bottom: 1,
                left: 1,
                right: 1
            })
        );
        assert_eq!(
            padding("1,2"),
            Ok(Padding {
                top: 1,
                bottom: 1,
                left: 2,
                right: 2
            })
        );
        assert_eq!(
            padding("1,2,3,4"),
            Ok(Padding {
                top: 1,
                bottom: 2,
                left: 3,
                right: 4
            })
        );
        assert!(padding("1,2,3").is_err());
        assert_eq!(shape("8,64,112,112"), Ok([8, 64, 112, 112]));
    }

    #[test]
    fn stride_defaults_to_the_kernel() {
        let w = WindowArgs {
            kernel: Some([3, 2]),
            stride: None,
            padding: None,
            dilation: None,
            ceil: false,
        };
        let p = w.params(None).unwrap();
        assert_eq!((p.kernel, p.stride, p.dilation), ([3, 2], [3, 2], [1, 1]));
        let none = WindowArgs { kernel: None, ..w };
        assert_eq!(none.params(Some(Params::new(2))), Ok(Params::new(2)));
        assert!(none.params(None).is_err());
        assert_eq!(dims(&[]), "()");
        assert_eq!(dims(&[2, 3]), "2×3");
    }
}

/// An index format as the command takes it: every [`IndexFormat`], by the name the library gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexFormatName(pub IndexFormat);

const INDEX_FORMAT_NAMES: [IndexFormatName; IndexFormat::ALL.len()] = {
    let mut out = [IndexFormatName(IndexFormat::Plane); IndexFormat::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = IndexFormatName(IndexFormat::ALL[i]);
        i += 1;
    }
    out
};

impl ValueEnum for IndexFormatName {
    fn value_variants<'a>() -> &'a [Self] {
        &INDEX_FORMAT_NAMES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(match self.0 {
            IndexFormat::Plane => "row * W + col within each plane (PyTorch)",
            IndexFormat::FlatNchw => "over the whole (N, C, H, W) tensor (ONNX)",
            IndexFormat::FlatNhwc => {
                "over the whole (N, H, W, C) tensor (TensorFlow, include_batch_in_index)"
            }
            IndexFormat::FlatHwc => "over one (H, W, C) image (TensorFlow's default)",
            IndexFormat::Window => {
                "the winning tap within its window, row-major (oneDNN's workspace)"
            }
        }))
    }
}

/// The element type of the indices file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IndexDType {
    /// 64-bit, any format.
    I64,
    /// 32-bit, when the format's largest index fits.
    I32,
    /// 1 byte, the window format only, kernels of at most 256 taps.
    U8,
}
