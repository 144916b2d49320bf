//! `MAXPOOL_BACKEND` overrides what `Auto` picks. It is read once per process, so each scenario runs in a child
//! process: this test binary again, with the variable set.

use std::process::Command;

use maxpool::{Backend, ErrorKind, Params, Plan};

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
    let exe = std::env::current_exe().unwrap();
    for (value, scenario) in [
        ("lookup", "lookup"),
        ("BLOCK", "block"),
        ("fast", "unknown"),
        ("auto", "none"),
        ("", "none"),
    ] {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "auto_follows_maxpool_backend",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(maxpool::BACKEND_ENV, value)
            .env(SCENARIO, scenario)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "MAXPOOL_BACKEND={value:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
