//! A `.npy` file's header, read and checked against the file before anything is allocated for its data: a
//! truncated or lying file is refused with what its header says and what it holds. Self-contained (the `npy`
//! fuzz target includes this file as it is).

use ndarray_npy::npy::header::Header;

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
        .strip_prefix(['f', 'i', 'u', 'b'])
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
