//! Runs the C programs in `c_tests/` the way a user would build them: `#include "maxpool.h"`, compiled with the
//! `cc` crate's compiler as C11 with `-Wall -Wextra -Werror`, linked against `libmaxpool.a` and, separately,
//! against `libmaxpool.so` after `make install` into a scratch prefix, through `pkg-config --cflags --libs
//! maxpool`. Integration tests do not build a crate's cdylib or staticlib, so the first test builds them, with
//! the same cargo, profile and target directory as this test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use maxpool::{Backend, Params, Plan};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

struct Setup {
    /// Where cargo leaves the libraries: `target/debug` or `target/release`.
    build_dir: PathBuf,
    /// The scratch install prefix.
    prefix: PathBuf,
    /// Where the compiled test programs go.
    out: PathBuf,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        // This test runs from <target>/<profile dir>/deps/.
        let exe = std::env::current_exe().expect("the test's own path");
        let build_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps")
            .to_path_buf();
        let target_dir = build_dir.parent().expect("target/").to_path_buf();
        let profile = match build_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(other) => other,
            None => panic!("unexpected build directory {}", build_dir.display()),
        };
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c_tests-{profile}"));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("creating the scratch directory");
        let prefix = out.join("prefix");
        let mut make = Command::new("make");
        make.current_dir(ROOT)
            .arg("--no-print-directory")
            .arg("install")
            .arg(format!("PREFIX={}", prefix.display()))
            .arg(format!("PROFILE={profile}"))
            .arg(format!("CARGO_TARGET_DIR={}", target_dir.display()))
            .arg(format!("CARGO={}", env!("CARGO")));
        succeed(
            &mut make,
            "make install (builds libmaxpool with cargo, installs it with maxpool.pc)",
        );
        Setup {
            build_dir,
            prefix,
            out,
        }
    })
}

/// Runs `cmd`, failing the test with its output unless it succeeds.
fn succeed(cmd: &mut Command, what: &str) -> Output {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn pkg_config(args: &[&str]) -> Vec<String> {
    let setup = setup();
    let program = std::env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let output = succeed(
        Command::new(program)
            .env("PKG_CONFIG_PATH", setup.prefix.join("lib/pkgconfig"))
            .args(args)
            .arg("maxpool"),
        "pkg-config (install it: apt-get install pkgconf)",
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Link {
    /// The built `libmaxpool.a`, with the system libraries `pkg-config --static` lists.
    Static,
    /// The installed `libmaxpool.so`, with exactly `pkg-config --cflags --libs maxpool`.
    Shared,
}

/// The C or C++ compiler the `cc` crate picks for this target (honouring `CC`, `CXX`, `CFLAGS`, …).
fn compiler(cpp: bool) -> Command {
    let setup = setup();
    cc::Build::new()
        .cpp(cpp)
        .target(env!("MAXPOOL_BUILD_TARGET"))
        .host(env!("MAXPOOL_BUILD_HOST"))
        .opt_level(1)
        .debug(true)
        .out_dir(&setup.out)
        .cargo_metadata(false)
        .get_compiler()
        .to_command()
}

/// Compiles `source` from `c_tests/` and returns the program's path.
fn build(source: &str, link: Link) -> PathBuf {
    let setup = setup();
    let cpp = source.ends_with(".cpp");
    let exe = setup
        .out
        .join(format!("{}-{link:?}", source.replace('.', "_")).to_lowercase());
    let mut cmd = compiler(cpp);
    cmd.arg(if cpp { "-std=c++11" } else { "-std=c11" })
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread"])
        .arg(Path::new(ROOT).join("c_tests").join(source))
        .arg("-o")
        .arg(&exe);
    match link {
        Link::Static => {
            cmd.arg(format!("-I{ROOT}/include"))
                .arg(setup.build_dir.join("libmaxpool.a"));
            cmd.args(
                pkg_config(&["--static", "--libs-only-l"])
                    .iter()
                    .filter(|l| *l != "-lmaxpool"),
            );
        }
        Link::Shared => {
            cmd.args(pkg_config(&["--cflags", "--libs"]));
            let libdir = pkg_config(&["--variable=libdir"]).join("");
            cmd.arg(format!("-Wl,-rpath,{libdir}"));
        }
    }
    if let Some(sanitizers) = std::env::var(SANITIZE_ENV).ok().filter(|s| !s.is_empty()) {
        cmd.arg(format!("-fsanitize={sanitizers}"))
            .args(["-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]);
    }
    succeed(&mut cmd, &format!("compiling c_tests/{source} ({link:?})"));
    exe
}

/// Builds the C tests with these sanitizers (`-fsanitize=…`, e.g. `address,undefined`); any report fails them.
const SANITIZE_ENV: &str = "MAXPOOL_C_TESTS_SANITIZE";
/// Runs the C tests under valgrind memcheck when set; any error, or a leak, fails them.
const VALGRIND_ENV: &str = "MAXPOOL_C_TESTS_VALGRIND";

/// Runs a test program, returning its standard output; all its output is shown when it fails.
fn run(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = if std::env::var_os(VALGRIND_ENV).is_some_and(|v| !v.is_empty()) {
        let mut valgrind = Command::new("valgrind");
        valgrind
            .args([
                "--quiet",
                "--error-exitcode=99",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
            ])
            .arg(exe);
        valgrind
    } else {
        Command::new(exe)
    };
    // cargo points LD_LIBRARY_PATH at target/; the shared programs must find the installed library by themselves.
    cmd.env_remove("LD_LIBRARY_PATH").args(args);
    // errors.c asks for an impossible allocation and expects OUT_OF_MEMORY: AddressSanitizer must return NULL
    // for it as malloc does, not abort.
    cmd.env("ASAN_OPTIONS", "allocator_may_return_null=1:detect_leaks=1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = succeed(&mut cmd, &format!("{}", exe.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{stdout}");
    stdout
}

macro_rules! c_test {
    ($($name:ident: $source:literal;)*) => {
        mod static_lib {
            $(#[test] fn $name() { super::run(&super::build($source, super::Link::Static), &[], &[]); })*
        }
        mod shared_lib {
            $(#[test] fn $name() { super::run(&super::build($source, super::Link::Shared), &[], &[]); })*
        }
    };
}

c_test! {
    api: "api.c";
    agree: "agree.c";
    errors: "errors.c";
    threads: "threads.c";
}

#[test]
fn agree_with_other_seeds() {
    let exe = build("agree.c", Link::Static);
    for seed in ["1", "0xC0FFEE"] {
        run(&exe, &[seed], &[]);
    }
}

#[test]
fn cpp_includes_the_header_twice() {
    run(&build("header.cpp", Link::Static), &[], &[]);
}

/// AUTO from C resolves as it does in Rust, `MAXPOOL_BACKEND` included.
#[test]
fn auto_follows_maxpool_backend() {
    let exe = build("env.c", Link::Static);
    // Status numbers of the C ABI (never renumbered): UNSUPPORTED = 4, UNKNOWN_BACKEND = 5.
    for (value, tiling, overlapping) in [
        ("lookup", "lookup", "lookup"),
        ("naive-loop", "naive", "naive"),
        ("BLOCK", "block", "status:4"),
        ("fast", "status:5", "status:5"),
    ] {
        run(&exe, &[tiling, overlapping], &[("MAXPOOL_BACKEND", value)]);
    }
    // Unset (or as the caller set it): whatever Rust's AUTO picks in this process, which has the same environment.
    let expect = |p: Params| {
        Plan::new(Backend::Auto, &p, 8, 8).map(|plan| plan.backend().name().to_string())
    };
    if let (Ok(tiling), Ok(overlapping)) = (
        expect(Params::new(2)),
        expect(Params::new(3).with_stride(1)),
    ) {
        run(&exe, &[&tiling, &overlapping], &[]);
    }
}

/// The README's C example is `c_tests/example.c`, word for word, and does what the README says.
#[test]
fn readme_example() {
    let example = std::fs::read_to_string(Path::new(ROOT).join("c_tests/example.c"))
        .expect("c_tests/example.c");
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("```c\n{example}```")),
        "README.md's C example differs from c_tests/example.c: copy the file into the README"
    );
    for link in [Link::Static, Link::Shared] {
        let exe = build("example.c", link);
        let stdout = run(&exe, &["lookup"], &[]);
        assert!(
            stdout.starts_with("lookup backend, 2x2 output\n"),
            "{stdout}"
        );
        assert!(stdout.contains(
            "value 15 at index 1\nvalue 7 at index 7\nvalue 9 at index 8\nvalue 8 at index 15\n"
        ));
        let refused = Command::new(&exe)
            .arg("fast")
            .env_remove("LD_LIBRARY_PATH")
            .output()
            .expect("running it");
        assert_eq!(refused.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&refused.stderr),
            "maxpool: unknown backend\n"
        );
    }
}
