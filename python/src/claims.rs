//! `Payload`: a verified token's claims, turned into Python objects one claim at a time.
//!
//! `verify` hands the verified token to Python as it is (no copy of its text, no
//! `json.loads`): reading `sub`, `scope` or the roles then costs one lookup instead of
//! decoding the whole payload. `xconnauth._claims.Claims` builds the full mapping from
//! the payload text only when a caller wants more than that.

use std::sync::OnceLock;

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyList, PyString};
use xconnauth::{JsonStr, Value, VerifiedToken};

/// The verified payload and header of one token (built by ``verify``; wrapped by
/// ``Claims``). Not public API.
#[pyclass(frozen, module = "xconnauth._xconnauth")]
pub struct Payload {
    token: VerifiedToken,
    /// The standard claims, read on first use with one walk over the payload (each
    /// `VerifiedToken::claims()` call validates the payload again).
    standard: OnceLock<Standard>,
}

/// The string claims the verifier checked the type of, and `realm_access.roles`.
struct Standard {
    strings: Vec<(&'static str, String)>,
    scopes: Vec<String>,
    realm_roles: Vec<String>,
}

impl Payload {
    pub(crate) fn new(token: VerifiedToken) -> Payload {
        Payload {
            token,
            standard: OnceLock::new(),
        }
    }

    fn standard(&self) -> &Standard {
        self.standard.get_or_init(|| {
            let c = self.token.claims();
            let owned = |s: JsonStr<'_>| String::from_iter(s.chars());
            let strings = [
                ("iss", c.iss()),
                ("sub", c.sub()),
                ("typ", c.typ()),
                ("azp", c.azp()),
                ("scope", c.scope()),
            ]
            .into_iter()
            .filter_map(|(name, value)| Some((name, owned(value?))))
            .collect::<Vec<_>>();
            let scopes = strings
                .iter()
                .find(|(name, _)| *name == "scope")
                .map(|(_, scope)| {
                    scope
                        .split(' ')
                        .filter(|w| !w.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Standard {
                strings,
                scopes,
                realm_roles: c.realm_roles().map(owned).collect(),
            }
        })
    }
}

fn text<'py>(py: Python<'py>, s: JsonStr<'_>) -> Bound<'py, PyString> {
    match s.as_str() {
        Some(plain) => PyString::new(py, plain),
        None => PyString::new(py, &String::from_iter(s.chars())),
    }
}

/// A JSON value as `json.loads` gives it. Nesting is bounded by the core's depth limit.
fn value<'py>(py: Python<'py>, v: Value<'_>) -> PyResult<Bound<'py, PyAny>> {
    static INT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Value::Number(n) => {
            let t = n.as_json();
            if t.contains(['.', 'e', 'E']) {
                // Both round correctly to the nearest double, as `float(text)` does.
                PyFloat::new(py, t.parse::<f64>().unwrap_or(f64::NAN)).into_any()
            } else if let Ok(i) = t.parse::<i64>() {
                i.into_pyobject(py)?.into_any()
            } else {
                // Beyond i64: Python's int() (and its digit limit, as json.loads).
                INT.import(py, "builtins", "int")?.call1((t,))?
            }
        }
        Value::String(s) => text(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items.iter() {
                list.append(value(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(members) => {
            let d = PyDict::new(py);
            for (k, item) in members.iter() {
                d.set_item(text(py, k), value(py, item)?)?;
            }
            d.into_any()
        }
    })
}

fn strings<'py, 'a>(
    py: Python<'py>,
    items: impl Iterator<Item = JsonStr<'a>>,
) -> PyResult<Bound<'py, PyFrozenSet>> {
    let items: Vec<Bound<'py, PyString>> = items.map(|s| text(py, s)).collect();
    PyFrozenSet::new(py, &items)
}

#[pymethods]
impl Payload {
    /// The payload JSON text, exactly as signed.
    #[getter]
    fn json(&self) -> &str {
        self.token.payload_json()
    }

    /// The header JSON text.
    #[getter]
    fn header_json(&self) -> &str {
        self.token.header_json()
    }

    /// The claim ``name`` when it is a scalar (str, number, bool, null); ``...`` when
    /// it is a list or an object (the caller then decodes the whole payload, so that
    /// nested values stay one object per claim); ``KeyError`` when absent.
    fn scalar<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        if let Some((_, s)) = self.standard().strings.iter().find(|(n, _)| *n == name) {
            return Ok(PyString::new(py, s).into_any());
        }
        match self.token.claims().get(name) {
            None => Err(PyKeyError::new_err(name.to_owned())),
            Some(Value::Array(_) | Value::Object(_)) => Ok(py.Ellipsis().into_bound(py)),
            Some(v) => value(py, v),
        }
    }

    /// The words of ``scope``.
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
        PyFrozenSet::new(py, &self.standard().scopes)
    }

    /// ``realm_access.roles``.
    fn realm_roles<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
        PyFrozenSet::new(py, &self.standard().realm_roles)
    }

    /// ``resource_access.<client>.roles``.
    fn client_roles<'py>(
        &self,
        py: Python<'py>,
        client: &str,
    ) -> PyResult<Bound<'py, PyFrozenSet>> {
        strings(py, self.token.claims().client_roles(client))
    }
}
