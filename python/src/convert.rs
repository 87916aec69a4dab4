//! Python arguments to core types, with messages that name the option.

use std::collections::BTreeMap;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyString};
use xconnauth::{
    Algorithm, Error, ErrorKind, Policy, MAX_CACHE_ENTRIES, MAX_LEEWAY, MAX_MODULUS_BITS,
    MAX_TOKEN_BYTES_LIMIT, OPTION_NAMES,
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

/// The octets of a token argument; text that is not UTF-8 is a malformed token.
pub(crate) fn token_octets(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    let py = obj.py();
    octets(obj, what, || {
        errors::invalid_token(
            py,
            Error::new(ErrorKind::Malformed, "the token is not valid UTF-8 text"),
        )
    })
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

fn string(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let s = obj.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must hold only str values, not {}",
            type_name(obj)
        ))
    })?;
    Ok(s.to_cow()?.into_owned())
}

/// A sequence of `str`. A bare `str` (or `bytes`) is refused: iterating it would give
/// single characters, which is never what was meant.
fn names(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
    {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a sequence of str, not a single {} (wrap it in a list)",
            type_name(obj)
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a sequence of str, not {}",
            type_name(obj)
        ))
    })?;
    iter.map(|item| string(&item?, name)).collect()
}

/// A `str` or a sequence of `str`.
fn one_or_many(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Ok(vec![string(obj, name)?]);
    }
    names(obj, name).map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a str or a sequence of str, not {}",
            type_name(obj)
        ))
    })
}

/// A non-negative `int` up to `max` (a `ConfigError` otherwise, worded like core's).
fn integer(obj: &Bound<'_, PyAny>, name: &str, max: u64) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, not {}",
            type_name(obj)
        )));
    }
    match obj.extract::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(errors::config_error(
            obj.py(),
            &format!("policy: \"{name}\" must be an integer in 0..={max}, not {obj}"),
        )),
    }
}

fn client_roles(obj: &Bound<'_, PyAny>) -> PyResult<BTreeMap<String, Vec<String>>> {
    const NAME: &str = "required_client_roles";
    let mut map = BTreeMap::new();
    if obj.is_none() {
        return Ok(map);
    }
    let items = if let Ok(d) = obj.cast::<PyDict>() {
        d.items().into_any()
    } else {
        obj.call_method0("items").map_err(|_| {
            PyTypeError::new_err(format!(
                "{NAME} must be a mapping of client to a sequence of roles, not {}",
                type_name(obj)
            ))
        })?
    };
    for item in items.try_iter()? {
        let (client, roles): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        let client = string(&client, &format!("{NAME} keys"))?;
        let roles = names(&roles, &format!("{NAME}[{client:?}]"))?;
        map.insert(client, roles);
    }
    Ok(map)
}

fn algorithms(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Algorithm>> {
    names(obj, "algorithms")?
        .iter()
        .map(|a| {
            Algorithm::from_name(a).ok_or_else(|| {
                errors::config_error(
                    obj.py(),
                    &format!(
                        "policy: algorithm \"{a}\" is not supported (RS256, RS384, RS512, PS256, PS384, PS512)"
                    ),
                )
            })
        })
        .collect()
}

/// Builds a core policy from `issuers` and the keyword options of DESIGN §4; absent
/// options keep core's defaults. Unknown names are a `TypeError`, like any unexpected
/// keyword argument. The result is not validated yet (the verifier does that).
pub(crate) fn policy(
    issuers: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Policy> {
    let mut p = Policy::new(one_or_many(issuers, "issuers")?);
    let Some(options) = options else {
        return Ok(p);
    };
    for (key, value) in options.iter() {
        let key = key.cast::<PyString>()?.to_cow()?.into_owned();
        let v = &value;
        match key.as_str() {
            "audiences" => {
                p.audiences = if v.is_none() {
                    None
                } else {
                    Some(one_or_many(v, "audiences")?)
                };
            }
            "algorithms" => p.algorithms = algorithms(v)?,
            "leeway" => p.leeway = integer(v, "leeway", MAX_LEEWAY)?,
            "token_type" => {
                p.token_type = if v.is_none() {
                    None
                } else {
                    Some(
                        v.cast::<PyString>()
                            .map_err(|_| {
                                PyTypeError::new_err(format!(
                                    "token_type must be a str or None, not {}",
                                    type_name(v)
                                ))
                            })?
                            .to_cow()?
                            .into_owned(),
                    )
                };
            }
            "header_types" => {
                p.header_types = if v.is_none() {
                    None
                } else {
                    Some(one_or_many(v, "header_types")?)
                };
            }
            "required_scopes" => p.required_scopes = names(v, "required_scopes")?,
            "required_realm_roles" => p.required_realm_roles = names(v, "required_realm_roles")?,
            "required_client_roles" => p.required_client_roles = client_roles(v)?,
            "required_claims" => p.required_claims = names(v, "required_claims")?,
            "min_rsa_bits" | "max_rsa_bits" => {
                let bits = integer(v, &key, MAX_MODULUS_BITS.into())?;
                let bits = u32::try_from(bits).unwrap_or(MAX_MODULUS_BITS);
                if key == "min_rsa_bits" {
                    p.min_rsa_bits = bits;
                } else {
                    p.max_rsa_bits = bits;
                }
            }
            "max_token_bytes" => {
                let max = u64::try_from(MAX_TOKEN_BYTES_LIMIT).unwrap_or(u64::MAX);
                let n = integer(v, "max_token_bytes", max)?;
                p.max_token_bytes = usize::try_from(n).unwrap_or(MAX_TOKEN_BYTES_LIMIT);
            }
            "cache_entries" => {
                let max = u64::try_from(MAX_CACHE_ENTRIES).unwrap_or(u64::MAX);
                let n = integer(v, "cache_entries", max)?;
                p.cache_entries = usize::try_from(n).unwrap_or(MAX_CACHE_ENTRIES);
            }
            "issuers" => {
                return Err(PyTypeError::new_err(
                    "Verifier() got multiple values for argument 'issuers'",
                ))
            }
            other => {
                return Err(PyTypeError::new_err(format!(
                    "Verifier() got an unexpected keyword argument {other:?} (options: {})",
                    OPTION_NAMES.join(", ")
                )))
            }
        }
    }
    Ok(p)
}
