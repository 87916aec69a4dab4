//! Python arguments to core types, with messages that name the option.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyMapping, PyString, PyTuple,
};
use xconnauth::{
    Error, ErrorKind, OptionError, OptionShape, OptionValue, Policy, ValueKind, OPTION_NAMES,
};

use crate::errors;

/// The Python type name of `obj`, for messages.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |n| n.to_string())
}

/// The octets of a `str` (as UTF-8), `bytes` or `bytearray` argument.
///
/// # Errors
/// `TypeError` for other types; for a `str` that has no UTF-8 form (lone surrogates), the
/// error `bad_text` builds.
pub(crate) fn octets(
    obj: &Bound<'_, PyAny>,
    what: &str,
    bad_text: impl FnOnce() -> PyErr,
) -> PyResult<Vec<u8>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_cow() {
            Ok(text) => Ok(text.as_bytes().to_vec()),
            Err(_) => Err(bad_text()),
        };
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be str or bytes, not {}",
        type_name(obj)
    )))
}

/// The octets of a token argument, borrowed from the Python object where it has them
/// (`bytes`; a `str`'s UTF-8 form on Pythons whose limited API lends it) instead of
/// copied: verification reads them with the GIL released, which `PyBackedBytes`
/// allows because it keeps the immutable object alive. Text that is not UTF-8 is a
/// malformed token.
pub(crate) fn token_octets(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<TokenOctets> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.extract::<PyBackedStr>() {
            Ok(text) => Ok(TokenOctets::Str(text)),
            Err(_) => Err(errors::invalid_token(
                py,
                Error::new(ErrorKind::Malformed, "the token is not valid UTF-8 text"),
            )),
        };
    }
    if obj.cast::<PyBytes>().is_ok() || obj.cast::<PyByteArray>().is_ok() {
        return obj
            .extract::<PyBackedBytes>()
            .map(TokenOctets::Bytes)
            .map_err(Into::into);
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be str or bytes, not {}",
        type_name(obj)
    )))
}

/// A token argument's octets, kept by the Python object they came from.
pub(crate) enum TokenOctets {
    Str(PyBackedStr),
    Bytes(PyBackedBytes),
}

impl std::ops::Deref for TokenOctets {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            TokenOctets::Str(s) => s.as_bytes(),
            TokenOctets::Bytes(b) => b,
        }
    }
}

/// `now` as unix seconds: the system clock for `None`, else a non-negative `int` or a
/// finite non-negative `float` (floored, as core floors numeric dates).
pub(crate) fn unix_time(now: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    let Some(now) = now.filter(|n| !n.is_none()) else {
        return xconnauth::now()
            .ok_or_else(|| PyValueError::new_err("the system clock is set before 1970"));
    };
    if now.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "now must be an int or a float, not bool",
        ));
    }
    if let Ok(i) = now.cast::<PyInt>() {
        return i.extract::<u64>().map_err(|_| {
            PyValueError::new_err(format!(
                "now must be a non-negative unix time in seconds, not {i}"
            ))
        });
    }
    if let Ok(f) = now.cast::<PyFloat>() {
        let v = f.value();
        if !v.is_finite() || v < 0.0 {
            return Err(PyValueError::new_err(format!(
                "now must be a finite non-negative unix time in seconds, not {v}"
            )));
        }
        // Saturates above u64::MAX, which is far beyond any numeric date core accepts.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Ok(v.floor() as u64);
    }
    Err(PyTypeError::new_err(format!(
        "now must be an int, a float or None, not {}",
        type_name(now)
    )))
}

/// How deep an option value is converted: the deepest option,
/// `required_client_roles`, is a mapping of sequences of str. Deeper values (a list that
/// holds itself) are left unconverted and refused by core's parser as the wrong type.
const MAX_OPTION_DEPTH: u8 = 3;

/// The most elements converted from one sequence: far beyond any real policy, and it
/// keeps an endless iterator from growing a list without a bound.
const MAX_OPTION_ITEMS: usize = 1 << 16;

/// A keyword option's Python value as a core option value. Only the Python types are
/// translated here; which shapes and ranges an option takes is core's one parser's
/// decision (`Policy::set_option`).
fn option_value(obj: &Bound<'_, PyAny>, name: &str, depth: u8) -> PyResult<OptionValue> {
    if obj.is_none() {
        return Ok(OptionValue::Null);
    }
    if depth >= MAX_OPTION_DEPTH {
        return Ok(OptionValue::Other(type_name(obj)));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(OptionValue::Str(s.to_cow()?.into_owned()));
    }
    // bool is an int subclass, float is no int: both are other types to core.
    if obj.is_instance_of::<PyBool>()
        || obj.is_instance_of::<PyFloat>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
    {
        return Ok(OptionValue::Other(type_name(obj)));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return Ok(i
            .extract::<u64>()
            .map_or_else(|_| OptionValue::Number(i.to_string()), OptionValue::Int));
    }
    let items = if let Ok(d) = obj.cast::<PyDict>() {
        Some(d.items().into_any())
    } else if let Ok(m) = obj.cast::<PyMapping>() {
        Some(m.items()?.into_any())
    } else {
        None
    };
    if let Some(items) = items {
        let mut map = Vec::new();
        for item in items.try_iter()? {
            let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let key = key.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "{name} keys must hold only str values, not {}",
                    type_name(&key)
                ))
            })?;
            map.push((
                key.to_cow()?.into_owned(),
                option_value(&value, name, depth + 1)?,
            ));
            if map.len() > MAX_OPTION_ITEMS {
                return Err(too_many(name));
            }
        }
        return Ok(OptionValue::Map(map));
    }
    let Ok(iter) = obj.try_iter() else {
        return Ok(OptionValue::Other(type_name(obj)));
    };
    let mut list = Vec::new();
    for item in iter {
        list.push(option_value(&item?, name, depth + 1)?);
        if list.len() > MAX_OPTION_ITEMS {
            return Err(too_many(name));
        }
    }
    Ok(OptionValue::List(list))
}

fn too_many(name: &str) -> PyErr {
    PyValueError::new_err(format!("{name} holds more than {MAX_OPTION_ITEMS} values"))
}

/// Core's verdict on an option, in Python's terms: a wrong type is a `TypeError` worded
/// with Python type names, an unknown name a `TypeError` like any unexpected keyword
/// argument, a refused value a `ConfigError`.
fn option_error(py: Python<'_>, err: OptionError) -> PyErr {
    match err {
        OptionError::WrongType {
            option,
            client,
            want,
            got,
            item,
        } => {
            let path = match client {
                Some(client) => format!("{option}[{client:?}]"),
                None => option.to_owned(),
            };
            let got = match got {
                ValueKind::Null => "NoneType".to_owned(),
                ValueKind::Number => "int".to_owned(),
                ValueKind::Str => "str".to_owned(),
                ValueKind::List => "list".to_owned(),
                ValueKind::Map => "dict".to_owned(),
                ValueKind::Other(name) => name,
            };
            let message = match want {
                OptionShape::List if item => {
                    format!("{path} must hold only str values, not {got}")
                }
                // Iterating a str would give single characters: never what was meant.
                OptionShape::List if matches!(got.as_str(), "str" | "bytes" | "bytearray") => {
                    format!(
                        "{path} must be a sequence of str, not a single {got} (wrap it in a list)"
                    )
                }
                OptionShape::List => format!("{path} must be a sequence of str, not {got}"),
                OptionShape::StrOrList => {
                    format!("{path} must be a str or a sequence of str, not {got}")
                }
                OptionShape::Integer => format!("{path} must be an int, not {got}"),
                OptionShape::StrOrNull => format!("{path} must be a str or None, not {got}"),
                OptionShape::RoleMap => {
                    format!("{path} must be a mapping of client to a sequence of roles, not {got}")
                }
                _ => format!("{path} has the wrong type: {got}"),
            };
            PyTypeError::new_err(message)
        }
        OptionError::Unknown(name) => PyTypeError::new_err(format!(
            "Verifier() got an unexpected keyword argument {name:?} (options: {})",
            OPTION_NAMES.join(", ")
        )),
        OptionError::Invalid(e) => errors::from_config(py, &e),
        other => errors::config_error(py, &other.to_string()),
    }
}

/// Builds a core policy from `issuers` and the keyword options of DESIGN §4 through
/// core's one option parser; absent options keep core's defaults. The result is not
/// validated yet (the verifier does that).
pub(crate) fn policy(
    issuers: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Policy> {
    let py = issuers.py();
    let mut p = Policy::default();
    p.set_option("issuers", option_value(issuers, "issuers", 0)?)
        .map_err(|e| option_error(py, e))?;
    let Some(options) = options else {
        return Ok(p);
    };
    for (key, value) in options.iter() {
        let key = key.cast::<PyString>()?.to_cow()?;
        if key == "issuers" {
            return Err(PyTypeError::new_err(
                "Verifier() got multiple values for argument 'issuers'",
            ));
        }
        p.set_option(&key, option_value(&value, &key, 0)?)
            .map_err(|e| option_error(py, e))?;
    }
    Ok(p)
}

/// A policy option's value as Python shows it: sequences as tuples, mappings as dicts.
pub(crate) fn option_object<'py>(
    py: Python<'py>,
    value: OptionValue,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        OptionValue::Null => py.None().into_bound(py),
        OptionValue::Int(v) => v.into_pyobject(py)?.into_any(),
        OptionValue::Number(text) | OptionValue::Str(text) | OptionValue::Other(text) => {
            PyString::new(py, &text).into_any()
        }
        OptionValue::List(items) => {
            let items = items
                .into_iter()
                .map(|v| option_object(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)?.into_any()
        }
        OptionValue::Map(members) => {
            let d = PyDict::new(py);
            for (k, v) in members {
                d.set_item(k, option_object(py, v)?)?;
            }
            d.into_any()
        }
    })
}
