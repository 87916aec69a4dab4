//! The one key-set swap every surface shares (the C ABI's `xca_verifier_set_jwks`,
//! Python's `Verifier.set_keys`, this crate's refreshing engine).

use std::ops::Deref;
use std::sync::Arc;

use arc_swap::{ArcSwapAny, RefCnt};

/// A value (a verifier and what belongs to it) replaced whole while other threads read
/// it, without a lock.
///
/// [`load`](Self::load) is the verify path: it writes nothing shared (no lock, no
/// reference count of a shared `Arc` bumped; arc-swap's thread-local debt slots instead),
/// so threads verifying on one handle do not contend on a cache line. A
/// [`store`](Self::store) publishes a value only once it is complete: a reader sees the
/// old or the new one, never a mix, and a reader that loaded the old one finishes with
/// it (it is dropped by its last reader).
///
/// `S` is `Arc<T>` (always a value: [`KeySwap`]) or `Option<Arc<T>>` (empty until the
/// first store: [`KeySwapOption`]).
///
/// ```
/// use std::sync::Arc;
/// use xconnauth_remote::swap::KeySwap;
/// let keys: KeySwap<&str> = KeySwap::new(Arc::new("old"));
/// let reader = keys.load();
/// keys.store(Arc::new("new"));
/// assert_eq!(**reader, "old"); // a reader keeps what it loaded
/// assert_eq!(**keys.load(), "new");
/// ```
pub struct Swap<S: RefCnt> {
    slot: ArcSwapAny<S>,
}

/// A [`Swap`] that always holds a value.
pub type KeySwap<T> = Swap<Arc<T>>;

/// A [`Swap`] that may be empty (no keys yet).
pub type KeySwapOption<T> = Swap<Option<Arc<T>>>;

impl<S: RefCnt> Swap<S> {
    /// A swap holding `value`.
    pub fn new(value: S) -> Self {
        Swap {
            slot: ArcSwapAny::new(value),
        }
    }

    /// The current value, for a short use such as one verification. Writes nothing
    /// shared; a swap meanwhile does not affect it.
    pub fn load(&self) -> impl Deref<Target = S> + '_ {
        self.slot.load()
    }

    /// The current value as an owned handle, to keep beyond one call (it bumps the
    /// shared reference count: not for the verify path).
    pub fn snapshot(&self) -> S {
        self.slot.load_full()
    }

    /// Replaces the value; readers that loaded the old one finish with it.
    pub fn store(&self, value: S) {
        self.slot.store(value);
    }
}

impl<T> Swap<Option<Arc<T>>> {
    /// A swap holding nothing yet.
    #[must_use]
    pub fn empty() -> Self {
        Swap::new(None)
    }
}

impl<S: RefCnt + std::fmt::Debug> std::fmt::Debug for Swap<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Swap").field(&*self.slot.load()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_swap_starts_empty_and_keeps_readers_whole() {
        let swap: KeySwapOption<u32> = KeySwapOption::empty();
        assert!(swap.load().is_none());
        swap.store(Some(Arc::new(1)));
        let first = swap.load();
        let kept = swap.snapshot();
        swap.store(Some(Arc::new(2)));
        assert_eq!(first.as_deref(), Some(&1));
        assert_eq!(kept.as_deref(), Some(&1));
        assert_eq!(swap.load().as_deref(), Some(&2));
        swap.store(None);
        assert!(swap.snapshot().is_none());
    }

    /// Readers on many threads while one thread swaps: every load sees a whole value.
    #[test]
    fn concurrent_swaps() {
        let swap = Arc::new(KeySwap::new(Arc::new((0u64, 0u64))));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let swap = Arc::clone(&swap);
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        let v = swap.load();
                        assert_eq!(v.0, v.1);
                    }
                })
            })
            .collect();
        for i in 1..2_000 {
            swap.store(Arc::new((i, i)));
        }
        for r in readers {
            assert!(r.join().is_ok());
        }
        assert_eq!(swap.load().0, 1_999);
    }
}
