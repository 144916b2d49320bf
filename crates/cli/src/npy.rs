//! A `.npy` file's header, read and checked against the file before anything is allocated for its data: a
//! truncated or lying file is refused with what its header says and what it holds; and each element type's
//! reading and writing, ndarray-npy's for the eight it knows, this file's for `f16` and `bf16`. Self-contained
//! (the `npy` fuzz target includes this file as it is).

use std::io::Write;

use maxpool::ndarray::{ArrayD, IxDyn, ShapeBuilder};
use maxpool::{bf16, f16, DType, Element};
use ndarray_npy::npy::header::{Header, Layout};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyError, WriteNpyExt};
use py_literal::Value as PyValue;

/// What the header says, checked against the file's length before any array is allocated.
pub struct Described {
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Multi-byte elements stored big-endian.
    pub big_endian: bool,
}

/// Reads the header, and checks that the file holds exactly the data it describes, with 2 to 4 dimensions. A
/// descriptor that names no number type of a known size (`'<d2'`, `'<c8'`, `'|O'`) is refused here, naming the
/// `supported` types, since its data's size cannot be checked: nothing may be read as any type before that check.
/// Opaque elements of a known size (`'<V2'`, as `np.save` writes `ml_dtypes.bfloat16`) pass, to be read as the
/// type the command is told, or refused by name.
pub fn describe(path: &str, bytes: &[u8], supported: &[&str]) -> Result<Described, String> {
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err(format!(
            "{path} is not a .npy file (it lacks the NumPy magic bytes)"
        ));
    }
    let mut reader = bytes;
    let header = Header::from_reader(&mut reader)
        .map_err(|e| format!("cannot read {path}: its .npy header is malformed: {e}"))?;
    let data = reader.len();
    let shape = header.shape;
    if !(2..=4).contains(&shape.len()) {
        return Err(format!(
            "{path} has {} dimension{} (shape {}); pool needs 2 (H, W), 3 (planes, H, W) or 4 (N, C, H, W)",
            shape.len(),
            if shape.len() == 1 { "" } else { "s" },
            dims(&shape)
        ));
    }
    let descriptor = header.type_descriptor.to_string();
    let descr = descriptor.trim_matches(['\'', '"']);
    // The element size of a number type is the descriptor's number ('<f4', '|u1'); a number type of that size
    // the command does not pool is refused later, by name, once the data's size is known to be true.
    let unordered = descr.trim_start_matches(['<', '>', '|', '=']);
    let Some(size) = unordered
        .strip_prefix(['f', 'i', 'u', 'b', 'V'])
        .and_then(|size| size.parse::<usize>().ok())
        .filter(|&size| size > 0)
    else {
        return Err(format!(
            "{path}: unsupported element type {descr}; supported: {}",
            supported.join(", ")
        ));
    };
    // ndarray needs the product of the axes that are not empty to fit an isize, even when another is empty.
    let addressable = shape
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_mul(size))
        .is_some_and(|bytes| isize::try_from(bytes).is_ok());
    let expected = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|_| addressable)
        .map(|n| n.checked_mul(size));
    match expected {
        None | Some(None) => {
            return Err(format!(
                "{path}: its header's shape {} has more bytes than this machine can address",
                dims(&shape)
            ))
        }
        Some(Some(expected)) if data < expected => {
            return Err(format!(
                "{path} is truncated: the header says {expected} bytes of data (shape {} of {descr}); the file \
                 holds {data}",
                dims(&shape)
            ))
        }
        Some(Some(expected)) if data > expected => {
            return Err(format!(
                "{path} has {} bytes after its data: the header says {expected} bytes of data (shape {} of \
                 {descr}); the file holds {data}",
                data - expected,
                dims(&shape)
            ))
        }
        _ => {}
    }
    Ok(Described {
        shape,
        big_endian: descr.starts_with('>') && size > 1,
    })
}

/// How a shape is printed: `8×64×112×112`; `()` for a 0-D array's.
pub fn dims(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "()".into();
    }
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// Whether a `.npy` descriptor names the type, so that a file of it is read as it without being told: every one
/// but `bf16`, for which numpy has none (`np.save` writes an `ml_dtypes.bfloat16` array as `'<V2'`, opaque
/// 2-byte elements like any other 2-byte void), so it is read only when asked for.
pub fn has_descriptor(dtype: DType) -> bool {
    dtype != DType::BF16
}

/// The element types, as the messages list them: `bf16` says that it must be asked for.
pub fn supported_types() -> Vec<String> {
    DType::ALL
        .iter()
        .map(|&d| {
            if has_descriptor(d) {
                d.name().to_string()
            } else {
                format!("{0} (with --dtype {0})", d.name())
            }
        })
        .collect()
}

/// Reading and writing a whole `.npy` file as one element type: ndarray-npy's own for the eight types it knows;
/// for the 16-bit floats, which it does not, their bit patterns.
///
/// `f16` is numpy's `float16`, `'<f2'` or `'>f2'`, read and written. `bf16` reads 2-byte opaque elements
/// (`'<V2'`, `'|V2'`, `'>V2'`: an `ml_dtypes.bfloat16` array as `np.save` writes it) and unsigned 16-bit ones
/// (`'<u2'`, `'>u2'`: its bits, `x.view(np.uint16)`) as bfloat16 bit patterns, and writes `'<V2'`, which is
/// what `np.save` writes for it: `np.load(f).view(ml_dtypes.bfloat16)` gets it back.
pub trait NpyElement: Element {
    /// Reads a whole `.npy` file (whose header [`describe`] has checked) as this type;
    /// [`ReadNpyError::WrongDescriptor`] when it holds another.
    fn read_npy(bytes: &[u8]) -> Result<ArrayD<Self>, ReadNpyError>;
    /// Writes `array` as a `.npy` file, little-endian, in C order or, when that is its memory's, Fortran order.
    fn write_npy<W: Write>(array: &ArrayD<Self>, writer: W) -> Result<(), WriteNpyError>;
}

macro_rules! native {
    ($($t:ty),*) => {$(
        impl NpyElement for $t {
            fn read_npy(bytes: &[u8]) -> Result<ArrayD<Self>, ReadNpyError> {
                ReadNpyExt::read_npy(bytes)
            }
            fn write_npy<W: Write>(array: &ArrayD<Self>, writer: W) -> Result<(), WriteNpyError> {
                WriteNpyExt::write_npy(array, writer)
            }
        }
    )*};
}
native!(f32, f64, i8, u8, i16, u16, i32, i64);

/// `$t`, a 16-bit float: read from the descriptors `$little` and `$big` (little- and big-endian bits), written as
/// `$write`.
macro_rules! half {
    ($($t:ty: [$($little:literal),*], [$($big:literal),*], $write:literal;)*) => {$(
        impl NpyElement for $t {
            fn read_npy(bytes: &[u8]) -> Result<ArrayD<Self>, ReadNpyError> {
                read_bits(bytes, &[$($little),*], &[$($big),*], <$t>::from_bits)
            }
            fn write_npy<W: Write>(array: &ArrayD<Self>, writer: W) -> Result<(), WriteNpyError> {
                write_bits(array, $write, writer, |x| x.to_bits())
            }
        }
    )*};
}
half! {
    f16: ["<f2"], [">f2"], "<f2";
    bf16: ["<V2", "|V2", "<u2"], [">V2", ">u2"], "<V2";
}

/// Reads a `.npy` file of 16-bit elements whose descriptor is one of `little` or `big`, as `from_bits` of them.
fn read_bits<T>(
    bytes: &[u8],
    little: &[&str],
    big: &[&str],
    from_bits: fn(u16) -> T,
) -> Result<ArrayD<T>, ReadNpyError> {
    let mut data = bytes;
    let header = Header::from_reader(&mut data)?;
    let big_endian = match &header.type_descriptor {
        PyValue::String(s) if little.contains(&s.as_str()) => false,
        PyValue::String(s) if big.contains(&s.as_str()) => true,
        other => return Err(ReadNpyError::WrongDescriptor(other.clone())),
    };
    // ndarray needs the bytes of the axes that are not empty to fit an isize, even when another is empty.
    let addressable = header
        .shape
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(2usize, |n, &d| n.checked_mul(d))
        .is_some_and(|bytes| isize::try_from(bytes).is_ok());
    if !addressable {
        return Err(ReadNpyError::LengthOverflow);
    }
    let len: usize = if header.shape.contains(&0) {
        0
    } else {
        header.shape.iter().product()
    };
    match data.len().cmp(&(2 * len)) {
        std::cmp::Ordering::Less => return Err(ReadNpyError::MissingData),
        std::cmp::Ordering::Greater => return Err(ReadNpyError::ExtraBytes(data.len() - 2 * len)),
        std::cmp::Ordering::Equal => {}
    }
    let elements: Vec<T> = data
        .chunks_exact(2)
        .map(|b| {
            let b = [b[0], b[1]];
            from_bits(if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            })
        })
        .collect();
    let shape = IxDyn(&header.shape).set_f(header.layout.is_fortran());
    ArrayD::from_shape_vec(shape, elements).map_err(|_| ReadNpyError::LengthOverflow)
}

/// Writes `array` as a `.npy` file of 16-bit elements, `descriptor`, with `to_bits` of each, little-endian: in
/// its memory's order when that is C or Fortran order, as ndarray-npy writes, else in C order.
fn write_bits<T: Copy, W: Write>(
    array: &ArrayD<T>,
    descriptor: &str,
    mut writer: W,
    to_bits: fn(T) -> u16,
) -> Result<(), WriteNpyError> {
    let fortran = !array.is_standard_layout() && array.t().is_standard_layout();
    Header {
        type_descriptor: PyValue::String(descriptor.into()),
        layout: if fortran {
            Layout::Fortran
        } else {
            Layout::Standard
        },
        shape: array.shape().to_vec(),
    }
    .write(&mut writer)?;
    // Fortran order is the transpose's C order; `iter` walks C order.
    let elements = if fortran {
        array.t().into_iter()
    } else {
        array.view().into_iter()
    };
    const CHUNK: usize = 1 << 16;
    let mut buffer = Vec::with_capacity(CHUNK);
    for x in elements {
        buffer.extend_from_slice(&to_bits(*x).to_le_bytes());
        if buffer.len() >= CHUNK {
            writer.write_all(&buffer)?;
            buffer.clear();
        }
    }
    writer.write_all(&buffer)?;
    writer.flush()?;
    Ok(())
}
