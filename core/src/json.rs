//! Strict, allocation-free RFC 8259 JSON for token headers, claims and key sets.
//!
//! serde-json-core is lax inside members it skips and does not unescape borrowed strings
//! (FINDINGS §3), which would let the claims we check differ from the claims a standard
//! parser reads. So every document is first run through [`validate_with`], a one-pass
//! iterative validator (grammar, UTF-8, escapes incl. surrogate pairs, duplicate member
//! names compared after unescaping, a depth limit that cannot exhaust a small stack).
//! Lookups afterwards walk the already-validated text through borrowed views
//! ([`Object`], [`Array`], [`JsonStr`], [`Number`]) and never allocate.

use core::cmp::Ordering;
use core::fmt;

/// Deepest nesting accepted. DESIGN §2 requires 32 to pass; the validator is iterative,
/// so the limit only bounds the small fixed state below, never the machine stack.
pub const MAX_DEPTH: usize = 64;

/// Why a document is not acceptable JSON. Every variant maps to `bad_json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not UTF-8 (including overlong forms and encoded surrogates).
    Utf8,
    /// Not RFC 8259 grammar.
    Syntax,
    /// A lone or reversed UTF-16 surrogate escape.
    Surrogate,
    /// The same member name twice in one object (after unescaping).
    Duplicate,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More member names than the caller allows.
    TooManyNames,
    /// One object of a token has more than [`MAX_OBJECT_NAMES`] members (`too_large`).
    TooManyMembers,
}

impl JsonError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            JsonError::Utf8 => "is not valid UTF-8",
            JsonError::Syntax => "is not valid JSON",
            JsonError::Surrogate => "contains an unpaired UTF-16 surrogate escape",
            JsonError::Duplicate => "has a duplicate member name",
            JsonError::TooDeep => "is nested too deeply",
            JsonError::TooManyNames => "has too many member names",
            JsonError::TooManyMembers => "has an object with more than 1024 members",
        }
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Hash of a member name's unescaped UTF-8 bytes, only used to skip most duplicate-name
/// rescans (equality is always exact). Eight bytes per multiply: plain names (nearly
/// all) are read straight from the text as whole words; escaped ones are unescaped and
/// streamed through [`NameHash`], which computes the same function.
fn name_hash(name: &JsonStr<'_>) -> u32 {
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

const HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;

const fn hash_mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31)
}

const fn hash_finish(h: u64, len: usize) -> u32 {
    let h = hash_mix(h, len as u64);
    (h ^ (h >> 32)) as u32
}

/// [`name_hash`] over bytes arriving one at a time (escaped names).
#[derive(Default)]
struct NameHash {
    h: u64,
    /// The last (up to) eight bytes, little-endian: byte `len - 1` is the highest.
    last: u64,
    len: usize,
}

impl NameHash {
    fn push(&mut self, b: u8) {
        if self.len == 0 {
            self.h = HASH_SEED;
        }
        self.last = (self.last >> 8) | (u64::from(b) << 56);
        self.len += 1;
        if self.len.is_multiple_of(8) {
            self.h = hash_mix(self.h, self.last);
        }
    }

    fn finish(self) -> u32 {
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

struct Validator<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Validator<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if !is_ws(c) {
                break;
            }
            self.i += 1;
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), JsonError> {
        match self.bump() {
            Some(c) if c == want => Ok(()),
            _ => Err(JsonError::Syntax),
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Result<(), JsonError> {
        let end = self.i.checked_add(lit.len()).ok_or(JsonError::Syntax)?;
        if self.b.get(self.i..end) == Some(lit) {
            self.i = end;
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError::Syntax),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u16, JsonError> {
        let mut v: u16 = 0;
        for _ in 0..4 {
            let c = self.bump().ok_or(JsonError::Syntax)?;
            let d = hex_val(c).ok_or(JsonError::Syntax)?;
            v = (v << 4) | u16::from(d);
        }
        Ok(v)
    }

    /// Validates a string starting at the opening quote and returns its raw contents.
    // Inlined into its two callers on 64-bit hosts: the call and its returned value
    // cost ~90 instructions per string, about 6 % of a verification's non-RSA work.
    // Microcontrollers keep one copy (flash).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn string(&mut self) -> Result<JsonStr<'a>, JsonError> {
        self.expect(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Runs of plain ASCII are most of every document; the match below handles
            // the bytes that stop them (non-ASCII is checked as UTF-8 where it is met).
            let rest = self.b.get(self.i..).unwrap_or_default();
            self.i += rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c))
                .unwrap_or(rest.len());
            let c = self.bump().ok_or(JsonError::Syntax)?;
            match c {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    let e = self.bump().ok_or(JsonError::Syntax)?;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = match hi {
                                0xD800..=0xDBFF => {
                                    if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                                        return Err(JsonError::Surrogate);
                                    }
                                    let lo = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&lo) {
                                        return Err(JsonError::Surrogate);
                                    }
                                    0x10000
                                        + ((u32::from(hi) - 0xD800) << 10)
                                        + (u32::from(lo) - 0xDC00)
                                }
                                0xDC00..=0xDFFF => return Err(JsonError::Surrogate),
                                _ => u32::from(hi),
                            };
                            char::from_u32(cp).ok_or(JsonError::Surrogate)?;
                        }
                        _ => return Err(JsonError::Syntax),
                    }
                }
                // Raw control characters must be escaped (RFC 8259 §7).
                0x00..=0x1f => return Err(JsonError::Syntax),
                0x80..=0xff => {
                    // A run of non-ASCII bytes: UTF-8 sequences are made of such bytes
                    // only, so the document is UTF-8 exactly when every such run is.
                    let from = self.i - 1;
                    let tail = self.b.get(from..).unwrap_or_default();
                    let len = tail.iter().take_while(|&&b| b >= 0x80).count();
                    let run = tail.get(..len).unwrap_or_default();
                    if core::str::from_utf8(run).is_err() {
                        return Err(JsonError::Utf8);
                    }
                    self.i = from + len;
                }
                // Not reached: the run above stops only at the bytes handled here.
                _ => {}
            }
        }
        let raw = self.b.get(start..self.i - 1).ok_or(JsonError::Syntax)?;
        Ok(JsonStr { raw, escaped })
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
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
const BLOCK: usize = 32;

/// Bytes of one [`check_object`] entry.
const ENTRY: usize = 8;

/// Four-bit radix levels of [`Entries::sort`]: the hash's top 28 bits. Four bits keep
/// the partition's counters at 64 bytes of stack (microcontrollers).
const RADIX_LEVELS: u32 = 7;

/// Buckets of one radix level.
const RADIX: usize = 16;

/// The four-bit digit of an entry's hash at radix `level` (0 = the top bits).
fn digit(e: u64, level: u32) -> usize {
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
struct Level {
    base: u32,
    start: u32,
    filter: u64,
}

/// Duplicate-name detection for the open objects.
struct NameSet<'s> {
    /// Hashes of the names of all open objects, innermost object last.
    hashes: [u32; NAME_SLOTS],
    len: usize,
    levels: [Level; MAX_DEPTH],
    /// Bit per level: that object has names that did not fit in `hashes`.
    overflow: u64,
    /// Bit per level: that object needs the exact check when it closes.
    deferred: u64,
    /// Names seen in the whole document.
    total: usize,
    /// [`Scratch::Heap`]: every name of the open objects as a [`check_object`] entry,
    /// innermost object last, and where each open object's entries begin.
    heap: Option<(alloc::vec::Vec<u64>, alloc::vec::Vec<usize>)>,
    room: &'s mut [u8],
}

impl<'s> NameSet<'s> {
    fn new(scratch: Scratch<'s>) -> Self {
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
    fn open(&mut self, level: usize, text_start: usize) {
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
    fn close(&mut self, src: &[u8], level: usize, text_end: usize) -> Result<(), JsonError> {
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
    fn insert(
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
fn entry(src: &[u8], name: &JsonStr<'_>) -> u64 {
    let at = (name.raw.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
    (u64::from(name_hash(name)) << 32) | (at as u64 & 0xffff_ffff)
}

/// The name whose text starts at `at` in `src` (validated text).
fn name_at(src: &[u8], at: usize) -> JsonStr<'_> {
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
fn by_bytes(src: &[u8], a: u64, b: u64) -> Ordering {
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
fn order(src: &[u8], a: u64, b: u64) -> Ordering {
    if a >> 32 == b >> 32 {
        by_bytes(src, a, b)
    } else {
        a.cmp(&b)
    }
}

/// Sorts `block` by [`order`]; `Err` when two names are equal.
fn sort_block(src: &[u8], block: &mut [u64]) -> Result<(), JsonError> {
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
struct Entries<'r>(&'r mut [u8]);

impl Entries<'_> {
    fn len(&self) -> usize {
        self.0.len() / ENTRY
    }

    fn get(&self, i: usize) -> u64 {
        let at = i * ENTRY;
        self.0
            .get(at..at + ENTRY)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }

    fn set(&mut self, i: usize, e: u64) {
        let at = i * ENTRY;
        if let Some(b) = self.0.get_mut(at..at + ENTRY) {
            b.copy_from_slice(&e.to_le_bytes());
        }
    }

    fn swap(&mut self, i: usize, j: usize) {
        let (a, b) = (self.get(i), self.get(j));
        self.set(i, b);
        self.set(j, a);
    }

    /// Sorts the first `n` entries by [`order`]: in place, no allocation, a few hundred
    /// bytes of stack. A radix sort on the hash's top 28 bits (four bits a level, each
    /// level one counting pass and one in-place permutation) leaves small buckets,
    /// finished by insertion sort; only names whose hashes share those 28 bits (made
    /// to collide on purpose) reach the heapsort, which stays O(n log n) regardless.
    fn sort(&mut self, src: &[u8], n: usize) {
        self.radix(src, 0, n, 0);
    }

    fn radix(&mut self, src: &[u8], lo: usize, hi: usize, level: u32) {
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
    fn partition(&mut self, lo: usize, hi: usize, level: u32) {
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

    fn insertion(&mut self, src: &[u8], lo: usize, hi: usize) {
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

    fn heapsort(&mut self, src: &[u8], lo: usize, hi: usize) {
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
    fn contains(&self, src: &[u8], n: usize, e: u64) -> bool {
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
fn check_object(src: &[u8], start: usize, end: usize, room: &mut [u8]) -> Result<(), JsonError> {
    // More than an object may hold is never needed (and keeps offsets in u16).
    let room_len = room.len().min((MAX_OBJECT_NAMES + 1) * ENTRY);
    match room.get_mut(..room_len) {
        Some(room) if room.len() >= BLOCK * ENTRY => check_in(src, start, end, Entries(room)),
        _ => check_on_stack(src, start, end),
    }
}

/// [`check_object`] with a [`BLOCK`] on the stack: only this frame holds it.
#[inline(never)]
fn check_on_stack(src: &[u8], start: usize, end: usize) -> Result<(), JsonError> {
    let mut stack = [0u8; BLOCK * ENTRY];
    check_in(src, start, end, Entries(&mut stack))
}

/// [`check_object`] in `block`, as many names at a time as it holds.
#[inline(never)]
fn check_in(src: &[u8], start: usize, end: usize, mut block: Entries<'_>) -> Result<(), JsonError> {
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

/// `"name" :` of a member of the innermost object, recorded for duplicate detection.
// Inlined on 64-bit hosts for speed, kept out of line on microcontrollers for flash.
#[cfg_attr(target_pointer_width = "64", inline(always))]
fn member_name<'a>(
    v: &mut Validator<'a>,
    depth: usize,
    names: &mut NameSet,
    max_names: usize,
) -> Result<JsonStr<'a>, JsonError> {
    v.ws();
    let at = v.i + 1;
    let name = v.string()?;
    let level = depth.checked_sub(1).ok_or(JsonError::Syntax)?;
    let h = name_hash(&name);
    names.insert(level, h, at, max_names)?;
    v.ws();
    v.expect(b':')?;
    Ok(name)
}

/// What a root member's value is made of, gathered while it is validated, so readers
/// can skip walks that would only re-check JSON types. Each bit records a fact that
/// was seen to fail somewhere inside the value; [`Shape::UNKNOWN`] claims nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape(u8);

const NON_STRING_IN_ARRAY: u8 = 1;
const NON_OBJECT_MEMBER_AT_2: u8 = 2;
const NON_ARRAY_MEMBER_AT_3: u8 = 4;

impl Shape {
    /// Nothing verified: every reader walks.
    pub(crate) const UNKNOWN: Shape = Shape(0xff);
    const CLEAN: Shape = Shape(0);

    /// A value of `kind` completed inside the container at `depth` (an array when
    /// `in_array`); the root object is depth 1, its members' children are at depth 2.
    #[inline]
    fn note(&mut self, depth: usize, in_array: bool, kind: Kind) {
        if depth < 2 {
            return;
        }
        if in_array {
            if kind != Kind::String {
                self.0 |= NON_STRING_IN_ARRAY;
            }
        } else if depth == 2 {
            if kind != Kind::Object {
                self.0 |= NON_OBJECT_MEMBER_AT_2;
            }
        } else if depth == 3 && kind != Kind::Array {
            self.0 |= NON_ARRAY_MEMBER_AT_3;
        }
    }

    /// Every array anywhere in the value holds only strings.
    pub(crate) fn arrays_hold_only_strings(self) -> bool {
        self.0 & NON_STRING_IN_ARRAY == 0
    }

    /// The value's members (if it is an object) are objects whose members are arrays
    /// (the shape of `resource_access`: client → `roles` → role names).
    pub(crate) fn members_are_objects_of_arrays(self) -> bool {
        self.0 & (NON_OBJECT_MEMBER_AT_2 | NON_ARRAY_MEMBER_AT_3) == 0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Object,
    Array,
    Other,
}

/// Validates `src` as one complete, strict RFC 8259 document with at most `max_names`
/// member names in all, and returns the root value's text (without the whitespace
/// around it). The members of a root object are handed to `member`, in document
/// order, as soon as their value is complete, with the [`Shape`] of that value.
///
/// Iterative: memory use is a fixed ~1.5 KB whatever the input (plus 512 bytes while an
/// object is checked exactly), and with [`Scratch::Stack`] it never allocates.
/// Duplicate names are found by comparing hashes of the open objects' names; only an
/// equal hash, or an object with more than [`NAME_SLOTS`] names, gets the exact check
/// when the object closes ([`check_object`]): linear in the document's size, whatever
/// the names.
///
/// Readers of a few top-level members (the claims) get them from this one pass instead
/// of walking the document again. Members seen before a later error are handed over
/// too: use them only when this returns `Ok`.
pub(crate) fn validate_with<'a>(
    src: &'a [u8],
    max_names: usize,
    scratch: Scratch<'_>,
    member: &mut dyn FnMut(JsonStr<'a>, Value<'a>, Shape),
) -> Result<&'a [u8], JsonError> {
    // UTF-8 is checked where non-ASCII bytes occur: inside strings run by run, and
    // anywhere else the grammar refuses them. A document that is not UTF-8 at all is
    // reported as such whatever else is wrong with it, as a whole-document check first
    // would (errors only: valid documents never pay for that check).
    validate_grammar(src, max_names, scratch, member).map_err(|e| {
        if e != JsonError::Utf8 && core::str::from_utf8(src).is_err() {
            JsonError::Utf8
        } else {
            e
        }
    })
}

fn validate_grammar<'a>(
    src: &'a [u8],
    max_names: usize,
    scratch: Scratch<'_>,
    member: &mut dyn FnMut(JsonStr<'a>, Value<'a>, Shape),
) -> Result<&'a [u8], JsonError> {
    // Offsets are kept as u32; no document we read comes anywhere near this.
    if u32::try_from(src.len()).is_err() {
        return Err(JsonError::Syntax);
    }
    let mut v = Validator { b: src, i: 0 };
    let mut names = NameSet::new(scratch);
    let mut is_object: u64 = 0;
    let mut depth = 0usize;
    // The root member whose value is being read, and where that value began.
    let mut pending: Option<JsonStr<'a>> = None;
    let mut member_start = 0usize;
    let mut root_start = 0usize;
    // Of the root member whose value is being read.
    let mut shape = Shape::CLEAN;
    let text = |from: usize, to: usize| src.get(from..to).unwrap_or_default();
    let container = |raw: &'a [u8], obj: bool| {
        if obj {
            Value::Object(Object { raw })
        } else {
            Value::Array(Array { raw })
        }
    };

    loop {
        v.ws();
        let at = v.i;
        let value = match v.peek().ok_or(JsonError::Syntax)? {
            open @ (b'{' | b'[') => {
                v.i += 1;
                if depth >= MAX_DEPTH {
                    return Err(JsonError::TooDeep);
                }
                match depth {
                    0 => root_start = at,
                    1 => member_start = at,
                    _ => {}
                }
                let obj = open == b'{';
                if obj {
                    is_object |= 1 << depth;
                    names.open(depth, v.i);
                } else {
                    is_object &= !(1 << depth);
                }
                depth += 1;
                v.ws();
                let close = if obj { b'}' } else { b']' };
                if v.peek() == Some(close) {
                    v.i += 1;
                    depth -= 1;
                    if obj {
                        names.close(src, depth, v.i)?;
                    }
                    container(text(at, v.i), obj)
                } else {
                    if obj {
                        let name = member_name(&mut v, depth, &mut names, max_names)?;
                        if depth == 1 {
                            pending = Some(name);
                        }
                    }
                    continue;
                }
            }
            b'"' => Value::String(v.string()?),
            b't' => {
                v.literal(b"true")?;
                Value::Bool(true)
            }
            b'f' => {
                v.literal(b"false")?;
                Value::Bool(false)
            }
            b'n' => {
                v.literal(b"null")?;
                Value::Null
            }
            b'-' | b'0'..=b'9' => {
                v.number()?;
                Value::Number(Number { raw: text(at, v.i) })
            }
            _ => return Err(JsonError::Syntax),
        };
        if depth == 0 {
            root_start = at;
        } else if depth == 1 {
            if let Some(name) = pending.take() {
                member(name, value, shape);
            }
            shape = Shape::CLEAN;
        } else {
            let kind = match value {
                Value::String(_) => Kind::String,
                Value::Object(_) => Kind::Object,
                Value::Array(_) => Kind::Array,
                _ => Kind::Other,
            };
            shape.note(depth, is_object & (1 << (depth - 1)) == 0, kind);
        }
        // A value is complete: close containers or move to the next element.
        loop {
            let end = v.i;
            v.ws();
            if depth == 0 {
                return if v.i == src.len() {
                    Ok(text(root_start, end))
                } else {
                    Err(JsonError::Syntax)
                };
            }
            let obj = is_object & (1 << (depth - 1)) != 0;
            match v.bump() {
                Some(b',') => {
                    if obj {
                        let name = member_name(&mut v, depth, &mut names, max_names)?;
                        if depth == 1 {
                            pending = Some(name);
                        }
                    }
                    break;
                }
                Some(b'}') if obj => {
                    depth -= 1;
                    names.close(src, depth, v.i)?;
                }
                Some(b']') if !obj => depth -= 1,
                _ => return Err(JsonError::Syntax),
            }
            if depth == 1 {
                if let Some(name) = pending.take() {
                    member(name, container(text(member_start, v.i), obj), shape);
                }
                shape = Shape::CLEAN;
            } else if depth >= 2 {
                let kind = if obj { Kind::Object } else { Kind::Array };
                shape.note(depth, is_object & (1 << (depth - 1)) == 0, kind);
            }
        }
    }
}

/// [`validate_with`] without a name limit or a member reader.
#[cfg(test)]
pub(crate) fn validate(src: &[u8]) -> Result<(), JsonError> {
    validate_with(src, usize::MAX, Scratch::Heap, &mut |_, _, _| {}).map(|_| ())
}

/// A cursor over text that [`validate_with`] accepted. Methods return `None` rather than
/// panic if that promise is ever broken.
#[derive(Clone, Copy, Debug)]
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|&c| is_ws(c)) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Moves to the closing quote of the string whose contents start here; true when
    /// the string has escapes.
    fn string_body(&mut self) -> Option<bool> {
        let mut escaped = false;
        loop {
            let rest = self.b.get(self.i..)?;
            self.i += rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\')
                .unwrap_or(rest.len());
            match self.peek()? {
                b'"' => return Some(escaped),
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
    }

    /// Skips one value and returns it.
    fn value(&mut self) -> Option<Value<'a>> {
        self.ws();
        let start = self.i;
        let first = self.peek()?;
        match first {
            b'"' => {
                self.i += 1;
                let s = self.i;
                let escaped = self.string_body()?;
                let raw = self.b.get(s..self.i)?;
                self.i += 1;
                Some(Value::String(JsonStr { raw, escaped }))
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        b'"' => {
                            // Skip the string so brackets inside it are not counted.
                            self.i += 1;
                            self.string_body()?;
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                let raw = self.b.get(start..self.i)?;
                Some(if first == b'{' {
                    Value::Object(Object { raw })
                } else {
                    Value::Array(Array { raw })
                })
            }
            _ => {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
                {
                    self.i += 1;
                }
                let raw = self.b.get(start..self.i)?;
                match raw {
                    // A closing bracket: the container has no more values.
                    b"" => None,
                    b"true" => Some(Value::Bool(true)),
                    b"false" => Some(Value::Bool(false)),
                    b"null" => Some(Value::Null),
                    _ => Some(Value::Number(Number { raw })),
                }
            }
        }
    }

    /// Consumes `c` (after whitespace) if it is next.
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
}

/// Iterates `name: value` pairs of an object body (text after `{`).
struct Members<'a> {
    cur: Cursor<'a>,
}

impl<'a> Iterator for Members<'a> {
    type Item = (JsonStr<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.cur.eat(b',');
        let Value::String(name) = self.cur.value()? else {
            return None;
        };
        if !self.cur.eat(b':') {
            return None;
        }
        let value = self.cur.value()?;
        Some((name, value))
    }
}

/// A JSON value borrowed from validated text.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, kept as its text.
    Number(Number<'a>),
    /// A string, kept escaped.
    String(JsonStr<'a>),
    /// An array.
    Array(Array<'a>),
    /// An object.
    Object(Object<'a>),
}

impl<'a> Value<'a> {
    /// The string, if this is one.
    #[must_use]
    pub fn as_str(&self) -> Option<JsonStr<'a>> {
        match self {
            Value::String(s) => Some(*s),
            _ => None,
        }
    }

    /// The object, if this is one.
    #[must_use]
    pub fn as_object(&self) -> Option<Object<'a>> {
        match self {
            Value::Object(o) => Some(*o),
            _ => None,
        }
    }

    /// The array, if this is one.
    #[must_use]
    pub fn as_array(&self) -> Option<Array<'a>> {
        match self {
            Value::Array(a) => Some(*a),
            _ => None,
        }
    }

    /// The JSON type name, for messages.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// A JSON object borrowed from validated text (including its braces).
#[derive(Clone, Copy, Debug)]
pub struct Object<'a> {
    raw: &'a [u8],
}

impl<'a> Object<'a> {
    /// Parses and validates `src` as a JSON object. Objects of any size: a large one's
    /// duplicate check may allocate (documents read at configuration time).
    pub(crate) fn parse(src: &'a [u8]) -> Result<Self, JsonError> {
        match validate_with(src, usize::MAX, Scratch::Heap, &mut |_, _, _| {})? {
            raw @ [b'{', ..] => Ok(Object { raw }),
            _ => Err(JsonError::Syntax),
        }
    }

    /// As [`parse`](Self::parse), never allocating, with at most `max_names` member
    /// names in all and [`MAX_OBJECT_NAMES`] per object (token headers and payloads).
    /// `room` is scratch space for large objects (any size; more is faster).
    pub(crate) fn parse_limited(
        src: &'a [u8],
        max_names: usize,
        room: &mut [u8],
    ) -> Result<Self, JsonError> {
        Self::parse_with(src, max_names, room, |_, _, _| {})
    }

    /// As [`parse_limited`](Self::parse_limited), handing the root members to `member`
    /// in the same pass (see [`validate_with`]).
    pub(crate) fn parse_with(
        src: &'a [u8],
        max_names: usize,
        room: &mut [u8],
        mut member: impl FnMut(JsonStr<'a>, Value<'a>, Shape),
    ) -> Result<Self, JsonError> {
        match validate_with(src, max_names, Scratch::Room(room), &mut member)? {
            raw @ [b'{', ..] => Ok(Object { raw }),
            _ => Err(JsonError::Syntax),
        }
    }

    /// `{}`.
    pub(crate) fn empty() -> Object<'static> {
        Object { raw: b"{}" }
    }

    /// Iterates the members in document order.
    pub fn iter(&self) -> impl Iterator<Item = (JsonStr<'a>, Value<'a>)> + 'a {
        let body = self.raw.get(1..).unwrap_or_default();
        Members {
            cur: Cursor { b: body, i: 0 },
        }
    }

    /// The member called `name` (compared after unescaping). Names are unique, so
    /// there is at most one.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.iter().find(|(k, _)| k.eq_str(name)).map(|(_, v)| v)
    }

    /// The exact JSON text of this object.
    #[must_use]
    pub fn as_json(&self) -> &'a str {
        core::str::from_utf8(self.raw).unwrap_or_default()
    }
}

/// A JSON array borrowed from validated text (including its brackets).
#[derive(Clone, Copy, Debug)]
pub struct Array<'a> {
    raw: &'a [u8],
}

impl<'a> Array<'a> {
    /// Iterates the elements in order.
    pub fn iter(&self) -> impl Iterator<Item = Value<'a>> + 'a {
        let body = self.raw.get(1..).unwrap_or_default();
        let mut cur = Cursor { b: body, i: 0 };
        core::iter::from_fn(move || {
            cur.eat(b',');
            cur.value()
        })
    }

    /// The exact JSON text of this array.
    #[must_use]
    pub fn as_json(&self) -> &'a str {
        core::str::from_utf8(self.raw).unwrap_or_default()
    }
}

/// A JSON number, kept as its (validated) text.
#[derive(Clone, Copy, Debug)]
pub struct Number<'a> {
    raw: &'a [u8],
}

impl<'a> Number<'a> {
    /// The number's JSON text.
    #[must_use]
    pub fn as_json(&self) -> &'a str {
        core::str::from_utf8(self.raw).unwrap_or_default()
    }

    /// The value as a NumericDate (RFC 7519 §2): `floor(value)` when the value lies in
    /// `0..=2^53`, computed exactly from the decimal text (no float rounding).
    #[must_use]
    pub fn as_numeric_date(&self) -> Option<u64> {
        const MAX: u64 = 1 << 53;
        // The usual case, a plain integer of at most 15 digits, is below 10^15 < 2^53.
        if (1..=15).contains(&self.raw.len()) && self.raw.iter().all(u8::is_ascii_digit) {
            return Some(
                self.raw
                    .iter()
                    .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')),
            );
        }
        let mut s = self.raw;
        let negative = s.first() == Some(&b'-');
        if negative {
            s = s.get(1..)?;
        }
        let mantissa_end = s
            .iter()
            .position(|&c| c == b'e' || c == b'E')
            .unwrap_or(s.len());
        let (mantissa, exp_part) = s.split_at(mantissa_end);
        // Decimal exponent, saturated: anything beyond ±10^6 already decides the answer.
        let mut exp: i64 = 0;
        if let Some(rest) = exp_part.get(1..) {
            let (neg, digits) = match rest.first() {
                Some(b'-') => (true, rest.get(1..)?),
                Some(b'+') => (false, rest.get(1..)?),
                _ => (false, rest),
            };
            for &d in digits {
                exp = (exp * 10 + i64::from(d - b'0')).min(1_000_000);
            }
            if neg {
                exp = -exp;
            }
        }
        let int_len = mantissa
            .iter()
            .position(|&c| c == b'.')
            .unwrap_or(mantissa.len());
        // Position of the decimal point within the digit string, after the exponent.
        let point = i64::try_from(int_len).ok()? + exp;
        let mut value: u64 = 0;
        let mut fraction = false;
        let mut pos: i64 = 0;
        for &c in mantissa {
            if c == b'.' {
                continue;
            }
            let d = u64::from(c - b'0');
            if pos < point {
                value = value.checked_mul(10)?.checked_add(d)?;
                if value > MAX {
                    return None;
                }
            } else if d != 0 {
                fraction = true;
            }
            pos += 1;
        }
        // Trailing zeros implied by a large exponent.
        while pos < point {
            if value == 0 {
                break;
            }
            value = value.checked_mul(10)?;
            if value > MAX {
                return None;
            }
            pos += 1;
        }
        if negative && (value != 0 || fraction) {
            return None;
        }
        if value == MAX && fraction {
            return None;
        }
        Some(value)
    }
}

/// A JSON string borrowed from validated text, still escaped. Comparisons and iteration
/// see the unescaped value; nothing is copied.
#[derive(Clone, Copy)]
pub struct JsonStr<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl fmt::Debug for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        fmt::Display::fmt(self, f)?;
        f.write_str("\"")
    }
}

impl fmt::Display for JsonStr<'_> {
    /// Writes the unescaped value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => self.chars().try_for_each(|c| fmt::Write::write_char(f, c)),
        }
    }
}

impl<'a> JsonStr<'a> {
    /// The value without copying, when it contains no escapes.
    #[must_use]
    pub fn as_str(&self) -> Option<&'a str> {
        if self.escaped {
            None
        } else {
            core::str::from_utf8(self.raw).ok()
        }
    }

    /// The escaped text between the quotes.
    #[must_use]
    pub fn raw(&self) -> &'a str {
        core::str::from_utf8(self.raw).unwrap_or_default()
    }

    /// The unescaped characters.
    pub fn chars(&self) -> impl Iterator<Item = char> + 'a {
        let mut rest = self.raw();
        core::iter::from_fn(move || {
            let mut it = rest.chars();
            let c = it.next()?;
            if c != '\\' {
                rest = it.as_str();
                return Some(c);
            }
            let e = it.next()?;
            let out = match e {
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => {
                    let s = it.as_str();
                    let hi = u32::from_str_radix(s.get(..4)?, 16).ok()?;
                    let mut tail = s.get(4..)?;
                    let cp = if (0xD800..0xDC00).contains(&hi) {
                        let lo = u32::from_str_radix(tail.get(2..6)?, 16).ok()?;
                        tail = tail.get(6..)?;
                        0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?)
                    } else {
                        hi
                    };
                    rest = tail;
                    return char::from_u32(cp);
                }
                other => other,
            };
            rest = it.as_str();
            Some(out)
        })
    }

    /// The text between the quotes, escapes as written.
    pub(crate) fn raw_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// True when the text between the quotes has escapes.
    pub(crate) fn is_escaped(&self) -> bool {
        self.escaped
    }

    /// The unescaped value as UTF-8 bytes.
    pub(crate) fn unescaped_bytes(&self) -> impl Iterator<Item = u8> + 'a {
        self.bytes()
    }

    /// The unescaped value as UTF-8 bytes.
    fn bytes(&self) -> impl Iterator<Item = u8> + 'a {
        self.chars().flat_map(|c| {
            let mut buf = [0u8; 4];
            let len = c.encode_utf8(&mut buf).len();
            buf.into_iter().take(len)
        })
    }

    /// True when the unescaped value equals `s`.
    #[must_use]
    pub fn eq_str(&self, s: &str) -> bool {
        if !self.escaped {
            return self.raw == s.as_bytes();
        }
        // An escape is 2 to 12 raw bytes for 1 to 4 unescaped bytes: cheap length bounds
        // reject most names before decoding anything.
        if s.len() > self.raw.len() || s.len().saturating_mul(6) < self.raw.len() {
            return false;
        }
        self.bytes().eq(s.bytes())
    }

    /// True when `word` is one of the space-separated words of the value
    /// (RFC 6749 §3.3 scope syntax: whole words, case-sensitive).
    #[must_use]
    pub fn has_word(&self, word: &str) -> bool {
        if word.is_empty() {
            return false;
        }
        if let Some(s) = self.as_str() {
            return s.split(' ').any(|w| w == word);
        }
        let want = word.as_bytes();
        // Match position inside `want`, or None once the current word has diverged.
        let mut pos: Option<usize> = Some(0);
        for b in self.bytes() {
            if b == b' ' {
                if pos == Some(want.len()) {
                    return true;
                }
                pos = Some(0);
            } else {
                pos = match pos {
                    Some(p) if want.get(p) == Some(&b) => Some(p + 1),
                    _ => None,
                };
            }
        }
        pos == Some(want.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::{format, string::String, vec::Vec};

    fn ok(s: &str) -> bool {
        validate(s.as_bytes()).is_ok()
    }

    #[test]
    fn grammar() {
        for good in [
            "{}",
            "[]",
            " {\"a\" : 1 ,\"b\":[true,false,null,-0.5e+3,\"x\"]}\r\n",
            "\"\\ud83d\\ude00\"",
            "0",
            "{\"a\":{\"a\":{\"a\":1}}}",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "",
            "{",
            "{\"a\":1,}",
            "[1,]",
            "{'a':1}",
            "{a:1}",
            "01",
            "1.",
            ".5",
            "1e",
            "NaN",
            "Infinity",
            "-Infinity",
            "tru",
            "nul",
            "\"\\q\"",
            "\"\\ud83d\"",
            "\"\\ude00\"",
            "\"\\ud83d\\u0041\"",
            "\"a\u{1}\"",
            "{} x",
            "{}{}",
            "/*c*/{}",
            "\u{feff}{}",
            "[1 2]",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
        ] {
            assert!(!ok(bad), "{bad:?}");
        }
        assert_eq!(validate(&[b'"', 0xff, b'"']), Err(JsonError::Utf8));
        assert_eq!(validate(&[b'"', 0xc0, 0xaf, b'"']), Err(JsonError::Utf8));
    }

    /// UTF-8 is checked run by run inside strings; the verdict must be exactly that of
    /// checking the whole document first, for every placement of every kind of byte.
    #[test]
    fn utf8_checked_in_place_matches_a_whole_document_check() {
        let reference = |doc: &[u8]| {
            if core::str::from_utf8(doc).is_err() {
                return Err(JsonError::Utf8);
            }
            validate(doc)
        };
        let sequences: [&[u8]; 14] = [
            "é".as_bytes(),
            "€".as_bytes(),
            "😀".as_bytes(),
            "\u{ffff}".as_bytes(),
            b"\xc3",             // truncated
            b"\x80",             // lone continuation
            b"\xc0\xaf",         // overlong
            b"\xe0\x80\xaf",     // overlong
            b"\xed\xa0\x80",     // encoded surrogate
            b"\xf4\x90\x80\x80", // above U+10FFFF
            b"\xf0\x9f\x98",     // truncated 4-byte
            b"\xc3\xa9\xa9",     // one continuation too many
            b"\xff",
            b"\xc3\xa9\xe2\x82\xac",
        ];
        let shapes: [&str; 8] = [
            r#"{"X":1}"#,
            r#"{"aX":"bX"}"#,
            r#"{"a":"X","b":"X\n"}"#,
            r#"["X",1]"#,
            r#"{"a":1X}"#,
            r#"X{"a":1}"#,
            r#"{"a":"X"} x"#,
            r#"{"a":"X","a":"X"}"#,
        ];
        for shape in shapes {
            for seq in sequences {
                for twice in [false, true] {
                    let mut doc = Vec::new();
                    for (i, part) in shape.split('X').enumerate() {
                        if i > 0 {
                            doc.extend_from_slice(seq);
                            if twice {
                                doc.extend_from_slice(seq);
                            }
                        }
                        doc.extend_from_slice(part.as_bytes());
                    }
                    let got = validate(&doc);
                    assert_eq!(got, reference(&doc), "{doc:?}");
                    if core::str::from_utf8(&doc).is_ok() {
                        // Valid text: the verdict is the shape's, whatever the letters.
                        let want = match shape {
                            r#"{"a":1X}"# | r#"X{"a":1}"# | r#"{"a":"X"} x"# => {
                                Err(JsonError::Syntax)
                            }
                            r#"{"a":"X","a":"X"}"# => Err(JsonError::Duplicate),
                            _ => Ok(()),
                        };
                        assert_eq!(got, want, "{doc:?}");
                    }
                }
            }
        }
    }

    /// The word-at-a-time hash of a plain name is the streamed hash of its bytes, for
    /// every length around the word boundaries, and an escaped spelling hashes like
    /// the plain one.
    #[test]
    fn name_hash_is_one_function_of_the_unescaped_bytes() {
        let mut next = crate::testutil::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for len in 0..40 {
            for _ in 0..50 {
                let raw: Vec<u8> = (0..len).map(|_| b'a' + (next() % 26) as u8).collect();
                let plain = JsonStr {
                    raw: &raw,
                    escaped: false,
                };
                let mut streamed = NameHash::default();
                raw.iter().for_each(|&b| streamed.push(b));
                assert_eq!(name_hash(&plain), streamed.finish(), "{raw:?}");
                // The same name with its first character escaped.
                if let Some((&first, rest)) = raw.split_first() {
                    let text = format!("\\u{:04x}{}", first, core::str::from_utf8(rest).unwrap());
                    let esc = JsonStr {
                        raw: text.as_bytes(),
                        escaped: true,
                    };
                    assert_eq!(name_hash(&esc), name_hash(&plain), "{text}");
                }
            }
        }
        // Names that differ only in length or in a padded zero byte differ.
        let h = |s: &[u8]| {
            name_hash(&JsonStr {
                raw: s,
                escaped: false,
            })
        };
        assert_ne!(h(b"a"), h(b"a\0"));
        assert_ne!(h(b""), h(b"\0"));
        assert_ne!(h(b"abcdefgh"), h(b"abcdefgh\0"));
    }

    #[test]
    fn the_exact_check_agrees_with_a_set_of_unescaped_names() {
        let mut rng = crate::testutil::xorshift(17);
        for round in 0..400 {
            let count = [1, 2, 60, 127, 128, 129, 300, 1000, 1024][round % 9];
            let mut names: alloc::vec::Vec<alloc::string::String> = (0..count)
                .map(|i| alloc::format!("n{}", i * 7919 % 100_003))
                .collect();
            let dup = round % 3 != 0 && count > 1;
            if dup {
                let (a, b) = ((rng() as usize) % count, (rng() as usize) % count);
                let b = if a == b { (b + 1) % count } else { b };
                let copy = names[a].clone();
                names[b] = copy;
            }
            let mut doc = alloc::string::String::from("{");
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    doc.push(',');
                }
                // Escape some names: equal after unescaping is still a duplicate.
                let written = if rng().is_multiple_of(4) {
                    n.replacen('n', "\\u006e", 1)
                } else {
                    n.clone()
                };
                let value = if rng().is_multiple_of(8) {
                    r#"{"n0":[1,"}"]}"#
                } else {
                    "0"
                };
                doc.push_str(&alloc::format!("\"{written}\":{value}"));
            }
            doc.push('}');
            let want = if dup {
                Err(JsonError::Duplicate)
            } else {
                Ok(())
            };
            assert_eq!(validate(doc.as_bytes()), want, "heap, {count} names");
            for room in [0usize, 100, 512, 4000, 9000] {
                let mut buf = alloc::vec![0u8; room];
                let got = validate_with(
                    doc.as_bytes(),
                    usize::MAX,
                    Scratch::Room(&mut buf),
                    &mut |_, _, _| {},
                )
                .map(|_| ());
                assert_eq!(got, want, "room {room}, {count} names");
            }
        }
    }

    /// Names whose hashes all collide sort and look up by their bytes (insertion sort
    /// for small runs, heapsort for long ones), so colliding hashes cost no more.
    #[test]
    fn entries_with_colliding_hashes_sort_by_their_names() {
        for count in [3usize, 15, 16, 17, 200] {
            let mut src = alloc::string::String::new();
            let mut at = alloc::vec::Vec::new();
            for i in (0..count).rev() {
                src.push('"');
                at.push(src.len());
                src.push_str(&alloc::format!("name{i:04}\""));
            }
            let mut bytes = alloc::vec![0u8; count * ENTRY];
            let mut e = Entries(&mut bytes);
            for (i, &a) in at.iter().enumerate() {
                e.set(i, (0xabcd_ef01u64 << 32) | a as u64);
            }
            e.sort(src.as_bytes(), count);
            for i in 1..count {
                assert!(order(src.as_bytes(), e.get(i - 1), e.get(i)).is_lt());
            }
            for &a in &at {
                assert!(e.contains(src.as_bytes(), count, (0xabcd_ef01u64 << 32) | a as u64));
            }
            src.push_str("\"other\"");
            let other = (0xabcd_ef01u64 << 32) | (src.len() - 6) as u64;
            assert!(!e.contains(src.as_bytes(), count, other));
        }
    }

    #[test]
    fn duplicates_after_unescaping() {
        assert_eq!(validate(br#"{"a":1,"a":2}"#), Err(JsonError::Duplicate));
        assert_eq!(
            validate(br#"{"exp":1,"\u0065xp":2}"#),
            Err(JsonError::Duplicate)
        );
        assert_eq!(
            validate("{\"\u{e9}\":1,\"\\u00e9\":2}".as_bytes()),
            Err(JsonError::Duplicate)
        );
        assert_eq!(validate(br#"{"a":{"a":1},"b":{"a":2}}"#), Ok(()));
        assert_eq!(validate(br#"{"a":[{"x":1},{"x":1}]}"#), Ok(()));
        assert_eq!(
            validate(br#"{"o":{"k":1,"k":1}}"#),
            Err(JsonError::Duplicate)
        );
        // Many distinct names: the filter saturates and exact rescans must still pass.
        let mut s = alloc::string::String::from("{");
        for i in 0..500 {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&alloc::format!("\"k{i}\":{{\"k{i}\":[\"}}\"]}}"));
        }
        s.push('}');
        assert_eq!(validate(s.as_bytes()), Ok(()));
        s.insert_str(1, "\"k499\":0,");
        assert_eq!(validate(s.as_bytes()), Err(JsonError::Duplicate));
    }

    #[test]
    fn name_limit() {
        let doc = br#"{"a":1,"b":{"c":2,"d":3}}"#;
        assert_eq!(
            validate_with(doc, 4, Scratch::Room(&mut []), &mut |_, _, _| {}).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            validate_with(doc, 3, Scratch::Room(&mut []), &mut |_, _, _| {}).map(|_| ()),
            Err(JsonError::TooManyNames)
        );
        // Names beyond the hash slots fall back to filter + exact rescan.
        let mut s = alloc::string::String::from("{");
        for i in 0..(NAME_SLOTS * 3) {
            s.push_str(&alloc::format!("\"\\u0041{i}\":{{\"x\":{{\"A{i}\":0}}}},"));
        }
        s.push_str("\"z\":0}");
        assert_eq!(validate(s.as_bytes()), Ok(()));
        let dup = s.replacen("\"z\"", "\"A7\"", 1);
        assert_eq!(validate(dup.as_bytes()), Err(JsonError::Duplicate));
    }

    #[test]
    fn depth() {
        let deep = |n: usize| {
            let mut s = alloc::string::String::new();
            for _ in 0..n {
                s.push('[');
            }
            for _ in 0..n {
                s.push(']');
            }
            s
        };
        assert!(ok(&deep(32)));
        assert!(ok(&deep(MAX_DEPTH)));
        assert_eq!(
            validate(deep(MAX_DEPTH + 1).as_bytes()),
            Err(JsonError::TooDeep)
        );
        assert_eq!(validate(deep(100_000).as_bytes()), Err(JsonError::TooDeep));
    }

    /// The members `validate_with` hands over are exactly those a second walk finds.
    #[test]
    fn members_from_the_validator_match_a_second_walk() {
        let docs: [&[u8]; 9] = [
            br#"{}"#,
            br#" { "a" : 1 , "b":[1,{"x":[]}], "c":{"d":{"e":"}"}},"e":{},"f":[] } "#,
            br#"{"\u0065xp":-1.5e3,"s":"a\"b\\","t":true,"f":false,"n":null}"#,
            br#"{"realm_access":{"roles":["a","b"]},"resource_access":{"c":{"roles":[]}}}"#,
            br#"[{"a":1},{"b":2}]"#,
            br#""top""#,
            br#"{"a":{"a":{"a":1}},"b":[[["]"]]]}"#,
            br#"{"k":"\ud83d\ude00","l":"\u00e9"}"#,
            b"\t{\n\"a\"\r:\n[ ]\t}\n",
        ];
        for doc in docs {
            let mut handed = Vec::new();
            let root = validate_with(doc, usize::MAX, Scratch::Room(&mut []), &mut |n, v, _| {
                handed.push((n, v))
            })
            .unwrap();
            assert_eq!(root, doc.trim_ascii(), "{}", String::from_utf8_lossy(doc));
            let walked: Vec<_> = match Object::parse(doc) {
                Ok(o) => o.iter().collect(),
                Err(_) => Vec::new(),
            };
            assert_eq!(
                handed.len(),
                walked.len(),
                "{}",
                String::from_utf8_lossy(doc)
            );
            for ((n1, v1), (n2, v2)) in handed.iter().zip(&walked) {
                assert_eq!(n1.raw(), n2.raw());
                assert_eq!(n1.is_escaped(), n2.is_escaped());
                assert_eq!(format!("{v1:?}"), format!("{v2:?}"));
            }
        }
    }

    #[test]
    fn lookups_and_strings() {
        let o = Object::parse(br#"{"iss":"https:\/\/kc","n":"Jos\u00e9","s":"a \ud83d\ude00 b","x":[1,{"y":"}"}],"z":2}"#).unwrap();
        assert!(o.get("iss").unwrap().as_str().unwrap().eq_str("https://kc"));
        assert!(o.get("n").unwrap().as_str().unwrap().eq_str("José"));
        let s = o.get("s").unwrap().as_str().unwrap();
        assert!(s.eq_str("a 😀 b"));
        assert!(s.has_word("😀"));
        assert!(!s.has_word("a 😀"));
        assert_eq!(alloc::format!("{s}"), "a 😀 b");
        assert!(matches!(o.get("z"), Some(Value::Number(n)) if n.as_json() == "2"));
        assert_eq!(o.get("x").unwrap().as_array().unwrap().iter().count(), 2);
        assert!(o.get("y").is_none());
    }

    #[test]
    fn words() {
        let o =
            Object::parse(br#"{"a":"openid profile spark","b":"open\u0069d  sparkle"}"#).unwrap();
        let a = o.get("a").unwrap().as_str().unwrap();
        let b = o.get("b").unwrap().as_str().unwrap();
        for (s, w, want) in [
            (a, "spark", true),
            (a, "openid", true),
            (a, "spar", false),
            (a, "open", false),
            (b, "openid", true),
            (b, "spark", false),
            (b, "sparkle", true),
            (b, "", false),
        ] {
            assert_eq!(s.has_word(w), want, "{s:?} {w}");
        }
    }

    #[test]
    fn numeric_dates() {
        let nd = |s: &str| {
            validate(s.as_bytes()).unwrap();
            Number { raw: s.as_bytes() }.as_numeric_date()
        };
        assert_eq!(nd("0"), Some(0));
        assert_eq!(nd("-0"), Some(0));
        assert_eq!(nd("-0.0"), Some(0));
        assert_eq!(nd("1751328120.25"), Some(1_751_328_120));
        assert_eq!(nd("1.7e9"), Some(1_700_000_000));
        assert_eq!(nd("17000000000e-1"), Some(1_700_000_000));
        assert_eq!(nd("9007199254740992"), Some(1 << 53));
        assert_eq!(nd("9007199254740992.0"), Some(1 << 53));
        assert_eq!(nd("9007199254740992.5"), None);
        assert_eq!(nd("9007199254740994"), None);
        assert_eq!(nd("9223372036854775809"), None);
        assert_eq!(nd("1e400"), None);
        assert_eq!(nd("0e999999999999"), Some(0));
        assert_eq!(nd("1e-400"), Some(0));
        assert_eq!(nd("-1"), None);
        assert_eq!(nd("-0.5"), None);
        // The plain-integer shortcut (up to 15 digits) and the general path agree.
        for n in [
            "1",
            "1764003540",
            "100000000000000",
            "999999999999999",
            "4503599627370496",
        ] {
            assert_eq!(nd(n), nd(&format!("{n}.0")), "{n}");
            assert_eq!(nd(n), n.parse::<u64>().ok(), "{n}");
        }
    }
}
