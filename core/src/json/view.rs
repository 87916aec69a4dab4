//! Views: [`Value`], [`Object`] and [`Array`] borrowed from validated text.

use super::*;

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
    pub(super) raw: &'a [u8],
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
    pub(super) raw: &'a [u8],
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

/// Views rebuilt over text that was validated earlier, at the same place in a copy of
/// the same bytes (a verified token's spans, see `claims::ClaimSpans`): parse once, so the
/// accessors of an owned or cached result never run the validator again.
impl<'a> Object<'a> {
    pub(crate) fn from_validated(raw: &'a [u8]) -> Self {
        Object { raw }
    }
}

impl<'a> Array<'a> {
    pub(crate) fn from_validated(raw: &'a [u8]) -> Self {
        Array { raw }
    }
}
