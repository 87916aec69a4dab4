//! The smallest useful firmware: key set from the JWKS, policy from JSON, one valid and
//! one tampered token verified, exit status through semihosting. No printing and no
//! measuring, so its size is what an application pays for xconnauth (plus ~5 KB of
//! embedded sample data, which run.sh subtracts).
#![no_std]
#![no_main]

extern crate alloc;

use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use embedded_alloc::LlffHeap;
use xconnauth::{ErrorKind, KeySet, Policy, Verifier};

const JWKS: &[u8] = include_bytes!("../../../keycloak/jwks.json");
const POLICY: &[u8] = include_bytes!("../../../keycloak/policy.json");
const NOW: &str = include_str!("../../../keycloak/now.txt");
const TOKEN: &[u8] = include_bytes!("../../../keycloak/token.jwt");
const TAMPERED: &[u8] = include_bytes!("../../../keycloak/tampered.jwt");

const MAX_TOKEN: usize = 4096;
const HEAP_ARENA: usize = 8 * 1024;

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();
static mut ARENA: [MaybeUninit<u8>; HEAP_ARENA] = [MaybeUninit::uninit(); HEAP_ARENA];
static mut SCRATCH: [u8; MAX_TOKEN] = [0; MAX_TOKEN];

/// Any panic, an exhausted heap included, ends the run as a failure.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    // Only reached if a debugger resumes after the exit request.
    cortex_m::asm::udf()
}

#[entry]
fn main() -> ! {
    // SAFETY: called once, before the first allocation; ARENA is used by nothing else.
    unsafe { HEAP.init(addr_of_mut!(ARENA) as usize, HEAP_ARENA) };
    let ok = run().is_some();
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached if a debugger resumes after the exit request.
    cortex_m::asm::udf()
}

fn run() -> Option<()> {
    let keys = KeySet::from_jwks(JWKS).ok()?;
    let mut policy = Policy::from_json(POLICY).ok()?;
    policy.max_token_bytes = MAX_TOKEN;
    let verifier = Verifier::new(keys, policy).ok()?;
    let now = NOW.trim().parse().ok()?;
    // SAFETY: single-threaded; the only borrow of SCRATCH.
    let scratch = unsafe { &mut *addr_of_mut!(SCRATCH) };
    verifier.verify_into(TOKEN, now, scratch).ok()?;
    let tampered = verifier.verify_into(TAMPERED, now, scratch);
    (tampered.err()?.kind() == ErrorKind::BadSignature).then_some(())
}
