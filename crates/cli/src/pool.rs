//! `maxpool pool`: a `.npy` file in; `values.npy`, `indices.npy` and `multiplier.npy` out, with a prefix or in a
//! directory.

use std::ffi::OsString;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use maxpool::ndarray::{ArrayD, IxDyn};
use maxpool::technique::with_dtype;
use maxpool::{DType, Element, IndexFormat, Params, Plan, Want};
use ndarray_npy::{ReadNpyError, WriteNpyError, WriteNpyExt};
use tempfile::NamedTempFile;

use crate::args::{
    describe, dims, BackendName, DTypeName, IndexDType, IndexFormatName, WindowArgs,
};
use crate::npy::{self, Described, NpyElement};
use crate::{fail, say, Failure, Outcome};

#[derive(Args, Debug)]
pub struct PoolArgs {
    /// The input .npy file: 2 (H, W), 3 (planes, H, W) or 4 (N, C, H, W) dimensions, C or Fortran order; with
    /// --layout nhwc, 3 (H, W, C) or 4 (N, H, W, C).
    pub input: PathBuf,
    #[command(flatten)]
    pub window: WindowArgs,
    /// The backend.
    #[arg(long, default_value = "auto", ignore_case = true)]
    pub backend: BackendName,
    /// Where the axes are: nchw pools the last two axes; nhwc pools the two before the last (channels-last)
    /// and writes its outputs channels-last too [default: nchw, but a file whose last axis is much smaller
    /// than the two before it is refused until --layout says which it is].
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
    /// Where to write: PREFIX.values.npy, PREFIX.indices.npy and, with --multiplier, PREFIX.multiplier.npy (a
    /// trailing .npy is dropped from PREFIX); or, for a directory (or a path ending in /), values.npy, … in it.
    #[arg(long, short, value_name = "PREFIX|DIR/")]
    pub output: PathBuf,
    /// Also write the multiplier: how many windows each input element won.
    #[arg(long)]
    pub multiplier: bool,
    /// How the indices encode each winner. For the flat formats N is the product of the axes before the
    /// channels, and C is the channels' axis (the third-last, or with --layout nhwc the last).
    #[arg(long, value_enum, default_value = "plane")]
    pub index_format: IndexFormatName,
    /// The indices' element type.
    #[arg(long, value_enum, default_value = "i64")]
    pub index_dtype: IndexDType,
    /// The input's element type [default: the one its .npy descriptor names; the file must hold it]. bfloat16
    /// has no descriptor: np.save writes an ml_dtypes.bfloat16 array as '<V2', 2 opaque bytes each, and
    /// --dtype bf16 reads those, or a uint16 array of its bits (x.view(np.uint16)), as bfloat16. Its values
    /// are written as '<V2' too, as np.save does: np.load("out.values.npy").view(ml_dtypes.bfloat16).
    #[arg(long, ignore_case = true)]
    pub dtype: Option<DTypeName>,
}

/// Where a file's spatial axes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// (…, H, W): the last two axes are pooled.
    Nchw,
    /// (…, H, W, C), channels-last: the two axes before the last are pooled.
    Nhwc,
}

/// What reading the input as one element type came to.
enum Attempt {
    Done,
    /// The file holds another element type; its numpy descriptor.
    OtherType(String),
}

/// Where the outputs go: `<prefix>.values.npy`, or `<dir>/values.npy`.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    Prefix(PathBuf),
    Directory(PathBuf),
}

impl Destination {
    /// A directory, or a path ending in `/`, is a directory; otherwise a prefix, less a trailing `.npy`.
    fn new(output: &Path) -> Self {
        let text = output.as_os_str().to_string_lossy();
        if text.ends_with(std::path::is_separator) || output.is_dir() {
            return Destination::Directory(output.to_path_buf());
        }
        match text.strip_suffix(".npy") {
            Some(stem) if !stem.is_empty() && !stem.ends_with('/') => {
                Destination::Prefix(PathBuf::from(stem))
            }
            _ => Destination::Prefix(output.to_path_buf()),
        }
    }

    /// The directory the outputs go to.
    fn dir(&self) -> &Path {
        match self {
            Destination::Directory(d) => d,
            Destination::Prefix(p) => match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            },
        }
    }

    /// The file for one output.
    fn file(&self, what: &str) -> PathBuf {
        match self {
            Destination::Directory(d) => d.join(format!("{what}.npy")),
            Destination::Prefix(p) => {
                let mut name = OsString::from(p.as_os_str());
                name.push(format!(".{what}.npy"));
                PathBuf::from(name)
            }
        }
    }
}

pub fn run(args: &PoolArgs) -> Outcome {
    let params = args.window.params(None).map_err(Failure)?;
    let destination = Destination::new(&args.output);
    let dir = destination.dir();
    if !dir.is_dir() {
        return Err(fail!(
            "the output directory {} does not exist",
            dir.display()
        ));
    }
    let path = &args.input;
    let bytes = std::fs::read(path).map_err(|e| fail!("cannot read {}: {e}", path.display()))?;
    let supported = npy::supported_types();
    let supported: Vec<&str> = supported.iter().map(String::as_str).collect();
    let described =
        npy::describe(&path.display().to_string(), &bytes, &supported).map_err(Failure)?;
    let layout = layout_of(path, &described.shape, args.layout)?;
    // The type asked for, or every type a descriptor names.
    let dtypes: Vec<DType> = match args.dtype {
        Some(DTypeName(dtype)) => vec![dtype],
        None => DType::ALL
            .into_iter()
            .filter(|&d| npy::has_descriptor(d))
            .collect(),
    };
    let mut descriptor = String::new();
    for dtype in dtypes {
        let attempt = with_dtype!(
            dtype,
            pool_as(&bytes, args, &params, &destination, layout, &described)
        )?;
        match attempt {
            Attempt::Done => return Ok(true),
            Attempt::OtherType(d) => descriptor = d,
        }
    }
    let path = path.display();
    let two_opaque_bytes = descriptor
        .trim_matches(['\'', '"'])
        .trim_start_matches(['<', '>', '|', '='])
        == "V2";
    Err(match args.dtype {
        Some(DTypeName(DType::BF16)) => fail!(
            "{path} holds {descriptor}, not bf16: --dtype bf16 reads 2-byte elements as bfloat16, '<V2' as \
             np.save writes an ml_dtypes.bfloat16 array, or '<u2', its bits as x.view(np.uint16)"
        ),
        Some(DTypeName(dtype)) => fail!(
            "{path} holds {descriptor}, not {dtype} (--dtype {dtype}); pool converts no types"
        ),
        None if two_opaque_bytes => fail!(
            "{path}: element type {descriptor} is 2 opaque bytes each, as np.save writes an ml_dtypes.bfloat16 \
             array, which .npy cannot tell from other 2-byte types: if it holds bfloat16, pass --dtype bf16"
        ),
        None => fail!(
            "{path}: unsupported element type {descriptor}; supported: {}",
            supported.join(", ")
        ),
    })
}

/// The layout to pool in: the one given, else NCHW, unless the shape looks channels-last, which is refused
/// rather than pooled over the wrong axes.
fn layout_of(path: &Path, shape: &[usize], given: Option<Layout>) -> Result<Layout, Failure> {
    let n = shape.len();
    match given {
        Some(Layout::Nhwc) if n < 3 => Err(fail!(
            "--layout nhwc needs 3 (H, W, C) or 4 (N, H, W, C) dimensions; {} has shape {}",
            path.display(),
            dims(shape)
        )),
        Some(layout) => Ok(layout),
        None if n >= 3 => {
            let (h, w, c) = (shape[n - 3], shape[n - 2], shape[n - 1]);
            if c.saturating_mul(4) <= h && c.saturating_mul(4) <= w {
                Err(fail!(
                    "{} has shape {}, whose last axis ({c}) is much smaller than the two before it, as in a \
                     channels-last (…, H, W, C) array: pass --layout nhwc to pool H and W, or --layout nchw to \
                     pool its last two axes ({w}×{c}) as they are",
                    path.display(),
                    dims(shape)
                ))
            } else {
                Ok(Layout::Nchw)
            }
        }
        None => Ok(Layout::Nchw),
    }
}

fn pool_as<T: NpyElement>(
    bytes: &[u8],
    args: &PoolArgs,
    params: &Params,
    destination: &Destination,
    layout: Layout,
    described: &Described,
) -> Result<Attempt, Failure> {
    let path = args.input.display();
    let input = match T::read_npy(bytes) {
        Ok(a) => a,
        Err(ReadNpyError::WrongDescriptor(d)) => return Ok(Attempt::OtherType(d.to_string())),
        Err(e) => return Err(fail!("cannot read {path}: {e}")),
    };
    let shape = input.shape().to_vec();
    let n = shape.len();
    // Channels-last: the library sees (…, C, H, W), a view of the same data; the outputs go back to (…, H, W, C).
    let (to_pooled, from_pooled): (Vec<usize>, Vec<usize>) = match layout {
        Layout::Nchw => ((0..n).collect(), (0..n).collect()),
        Layout::Nhwc => {
            let lead: Vec<usize> = (0..n - 3).collect();
            let to = [lead.clone(), vec![n - 1, n - 3, n - 2]].concat();
            let from = [lead, vec![n - 2, n - 1, n - 3]].concat();
            (to, from)
        }
    };
    let pooled_view = input.view().permuted_axes(IxDyn(&to_pooled));
    let want = Want {
        indices: true,
        multiplier: args.multiplier,
    };
    let backend = args.backend.0;
    let format = args.index_format.0;
    let out =
        pooled(pooled_view, params, backend, want, format, args.index_dtype).map_err(|e| {
            fail!(
                "cannot pool {path} ({} {}{}) with {}: {e}",
                T::DTYPE,
                dims(&shape),
                if layout == Layout::Nhwc {
                    ", channels-last"
                } else {
                    ""
                },
                describe(params)
            )
        })?;
    let back = IxDyn(&from_pooled);
    let (values, indices, multiplier) = out;
    let values = values.permuted_axes(back.clone());

    // Every output is written to a temporary file beside its destination first, and renamed only when all are
    // complete: a failed run leaves no partial file and overwrites nothing.
    let dir = destination.dir();
    let mut staged = vec![(
        destination.file("values"),
        stage(dir, |w| T::write_npy(&values, w))?,
    )];
    let indices = match indices {
        Indices::I64(a) => stage(dir, |w| a.permuted_axes(back.clone()).write_npy(w))?,
        Indices::I32(a) => stage(dir, |w| a.permuted_axes(back.clone()).write_npy(w))?,
        Indices::U8(a) => stage(dir, |w| a.permuted_axes(back.clone()).write_npy(w))?,
    };
    staged.push((destination.file("indices"), indices));
    if let Some(multiplier) = multiplier {
        let multiplier = multiplier.permuted_axes(back);
        staged.push((
            destination.file("multiplier"),
            stage(dir, |w| multiplier.write_npy(w))?,
        ));
    }
    // A rename within one directory onto a regular file (or onto nothing) does not fail in practice; anything else
    // in the way is refused before the first rename, so the outputs are replaced all together or not at all.
    for (dest, _) in &staged {
        if dest.symlink_metadata().is_ok_and(|m| !m.is_file()) {
            return Err(fail!(
                "cannot write {}: something other than a file is in the way",
                dest.display()
            ));
        }
    }
    let mut written = Vec::new();
    for (dest, file) in staged {
        file.persist(&dest)
            .map_err(|e| fail!("cannot write {}: {}", dest.display(), e.error))?;
        written.push(dest.display().to_string());
    }
    let [h, w] = [shape[to_pooled[n - 2]], shape[to_pooled[n - 1]]];
    let chosen = backend
        .resolve_sized(params, h, w)
        .map_or_else(|_| backend.to_string(), |b| b.to_string());
    let notes: Vec<&str> = [
        (!input.is_standard_layout()).then_some("Fortran order"),
        (layout == Layout::Nhwc).then_some("channels-last"),
        described
            .big_endian
            .then_some("big-endian; outputs are little-endian"),
        (T::DTYPE == DType::BF16).then_some("values as '<V2', as np.save writes bfloat16"),
    ]
    .into_iter()
    .flatten()
    .collect();
    say!(
        "{path}: {} {}{} -> {} with {chosen}; wrote {}",
        T::DTYPE,
        dims(&shape),
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        },
        dims(values.shape()),
        written.join(", ")
    );
    Ok(Attempt::Done)
}

/// The indices, in the type asked for.
enum Indices {
    I64(ArrayD<i64>),
    I32(ArrayD<i32>),
    U8(ArrayD<u8>),
}

/// Pools `input` with indices in `format` as `dtype`: the values, the indices and, when wanted, the multiplier.
fn pooled<T: Element>(
    input: maxpool::ndarray::ArrayViewD<'_, T>,
    params: &Params,
    backend: maxpool::Backend,
    want: Want,
    format: IndexFormat,
    dtype: IndexDType,
) -> maxpool::Result<(ArrayD<T>, Indices, Option<ArrayD<u32>>)> {
    let n = input.ndim();
    if n < 2 {
        return Err(maxpool::Error::ArrayShape(format!(
            "the input has {n} axes; it needs at least 2, (height, width)"
        )));
    }
    let plan = Plan::new(backend, params, input.shape()[n - 2], input.shape()[n - 1])?;
    macro_rules! run {
        ($i:ty, $variant:ident) => {{
            let p = plan.pool_with::<T, _, $i>(input, want, format)?;
            let indices = p.indices.expect("indices are always wanted");
            (p.values, Indices::$variant(indices), p.multiplier)
        }};
    }
    Ok(match dtype {
        IndexDType::I64 => run!(i64, I64),
        IndexDType::I32 => run!(i32, I32),
        IndexDType::U8 => run!(u8, U8),
    })
}

/// Writes an array with `write` to a temporary file in `dir`, readable as the umask allows (as `np.save`'s files
/// are), not only by its owner as temporary files are made.
fn stage(
    dir: &Path,
    write: impl FnOnce(&mut BufWriter<&std::fs::File>) -> Result<(), WriteNpyError>,
) -> Result<NamedTempFile, Failure> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".maxpool-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let file = builder.tempfile_in(dir).map_err(|e| {
        fail!(
            "cannot write in the output directory {}: {}",
            dir.display(),
            std::io::Error::from(e.kind())
        )
    })?;
    let mut writer = BufWriter::new(file.as_file());
    write(&mut writer).map_err(|e| fail!("cannot write a .npy file in {}: {e}", dir.display()))?;
    writer
        .flush()
        .map_err(|e| fail!("cannot write in {}: {e}", dir.display()))?;
    drop(writer);
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_go_beside_a_prefix_or_into_a_directory() {
        let d = |s: &str| Destination::new(Path::new(s));
        assert_eq!(d("out"), Destination::Prefix("out".into()));
        assert_eq!(d("a/result.npy"), Destination::Prefix("a/result".into()));
        assert_eq!(d(".npy"), Destination::Prefix(".npy".into()));
        assert_eq!(d("outdir/"), Destination::Directory("outdir/".into()));
        assert_eq!(d("no/such/"), Destination::Directory("no/such/".into()));
        let tmp = std::env::temp_dir();
        assert_eq!(Destination::new(&tmp), Destination::Directory(tmp.clone()));
        assert_eq!(
            d("a/result.npy").file("values"),
            PathBuf::from("a/result.values.npy")
        );
        assert_eq!(d("x/").file("indices"), PathBuf::from("x/indices.npy"));
        assert_eq!(d("out").dir(), Path::new("."));
        assert_eq!(d("a/b").dir(), Path::new("a"));
    }

    #[test]
    fn a_shape_that_looks_channels_last_needs_a_layout() {
        let p = Path::new("x.npy");
        assert!(layout_of(p, &[8, 112, 112, 3], None).is_err());
        assert!(layout_of(p, &[224, 224, 3], None).is_err());
        assert_eq!(
            layout_of(p, &[8, 64, 112, 112], None).ok(),
            Some(Layout::Nchw)
        );
        assert_eq!(layout_of(p, &[3, 224, 224], None).ok(), Some(Layout::Nchw));
        assert_eq!(layout_of(p, &[2, 5, 6], None).ok(), Some(Layout::Nchw));
        assert_eq!(layout_of(p, &[6, 6], None).ok(), Some(Layout::Nchw));
        assert_eq!(
            layout_of(p, &[8, 112, 112, 3], Some(Layout::Nchw)).ok(),
            Some(Layout::Nchw)
        );
        assert!(layout_of(p, &[6, 6], Some(Layout::Nhwc)).is_err());
    }
}
