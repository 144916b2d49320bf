//! `maxpool pool`: a `.npy` file in, `PREFIX.values.npy`, `PREFIX.indices.npy` and `PREFIX.multiplier.npy` out.

use std::ffi::OsString;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use maxpool::ndarray::ArrayD;
use maxpool::technique::with_dtype;
use maxpool::{pool, Backend, DType, Element, Params, Want};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement, WritableElement, WriteNpyExt};
use tempfile::NamedTempFile;

use crate::args::{backend, describe, dims, WindowArgs};
use crate::{fail, say, Failure, Outcome};

#[derive(Args, Debug)]
pub struct PoolArgs {
    /// The input .npy file: 2 (H, W), 3 (planes, H, W) or 4 (N, C, H, W) dimensions, C or Fortran order.
    pub input: PathBuf,
    #[command(flatten)]
    pub window: WindowArgs,
    /// auto, naive, block or lookup (or a long name).
    #[arg(long, default_value = "auto", value_parser = backend)]
    pub backend: Backend,
    /// Where to write: PREFIX.values.npy, PREFIX.indices.npy and, with --multiplier, PREFIX.multiplier.npy.
    #[arg(long, short, value_name = "PREFIX")]
    pub output: PathBuf,
    /// Also write the multiplier: how many windows each input element won.
    #[arg(long)]
    pub multiplier: bool,
}

/// What reading the input as one element type came to.
enum Attempt {
    Done,
    /// The file holds another element type; its numpy descriptor.
    OtherType(String),
}

pub fn run(args: &PoolArgs) -> Outcome {
    let params = args.window.params(None).map_err(Failure)?;
    let dir = output_dir(&args.output);
    if !dir.is_dir() {
        return Err(fail!(
            "the output directory {} does not exist",
            dir.display()
        ));
    }
    let path = &args.input;
    let bytes = std::fs::read(path).map_err(|e| fail!("cannot read {}: {e}", path.display()))?;
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err(fail!(
            "{} is not a .npy file (it lacks the NumPy magic bytes)",
            path.display()
        ));
    }
    let mut descriptor = String::new();
    for dtype in DType::ALL {
        match with_dtype!(dtype, pool_as(&bytes, args, &params))? {
            Attempt::Done => return Ok(true),
            Attempt::OtherType(d) => descriptor = d,
        }
    }
    let supported: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
    Err(fail!(
        "{}: unsupported element type {descriptor}; supported: {}",
        path.display(),
        supported.join(", ")
    ))
}

fn pool_as<T: Element + ReadableElement + WritableElement>(
    bytes: &[u8],
    args: &PoolArgs,
    params: &Params,
) -> Result<Attempt, Failure> {
    let path = args.input.display();
    let input = match ArrayD::<T>::read_npy(bytes) {
        Ok(a) => a,
        Err(ReadNpyError::WrongDescriptor(d)) => return Ok(Attempt::OtherType(d.to_string())),
        Err(e) => return Err(fail!("cannot read {path}: {e}")),
    };
    let shape = input.shape().to_vec();
    if !(2..=4).contains(&shape.len()) {
        return Err(fail!(
            "{path} has {} dimension{} (shape {}); pool needs 2 (H, W), 3 (planes, H, W) or 4 (N, C, H, W)",
            shape.len(),
            if shape.len() == 1 { "" } else { "s" },
            dims(&shape)
        ));
    }
    let want = Want {
        indices: true,
        multiplier: args.multiplier,
    };
    let out = pool(input.view(), params, args.backend, want).map_err(|e| {
        fail!(
            "cannot pool {path} ({} {}) with {}: {e}",
            T::DTYPE,
            dims(&shape),
            describe(params)
        )
    })?;

    // Every output is written to a temporary file beside its destination first, and renamed only when all are
    // complete: a failed run leaves no partial file and overwrites nothing.
    let mut staged = vec![(
        destination(&args.output, "values"),
        stage(&args.output, &out.values)?,
    )];
    if let Some(indices) = &out.indices {
        staged.push((
            destination(&args.output, "indices"),
            stage(&args.output, indices)?,
        ));
    }
    if let Some(multiplier) = &out.multiplier {
        staged.push((
            destination(&args.output, "multiplier"),
            stage(&args.output, multiplier)?,
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
    let chosen = args
        .backend
        .resolve_sized(params, shape[shape.len() - 2], shape[shape.len() - 1])
        .map_or_else(|_| args.backend.to_string(), |b| b.to_string());
    say!(
        "{path}: {} {}{} -> {} with {chosen}; wrote {}",
        T::DTYPE,
        dims(&shape),
        if input.is_standard_layout() || shape.len() < 2 {
            ""
        } else {
            " (Fortran order)"
        },
        dims(out.values.shape()),
        written.join(", ")
    );
    Ok(Attempt::Done)
}

/// `PREFIX.<what>.npy`.
fn destination(prefix: &Path, what: &str) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(format!(".{what}.npy"));
    PathBuf::from(name)
}

/// The directory the outputs go to.
fn output_dir(prefix: &Path) -> &Path {
    match prefix.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Writes `array` to a temporary file in the output's directory.
fn stage<A: WriteNpyExt>(prefix: &Path, array: &A) -> Result<NamedTempFile, Failure> {
    let dir = output_dir(prefix);
    let file = NamedTempFile::new_in(dir).map_err(|e| {
        fail!(
            "cannot write in {}: {}",
            dir.display(),
            std::io::Error::from(e.kind())
        )
    })?;
    let mut writer = BufWriter::new(file.as_file());
    array
        .write_npy(&mut writer)
        .map_err(|e| fail!("cannot write a .npy file in {}: {e}", dir.display()))?;
    writer
        .flush()
        .map_err(|e| fail!("cannot write in {}: {e}", dir.display()))?;
    drop(writer);
    Ok(file)
}
