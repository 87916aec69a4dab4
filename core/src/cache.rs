//! The verified-token cache (policy option `cache_entries`, DESIGN §4).
//!
//! A proxy sees the same access token again and again for its lifetime; its signature
//! check (~20 µs for RS256-2048) is the whole cost of verifying it. The cache remembers
//! what verification produced for the exact token bytes, so a repeat costs a hash of
//! the signature tail, a full byte compare and a copy.
//!
//! Rules (each has a test in `core/tests/cache.rs`):
//! - Owned by one [`crate::Verifier`]: a new key set means a new verifier, so every key
//!   swap or refresh starts empty. (Clones of one verifier share it: same keys, same
//!   policy, same verdicts.)
//! - Keyed by the exact token bytes: a keyed hash of the length and the last
//!   [`HASHED_TAIL`] bytes (the signature, unpredictable for distinct tokens) picks the
//!   slot; the full bytes decide the hit.
//! - Only successes are stored. On a hit `exp`, `nbf` and `iat` are re-checked against
//!   the call's `now` with the policy's leeway, by the same code and in the same order
//!   as the uncached path; every other check depends only on the token, the keys and
//!   the policy, which are what the entry was verified under, so the verdict is the
//!   uncached one.
//! - Direct-mapped slots, one `ArcSwapOption` each: a hit takes no lock and writes
//!   nothing shared (arc-swap's `load` records its borrow in a per-thread slot); a
//!   miss replaces the slot's occupant, so a flood of distinct tokens evicts instead of
//!   growing.
//! - Bounded by entries (one per slot) and by bytes: `cache_entries ×`
//!   [`crate::CACHE_BYTES_PER_ENTRY`], reserved before an entry is stored, so the bytes
//!   held never exceed the budget.

use alloc::boxed::Box;
use core::hash::BuildHasher;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::collections::hash_map::RandomState;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::alg::Algorithm;
use crate::claims::ClaimSpans;
use crate::policy::CACHE_BYTES_PER_ENTRY;

/// How many bytes at the end of a token (its signature) pick the slot.
pub(crate) const HASHED_TAIL: usize = 32;

/// What verification produced for one token.
#[derive(Debug)]
pub(crate) struct Entry {
    token: Box<[u8]>,
    /// Decoded header JSON, then decoded payload JSON (the layout of `verify_into`).
    decoded: Box<str>,
    header_len: usize,
    alg: Algorithm,
    spans: ClaimSpans,
    /// What this entry counts against the byte budget.
    bytes: usize,
}

impl Entry {
    /// The decoded header and payload.
    pub(crate) fn decoded(&self) -> &str {
        &self.decoded
    }
    pub(crate) fn header_len(&self) -> usize {
        self.header_len
    }
    pub(crate) fn alg(&self) -> Algorithm {
        self.alg
    }
    pub(crate) fn spans(&self) -> &ClaimSpans {
        &self.spans
    }
}

/// How full a verifier's cache is ([`crate::Verifier::cache_usage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheUsage {
    /// Tokens held now.
    pub entries: usize,
    /// Bytes held now (tokens, decoded JSON and bookkeeping).
    pub bytes: usize,
    /// The entry bound, `cache_entries`.
    pub max_entries: usize,
    /// The byte bound, `cache_entries ×` [`crate::CACHE_BYTES_PER_ENTRY`].
    pub max_bytes: usize,
}

pub(crate) struct Cache {
    slots: Box<[ArcSwapOption<Entry>]>,
    hasher: RandomState,
    max_bytes: usize,
    // Written on inserts and evictions only (the miss path, after an RSA check).
    bytes: AtomicUsize,
    entries: AtomicUsize,
}

impl core::fmt::Debug for Cache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cache")
            .field("usage", &self.usage())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache of `entries` slots (at least one).
    pub(crate) fn new(entries: usize) -> Cache {
        let entries = entries.max(1);
        Cache {
            slots: (0..entries).map(|_| ArcSwapOption::empty()).collect(),
            hasher: RandomState::new(),
            max_bytes: entries.saturating_mul(CACHE_BYTES_PER_ENTRY),
            bytes: AtomicUsize::new(0),
            entries: AtomicUsize::new(0),
        }
    }

    fn slot(&self, token: &[u8]) -> Option<&ArcSwapOption<Entry>> {
        let tail = token.get(token.len().saturating_sub(HASHED_TAIL)..)?;
        let h = self.hasher.hash_one((token.len(), tail));
        // Multiply-shift: a uniform index without a division.
        let n = self.slots.len() as u128;
        let i = ((u128::from(h) * n) >> 64) as usize;
        self.slots.get(i)
    }

    /// The entry for exactly `token`, if one is held. Writes nothing shared.
    /// (The guard is arc-swap's borrow of the slot's value, not a reference count.)
    pub(crate) fn get(&self, token: &[u8]) -> Option<arc_swap::Guard<Option<Arc<Entry>>>> {
        let guard = self.slot(token)?.load();
        match &*guard {
            Some(e) if *e.token == *token => Some(guard),
            _ => None,
        }
    }

    /// Remembers a successful verification of `token`: its decoded header and payload
    /// JSON, the algorithm and the claims' spans in `payload`. Skipped, never an error,
    /// when the byte budget has no room even after evicting the slot's occupant.
    pub(crate) fn insert(
        &self,
        token: &[u8],
        header: &str,
        payload: &str,
        alg: Algorithm,
        spans: ClaimSpans,
    ) {
        let Some(slot) = self.slot(token) else {
            return;
        };
        // The entry's heap blocks and the Arc's counters besides the bytes themselves.
        let bytes = token.len() + header.len() + payload.len() + core::mem::size_of::<Entry>() + 16;
        if bytes > self.max_bytes || !self.reserve(bytes, slot) {
            return;
        }
        let entry = Entry {
            token: token.into(),
            decoded: [header, payload].concat().into_boxed_str(),
            header_len: header.len(),
            alg,
            spans,
            bytes,
        };
        self.entries.fetch_add(1, Ordering::Relaxed);
        let old = slot.swap(Some(Arc::new(entry)));
        self.release(old);
    }

    /// Reserves `bytes` of the budget; when it is full, evicts `slot`'s occupant (the
    /// entry a store would replace anyway) and tries once more.
    fn reserve(&self, bytes: usize, slot: &ArcSwapOption<Entry>) -> bool {
        for attempt in 0..2 {
            let before = self.bytes.fetch_add(bytes, Ordering::AcqRel);
            if before.saturating_add(bytes) <= self.max_bytes {
                return true;
            }
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
            if attempt == 0 {
                self.release(slot.swap(None));
            }
        }
        false
    }

    fn release(&self, old: Option<Arc<Entry>>) {
        if let Some(old) = old {
            self.bytes.fetch_sub(old.bytes, Ordering::AcqRel);
            self.entries.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn usage(&self) -> CacheUsage {
        CacheUsage {
            entries: self.entries.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            max_entries: self.slots.len(),
            max_bytes: self.max_bytes,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::{format, vec::Vec};

    /// What verifying the sample token produced, to store under other keys.
    fn sample() -> (String, String, ClaimSpans) {
        let jwks = include_bytes!("../../examples/keycloak/jwks.json");
        let policy = include_bytes!("../../examples/keycloak/policy.json");
        let token = include_str!("../../examples/keycloak/token.jwt").trim();
        let v = crate::Verifier::new(
            crate::KeySet::from_jwks(jwks).unwrap(),
            crate::Policy::from_json(policy).unwrap(),
        )
        .unwrap();
        let mut buf = alloc::vec![0u8; token.len()];
        let ok = v
            .verify_into(token.as_bytes(), 1_764_000_000, &mut buf)
            .unwrap();
        let spans = ClaimSpans::of(ok.payload_json().as_bytes(), &ok.claims());
        (ok.header_json().into(), ok.payload_json().into(), spans)
    }

    /// 100 000 distinct tokens: the entries never exceed the slots, the bytes never
    /// exceed the budget, and each held entry is found by its own bytes only.
    #[test]
    fn flood_stays_bounded() {
        let (header, payload, spans) = sample();
        for (slots, pad) in [(1_000usize, 0usize), (1_000, 7_000), (1, 0)] {
            let cache = Cache::new(slots);
            let mut token = Vec::new();
            for n in 0..100_000u32 {
                token.clear();
                token.extend_from_slice(format!("t{n}.").as_bytes());
                token.resize(token.len() + pad, b'p');
                token.extend_from_slice(format!(".sig{n:08}").as_bytes());
                cache.insert(&token, &header, &payload, crate::Algorithm::RS256, spans);
                let u = cache.usage();
                assert!(u.entries <= slots && u.bytes <= u.max_bytes, "{u:?}");
                assert!(cache.get(&token).is_some() || pad > 0);
            }
            let u = cache.usage();
            let held = cache.slots.iter().filter(|s| s.load().is_some()).count();
            assert_eq!(u.entries, held);
            let stored: usize = cache
                .slots
                .iter()
                .filter_map(|s| s.load_full().map(|e| e.bytes))
                .sum();
            assert_eq!(u.bytes, stored);
            if pad == 0 {
                // Small entries: the entry bound binds, and a flood fills most slots.
                assert!(held * 10 >= slots * 6, "{held}");
            } else {
                // ~7.3 KB entries against an 8 KiB share each: bytes bind first.
                assert!(u.bytes + 8_000 > u.max_bytes / 2, "{u:?}");
            }
            // A near miss (same tail, same length, other bytes) is no hit.
            let mut other = token.clone();
            other[0] = b'u';
            assert!(cache.get(&other).is_none());
        }
    }

    /// An entry larger than the whole budget is skipped, not stored.
    #[test]
    fn an_entry_beyond_the_budget_is_skipped() {
        let (header, payload, spans) = sample();
        let cache = Cache::new(1);
        let token = alloc::vec![b'a'; CACHE_BYTES_PER_ENTRY];
        cache.insert(&token, &header, &payload, crate::Algorithm::RS256, spans);
        assert_eq!(cache.usage().entries, 0);
        assert!(cache.get(&token).is_none());
    }
}
