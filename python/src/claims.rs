//! `Payload`: a verified token's claims, turned into Python objects one claim at a time.
//!
//! `verify` hands the verified token to Python as it is (no copy of its text, no
//! `json.loads`): reading `sub`, `scope` or the roles then costs one lookup instead of
//! decoding the whole payload. `xconnauth._claims.Claims` builds the full mapping from
//! the payload text only when a caller wants more than that.

use pyo3::exceptions::PyKeyError;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyList, PyString};
use xconnauth::{JsonStr, Value, VerifiedToken};

/// The verified payload and header of one token (built by ``verify``; wrapped by
/// ``Claims``). Not public API.
///
/// Every accessor reads from the token as verification left it: the core rebuilds the
/// claims in constant time, and the standard ones (`iss`, `sub`, `typ`, `azp`, `scope`,
/// the roles) are already located, so a lookup converts just the value asked for.
#[pyclass(frozen, module = "xconnauth._xconnauth")]
pub struct Payload {
    token: VerifiedToken,
}

impl Payload {
    pub(crate) fn new(token: VerifiedToken) -> Payload {
        Payload { token }
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

/// What a shared set was built from.
#[derive(Clone, Copy)]
enum Kind {
    Scope,
    RealmRoles,
}

/// Sets kept at most per kind (then that kind's are dropped and it starts again).
const SHARED_SETS: usize = 256;
/// Longer texts are converted every time, never kept.
const SHARED_SET_TEXT: usize = 1024;

type SetMap = HashMap<Box<str>, Py<PyFrozenSet>>;

#[derive(Default)]
struct SharedSets {
    scope: SetMap,
    realm_roles: SetMap,
}

impl SharedSets {
    fn of(&mut self, kind: Kind) -> &mut SetMap {
        match kind {
            Kind::Scope => &mut self.scope,
            Kind::RealmRoles => &mut self.realm_roles,
        }
    }
}

/// The frozenset for `raw` (a `scope` string's JSON text, or a roles array's), built by
/// `build` once and then shared: tokens of one realm carry the same few scope strings and
/// role lists, and a frozenset of strings is immutable, so every `Claims` may hold the
/// same one. Building it was most of what reading `scopes` or `realm_roles` cost.
fn shared_set<'py>(
    py: Python<'py>,
    kind: Kind,
    raw: &str,
    build: impl FnOnce() -> PyResult<Bound<'py, PyFrozenSet>>,
) -> PyResult<Bound<'py, PyFrozenSet>> {
    static SETS: Mutex<Option<SharedSets>> = Mutex::new(None);
    if raw.len() > SHARED_SET_TEXT {
        return build();
    }
    {
        // Only a lookup under the lock: building or dropping Python objects there could
        // run a collection, and with it code that verifies and comes back here.
        let mut sets = SETS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(set) = sets
            .get_or_insert_with(SharedSets::default)
            .of(kind)
            .get(raw)
        {
            return Ok(set.bind(py).clone());
        }
    }
    let set = build()?;
    let dropped = {
        let mut sets = SETS.lock().unwrap_or_else(PoisonError::into_inner);
        let map = sets.get_or_insert_with(SharedSets::default).of(kind);
        let dropped = (map.len() >= SHARED_SETS).then(|| std::mem::take(map));
        map.insert(raw.into(), set.clone().unbind());
        dropped
    };
    drop(dropped);
    Ok(set)
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
        let c = self.token.claims();
        // The claims verification typed as strings, found without a walk.
        let located = match name {
            "iss" => c.iss(),
            "sub" => c.sub(),
            "typ" => c.typ(),
            "azp" => c.azp(),
            "scope" => c.scope(),
            _ => None,
        };
        if let Some(s) = located {
            return Ok(text(py, s).into_any());
        }
        match c.get(name) {
            None => Err(PyKeyError::new_err(name.to_owned())),
            Some(Value::Array(_) | Value::Object(_)) => Ok(py.Ellipsis().into_bound(py)),
            Some(v) => value(py, v),
        }
    }

    /// The words of ``scope``.
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
        let Some(scope) = self.token.claims().scope() else {
            return PyFrozenSet::empty(py);
        };
        shared_set(py, Kind::Scope, scope.raw(), || {
            let words = |s: &str| -> Vec<Bound<'py, PyString>> {
                s.split(' ')
                    .filter(|w| !w.is_empty())
                    .map(|w| PyString::new(py, w))
                    .collect()
            };
            match scope.as_str() {
                Some(plain) => PyFrozenSet::new(py, words(plain)),
                // Split the unescaped text: an escaped space separates words too.
                None => PyFrozenSet::new(py, words(&String::from_iter(scope.chars()))),
            }
        })
    }

    /// ``realm_access.roles``.
    fn realm_roles<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
        let c = self.token.claims();
        match c.realm_roles_json() {
            Some(raw) => shared_set(py, Kind::RealmRoles, raw, || strings(py, c.realm_roles())),
            None => PyFrozenSet::empty(py),
        }
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

/// A `Claims` property read from its verified token, or for claims built from a
/// mapping by the Python method `fallback`. The properties call this directly: a Python
/// `property` body would add a Python frame to every read.
fn property<'py>(
    claims: &Bound<'py, PyAny>,
    read: impl FnOnce(&Payload, Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>>,
    fallback: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = claims.py();
    match claims.getattr(intern!(py, "_payload"))?.cast::<Payload>() {
        Ok(payload) => Ok(read(payload.get(), py)?.into_any()),
        Err(_) => claims.call_method0(fallback),
    }
}

/// `Claims.scopes`.
#[pyfunction(name = "_claims_scopes")]
pub(crate) fn claims_scopes<'py>(claims: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let fallback = intern!(claims.py(), "_scopes_from_data");
    property(claims, Payload::scopes, fallback)
}

/// `Claims.realm_roles`.
#[pyfunction(name = "_claims_realm_roles")]
pub(crate) fn claims_realm_roles<'py>(claims: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let fallback = intern!(claims.py(), "_realm_roles_from_data");
    property(claims, Payload::realm_roles, fallback)
}
