//! Runs the C programs in `c_tests/` the way a user would build them: `#include "maxpool.h"`, compiled with the
//! `cc` crate's compiler as C11 with `-Wall -Wextra -Werror`, after `make install` into a scratch prefix, and
//! linked through pkg-config: against the static library (`maxpool-static`, with the system's shared libc, and
//! fully static with `-static`) and against the shared one (`maxpool`). Integration tests do not build a crate's
//! cdylib or staticlib, so the first test builds them with `make`, with the same cargo, profile and target
//! directory as this test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// `pkg-config ARGS PACKAGE` against the prefix, split into arguments.
fn pkg_config_in(prefix: &Path, args: &[&str], package: &str) -> Vec<String> {
    let program = std::env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let output = succeed(
        Command::new(program)
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .args(args)
            .arg(package),
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
    /// The installed `libmaxpool.a` and the system's shared libc: `pkg-config --cflags --libs maxpool-static`.
    Static,
    /// Everything static, libc included: `-static` and `pkg-config --cflags --libs maxpool-static`.
    FullyStatic,
    /// The installed `libmaxpool.so`: exactly `pkg-config --cflags --libs maxpool`, with an rpath.
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
    // Tests run at once and may build the same program: each compiles to a name of its own and renames it into
    // place, so no test runs a file another is still writing ("text file busy").
    static BUILDS: AtomicUsize = AtomicUsize::new(0);
    let scratch = exe.with_extension(format!("build{}", BUILDS.fetch_add(1, Ordering::Relaxed)));
    let mut cmd = compiler(cpp);
    cmd.arg(if cpp { "-std=c++11" } else { "-std=c11" })
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread"])
        .arg(Path::new(ROOT).join("c_tests").join(source))
        .arg("-o")
        .arg(&scratch);
    link_args(&mut cmd, link, &setup.prefix);
    // The sanitizers' runtimes cannot be linked into a fully static program.
    let sanitize = !matches!(link, Link::FullyStatic);
    if let Some(sanitizers) = std::env::var(SANITIZE_ENV)
        .ok()
        .filter(|s| sanitize && !s.is_empty())
    {
        cmd.arg(format!("-fsanitize={sanitizers}"))
            .args(["-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]);
    }
    succeed(&mut cmd, &format!("compiling c_tests/{source} ({link:?})"));
    std::fs::rename(&scratch, &exe).expect("renaming the program into place");
    exe
}

/// Adds what links a program against the library installed under `prefix`, as the README says.
fn link_args(cmd: &mut Command, link: Link, prefix: &Path) {
    match link {
        Link::Static => {
            cmd.args(pkg_config_in(
                prefix,
                &["--cflags", "--libs"],
                "maxpool-static",
            ));
        }
        Link::FullyStatic => {
            cmd.arg("-static").args(pkg_config_in(
                prefix,
                &["--cflags", "--libs"],
                "maxpool-static",
            ));
        }
        Link::Shared => {
            cmd.args(pkg_config_in(prefix, &["--cflags", "--libs"], "maxpool"));
            let libdir = pkg_config_in(prefix, &["--variable=libdir"], "maxpool").join("");
            cmd.arg(format!("-Wl,-rpath,{libdir}"));
        }
    }
}

/// Builds the C tests with these sanitizers (`-fsanitize=…`, e.g. `address,undefined`); any report fails them.
const SANITIZE_ENV: &str = "MAXPOOL_C_TESTS_SANITIZE";
/// Runs the C tests under valgrind memcheck when set; any error, or a leak, fails them.
const VALGRIND_ENV: &str = "MAXPOOL_C_TESTS_VALGRIND";

/// Runs a test program, returning its standard output; all its output is shown when it fails.
fn run(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    run_linked(exe, Link::Static, args, env)
}

/// As [`run`], for a program linked as `link`. Valgrind cannot replace the allocator of a fully static program
/// and reports glibc's own start-up there, so those run without it; their code runs under it when linked the
/// other ways.
fn run_linked(exe: &Path, link: Link, args: &[&str], env: &[(&str, &str)]) -> String {
    let valgrind = std::env::var_os(VALGRIND_ENV).is_some_and(|v| !v.is_empty())
        && !matches!(link, Link::FullyStatic);
    let mut cmd = if valgrind {
        let mut valgrind = Command::new("valgrind");
        valgrind
            .args([
                "--quiet",
                // Valgrind runs one thread at a time; with its default lock a thread that calls in a tight loop
                // (threads.c's toggler) can keep it for minutes while the pooling threads wait.
                "--fair-sched=yes",
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
    half: "half.c";
    misaligned: "misaligned.c";
    tensors: "tensors.c";
    threads: "threads.c";
}

/// Calls under a capped address space: helpers that cannot start, working storage that cannot be allocated
/// (`c_tests/limits.c`). AddressSanitizer and valgrind reserve more address space than the caps leave, so the
/// program does not run under them.
#[test]
fn memory_limits() {
    let instrumented = [SANITIZE_ENV, VALGRIND_ENV]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    if instrumented {
        eprintln!("limits.c is not run under sanitizers or valgrind");
        return;
    }
    for link in [Link::Static, Link::Shared] {
        run_linked(&build("limits.c", link), link, &[], &[]);
    }
}

/// A fully static program (`cc -static … $(pkg-config --libs maxpool-static)`) runs with no shared library at all.
#[test]
fn fully_static_programs() {
    // example.c is linked fully static by `readme_example`.
    let mut exe = PathBuf::new();
    for source in ["api.c", "errors.c", "threads.c"] {
        exe = build(source, Link::FullyStatic);
        run_linked(&exe, Link::FullyStatic, &[], &[]);
    }
    let ldd = Command::new("ldd").arg(&exe).output();
    if let Ok(ldd) = ldd {
        let text = String::from_utf8_lossy(&ldd.stdout).to_string()
            + &String::from_utf8_lossy(&ldd.stderr);
        assert!(
            text.contains("not a dynamic executable") || text.contains("statically linked"),
            "{} is not static: {text}",
            exe.display()
        );
    }
}

/// After `make`, the build directory is usable as it is: the soname link lies beside the shared library, so a
/// program linked with `-L<build dir> -lmaxpool` and an rpath to it starts.
#[test]
fn build_directory_is_usable_in_place() {
    let setup = setup();
    let exe = setup.out.join("example-build-dir");
    let mut cmd = compiler(false);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
        .arg(Path::new(ROOT).join("c_tests/example.c"))
        .arg(format!("-I{ROOT}/include"))
        .arg(format!("-L{}", setup.build_dir.display()))
        .arg("-lmaxpool")
        .arg(format!("-Wl,-rpath,{}", setup.build_dir.display()))
        .arg("-o")
        .arg(&exe);
    succeed(&mut cmd, "linking example.c in the build directory");
    let stdout = run(&exe, &["naive"], &[]);
    assert!(
        stdout.starts_with("naive backend, 2x2 output\n"),
        "{stdout}"
    );
}

/// Release libraries are installed stripped of debug information, debug builds are not, and `STRIP=:` keeps it;
/// stripped, both still link and run. The installed `.pc` files name no project URL.
#[test]
fn installed_libraries_are_stripped() {
    let setup = setup();
    let dry_run = |profile: &str, strip: Option<&str>| {
        let mut make = Command::new("make");
        make.current_dir(ROOT)
            .args(["--no-print-directory", "-n", "install"])
            .arg("PREFIX=/nonexistent")
            .arg(format!("PROFILE={profile}"));
        if let Some(strip) = strip {
            make.arg(format!("STRIP={strip}"));
        }
        String::from_utf8(succeed(&mut make, "make -n install").stdout).expect("UTF-8")
    };
    let release = dry_run("release", None);
    for flag in ["strip --strip-debug", "strip --strip-unneeded"] {
        assert!(
            release.contains(flag),
            "a release install does not {flag}:\n{release}"
        );
    }
    for (profile, strip) in [("dev", None), ("release", Some(":"))] {
        let plan = dry_run(profile, strip);
        assert!(
            !plan.contains("strip --"),
            "PROFILE={profile} STRIP={strip:?} strips:\n{plan}"
        );
    }

    // A real install, stripped as a release one is, of this test's build.
    let prefix = setup.out.join("stripped-prefix");
    let target_dir = setup.build_dir.parent().expect("target/");
    let profile = match setup.build_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => unreachable!("checked in setup"),
    };
    succeed(
        Command::new("make")
            .current_dir(ROOT)
            .args(["--no-print-directory", "install"])
            .arg(format!("PREFIX={}", prefix.display()))
            .arg(format!("PROFILE={profile}"))
            .arg("STRIP_INSTALLED=strip")
            .arg(format!("CARGO_TARGET_DIR={}", target_dir.display()))
            .arg(format!("CARGO={}", env!("CARGO"))),
        "make install, stripped",
    );
    let lib = prefix.join("lib");
    for file in ["libmaxpool.so", "libmaxpool.a"] {
        let sections = succeed(
            Command::new("readelf").arg("-S").arg(lib.join(file)),
            "readelf -S",
        );
        let sections = String::from_utf8_lossy(&sections.stdout);
        assert!(
            sections.contains(".text"),
            "readelf saw no sections in {file}"
        );
        assert!(
            !sections.contains(".debug_info"),
            "{file} keeps its debug information"
        );
    }
    for pc in ["maxpool.pc", "maxpool-static.pc"] {
        let text = std::fs::read_to_string(lib.join("pkgconfig").join(pc)).expect("the .pc file");
        assert!(!text.contains("URL"), "{pc} names a URL:\n{text}");
        assert!(
            !text.contains('@'),
            "{pc} has an unsubstituted variable:\n{text}"
        );
    }
    for link in [Link::Static, Link::Shared] {
        let exe = setup.out.join(format!("example-stripped-{link:?}"));
        let mut cmd = compiler(false);
        cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
            .arg(Path::new(ROOT).join("c_tests/example.c"))
            .arg("-o")
            .arg(&exe);
        link_args(&mut cmd, link, &prefix);
        succeed(
            &mut cmd,
            &format!("linking example.c against the stripped install ({link:?})"),
        );
        let stdout = run_linked(&exe, link, &["simd"], &[]);
        assert!(stdout.starts_with("simd backend, 2x2 output\n"), "{stdout}");
    }
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
    for link in [Link::Static, Link::FullyStatic, Link::Shared] {
        let exe = build("example.c", link);
        let stdout = run_linked(&exe, link, &["lookup"], &[]);
        assert!(
            stdout.starts_with("lookup backend, 2x2 output\n"),
            "{stdout}"
        );
        assert!(stdout.contains(
            "value 15 at index 1\nvalue 7 at index 7\nvalue 9 at index 8\nvalue 8 at index 15\n\
             gradient 1 at index 1, 0 at index 0\n"
        ));
        let refused = Command::new(&exe)
            .arg("fast")
            .env_remove("LD_LIBRARY_PATH")
            .output()
            .expect("running it");
        assert_eq!(refused.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&refused.stderr),
            "maxpool: unknown backend: \"fast\" is not a backend; expected one of auto, naive, block, lookup, simd \
             (or naive-loop, block-reshape, sliding-window-lookup, vectorised-rows)\n"
        );
    }
}

/// The README's channels-last example is `c_tests/example_nhwc.c`, word for word, and does what it says: the simd
/// backend's channels-last kernel, window taps in a byte, and the backward pass on them.
#[test]
fn readme_nhwc_example() {
    let example = std::fs::read_to_string(Path::new(ROOT).join("c_tests/example_nhwc.c"))
        .expect("c_tests/example_nhwc.c");
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("```c\n{example}```")),
        "README.md's channels-last example differs from c_tests/example_nhwc.c: copy the file into the README"
    );
    for link in [Link::Static, Link::Shared] {
        let stdout = run_linked(&build("example_nhwc.c", link), link, &[], &[]);
        let (kernel, rest) = stdout.split_once('\n').unwrap_or_default();
        assert!(
            kernel.starts_with("kernel simd/") && kernel.ends_with("/nhwc"),
            "{stdout}"
        );
        assert_eq!(
            rest,
            "output (0, 0) channel 0: 4, tap 3\noutput (0, 0) channel 1: 10, tap 1\n\
             output (0, 1) channel 0: 10, tap 3\noutput (0, 1) channel 1: 6, tap 3\n\
             output (1, 0) channel 0: 6, tap 3\noutput (1, 0) channel 1: 10, tap 2\n\
             output (1, 1) channel 0: 9, tap 2\noutput (1, 1) channel 1: 8, tap 3\n\
             gradient 1 at pixel (0, 1) channel 1\n"
        );
    }
}
