//! What `verify.rs` and `peers.rs` share: the counting allocator, the optional
//! thread-CPU-time clock, criterion settings and the key-size selection.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::Criterion;

// ---------------------------------------------------------------------------------------
// Counting allocator

/// Wraps [`System`], counting every `alloc`, `alloc_zeroed` and `realloc` call and the
/// bytes requested (for `realloc`, the new size). Frees are not counted.
pub struct Counting;

static CALLS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

fn record(size: usize) {
    CALLS.fetch_add(1, Relaxed);
    BYTES.fetch_add(size as u64, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged;
// counting touches only atomics and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded contract of `GlobalAlloc::alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded contract of `GlobalAlloc::alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: forwarded contract of `GlobalAlloc::realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract of `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocation calls and bytes per call of `f`, averaged over `runs` calls after one
/// untimed warm-up call. Only meaningful while no other thread allocates.
pub fn allocs_per_call<R>(runs: u32, mut f: impl FnMut() -> R) -> (f64, f64) {
    black_box(f());
    let (c0, b0) = (CALLS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..runs {
        black_box(f());
    }
    let (c1, b1) = (CALLS.load(Relaxed), BYTES.load(Relaxed));
    let n = f64::from(runs);
    ((c1 - c0) as f64 / n, (b1 - b0) as f64 / n)
}

// ---------------------------------------------------------------------------------------
// Fixtures

/// The key sizes with fixtures in `data/`.
pub const SIZES: [u32; 3] = [2048, 3072, 4096];

/// The key sizes to run: `XCONNAUTH_BENCH_BITS=2048,4096`, or all of [`SIZES`].
pub fn selected_sizes() -> Vec<u32> {
    match std::env::var("XCONNAUTH_BENCH_BITS") {
        Ok(list) => list
            .split(',')
            .map(|b| match b.trim().parse() {
                Ok(bits) if SIZES.contains(&bits) => bits,
                _ => panic!("XCONNAUTH_BENCH_BITS: {b:?} is not one of {SIZES:?}"),
            })
            .collect(),
        Err(_) => SIZES.to_vec(),
    }
}

/// A file of `data/`.
pub fn read_data(name: &str) -> Vec<u8> {
    let path = format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

// ---------------------------------------------------------------------------------------
// Optional CPU-time clock

/// This thread's CPU time, `CLOCK_THREAD_CPUTIME_ID`.
pub struct ThreadCpuTime;

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, d: &Duration) -> f64 {
        d.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, exactly as for wall-clock time.
        WallTime.formatter()
    }
}

/// `XCONNAUTH_BENCH_CLOCK`: `true` for thread CPU time (`cpu`), `false` for wall time
/// (`wall`, the default).
pub fn cpu_clock_selected() -> bool {
    match std::env::var("XCONNAUTH_BENCH_CLOCK").as_deref() {
        Ok("cpu") => true,
        Ok("wall") | Err(_) => false,
        Ok(other) => panic!("XCONNAUTH_BENCH_CLOCK={other}: use wall or cpu"),
    }
}

/// 1 s warm-up, 3 s measurement, 30 samples; command-line flags override them.
pub fn config<M: Measurement>(c: Criterion<M>) -> Criterion<M> {
    c.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args()
}
