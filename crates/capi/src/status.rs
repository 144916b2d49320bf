//! Statuses and errors: what every call returns, the per-thread message behind it (`maxpool_last_error`), the
//! boundary that turns errors and panics into both, and the pointer checks every argument passes first.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use maxpool::{Axis, ErrorKind};

/// The result of every call that can fail. Values are never renumbered.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxpoolStatus {
    /// Success: the outputs have been written.
    Ok = 0,
    /// A pointer that must not be NULL was NULL.
    NullPointer = 1,
    /// A kernel, stride or dilation of 0, a window that covers only padding, a thread count above
    /// `MAXPOOL_MAX_THREADS`, or a `MaxpoolDType` or `MaxpoolIndexFormat` value that is not one.
    InvalidParams = 2,
    /// Zero height or width, an empty output, sizes whose byte counts overflow, buffers that overlap, tensors
    /// whose shapes disagree with the plan or each other, or strides whose largest offset overflows or that put
    /// two elements of an output in one place.
    InvalidShape = 3,
    /// The backend cannot pool this geometry (block with overlapping or dilated windows), or tensors whose types
    /// do not go together: values not of the input's type, a multiplier that is not `uint32_t`, indices that
    /// cannot hold the format's largest index, a backward pass on integers.
    Unsupported = 4,
    /// A backend value or name that is not a backend.
    UnknownBackend = 5,
    /// An index given to the backward pass lies outside its plane (or, in its format, names no element of its
    /// window's plane).
    IndexOutOfRange = 6,
    /// The library could not allocate memory it needs.
    OutOfMemory = 7,
    /// A bug in maxpool: an internal error or a caught panic. Please report it.
    Internal = 8,
    /// A pointer that is not aligned for its type (a `float *` whose address is not a multiple of 4, say), also
    /// for a buffer of zero elements.
    Misaligned = 9,
}

pub(crate) type Status = MaxpoolStatus;

impl MaxpoolStatus {
    /// Every status, in order of value: the one list `maxpool_status_message` reads.
    const ALL: [Status; 10] = [
        Status::Ok,
        Status::NullPointer,
        Status::InvalidParams,
        Status::InvalidShape,
        Status::Unsupported,
        Status::UnknownBackend,
        Status::IndexOutOfRange,
        Status::OutOfMemory,
        Status::Internal,
        Status::Misaligned,
    ];

    /// What `maxpool_status_message` says of this status.
    fn message(self) -> &'static CStr {
        match self {
            Status::Ok => c"success",
            Status::NullPointer => c"a required pointer is NULL",
            Status::InvalidParams => {
                c"invalid parameters: a kernel, stride or dilation of 0, a window that covers only padding, too \
                  many threads, or an unknown dtype or index format"
            }
            Status::InvalidShape => {
                c"invalid shape: zero height or width, an empty output, sizes or strides that overflow, shapes that \
                  disagree, or overlapping buffers"
            }
            Status::Unsupported => {
                c"unsupported: the backend cannot pool this geometry (block needs stride equal to kernel and \
                  dilation 1), or the tensors' types do not go together"
            }
            Status::UnknownBackend => c"unknown backend",
            Status::IndexOutOfRange => c"an index given to the backward pass lies outside its plane",
            Status::OutOfMemory => c"out of memory",
            Status::Internal => c"internal error in maxpool (a bug: please report it)",
            Status::Misaligned => c"a pointer is not aligned for its type",
        }
    }
}

// `ALL[n]` is the status of value n: `maxpool_status_message` relies on it.
const _: () = {
    let mut i = 0;
    while i < MaxpoolStatus::ALL.len() {
        assert!(MaxpoolStatus::ALL[i] as usize == i);
        i += 1;
    }
};

/// A `MaxpoolStatus` as C passes it: read as an integer and checked.
pub type StatusArg = u32;

impl From<&maxpool::Error> for MaxpoolStatus {
    fn from(e: &maxpool::Error) -> Self {
        match e.kind() {
            ErrorKind::InvalidParams => Status::InvalidParams,
            ErrorKind::InvalidShape => Status::InvalidShape,
            ErrorKind::Unsupported => Status::Unsupported,
            ErrorKind::UnknownBackend => Status::UnknownBackend,
            ErrorKind::IndexOutOfRange => Status::IndexOutOfRange,
            ErrorKind::OutOfMemory => Status::OutOfMemory,
            _ => Status::Internal,
        }
    }
}

/// A refusal: the status C gets, and the message `maxpool_last_error` gives for it.
pub(crate) struct Failure {
    pub(crate) status: Status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(argument: &str) -> Self {
        Failure::new(Status::NullPointer, format!("{argument} is NULL"))
    }
}

impl From<maxpool::Error> for Failure {
    fn from(e: maxpool::Error) -> Self {
        let message = match &e {
            // C names the fields `kernel_h`, …; a designated initialiser that leaves one out sets it to 0.
            maxpool::Error::ZeroParam { what, axis } => format!(
                "{what}_{} is 0; it must be at least 1 (a field that an initialiser leaves out is 0: start from \
                 maxpool_params() or maxpool_params_padded() and change what differs)",
                match axis {
                    Axis::Height => "h",
                    Axis::Width => "w",
                }
            ),
            // C knows the limit by the header's name for it.
            e @ maxpool::Error::TooManyThreads { .. } => {
                e.to_string().replace("(MAX_THREADS)", "(MAXPOOL_MAX_THREADS)")
            }
            e => e.to_string(),
        };
        Failure::new(Status::from(&e), message)
    }
}

thread_local! {
    /// The message of this thread's last call that returned a status: `None` after a success.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records the message of a call that just returned, for `maxpool_last_error`.
fn record(message: Option<String>) {
    // During the thread's exit the slot may be gone; then there is no later call to read it either.
    let _ = LAST_ERROR.try_with(|slot| {
        let Ok(mut slot) = slot.try_borrow_mut() else {
            return;
        };
        match message {
            None if slot.is_none() => {}
            None => *slot = None,
            // An interior NUL would cut the message short; there is none, but C must get a string either way.
            Some(m) => *slot = Some(CString::new(m.replace('\0', " ")).unwrap_or_default()),
        }
    });
}

/// What a caught panic says, for the message.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Runs `f`, turning its error or a panic into a status, and records the message for `maxpool_last_error`.
pub(crate) fn boundary(f: impl FnOnce() -> Result<(), Failure>) -> Status {
    let (status, message) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => (Status::Ok, None),
        Ok(Err(failure)) => (failure.status, Some(failure.message)),
        Err(payload) => {
            let message = format!(
                "internal error in maxpool (a bug: please report it): {}",
                panic_message(&*payload)
            );
            // Dropping a payload runs its destructor, which could itself panic.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            (Status::Internal, Some(message))
        }
    };
    let _ = catch_unwind(AssertUnwindSafe(|| record(message)));
    status
}

/// As [`boundary`], for functions that return a value instead of a status; they leave the last error alone.
pub(crate) fn boundary_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

#[cold]
#[inline(never)]
fn misaligned(name: &str, c_type: &str, address: usize, align: usize) -> Failure {
    Failure::new(
        Status::Misaligned,
        format!(
            "{name} is not aligned for {c_type}: address {address:#x} is not a multiple of {align}"
        ),
    )
}

/// Checks that `ptr` (NULL or not, whatever the size of what it points to) is aligned for `T`, C's `c_type`: a
/// slice or reference made from one that is not is undefined behaviour. Every pointer the library reads or writes
/// through passes here first.
#[inline]
pub(crate) fn aligned<T>(name: &str, c_type: &str, ptr: *const T) -> Result<(), Failure> {
    if ptr.is_aligned() {
        Ok(())
    } else {
        Err(misaligned(name, c_type, ptr as usize, align_of::<T>()))
    }
}

/// A static, human-readable description of a status; never NULL, also for a value that is not a status.
/// `maxpool_last_error` gives the detail of the thread's last failed call.
#[no_mangle]
pub extern "C" fn maxpool_status_message(status: StatusArg) -> *const c_char {
    usize::try_from(status)
        .ok()
        .and_then(|n| Status::ALL.get(n))
        .map_or(c"unknown status", |s| s.message())
        .as_ptr()
}

/// What went wrong in this thread's last call that returned a status, in words: the detail behind the status,
/// naming the argument at fault ("kernel_w is 0; it must be at least 1", "MAXPOOL_BACKEND=nope is not a backend;
/// …"). "" when that call succeeded or there has been none. Never NULL. The string belongs to the library and
/// stays valid until this thread's next call of a function that returns a `MaxpoolStatus`; copy it to keep it.
/// Calls on other threads do not change it.
#[no_mangle]
pub extern "C" fn maxpool_last_error() -> *const c_char {
    boundary_or(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|slot| match &*slot.borrow() {
                // The CString's buffer does not move until the slot is next written, by a later call.
                Some(message) => message.as_ptr(),
                None => c"".as_ptr(),
            })
            .unwrap_or(c"".as_ptr())
    })
}
