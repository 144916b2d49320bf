//! Errors are values: every way a call can be refused, with a message that names the problem.

use std::fmt;

/// Which of the two spatial axes a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Axis {
    /// The height axis (rows).
    Height,
    /// The width axis (columns).
    Width,
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::Height => "height",
            Axis::Width => "width",
        })
    }
}

/// Everything that can go wrong in a pooling call. No call panics on bad input and no call writes partial output:
/// when an error is returned, the output buffers are as they were.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A kernel, stride or dilation of zero.
    #[error("{what} {axis} is 0; it must be at least 1")]
    ZeroParam {
        /// "kernel", "stride" or "dilation".
        what: &'static str,
        /// The axis it was given for.
        axis: Axis,
    },
    /// A thread count above the most a call may use, given to `set_num_threads`.
    #[error(
        "threads is {threads}, more than the most a pooling call may use, {max} (MAX_THREADS); 0 restores the \
         default"
    )]
    TooManyThreads {
        /// The count asked for.
        threads: usize,
        /// The most allowed: `MAX_THREADS`.
        max: usize,
    },
    /// Some window covers no input element at all, only padding.
    #[error(
        "output {axis} position {position} covers only padding (taps {first}, {first}+{dilation}, … of a padded \
         axis whose input is 0..{size}); reduce the padding or dilation"
    )]
    WindowInPadding {
        /// The axis on which the window misses the input.
        axis: Axis,
        /// The output position of the window on that axis.
        position: usize,
        /// Where its first tap falls, in input coordinates (negative in the leading padding).
        first: i128,
        /// The dilation between taps.
        dilation: usize,
        /// The input size on that axis.
        size: usize,
    },
    /// An input plane with no rows or no columns.
    #[error("the input plane is empty ({height} × {width}); height and width must be at least 1")]
    EmptyInput {
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
    },
    /// The window is larger than the padded input, so there is no output.
    #[error(
        "the window's {axis}, {window}, is larger than the input's {size} plus padding ({padded} in all): there \
         is no output on that axis"
    )]
    EmptyOutput {
        /// The axis with no output.
        axis: Axis,
        /// `dilation·(kernel−1)+1`.
        window: u128,
        /// Input size plus both paddings.
        padded: u128,
        /// Input size.
        size: usize,
    },
    /// Shape arithmetic does not fit the machine's integers.
    #[error("shape arithmetic overflows: {0}")]
    Overflow(&'static str),
    /// A buffer of the wrong length.
    #[error("the {buffer} buffer holds {actual} elements but {expected} are needed")]
    BufferLength {
        /// Which buffer: "input", "values", "indices", "multiplier", "grad_output", "grad_input".
        buffer: &'static str,
        /// The number of elements needed.
        expected: usize,
        /// The number of elements given.
        actual: usize,
    },
    /// An array whose shape does not fit the call.
    #[error("{0}")]
    ArrayShape(String),
    /// The backend cannot pool this geometry.
    #[error("the {backend} backend cannot pool this geometry: {reason}")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// Why not, and what can.
        reason: String,
    },
    /// A backend name that is not one of the known ones.
    #[error("{given} is not a backend; expected one of {known}")]
    UnknownBackend {
        /// What was given, as the message shows it: `"\"fast\""`, `"MAXPOOL_BACKEND=fast"`.
        given: String,
        /// The backends' names, from the one list of backends (`Backend::names` in the `maxpool` crate).
        known: &'static str,
    },
    /// A winner index, in the backward pass, outside its plane.
    #[error("index {index} at output {position} of plane {plane} is outside the plane's {plane_len} elements")]
    IndexOutOfRange {
        /// The plane.
        plane: usize,
        /// The flat output position within the plane.
        position: usize,
        /// The offending index.
        index: i64,
        /// Height × width of the input plane.
        plane_len: usize,
    },
    /// A winner index, in the backward pass, that names no element of its window's plane in its format.
    #[error(
        "index {index} ({format} format) at output (n, c, oh, ow) = ({}, {}, {}, {}) {reason}",
        at[0], at[1], at[2], at[3]
    )]
    BadIndex {
        /// The format the indices are in.
        format: crate::tensor::IndexFormat,
        /// Where it is: (n, c, oh, ow).
        at: [usize; 4],
        /// The offending index.
        index: i64,
        /// What is wrong with it.
        reason: String,
    },
    /// An index type that cannot hold what the call would write.
    #[error("{0}")]
    IndexType(String),
    /// A bug: a panic inside the library, caught on the thread it happened on, the calling thread or a helper.
    /// The call's outputs may be partly written; the library keeps working for the next call.
    #[error("internal error in maxpool (a bug: please report it): {0}")]
    Internal(String),
    /// The library could not allocate the memory a call needs.
    #[error("out of memory: could not allocate {bytes} bytes for {what}")]
    OutOfMemory {
        /// What the memory was for.
        what: &'static str,
        /// How much was asked for.
        bytes: usize,
    },
}

/// The broad class of an [`Error`], one per C status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Zero kernel, stride or dilation, a window wholly in padding, or a thread count above `MAX_THREADS`.
    InvalidParams,
    /// Empty input or output, overflowing sizes, buffers or arrays of the wrong shape.
    InvalidShape,
    /// The backend cannot pool this geometry.
    Unsupported,
    /// Not a known backend.
    UnknownBackend,
    /// A backward index outside its plane.
    IndexOutOfRange,
    /// An allocation failed.
    OutOfMemory,
    /// A bug in the library, caught.
    Internal,
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::ZeroParam { .. }
            | Error::WindowInPadding { .. }
            | Error::TooManyThreads { .. } => ErrorKind::InvalidParams,
            Error::EmptyInput { .. }
            | Error::EmptyOutput { .. }
            | Error::Overflow(_)
            | Error::BufferLength { .. }
            | Error::ArrayShape(_) => ErrorKind::InvalidShape,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::UnknownBackend { .. } => ErrorKind::UnknownBackend,
            Error::IndexOutOfRange { .. } | Error::BadIndex { .. } => ErrorKind::IndexOutOfRange,
            Error::IndexType(_) => ErrorKind::Unsupported,
            Error::OutOfMemory { .. } => ErrorKind::OutOfMemory,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }
}

/// Runs `f`, turning a panic inside it (a bug) into [`Error::Internal`] with the panic's message, so that a
/// caller's process never unwinds through the library.
pub fn caught<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(Error::Internal(panic_message(payload))))
}

/// What a caught panic said; its payload is dropped here, where a panicking destructor is caught too.
pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
    message
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that a buffer holds `planes` planes of `per_plane` elements.
pub(crate) fn check_len(
    buffer: &'static str,
    actual: usize,
    planes: usize,
    per_plane: usize,
) -> Result<()> {
    let expected = planes
        .checked_mul(per_plane)
        .ok_or(Error::Overflow("planes × plane size"))?;
    if actual != expected {
        return Err(Error::BufferLength {
            buffer,
            expected,
            actual,
        });
    }
    Ok(())
}
