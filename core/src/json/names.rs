//! Member names: their hashes, and the duplicate-name check of the validator (hash
//! list per open object, exact sort-based check when hashes collide or an object is large).

use super::*;

/// Hash of a member name's unescaped UTF-8 bytes, only used to skip most duplicate-name
/// rescans (equality is always exact). Eight bytes per multiply: plain names (nearly
/// all) are read straight from the text as whole words; escaped ones are unescaped and
/// streamed through [`NameHash`], which computes the same function.
pub(super) fn name_hash(name: &JsonStr<'_>) -> u32 {
    if name.escaped {
        let mut h = NameHash::default();
        name.bytes().for_each(|b| h.push(b));
        return h.finish();
    }
    let raw = name.raw;
    let n = raw.len();
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
    let mut h = HASH_SEED;
    if n < 8 {
        // Zero-padded: two overlapping loads cover 4..=7 bytes, OR-ing the shared ones.
        let w = if n >= 4 {
            let lo = u32::from_le_bytes(
                raw.get(..4)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or_default(),
            );
            let hi = u32::from_le_bytes(
                raw.get(n - 4..)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or_default(),
            );
            u64::from(lo) | (u64::from(hi) << (8 * (n - 4)))
        } else {
            raw.iter().rev().fold(0u64, |w, &b| (w << 8) | u64::from(b))
        };
        h = hash_mix(h, w);
    } else {
        let mut words = raw.chunks_exact(8);
        for w in &mut words {
            h = hash_mix(h, word(w));
        }
        if !words.remainder().is_empty() {
            // The last eight bytes, overlapping the last whole word.
            h = hash_mix(h, word(raw.get(n - 8..).unwrap_or_default()));
        }
    }
    hash_finish(h, n)
}

pub(super) const HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;

pub(super) const fn hash_mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31)
}

pub(super) const fn hash_finish(h: u64, len: usize) -> u32 {
    let h = hash_mix(h, len as u64);
    (h ^ (h >> 32)) as u32
}

/// [`name_hash`] over bytes arriving one at a time (escaped names).
#[derive(Default)]
pub(super) struct NameHash {
    pub(super) h: u64,
    /// The last (up to) eight bytes, little-endian: byte `len - 1` is the highest.
    pub(super) last: u64,
    pub(super) len: usize,
}

impl NameHash {
    pub(super) fn push(&mut self, b: u8) {
        if self.len == 0 {
            self.h = HASH_SEED;
        }
        self.last = (self.last >> 8) | (u64::from(b) << 56);
        self.len += 1;
        if self.len.is_multiple_of(8) {
            self.h = hash_mix(self.h, self.last);
        }
    }

    pub(super) fn finish(self) -> u32 {
        let mut h = if self.len == 0 { HASH_SEED } else { self.h };
        if self.len < 8 {
            // Shift the bytes down to a zero-padded word (nothing for an empty name).
            let w = self
                .last
                .checked_shr(8 * (8 - self.len as u32))
                .unwrap_or(0);
            h = hash_mix(h, w);
        } else if !self.len.is_multiple_of(8) {
            h = hash_mix(h, self.last);
        }
        hash_finish(h, self.len)
    }
}

/// Name hashes remembered for the open objects. A name whose hash is already among its
/// object's (or an object with more names than fit) defers that object to an exact,
/// sort-based check when it closes ([`check_object`]).
pub(crate) const NAME_SLOTS: usize = 128;

/// Most members one object of a token (header or payload) may have: there nothing may
/// allocate, and the exact duplicate check costs a pass over the object per block of
/// names that fits its scratch room. Hitting it is `too_large`, never a truncation;
/// real tokens have tens of claims per object. Documents read at configuration time
/// (JWKS, discovery, policy) have no such limit: their check sorts on the heap.
pub const MAX_OBJECT_NAMES: usize = 1024;

/// Names sorted at a time by [`check_object`] when the caller has no larger scratch
/// room: 256 bytes of stack (headers, at most [`NAME_SLOTS`] names: four passes). The
/// verifier lends the payload check the unused tail of its decode buffer instead (a
/// quarter of the token: at most four passes over an object of [`MAX_OBJECT_NAMES`]).
pub(super) const BLOCK: usize = 32;

/// Bytes of one [`check_object`] entry.
pub(super) const ENTRY: usize = 8;

/// Four-bit radix levels of [`Entries::sort`]: the hash's top 28 bits. Four bits keep
/// the partition's counters at 64 bytes of stack (microcontrollers).
pub(super) const RADIX_LEVELS: u32 = 7;

/// Buckets of one radix level.
pub(super) const RADIX: usize = 16;

/// The four-bit digit of an entry's hash at radix `level` (0 = the top bits).
pub(super) fn digit(e: u64, level: u32) -> usize {
    ((e >> (60 - 4 * level)) & 15) as usize
}

/// Where [`check_object`] keeps the names it sorts.
pub(crate) enum Scratch<'s> {
    /// Borrowed room (`ENTRY` bytes a name), else a block on the stack; objects are
    /// capped at [`MAX_OBJECT_NAMES`]. Never allocates.
    Room(&'s mut [u8]),
    /// All names of an object at once on the heap (configuration-time documents).
    Heap,
}

/// Per open object: where its names begin in `NameSet::hashes`, where its text begins,
/// and a 64-bit filter of all its name hashes. The state is zeroed for every document
/// (twice per token): 16 bytes without padding, so the array is one memset instead of
/// a loop of field stores.
#[derive(Clone, Copy, Default)]
pub(super) struct Level {
    pub(super) base: u32,
    pub(super) start: u32,
    pub(super) filter: u64,
}

/// Duplicate-name detection for the open objects.
pub(super) struct NameSet<'s> {
    /// Hashes of the names of all open objects, innermost object last.
    pub(super) hashes: [u32; NAME_SLOTS],
    pub(super) len: usize,
    pub(super) levels: [Level; MAX_DEPTH],
    /// Bit per level: that object has names that did not fit in `hashes`.
    pub(super) overflow: u64,
    /// Bit per level: that object needs the exact check when it closes.
    pub(super) deferred: u64,
    /// Names seen in the whole document.
    pub(super) total: usize,
    /// [`Scratch::Heap`]: every name of the open objects as a [`check_object`] entry,
    /// innermost object last, and where each open object's entries begin.
    pub(super) heap: Option<(alloc::vec::Vec<u64>, alloc::vec::Vec<usize>)>,
    pub(super) room: &'s mut [u8],
}

impl<'s> NameSet<'s> {
    pub(super) fn new(scratch: Scratch<'s>) -> Self {
        let (heap, room) = match scratch {
            Scratch::Heap => (Some(Default::default()), Default::default()),
            Scratch::Room(room) => (None, room),
        };
        NameSet {
            hashes: [0; NAME_SLOTS],
            len: 0,
            levels: [Level::default(); MAX_DEPTH],
            overflow: 0,
            deferred: 0,
            total: 0,
            heap,
            room,
        }
    }

    /// `text_start` fits: [`validate_with`] refuses documents of 4 GiB or more.
    pub(super) fn open(&mut self, level: usize, text_start: usize) {
        if let Some(l) = self.levels.get_mut(level) {
            *l = Level {
                base: u32::try_from(self.len).unwrap_or(u32::MAX),
                start: u32::try_from(text_start).unwrap_or(u32::MAX),
                filter: 0,
            };
        }
        self.overflow &= !(1 << level);
        self.deferred &= !(1 << level);
        if let Some((entries, bases)) = &mut self.heap {
            bases.truncate(level);
            bases.push(entries.len());
        }
    }

    /// Closes the object at `level`, whose text ends at `text_end` (after its `}`).
    pub(super) fn close(
        &mut self,
        src: &[u8],
        level: usize,
        text_end: usize,
    ) -> Result<(), JsonError> {
        let Some(l) = self.levels.get(level) else {
            return Ok(());
        };
        self.len = l.base as usize;
        let deferred = self.deferred & (1 << level) != 0;
        if let Some((entries, bases)) = &mut self.heap {
            let base = bases.get(level).copied().unwrap_or_default();
            let mine = entries.get_mut(base..).unwrap_or_default();
            let checked = if deferred {
                sort_block(src, mine)
            } else {
                Ok(())
            };
            entries.truncate(base);
            return checked;
        }
        if deferred {
            return check_object(src, l.start as usize, text_end, self.room);
        }
        Ok(())
    }

    /// Records `name` in the object at `level`.
    // Inlined on 64-bit hosts (one call per member name), out of line on microcontrollers.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub(super) fn insert(
        &mut self,
        level: usize,
        h: u32,
        at: usize,
        max_names: usize,
    ) -> Result<(), JsonError> {
        self.total += 1;
        if self.total > max_names {
            return Err(JsonError::TooManyNames);
        }
        if let Some((entries, _)) = &mut self.heap {
            entries.push((u64::from(h) << 32) | at as u64);
        }
        let bit = 1u64 << (h % 64);
        let l = self.levels.get_mut(level).ok_or(JsonError::TooDeep)?;
        // The filter answers "surely new" for most names without touching the hashes.
        let maybe = l.filter & bit != 0
            && (self.overflow & (1 << level) != 0
                || self
                    .hashes
                    .get(l.base as usize..self.len)
                    .is_some_and(|hs| hs.contains(&h)));
        l.filter |= bit;
        if maybe {
            // Never a rescan here: that made one object with many names quadratic.
            self.deferred |= 1 << level;
        }
        match self.hashes.get_mut(self.len) {
            Some(slot) => {
                *slot = h;
                self.len += 1;
            }
            None => self.overflow |= 1 << level,
        }
        Ok(())
    }
}

/// A name in [`check_object`]'s sort: its hash in the high half, the offset of its text
/// (after the opening quote) in the document in the low half (documents are < 4 GiB).
pub(super) fn entry(src: &[u8], name: &JsonStr<'_>) -> u64 {
    let at = (name.raw.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
    (u64::from(name_hash(name)) << 32) | (at as u64 & 0xffff_ffff)
}

/// The name whose text starts at `at` in `src` (validated text).
pub(super) fn name_at(src: &[u8], at: usize) -> JsonStr<'_> {
    let mut cur = Cursor { b: src, i: at };
    let escaped = cur.string_body().unwrap_or(false);
    JsonStr {
        raw: src.get(at..cur.i).unwrap_or_default(),
        escaped,
    }
}

/// Orders two names of equal hash by their unescaped bytes.
#[cold]
#[inline(never)]
pub(super) fn by_bytes(src: &[u8], a: u64, b: u64) -> Ordering {
    let (x, y) = (
        name_at(src, (a & 0xffff_ffff) as usize),
        name_at(src, (b & 0xffff_ffff) as usize),
    );
    match (x.escaped, y.escaped) {
        (false, false) => x.raw.cmp(y.raw),
        _ => x.bytes().cmp(y.bytes()),
    }
}

/// Orders entries by hash, then by the names' unescaped bytes: equal exactly when the
/// names are, and one exact comparison at most per call even when an attacker makes
/// every hash collide (so sorting and lookups stay O(log n) comparisons a name).
#[inline(always)]
pub(super) fn order(src: &[u8], a: u64, b: u64) -> Ordering {
    if a >> 32 == b >> 32 {
        by_bytes(src, a, b)
    } else {
        a.cmp(&b)
    }
}

/// Sorts `block` by [`order`]; `Err` when two names are equal.
pub(super) fn sort_block(src: &[u8], block: &mut [u64]) -> Result<(), JsonError> {
    // Integers first (fast); then only runs of equal hashes need the names' bytes.
    block.sort_unstable();
    let mut rest = &mut *block;
    while let Some(&first) = rest.first() {
        let run = rest.iter().take_while(|&&e| e >> 32 == first >> 32).count();
        let (same, tail) = rest.split_at_mut(run);
        if run > 1 {
            same.sort_unstable_by(|&a, &b| by_bytes(src, a, b));
            if same
                .windows(2)
                .any(|w| matches!(w, [a, b] if by_bytes(src, *a, *b).is_eq()))
            {
                return Err(JsonError::Duplicate);
            }
        }
        rest = tail;
    }
    Ok(())
}

/// [`check_object`] entries kept in borrowed bytes, [`ENTRY`] bytes each (a byte
/// buffer has no alignment to view it as `u64`s without `unsafe`).
pub(super) struct Entries<'r>(pub(super) &'r mut [u8]);

impl Entries<'_> {
    pub(super) fn len(&self) -> usize {
        self.0.len() / ENTRY
    }

    pub(super) fn get(&self, i: usize) -> u64 {
        let at = i * ENTRY;
        self.0
            .get(at..at + ENTRY)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }

    pub(super) fn set(&mut self, i: usize, e: u64) {
        let at = i * ENTRY;
        if let Some(b) = self.0.get_mut(at..at + ENTRY) {
            b.copy_from_slice(&e.to_le_bytes());
        }
    }

    pub(super) fn swap(&mut self, i: usize, j: usize) {
        let (a, b) = (self.get(i), self.get(j));
        self.set(i, b);
        self.set(j, a);
    }

    /// Sorts the first `n` entries by [`order`]: in place, no allocation, a few hundred
    /// bytes of stack. A radix sort on the hash's top 28 bits (four bits a level, each
    /// level one counting pass and one in-place permutation) leaves small buckets,
    /// finished by insertion sort; only names whose hashes share those 28 bits (made
    /// to collide on purpose) reach the heapsort, which stays O(n log n) regardless.
    pub(super) fn sort(&mut self, src: &[u8], n: usize) {
        self.radix(src, 0, n, 0);
    }

    pub(super) fn radix(&mut self, src: &[u8], lo: usize, hi: usize, level: u32) {
        const SMALL: usize = 16;
        if hi - lo <= SMALL {
            return self.insertion(src, lo, hi);
        }
        if level == RADIX_LEVELS {
            return self.heapsort(src, lo, hi);
        }
        self.partition(lo, hi, level);
        // The buckets are now runs of equal digits, in order: recurse into each (the
        // partition's counters are gone from the stack by now).
        let mut from = lo;
        while from < hi {
            let d = digit(self.get(from), level);
            let mut to = from + 1;
            while to < hi && digit(self.get(to), level) == d {
                to += 1;
            }
            self.radix(src, from, to, level + 1);
            from = to;
        }
    }

    /// Groups entries `lo..hi` by their `level` digit, in digit order, in place.
    #[inline(never)]
    pub(super) fn partition(&mut self, lo: usize, hi: usize, level: u32) {
        // Bucket ends, then each bucket's next free slot.
        let mut end = [0u16; RADIX];
        let mut next = [0u16; RADIX];
        for i in lo..hi {
            if let Some(c) = end.get_mut(digit(self.get(i), level)) {
                *c += 1;
            }
        }
        let mut at = lo;
        for (e, x) in end.iter_mut().zip(next.iter_mut()) {
            *x = at as u16;
            at += usize::from(*e);
            *e = at as u16;
        }
        // Cycle leader: every swap puts one entry in its bucket for good.
        for b in 0..RADIX {
            while let (Some(&x), Some(&e)) = (next.get(b), end.get(b)) {
                if x >= e {
                    break;
                }
                let d = digit(self.get(usize::from(x)), level);
                if d == b {
                    if let Some(x) = next.get_mut(b) {
                        *x += 1;
                    }
                } else if let Some(t) = next.get_mut(d) {
                    let to = usize::from(*t);
                    *t += 1;
                    self.swap(usize::from(x), to);
                }
            }
        }
    }

    pub(super) fn insertion(&mut self, src: &[u8], lo: usize, hi: usize) {
        for i in lo + 1..hi {
            let x = self.get(i);
            let mut j = i;
            while j > lo && order(src, self.get(j - 1), x).is_gt() {
                self.set(j, self.get(j - 1));
                j -= 1;
            }
            self.set(j, x);
        }
    }

    pub(super) fn heapsort(&mut self, src: &[u8], lo: usize, hi: usize) {
        let less = |a: u64, b: u64| order(src, a, b).is_lt();
        let n = hi - lo;
        let sift = |e: &mut Self, mut root: usize, end: usize| loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && less(e.get(lo + child), e.get(lo + child + 1)) {
                child += 1;
            }
            if !less(e.get(lo + root), e.get(lo + child)) {
                return;
            }
            e.swap(lo + root, lo + child);
            root = child;
        };
        for root in (0..n / 2).rev() {
            sift(self, root, n);
        }
        for end in (1..n).rev() {
            self.swap(lo, lo + end);
            sift(self, 0, end);
        }
    }

    /// Is entry `e`'s name among the first `n` (sorted) entries?
    pub(super) fn contains(&self, src: &[u8], n: usize, e: u64) -> bool {
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match order(src, self.get(mid), e) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return true,
            }
        }
        false
    }
}

/// The exact duplicate check, without a heap, of the object whose members start at
/// `start` in `src` and which ends before `end`; run only when hashes collided or the
/// object outgrew [`NAME_SLOTS`]. Names are sorted as many at a time as `room` holds
/// (else [`BLOCK`] on the stack), duplicates within a block are neighbours, and every
/// later name is looked up in the block: one pass over the object per block.
#[cold]
#[inline(never)]
pub(super) fn check_object(
    src: &[u8],
    start: usize,
    end: usize,
    room: &mut [u8],
) -> Result<(), JsonError> {
    // More than an object may hold is never needed (and keeps offsets in u16).
    let room_len = room.len().min((MAX_OBJECT_NAMES + 1) * ENTRY);
    match room.get_mut(..room_len) {
        Some(room) if room.len() >= BLOCK * ENTRY => check_in(src, start, end, Entries(room)),
        _ => check_on_stack(src, start, end),
    }
}

/// [`check_object`] with a [`BLOCK`] on the stack: only this frame holds it.
#[inline(never)]
pub(super) fn check_on_stack(src: &[u8], start: usize, end: usize) -> Result<(), JsonError> {
    let mut stack = [0u8; BLOCK * ENTRY];
    check_in(src, start, end, Entries(&mut stack))
}

/// [`check_object`] in `block`, as many names at a time as it holds.
#[inline(never)]
pub(super) fn check_in(
    src: &[u8],
    start: usize,
    end: usize,
    mut block: Entries<'_>,
) -> Result<(), JsonError> {
    let text = src.get(..end).unwrap_or_default();
    let names = |from: usize| Members {
        cur: Cursor { b: text, i: from },
    };
    let mut from = start;
    let mut first = true;
    loop {
        let mut it = names(from);
        let mut n = 0;
        for (name, _) in it.by_ref().take(block.len()) {
            block.set(n, entry(src, &name));
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        from = it.cur.i;
        if first && n > MAX_OBJECT_NAMES {
            return Err(JsonError::TooManyMembers);
        }
        block.sort(src, n);
        if (1..n).any(|i| order(src, block.get(i - 1), block.get(i)).is_eq()) {
            return Err(JsonError::Duplicate);
        }
        let mut later = 0;
        for (name, _) in names(from) {
            later += 1;
            if first && n + later > MAX_OBJECT_NAMES {
                return Err(JsonError::TooManyMembers);
            }
            if block.contains(src, n, entry(src, &name)) {
                return Err(JsonError::Duplicate);
            }
        }
        first = false;
    }
}
