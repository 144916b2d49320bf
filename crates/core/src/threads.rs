//! How many threads pooling calls may use.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{panic_message, Error, Result};

/// The environment variable that sets the default thread count, read once per process: a whole number from 1 to
/// [`MAX_THREADS`]; any other value (0, a larger number, something that is not a number) is ignored.
pub const NUM_THREADS_ENV: &str = "MAXPOOL_NUM_THREADS";

/// The most threads a pooling call may use. [`set_num_threads`] refuses a larger count, a larger
/// `MAXPOOL_NUM_THREADS` is ignored, and the default, every core, is capped to it. More would buy nothing, and
/// the work split, a few units per thread, would overflow for counts near `usize::MAX`.
pub const MAX_THREADS: usize = 1024;

/// 0 means "the default".
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads pooling calls may use, at most [`MAX_THREADS`]; 0 restores the default:
/// `MAXPOOL_NUM_THREADS` when it is a whole number from 1 to [`MAX_THREADS`], else every core (at most
/// [`MAX_THREADS`]). Calls that start afterwards follow it; calls already running are unaffected.
///
/// # Errors
///
/// [`Error::TooManyThreads`] (of kind `InvalidParams`) for a count above [`MAX_THREADS`]; the setting is then
/// left as it was.
pub fn set_num_threads(threads: usize) -> Result<()> {
    if threads > MAX_THREADS {
        return Err(Error::TooManyThreads {
            threads,
            max: MAX_THREADS,
        });
    }
    REQUESTED.store(threads, Ordering::Relaxed);
    Ok(())
}

/// The number of threads a pooling call starting now may use, from 1 to [`MAX_THREADS`]: the last count given
/// to [`set_num_threads`], or when that is 0 or none was, `MAXPOOL_NUM_THREADS` if it is a whole number from 1 to
/// [`MAX_THREADS`], else the number of cores (at most [`MAX_THREADS`]).
pub fn num_threads() -> usize {
    match REQUESTED.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::env::var(NUM_THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| (1..=MAX_THREADS).contains(n))
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
            })
    })
}

/// Threads in pooling calls right now, across every call: each calling thread, and each helper reserved for one.
/// A call takes helpers only while this is below its thread count, so callers that are themselves parallel pool
/// on their own threads instead of adding helpers to them. A call's places, its helpers' included, are released
/// when the call ends, by the calling thread: a helper that has yet to start, or to get back to rayon from its
/// last range, has no work left in the call. Released by each helper instead, a place could still be counted when
/// the caller's next call reserved helpers, which then ran alone. In back-to-back W3 calls at 2 threads that was
/// common, and those calls were the slowest (see `BENCHMARKS.md`).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Whether rayon's pool can lend helpers: its threads started. It is started once, on first use; when that
/// fails (under an address-space cap, say) rayon never tries again and panics on every later use, so calls then
/// run on their calling threads alone.
fn helpers_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| match rayon::ThreadPoolBuilder::new().build_global() {
        Ok(()) => true,
        // Started before, by the program or another library: it is running unless that start failed, after
        // which rayon panics on use.
        Err(e) if e.to_string().contains("already") => {
            std::panic::catch_unwind(rayon::current_num_threads).is_ok()
        }
        // This start failed: say nothing (rayon's panic message would), run on the calling threads.
        Err(_) => false,
    })
}

/// The threads of one call: the calling thread and the helpers reserved for it, which hold places in [`ACTIVE`]
/// until the team is dropped, on every path out of the call, unwinding included.
pub(crate) struct Team {
    helpers: usize,
    /// Whether the calling thread is counted in [`ACTIVE`]: only calls that may split their work are.
    counted: bool,
}

impl Team {
    /// A team for `units` units of work that may use `threads` threads: the caller, and as many helpers as keep
    /// every call together within its thread count, one fewer than the units at most.
    pub(crate) fn new(threads: usize, units: usize) -> Team {
        if threads <= 1 || units <= 1 {
            return Team {
                helpers: 0,
                counted: false,
            };
        }
        let most = if helpers_available() { units - 1 } else { 0 };
        Team {
            helpers: reserve_helpers(threads, most),
            counted: true,
        }
    }

    /// The caller and its helpers: the parties that run units, numbered from 0 (the caller).
    pub(crate) fn parties(&self) -> usize {
        self.helpers + 1
    }

    /// Runs `job` over the units `0..units`, each exactly once, split into ranges, on the calling thread (party
    /// 0) and the team's helpers (parties 1 and on), and returns when every unit has run or been given up.
    /// `job(range, party)` never sees an empty range, and two ranges run at once never share a party.
    ///
    /// The calling thread starts at once and helpers join when rayon wakes them, taking ranges that shrink as
    /// the units run out (guided self-scheduling): a helper that wakes late, or a core that other work slows,
    /// costs only what it did not do, and no one waits for a helper that has not started. A panic in `job`, on
    /// any thread, is caught: no unit starts after it, and its message comes back as the error once the ranges
    /// already taken have run.
    pub(crate) fn run<F: Fn(Range<usize>, usize) + Sync>(
        self,
        units: usize,
        job: &F,
    ) -> Result<(), String> {
        if units == 0 {
            return Ok(());
        }
        if self.helpers == 0 {
            return catch(|| job(0..units, 0));
        }
        // SAFETY (lifetime erasure): helpers run `job` only for a range they claim, and this function does not
        // return (nor unwind) until every claimed range has run (`Finish` waits for them). A helper that starts
        // later finds nothing left to claim and never touches `job`.
        let job: *const (dyn Fn(Range<usize>, usize) + Sync + '_) =
            job as &(dyn Fn(Range<usize>, usize) + Sync);
        let job: *const (dyn Fn(Range<usize>, usize) + Sync + 'static) =
            unsafe { std::mem::transmute(job) };
        let shared = Arc::new(Shared {
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            units,
            parties: self.parties(),
            job,
            panic: Mutex::new(None),
        });
        for party in 1..=self.helpers {
            let shared = Arc::clone(&shared);
            // The pool is running (`helpers_available`): spawning only queues the job.
            rayon::spawn(move || shared.work(party));
        }
        let finish = Finish(&shared);
        shared.work(0);
        drop(finish);
        let panic = shared
            .panic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(self);
        panic.map_or(Ok(()), Err)
    }
}

impl Drop for Team {
    /// Gives back the call's places: its helpers', and the caller's own.
    fn drop(&mut self) {
        let places = self.helpers + usize::from(self.counted);
        if places > 0 {
            ACTIVE.fetch_sub(places, Ordering::Relaxed);
        }
    }
}

/// Runs `f`, catching a panic as its message.
fn catch(f: impl FnOnce()) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(panic_message)
}

/// Counts the caller in [`ACTIVE`] and reserves helpers, at most `most`, while that keeps it within the call's
/// thread count `threads`. Returns how many it reserved; the [`Team`] gives the places back when dropped.
fn reserve_helpers(threads: usize, most: usize) -> usize {
    let mut active = ACTIVE.load(Ordering::Relaxed);
    loop {
        let helpers = threads.saturating_sub(active + 1).min(most);
        match ACTIVE.compare_exchange_weak(
            active,
            active + 1 + helpers,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return helpers,
            Err(now) => active = now,
        }
    }
}

/// What a call's threads share: the next unit to hand out and how many have run.
struct Shared {
    next: AtomicUsize,
    done: AtomicUsize,
    units: usize,
    parties: usize,
    /// The call's job; dereferenced only for a claimed range (see [`Team::run`]).
    job: *const (dyn Fn(Range<usize>, usize) + Sync),
    /// The message of the first panic in a job.
    panic: Mutex<Option<String>>,
}

// SAFETY: `job` points to a `Sync` closure that outlives every use of it (see `Team::run`); the rest is atomics
// and a mutex.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// Claims the next range: a share of what is left, shrinking to one unit.
    fn claim(&self) -> Option<Range<usize>> {
        let mut next = self.next.load(Ordering::Relaxed);
        loop {
            let left = self.units.checked_sub(next).filter(|&l| l > 0)?;
            let take = (left / (2 * self.parties)).clamp(1, left);
            match self.next.compare_exchange_weak(
                next,
                next + take,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(next..next + take),
                Err(now) => next = now,
            }
        }
    }

    /// Runs claimed ranges as `party` until none is left. After a panic no more are claimed.
    fn work(&self, party: usize) {
        while let Some(range) = self.claim() {
            let ran = Ran(&self.done, range.len());
            // SAFETY: the range is claimed, so the caller is still waiting in `Finish` and `job` is alive.
            let result = catch(|| unsafe { (*self.job)(range, party) });
            drop(ran);
            if let Err(message) = result {
                self.close();
                let mut first = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert(message);
            }
        }
    }

    /// Closes the units to further claims, counting those never claimed as done.
    fn close(&self) {
        let unclaimed = self.units
            - self
                .next
                .swap(self.units, Ordering::Relaxed)
                .min(self.units);
        self.done.fetch_add(unclaimed, Ordering::Relaxed);
    }
}

/// Counts a claimed range as run when dropped, also when its job unwinds, so that the caller never waits for it.
struct Ran<'a>(&'a AtomicUsize, usize);

impl Drop for Ran<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(self.1, Ordering::Release);
    }
}

/// The calling thread's end of a call, also when it unwinds: closes the units to further claims and waits for
/// the ranges helpers have claimed.
struct Finish<'a>(&'a Shared);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let shared = self.0;
        shared.close();
        let mut spins = 0u32;
        while shared.done.load(Ordering::Acquire) < shared.units {
            // A helper finishing its last range: at most one range's time, so spin, then give way.
            if spins < 1 << 12 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::{Mutex, MutexGuard};

    /// The tests that pool take turns, so that [`ACTIVE`] counts only the one running.
    fn serial() -> MutexGuard<'static, ()> {
        static SERIAL: Mutex<()> = Mutex::new(());
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `job` as a call would, ignoring party numbers.
    fn run_units(
        threads: usize,
        units: usize,
        job: &(dyn Fn(Range<usize>) + Sync),
    ) -> Result<(), String> {
        Team::new(threads, units).run(units, &|range, _| job(range))
    }

    /// When a call returns, its threads' places are free for the next call, whether or not its helpers have
    /// started or got back to rayon yet. Otherwise a call made right after it would find fewer helpers to take.
    #[test]
    fn a_call_frees_its_helpers_places_when_it_returns() {
        let _serial = serial();
        for units in [2, 3, 16] {
            for _ in 0..100 {
                run_units(2, units, &|_: Range<usize>| {}).unwrap();
                assert_eq!(ACTIVE.load(Ordering::Relaxed), 0, "{units} units");
            }
        }
        // A team that never runs, as when a call's scratch cannot be allocated, gives its places back too.
        let team = Team::new(4, 16);
        assert!(ACTIVE.load(Ordering::Relaxed) > 0);
        drop(team);
        assert_eq!(ACTIVE.load(Ordering::Relaxed), 0);
    }

    /// Every unit runs exactly once, whatever the thread count and however the units divide, also when several
    /// threads call at once and compete for helpers; and no two ranges run at once as the same party.
    #[test]
    fn every_unit_runs_once() {
        let _serial = serial();
        std::thread::scope(|s| {
            for caller in 0..3 {
                s.spawn(move || {
                    for threads in 1..=4 {
                        for units in [0, 1, 2, 3, 7, 64, 1000] {
                            let runs: Vec<AtomicU32> =
                                (0..units).map(|_| AtomicU32::new(0)).collect();
                            let team = Team::new(threads, units);
                            let busy: Vec<AtomicU32> =
                                (0..team.parties()).map(|_| AtomicU32::new(0)).collect();
                            team.run(units, &|range: Range<usize>, party| {
                                assert!(!range.is_empty() && range.end <= units);
                                assert_eq!(
                                    busy[party].fetch_add(1, Ordering::AcqRel),
                                    0,
                                    "party {party} twice"
                                );
                                for unit in range {
                                    runs[unit].fetch_add(1, Ordering::Relaxed);
                                }
                                busy[party].fetch_sub(1, Ordering::AcqRel);
                            })
                            .unwrap();
                            let runs: Vec<u32> =
                                runs.iter().map(|r| r.load(Ordering::Relaxed)).collect();
                            assert_eq!(
                                runs,
                                vec![1; units],
                                "caller {caller}, {threads} threads, {units} units"
                            );
                        }
                    }
                });
            }
        });
    }

    /// A panic on the calling thread comes back as an error, and only after the range a helper took has run:
    /// until then the helper may still be writing into the caller's buffers.
    #[test]
    fn a_panic_waits_for_the_helpers_ranges() {
        let _serial = serial();
        let helper_started = AtomicU32::new(0);
        let helper_ran = AtomicU32::new(0);
        let caller = std::thread::current().id();
        // Two units, one each: the caller's and a helper's.
        let result = run_units(64, 2, &|_: Range<usize>| {
            if std::thread::current().id() == caller {
                let t = std::time::Instant::now();
                while helper_started.load(Ordering::Acquire) == 0 && t.elapsed().as_secs() < 10 {
                    std::thread::yield_now();
                }
                panic!("a job failed");
            }
            helper_started.store(1, Ordering::Release);
            std::thread::sleep(std::time::Duration::from_millis(500));
            helper_ran.store(1, Ordering::Release);
        });
        assert_eq!(result, Err("a job failed".to_owned()));
        assert_eq!(
            helper_ran.load(Ordering::Acquire),
            1,
            "the helper's range had run"
        );
        assert_eq!(ACTIVE.load(Ordering::Relaxed), 0);
    }

    /// A panic on a helper thread comes back to the caller as an error, not an abort, no unit starts after it,
    /// and the next call runs normally, helpers and all.
    #[test]
    fn a_helpers_panic_is_an_error_and_the_next_call_works() {
        let _serial = serial();
        let caller = std::thread::current().id();
        let runs = AtomicU32::new(0);
        let result = run_units(2, 1000, &|range: Range<usize>| {
            if std::thread::current().id() != caller {
                panic!("a helper failed on {range:?}");
            }
            runs.fetch_add(range.len() as u32, Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_millis(1));
        });
        // The helper may not have started before the caller ran every unit; then there was no panic.
        if let Err(message) = &result {
            assert!(message.starts_with("a helper failed"), "{message}");
            assert!(runs.load(Ordering::Relaxed) < 1000);
        }
        assert_eq!(ACTIVE.load(Ordering::Relaxed), 0);
        let helpers = Mutex::new(std::collections::HashSet::new());
        for _ in 0..100 {
            run_units(2, 64, &|_: Range<usize>| {
                helpers.lock().unwrap().insert(std::thread::current().id());
                std::thread::sleep(std::time::Duration::from_micros(200));
            })
            .unwrap();
        }
        assert!(
            helpers.lock().unwrap().len() >= 2,
            "helpers still join calls"
        );
    }

    /// A count above [`MAX_THREADS`] is refused, naming `threads` and the maximum, and the setting stays as it was;
    /// [`MAX_THREADS`] itself is accepted. The setting is global: it is put back as it was, also on failure.
    #[test]
    fn a_count_above_max_threads_is_refused_and_changes_nothing() {
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                REQUESTED.store(self.0, Ordering::Relaxed);
            }
        }
        let _serial = serial();
        let _restore = Restore(REQUESTED.load(Ordering::Relaxed));
        set_num_threads(3).unwrap();
        for threads in [MAX_THREADS + 1, usize::MAX] {
            let e = set_num_threads(threads).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidParams);
            let message = e.to_string();
            assert!(
                message.contains(&format!("threads is {threads}"))
                    && message.contains(&MAX_THREADS.to_string()),
                "{message}"
            );
            assert_eq!(num_threads(), 3, "after asking for {threads}");
        }
        set_num_threads(MAX_THREADS).unwrap();
        assert_eq!(num_threads(), MAX_THREADS);
        set_num_threads(0).unwrap();
        assert!((1..=MAX_THREADS).contains(&num_threads()));
    }
}
