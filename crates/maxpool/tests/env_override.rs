//! `MAXPOOL_BACKEND` overrides what `Auto` picks, and `MAXPOOL_NUM_THREADS` sets the default thread count. Each is
//! read once per process, so each scenario runs in a child process: this test binary again, with the variable set.

use std::process::Command;

use maxpool::{Backend, ErrorKind, Outputs, Params, Plan, MAX_THREADS};

const SCENARIO: &str = "MAXPOOL_TEST_ENV_SCENARIO";

fn child(scenario: &str) {
    let overlapping = Params::new(3).with_stride(1);
    let tiling = Params::new(2);
    match scenario {
        "lookup" => {
            assert_eq!(
                Backend::Auto.resolve(&overlapping).unwrap(),
                Backend::Lookup
            );
            assert_eq!(
                Plan::new(Backend::Auto, &tiling, 4, 4).unwrap().backend(),
                Backend::Lookup
            );
            // A concrete backend is not overridden.
            assert_eq!(
                Plan::new(Backend::Naive, &tiling, 4, 4).unwrap().backend(),
                Backend::Naive
            );
        }
        "block" => {
            assert_eq!(Backend::Auto.resolve(&tiling).unwrap(), Backend::Block);
            let e = Backend::Auto.resolve(&overlapping).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            assert!(e.to_string().contains("MAXPOOL_BACKEND"), "{e}");
        }
        "unknown" => {
            let e = Plan::new(Backend::Auto, &tiling, 4, 4).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnknownBackend);
            assert!(e.to_string().contains("MAXPOOL_BACKEND=fast"), "{e}");
        }
        "none" => {
            for p in [overlapping, tiling] {
                assert_eq!(
                    Backend::Auto.resolve(&p).unwrap(),
                    Backend::auto_preference(&p, None)[0]
                );
            }
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn auto_follows_maxpool_backend() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        return child(&scenario);
    }
    for (value, scenario) in [
        ("lookup", "lookup"),
        ("BLOCK", "block"),
        ("fast", "unknown"),
        ("auto", "none"),
        ("", "none"),
    ] {
        in_child(
            "auto_follows_maxpool_backend",
            maxpool::BACKEND_ENV,
            value,
            scenario,
        );
    }
}

/// Runs this test binary again as `test`, with `var=value` and the scenario set, and fails unless it passes.
fn in_child(test: &str, var: &str, value: &str, scenario: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(var, value)
        .env(SCENARIO, scenario)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{var}={value:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `MAXPOOL_NUM_THREADS` from 1 to `MAX_THREADS` is the default thread count; any other value (0, more than
/// `MAX_THREADS`, `usize::MAX`, not a number) is ignored for every core, itself at most `MAX_THREADS`. Either way a
/// call large enough to be split over threads pools as one thread does: a count of `usize::MAX` used to reach the
/// work split, whose arithmetic overflowed.
#[test]
fn num_threads_follows_maxpool_num_threads() {
    const TEST: &str = "num_threads_follows_maxpool_num_threads";
    if let Ok(scenario) = std::env::var(SCENARIO) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let want = match scenario.as_str() {
            "default" => cores.min(MAX_THREADS),
            n => n.parse().unwrap(),
        };
        assert_eq!(maxpool::num_threads(), want);
        // 4 planes of 256 × 256 at 3×3, stride 1: about 2^21 window taps, far above the engine's threshold for
        // threads, and too few planes to share out, so the split divides planes into runs of rows.
        let (planes, side) = (4, 256);
        let plan = Plan::new(Backend::Simd, &Params::new(3).with_stride(1), side, side).unwrap();
        let input: Vec<f32> = (0..planes * side * side)
            .map(|i| ((i * 7919) % 1013) as f32)
            .collect();
        let n = planes * plan.geometry().out_plane_len();
        let pool = || {
            let (mut values, mut indices) = (vec![0f32; n], vec![0i64; n]);
            plan.forward(
                &input,
                planes,
                Outputs::new(&mut values).with_indices(&mut indices),
            )
            .unwrap();
            (values, indices)
        };
        let threaded = pool();
        maxpool::set_num_threads(1).unwrap();
        assert!(
            pool() == threaded,
            "{want} threads pool differently from one"
        );
        return;
    }
    for (value, scenario) in [
        ("3", "3"),
        (" 2 ", "2"),
        ("1024", "1024"),
        ("1025", "default"),
        ("18446744073709551615", "default"),
        ("99999999999999999999999", "default"),
        ("0", "default"),
        ("-1", "default"),
        ("many", "default"),
        ("", "default"),
    ] {
        in_child(TEST, maxpool::NUM_THREADS_ENV, value, scenario);
    }
}
