//! Validation: the iterative RFC 8259 validator and the shapes of root members it
//! reports to one-pass readers.

use super::*;

/// `"name" :` of a member of the innermost object, recorded for duplicate detection.
// Inlined on 64-bit hosts for speed, kept out of line on microcontrollers for flash.
#[cfg_attr(target_pointer_width = "64", inline(always))]
pub(super) fn member_name<'a>(
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

pub(super) const NON_STRING_IN_ARRAY: u8 = 1;
pub(super) const NON_OBJECT_MEMBER_AT_2: u8 = 2;
pub(super) const NON_ARRAY_MEMBER_AT_3: u8 = 4;

impl Shape {
    /// Nothing verified: every reader walks.
    pub(crate) const UNKNOWN: Shape = Shape(0xff);
    const CLEAN: Shape = Shape(0);

    /// A value of `kind` completed inside the container at `depth` (an array when
    /// `in_array`); the root object is depth 1, its members' children are at depth 2.
    #[inline]
    pub(super) fn note(&mut self, depth: usize, in_array: bool, kind: Kind) {
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
pub(super) enum Kind {
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
/// object is checked exactly), and with [`Scratch::Room`] it never allocates.
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

pub(super) fn validate_grammar<'a>(
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
