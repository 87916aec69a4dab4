//! Helpers shared by the unit tests.

/// A xorshift64 generator: reproducible pseudo-random inputs without a dependency.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
