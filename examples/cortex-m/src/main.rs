//! xconnauth on a Cortex-M4F (QEMU `mps2-an386`, semihosting).
//!
//! Builds the verifier from the committed Keycloak samples (JWKS, policy, fixed "now"),
//! verifies the valid, tampered and expired RS256-2048 tokens plus a set of hostile
//! inputs, and checks each verdict against the exact expected category. Every case
//! reports instructions, heap peak and stack peak. Exits through semihosting: status 0
//! only when every verdict was right and every measurement could be taken.
#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::arch::asm;
use core::mem::MaybeUninit;
use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};

use base64ct::{Base64UrlUnpadded, Encoding};
use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use embedded_alloc::LlffHeap;
use xconnauth::{Algorithm, ErrorKind, KeySet, Policy, RsaKey, Value, Verifier};

const JWKS: &[u8] = include_bytes!("../../keycloak/jwks.json");
const POLICY: &[u8] = include_bytes!("../../keycloak/policy.json");
const NOW: &str = include_str!("../../keycloak/now.txt");
const TOKEN: &[u8] = include_bytes!("../../keycloak/token.jwt");
const TAMPERED: &[u8] = include_bytes!("../../keycloak/tampered.jwt");
const EXPIRED: &[u8] = include_bytes!("../../keycloak/expired.jwt");

/// Largest token accepted. A Keycloak access token is about 1.5 KB; the core's default
/// (16 KB) suits servers, while here the scratch buffer `verify_into` decodes into is
/// static RAM, so the policy limit is set to its size.
const MAX_TOKEN: usize = 4096;

/// The arena is twice the heap goal so that overshooting it is measured, not fatal.
const HEAP_ARENA: usize = 16 * 1024;

const GOAL_FLASH: usize = 48 * 1024;
const GOAL_HEAP: usize = 8 * 1024;
const GOAL_STACK: usize = 6 * 1024;
const GOAL_INSNS: u64 = 3_000_000;

// ---------------------------------------------------------------------------
// Heap: embedded-alloc's first-fit heap, wrapped to count what the core asks for.

struct CountingHeap {
    heap: LlffHeap,
    /// Bytes requested and not yet freed.
    live: AtomicUsize,
    /// Highest `live` since the last `reset_peak`.
    peak: AtomicUsize,
    /// Highest arena use (requests rounded up, plus allocator bookkeeping).
    arena_peak: AtomicUsize,
    allocs: AtomicUsize,
}

// SAFETY: every call is forwarded unchanged to embedded-alloc's heap; the counters are
// only observations.
unsafe impl GlobalAlloc for CountingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            let live = self.live.fetch_add(layout.size(), Relaxed) + layout.size();
            self.peak.fetch_max(live, Relaxed);
            self.arena_peak.fetch_max(self.heap.used(), Relaxed);
            self.allocs.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { self.heap.dealloc(ptr, layout) };
        self.live.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static HEAP: CountingHeap = CountingHeap {
    heap: LlffHeap::empty(),
    live: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
    arena_peak: AtomicUsize::new(0),
    allocs: AtomicUsize::new(0),
};

static mut ARENA: [MaybeUninit<u8>; HEAP_ARENA] = [MaybeUninit::uninit(); HEAP_ARENA];

/// Heap figures of one measured step, relative to what was live before it.
#[derive(Clone, Copy, Default)]
struct HeapUse {
    /// Most bytes allocated at once during the step, beyond those live before it.
    peak: usize,
    /// Arena high-water mark during the step, counting what was live before it: what
    /// the heap region must be sized to.
    arena: usize,
    allocs: usize,
    /// Bytes the step left allocated (a key set, a verifier).
    kept: isize,
}

fn heap_start() -> (usize, usize) {
    let live = HEAP.live.load(Relaxed);
    HEAP.peak.store(live, Relaxed);
    HEAP.arena_peak.store(HEAP.heap.used(), Relaxed);
    (live, HEAP.allocs.load(Relaxed))
}

fn heap_stop((live, allocs): (usize, usize)) -> HeapUse {
    let now = HEAP.live.load(Relaxed);
    HeapUse {
        peak: HEAP.peak.load(Relaxed).saturating_sub(live),
        arena: HEAP.arena_peak.load(Relaxed),
        allocs: HEAP.allocs.load(Relaxed).wrapping_sub(allocs),
        kept: now as isize - live as isize,
    }
}

// ---------------------------------------------------------------------------
// Stack: paint the free stack with a pattern before a step, then find the deepest word
// the step overwrote.

const PAINT: u32 = 0xDEAD_C0DE;

extern "C" {
    /// Initial stack pointer (cortex-m-rt: top of RAM).
    static _stack_start: u32;
    /// Lowest address the stack may reach (cortex-m-rt: end of the statics).
    static _stack_end: u32;
}

fn stack_top() -> usize {
    addr_of!(_stack_start) as usize
}

fn stack_floor() -> usize {
    addr_of!(_stack_end) as usize
}

/// Fills the stack from just below the current stack pointer down to the floor. In
/// assembly so that the painting itself uses no stack it would then overwrite.
#[inline(never)]
fn paint_stack() {
    let floor = (stack_floor() + 3) & !3;
    // SAFETY: writes only between the end of the statics and 64 bytes below the live
    // stack pointer, memory nothing is using yet (no red zone on Arm; the SysTick
    // handler pushing a frame there is real stack use and rightly counted).
    unsafe {
        asm!(
            "mov {p}, sp",
            "sub {p}, {p}, #64",
            "bic {p}, {p}, #3",
            "2:",
            "cmp {p}, {floor}",
            "bls 3f",
            "str {pat}, [{p}, #-4]!",
            "b 2b",
            "3:",
            p = out(reg) _,
            floor = in(reg) floor,
            pat = in(reg) PAINT,
            options(nostack),
        );
    }
}

fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Deepest stack use since the last `paint_stack`, in bytes below `top`, or `None`
/// when the painted area was used up (the stack may have hit the statics).
fn stack_peak(top: usize) -> Option<usize> {
    let floor = (stack_floor() + 3) & !3;
    let mut p = floor;
    while p < top {
        // SAFETY: floor..top is the stack region: mapped, aligned RAM.
        if unsafe { core::ptr::read_volatile(p as *const u32) } != PAINT {
            break;
        }
        p += 4;
    }
    if p == floor {
        None
    } else {
        Some(top.saturating_sub(p))
    }
}

// ---------------------------------------------------------------------------
// Instructions: DWT.CYCCNT reads 0 under QEMU, but with `-icount shift=0` virtual time
// advances exactly 1 ns per instruction and SysTick counts that virtual time. The ratio
// is calibrated against a loop of known length rather than assumed.

/// SysTick free-runs over its full 24-bit range: a step's tick count is the counter's
/// difference modulo 2^24, exact while a step takes under 2^24 ticks (~670 M
/// instructions at QEMU's 25 MHz); the wrap interrupt only proves that bound held.
const RELOAD: u32 = 0x00FF_FFFF;
static WRAPS: AtomicU32 = AtomicU32::new(0);
/// Instructions per 1024 SysTick ticks, from the calibration loop.
static INSNS_PER_1K_TICKS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Relaxed);
}

#[derive(Clone, Copy)]
struct Stamp {
    count: u32,
    wraps: u32,
}

fn stamp() -> Stamp {
    Stamp {
        wraps: WRAPS.load(Relaxed),
        count: SYST::get_current(),
    }
}

/// Ticks from `a` to now, or `None` when more than one counter period may have passed.
fn ticks_since(a: Stamp) -> Option<u64> {
    let b = stamp();
    if b.wraps.wrapping_sub(a.wraps) > 1 {
        return None;
    }
    // A down-counter: elapsed = start - end, modulo the period.
    Some(u64::from(a.count.wrapping_sub(b.count) & RELOAD))
}

fn ticks_to_insns(t: u64) -> u64 {
    t * u64::from(INSNS_PER_1K_TICKS.load(Relaxed)) / 1024
}

/// Runs `2 * n` instructions (`subs` + `bne` per turn).
#[inline(never)]
fn spin(n: u32) {
    // SAFETY: register-only loop.
    unsafe {
        asm!("2:", "subs {n}, #1", "bne 2b", n = inout(reg) n => _, options(nomem, nostack));
    }
}

fn calibrate(syst: &mut SYST) -> bool {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    // The first tick loads RELOAD into the cleared counter; start after it.
    while SYST::get_current() == 0 {}
    const TURNS: u32 = 1_000_000;
    let t0 = stamp();
    spin(TURNS);
    let Some(dt) = ticks_since(t0).filter(|&t| t > 0) else {
        return false;
    };
    let Ok(ratio) = u32::try_from(2 * u64::from(TURNS) * 1024 / dt) else {
        return false;
    };
    INSNS_PER_1K_TICKS.store(ratio, Relaxed);
    hprintln!(
        "calibration: {} instructions took {} SysTick ticks ({}.{:03} instructions/tick)",
        2 * TURNS,
        dt,
        ratio / 1024,
        (ratio % 1024) * 1000 / 1024
    );
    true
}

// ---------------------------------------------------------------------------
// Measuring one step.

#[derive(Clone, Copy, Default)]
struct Cost {
    insns: u64,
    heap: HeapUse,
    stack: Option<usize>,
}

/// Runs `f` once and measures it. Stack is counted from this function's own stack
/// pointer down, so it is what the step needs, whatever the harness's frames above it.
#[inline(never)]
fn measure<R>(f: impl FnOnce() -> R) -> (R, Cost) {
    let sp = stack_pointer();
    paint_stack();
    let h = heap_start();
    let t0 = stamp();
    let r = f();
    let dt = ticks_since(t0);
    let heap = heap_stop(h);
    if dt.is_none() {
        fail("a step ran longer than one SysTick period");
    }
    (
        r,
        Cost {
            insns: ticks_to_insns(dt.unwrap_or(0)),
            heap,
            stack: stack_peak(sp),
        },
    )
}

/// Worst figures over every step, for the goal check.
#[derive(Default)]
struct Worst {
    heap_arena: usize,
    heap_peak: usize,
    /// Deepest stack of any step (configuration included).
    stack: usize,
    /// Deepest stack of a token verification: what attacker input can reach.
    token_stack: usize,
    stack_overflow: bool,
}

impl Worst {
    fn add(&mut self, c: &Cost) {
        self.heap_arena = self.heap_arena.max(c.heap.arena);
        self.heap_peak = self.heap_peak.max(c.heap.peak);
        match c.stack {
            Some(s) => self.stack = self.stack.max(s),
            None => self.stack_overflow = true,
        }
    }
}

fn print_header() {
    hprintln!(
        "| {:<28} | {:<16} | {:<16} | {:>10} | {:>9} | {:>6} | {:>10} | {:>11} |",
        "step",
        "verdict",
        "expected",
        "insns",
        "heap peak",
        "allocs",
        "heap arena",
        "stack peak"
    );
    hprintln!(
        "|{:-<30}|{:-<18}|{:-<18}|{:->12}|{:->11}|{:->8}|{:->12}|{:->13}|",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        ""
    );
}

fn print_row(step: &str, verdict: &str, expected: &str, c: &Cost) {
    match c.stack {
        Some(s) => hprintln!(
            "| {:<28} | {:<16} | {:<16} | {:>10} | {:>9} | {:>6} | {:>10} | {:>11} |",
            step,
            verdict,
            expected,
            c.insns,
            c.heap.peak,
            c.heap.allocs,
            c.heap.arena,
            s
        ),
        None => hprintln!(
            "| {:<28} | {:<16} | {:<16} | {:>10} | {:>9} | {:>6} | {:>10} | {:>11} |",
            step,
            verdict,
            expected,
            c.insns,
            c.heap.peak,
            c.heap.allocs,
            c.heap.arena,
            "OVERFLOW"
        ),
    }
}

// ---------------------------------------------------------------------------
// Hostile inputs, built at run time into static buffers so they cost no flash.

/// Room for the largest hostile input: one byte past the core's 16 KB default limit.
const INPUT_LEN: usize = 16 * 1024 + 1;
static mut INPUT: [u8; INPUT_LEN] = [0; INPUT_LEN];
static mut SCRATCH: [u8; MAX_TOKEN] = [0; MAX_TOKEN];
static mut JSON: [u8; MAX_TOKEN] = [0; MAX_TOKEN];

/// `base64url(json) + tail` into `out`; `None` when it does not fit.
fn token_from_json<'o>(json: &[u8], tail: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    let n = Base64UrlUnpadded::encode(json, out).ok()?.len();
    let end = n.checked_add(tail.len())?;
    out.get_mut(n..end)?.copy_from_slice(tail);
    out.get(..end)
}

/// `{"alg":"RS256","x":` + `open` × depth + `close` × depth + `}`, nested as deep as
/// fits in `out`.
fn nested<'o>(open: &[u8], close: &[u8], depth: usize, out: &'o mut [u8]) -> Option<&'o [u8]> {
    let mut w = Writer { out, at: 0 };
    w.put(br#"{"alg":"RS256","x":"#)?;
    for _ in 0..depth {
        w.put(open)?;
    }
    w.put(b"1")?;
    for _ in 0..depth {
        w.put(close)?;
    }
    w.put(b"}")?;
    let Writer { out, at } = w;
    out.get(..at)
}

struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, s: &[u8]) -> Option<()> {
        let end = self.at.checked_add(s.len())?;
        self.out.get_mut(self.at..end)?.copy_from_slice(s);
        self.at = end;
        Some(())
    }
}

/// The signing input (`header.payload.`) of the valid token, for forged signatures.
fn signed_part() -> &'static [u8] {
    match TOKEN.iter().rposition(|&b| b == b'.') {
        Some(i) => TOKEN.get(..=i).unwrap_or(TOKEN),
        None => TOKEN,
    }
}

// ---------------------------------------------------------------------------

static FAILED: AtomicBool = AtomicBool::new(false);

fn fail(why: &str) {
    hprintln!("FAIL: {}", why);
    FAILED.store(true, Relaxed);
}

fn verdict(r: &Result<(), ErrorKind>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(k) => k.code(),
    }
}

/// Verifies `token` and checks the verdict is exactly `expected`.
fn case(
    v: &Verifier,
    now: u64,
    worst: &mut Worst,
    name: &str,
    token: &[u8],
    expected: Result<(), ErrorKind>,
) -> Cost {
    // SAFETY: single-threaded firmware; SCRATCH is only ever borrowed here, one call at
    // a time.
    let scratch = unsafe { &mut *addr_of_mut!(SCRATCH) };
    let (got, cost) = measure(|| v.verify_into(token, now, scratch).map(|_| ()));
    let got = got.map_err(|e| e.kind());
    worst.add(&cost);
    worst.token_stack = worst.token_stack.max(cost.stack.unwrap_or(usize::MAX));
    print_row(name, verdict(&got), verdict(&expected), &cost);
    if got != expected {
        fail(name);
    }
    cost
}

/// A panic (including a failed allocation) is a failed run, never a hang.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("FAIL: panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    // Only reached if a debugger resumes after the exit request.
    cortex_m::asm::udf()
}

#[entry]
fn main() -> ! {
    let ok = run();
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached if a debugger resumes after the exit request.
    cortex_m::asm::udf()
}

fn run() -> bool {
    // SAFETY: called once, before the first allocation; ARENA is used by nothing else.
    unsafe { HEAP.heap.init(addr_of_mut!(ARENA) as usize, HEAP_ARENA) };
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        hprintln!("FAIL: core peripherals already taken");
        return false;
    };
    if !calibrate(&mut cp.SYST) {
        hprintln!("FAIL: SysTick does not advance (run QEMU with -icount shift=0)");
        return false;
    }
    let Ok(now) = NOW.trim().parse::<u64>() else {
        hprintln!("FAIL: now.txt is not a unix time");
        return false;
    };

    let mut worst = Worst::default();
    print_header();

    breakdown(&mut worst);

    // Configuration: key from JWK, then policy and verifier.
    let (keys, key_cost) = measure(|| KeySet::from_jwks(JWKS));
    worst.add(&key_cost);
    let keys = match keys {
        Ok(k) => k,
        Err(e) => {
            hprintln!("FAIL: JWKS: {}", e.message());
            return false;
        }
    };
    print_row("key set from JWKS", "ok", "ok", &key_cost);
    let (verifier, cfg_cost) = measure(|| {
        let mut policy = Policy::from_json(POLICY)?;
        policy.max_token_bytes = MAX_TOKEN;
        Verifier::new(keys, policy)
    });
    worst.add(&cfg_cost);
    let verifier = match verifier {
        Ok(v) => v,
        Err(e) => {
            hprintln!("FAIL: policy: {}", e.message());
            return false;
        }
    };
    print_row("policy + verifier", "ok", "ok", &cfg_cost);

    // A configuration nested far past the parser's depth limit must be refused with
    // bounded stack, like a token.
    // SAFETY: single-threaded; JSON is borrowed only here and in the token cases below,
    // never twice at once.
    let json = unsafe { &mut *addr_of_mut!(JSON) };
    if let Some(doc) = nested(b"[", b"]", 1500, json) {
        let (r, c) = measure(|| KeySet::from_jwks(doc).is_ok());
        worst.add(&c);
        print_row(
            "JWKS nested 1500 deep",
            if r { "ok" } else { "error" },
            "error",
            &c,
        );
        if r {
            fail("nested JWKS was accepted");
        }
    }

    // The three committed Keycloak tokens.
    let valid = case(
        &verifier,
        now,
        &mut worst,
        "valid RS256-2048",
        TOKEN,
        Ok(()),
    );
    case(
        &verifier,
        now,
        &mut worst,
        "tampered payload",
        TAMPERED,
        Err(ErrorKind::BadSignature),
    );
    case(
        &verifier,
        now,
        &mut worst,
        "expired",
        EXPIRED,
        Err(ErrorKind::Expired),
    );

    hostile(&verifier, now, &mut worst);

    hprintln!("");
    hprintln!(
        "heap: peak {} B above the live verifier ({} B kept by key set + verifier), arena high-water {} B of {} B",
        worst.heap_peak,
        key_cost.heap.kept + cfg_cost.heap.kept,
        worst.heap_arena,
        HEAP_ARENA
    );
    hprintln!(
        "statics: scratch {} B (= max_token_bytes), hostile-input buffers {} B (test only)",
        MAX_TOKEN,
        INPUT_LEN + MAX_TOKEN
    );
    let goal = |what: &str, have: u64, limit: u64| {
        hprintln!(
            "goal {:<34} {:>9} <= {:>9}  {}",
            what,
            have,
            limit,
            if have <= limit { "met" } else { "MISSED" }
        );
    };
    goal("instructions / RS256-2048 verify", valid.insns, GOAL_INSNS);
    goal(
        "heap arena high-water (B)",
        worst.heap_arena as u64,
        GOAL_HEAP as u64,
    );
    goal(
        "stack peak, any token (B)",
        worst.token_stack as u64,
        GOAL_STACK as u64,
    );
    goal(
        "stack peak, any step incl. config (B)",
        worst.stack as u64,
        GOAL_STACK as u64,
    );
    hprintln!(
        "stack: figures are below the measuring call; reset handler + main + harness held {} B above it",
        stack_top().saturating_sub(stack_pointer())
    );
    hprintln!(
        "goal flash (B) <= {}: reported by run.sh from the ELF",
        GOAL_FLASH
    );
    if worst.stack_overflow {
        fail("a step used all painted stack");
    }
    let failed = FAILED.load(Relaxed);
    hprintln!(
        "{}",
        if failed {
            "RESULT: FAIL (a verdict was wrong)"
        } else {
            "RESULT: all verdicts as expected"
        }
    );
    !failed
}

/// The RS256 signing key's `n` and `e` from the JWKS, base64url-decoded into `buf`.
fn rs256_components(buf: &mut [u8]) -> Option<(&[u8], &[u8])> {
    let doc = xconnauth::parse_object(JWKS)?;
    let keys = doc.get("keys")?.as_array()?;
    let jwk = keys
        .iter()
        .filter_map(|k| k.as_object())
        .find(|k| matches!(k.get("alg"), Some(Value::String(s)) if s.eq_str("RS256")))?;
    let n = jwk.get("n")?.as_str()?.as_str()?;
    let e = jwk.get("e")?.as_str()?.as_str()?;
    let (nbuf, ebuf) = buf.split_at_mut(buf.len() / 2);
    let n = Base64UrlUnpadded::decode(n, nbuf).ok()?;
    let e = Base64UrlUnpadded::decode(e, ebuf).ok()?;
    Some((n, e))
}

/// Where the cost of "key from JWK" and "verify" goes: JSON, RSA precomputation, and
/// the bare signature check (SHA-256 + s^e mod n) without base64url, JSON and claims.
#[inline(never)]
fn breakdown(worst: &mut Worst) {
    let (r, c) = measure(|| xconnauth::parse_object(JWKS).is_some());
    worst.add(&c);
    print_row(
        "  JWKS JSON parse only",
        if r { "ok" } else { "error" },
        "ok",
        &c,
    );
    if !r {
        fail("JWKS does not parse");
    }

    // SAFETY: single-threaded; SCRATCH is free between verify calls.
    let buf = unsafe { &mut *addr_of_mut!(SCRATCH) };
    let Some((n, e)) = rs256_components(buf) else {
        fail("no RS256 key n/e in the JWKS");
        return;
    };
    let (key, c) = measure(|| RsaKey::from_components(n, e, None, Some(Algorithm::RS256)));
    worst.add(&c);
    print_row(
        "  RSA key from n, e",
        if key.is_ok() { "ok" } else { "error" },
        "ok",
        &c,
    );
    let Ok(key) = key else {
        fail("RsaKey::from_components");
        return;
    };

    let Some(dot) = TOKEN.iter().rposition(|&b| b == b'.') else {
        fail("token has no signature segment");
        return;
    };
    let (msg, sig) = TOKEN.split_at(dot);
    let mut raw = [0u8; 512];
    let Some(sig) = sig
        .get(1..)
        .and_then(|s| Base64UrlUnpadded::decode(s, &mut raw).ok())
    else {
        fail("token signature is not base64url");
        return;
    };
    let (r, c) = measure(|| xconnauth::dangerous::verify_signature(&key, Algorithm::RS256, msg, sig));
    worst.add(&c);
    print_row(
        "  bare RS256 check (SHA+RSA)",
        if r { "ok" } else { "error" },
        "ok",
        &c,
    );
    if !r {
        fail("bare RS256 check");
    }
}

#[inline(never)]
fn hostile(v: &Verifier, now: u64, worst: &mut Worst) {
    use ErrorKind::*;
    // SAFETY: single-threaded; each buffer has one borrow at a time (JSON's earlier
    // borrow in `run` has ended).
    let (input, json) = unsafe { (&mut *addr_of_mut!(INPUT), &mut *addr_of_mut!(JSON)) };
    let mut check = |name: &str, token: Option<&[u8]>, expected: Result<(), ErrorKind>| match token
    {
        Some(t) => {
            case(v, now, worst, name, t, expected);
        }
        None => fail(name),
    };
    let tail = b".e30.c2ln";

    // Nesting as deep as max_token_bytes allows: the parser must stop at its depth limit
    // without recursing further.
    let t = nested(b"[", b"]", 1400, json).and_then(|j| token_from_json(j, tail, input));
    check("header: 1400 nested arrays", t, Err(BadJson));
    let t = nested(br#"{"a":"#, b"}", 450, json).and_then(|j| token_from_json(j, tail, input));
    check("header: 450 nested objects", t, Err(BadJson));

    // More distinct member names than the duplicate check has slots.
    let mut w = Writer {
        out: &mut json[..],
        at: 0,
    };
    let mut built = w.put(br#"{"alg":"RS256""#);
    for i in 0..300u32 {
        let d = [
            b'0' + (i / 100) as u8,
            b'0' + (i / 10 % 10) as u8,
            b'0' + (i % 10) as u8,
        ];
        built = built
            .and_then(|()| w.put(br#","m"#))
            .and_then(|()| w.put(&d))
            .and_then(|()| w.put(br#"":0"#));
    }
    let t = built
        .and_then(|()| w.put(b"}"))
        .and_then(|()| w.out.get(..w.at))
        .and_then(|j| token_from_json(j, tail, input));
    check("header: 300 members", t, Err(TooLarge));

    // Equal names (after unescaping) among many: the exact duplicate check, whose
    // stack block is the deepest the JSON side goes (issue 17).
    let mut w = Writer {
        out: &mut json[..],
        at: 0,
    };
    let mut built = w.put(br#"{"alg":"RS256""#);
    for i in 0..120u32 {
        let d = [b'0' + (i / 100) as u8, b'0' + (i / 10 % 10) as u8, b'0' + (i % 10) as u8];
        built = built
            .and_then(|()| w.put(br#","m"#))
            .and_then(|()| w.put(&d))
            .and_then(|()| w.put(br#"":0"#));
    }
    let t = built
        .and_then(|()| w.put(br#","\u006d042":1}"#))
        .and_then(|()| w.out.get(..w.at))
        .and_then(|j| token_from_json(j, tail, input));
    check("header: 121 members, one repeated escaped", t, Err(BadJson));

    // A header segment filling max_token_bytes (decodes to NUL bytes).
    input.fill(b'A');
    let t = input
        .get_mut(4000..4000 + tail.len())
        .map(|s| s.copy_from_slice(tail));
    check(
        "header: 4000-char segment",
        t.and(input.get(..4000 + tail.len())),
        Err(BadJson),
    );

    // A signature segment filling max_token_bytes after the real header and payload.
    let signed = signed_part();
    input.fill(b'A');
    let t = input
        .get_mut(..signed.len())
        .map(|s| s.copy_from_slice(signed))
        .and(input.get(..MAX_TOKEN));
    check("signature: 2.5 KB segment", t, Err(BadSignature));

    // One byte over the core's default limit (16 KB), refused before anything is read.
    input.fill(b'A');
    check(
        "16 KB + 1 of base64url",
        input.get(..INPUT_LEN),
        Err(TooLarge),
    );

    // Binary garbage: without dots, and cut into three segments.
    let mut x: u32 = 0x1234_5678;
    for b in input.iter_mut().take(3000) {
        // xorshift32: reproducible printable noise without dots, so the segment count
        // is known and the failure is the alphabet, not whitespace or control bytes.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = match 0x21 + (x % 94) as u8 {
            b'.' => b'*',
            other => other,
        };
    }
    check("3000 random bytes", input.get(..3000), Err(Malformed));
    if let Some(s) = input.get_mut(1000) {
        *s = b'.';
    }
    if let Some(s) = input.get_mut(2000) {
        *s = b'.';
    }
    check(
        "random bytes, 3 segments",
        input.get(..3000),
        Err(BadBase64),
    );
    check("empty", Some(b""), Err(Malformed));
    check("two dots", Some(b".."), Err(Malformed));

    // alg none, and a header the policy accepts but whose signature is junk (a full
    // RSA operation on attacker input).
    let t = token_from_json(br#"{"alg":"none"}"#, tail, input);
    check("alg none", t, Err(UnsupportedAlg));
    let mut w = Writer {
        out: &mut json[..],
        at: 0,
    };
    let mut built = w.put(br#"{"alg":"RS256","x":""#);
    for _ in 0..400 {
        built = built.and_then(|()| w.put(br"\u00e9"));
    }
    let t = built
        .and_then(|()| w.put(br#""}"#))
        .and_then(|()| w.out.get(..w.at))
        .and_then(|j| token_from_json(j, tail, input));
    check("header: 400 escapes, no kid", t, Err(BadSignature));
}
