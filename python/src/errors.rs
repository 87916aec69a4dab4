//! Core errors as Python exceptions.
//!
//! The exception classes are defined in Python (`xconnauth/_errors.py`) so they pickle,
//! subclass and document like any Python exception; Rust only looks them up. A rejected
//! token raises the subclass of `InvalidToken` named after its category, carrying the
//! core error itself (attribute `_error`) so the HTTP helpers can answer with exactly
//! what core would write.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyString};
use xconnauth::{ConfigError, Error, ErrorKind};

/// The Python module holding the exception classes.
const ERRORS_MODULE: &str = "xconnauth._errors";

/// The core error behind an `InvalidToken` raised by the verifier.
#[pyclass(frozen, name = "_CoreError", module = "xconnauth._xconnauth")]
pub(crate) struct CoreError(pub(crate) Error);

#[pymethods]
impl CoreError {
    fn __repr__(&self) -> String {
        format!("<core error {}>", self.0)
    }
}

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import(ERRORS_MODULE)?.unbind()))
        .map(|m| m.bind(py))
}

/// The `InvalidToken` subclass for a category, from the one mapping in
/// `xconnauth._errors.exception_class`. `ErrorKind` is `#[non_exhaustive]`: a category
/// added to core later, before Python has a class for it, raises the base class (with
/// the right `.code` on the instance; the flag says so).
fn exception_class<'py>(py: Python<'py>, kind: ErrorKind) -> PyResult<(Bound<'py, PyAny>, bool)> {
    let module = errors_module(py)?;
    match module.call_method1("exception_class", (kind.code(),)) {
        Ok(class) => Ok((class, false)),
        Err(_) => Ok((module.getattr("InvalidToken")?, true)),
    }
}

/// Converts a rejected token into the matching `InvalidToken` subclass.
pub(crate) fn invalid_token(py: Python<'_>, err: Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let (class, fallback) = exception_class(py, err.kind())?;
        let exc = class.call1((err.detail().to_string(),))?;
        if fallback {
            exc.setattr("code", err.code())?;
            exc.setattr("status", err.http_status())?;
        }
        exc.setattr("_error", Py::new(py, CoreError(err.clone()))?)?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// A `xconnauth.ConfigError` (a `ValueError`) with `message`.
pub(crate) fn config_error(py: Python<'_>, message: &str) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = errors_module(py)?.getattr("ConfigError")?;
        Ok(PyErr::from_value(class.call1((message,))?))
    };
    build().unwrap_or_else(|e| e)
}

/// A `xconnauth.JWKSError` with `message`: keys could not be fetched or used.
pub(crate) fn jwks_error(py: Python<'_>, message: &str) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = errors_module(py)?.getattr("JWKSError")?;
        Ok(PyErr::from_value(class.call1((message,))?))
    };
    build().unwrap_or_else(|e| e)
}

/// A core configuration error as `xconnauth.ConfigError`.
pub(crate) fn from_config(py: Python<'_>, err: &ConfigError) -> PyErr {
    config_error(py, err.message())
}

/// The core error an `InvalidToken` stands for, plus the message to show when it was not
/// raised by the verifier (an application may raise `MissingRole("...")` itself).
///
/// Verifier-raised exceptions give back the exact core error. For others the category
/// comes from `.code`; core's `Error` holds only static messages, so the exception's own
/// `.message` is returned beside it for the callers that can use a runtime text.
pub(crate) fn error_of(exc: &Bound<'_, PyAny>) -> PyResult<(Error, Option<String>)> {
    let py = exc.py();
    let module = errors_module(py)?;
    let base = module.getattr("InvalidToken")?;
    // The base of every 5xx category (`KeysUnavailable`), generated like the others.
    let unavailable = module.getattr("_Unavailable")?;
    if !exc.is_instance(&base)? && !exc.is_instance(&unavailable)? {
        return Err(PyTypeError::new_err(format!(
            "expected an xconnauth.InvalidToken or KeysUnavailable, not {}",
            exc.get_type().name()?
        )));
    }
    if let Ok(core) = exc.getattr("_error") {
        if let Ok(core) = core.cast::<CoreError>() {
            return Ok((core.get().0.clone(), None));
        }
    }
    let code = exc.getattr("code")?;
    let code = code.cast::<PyString>()?.to_cow()?;
    let kind = ErrorKind::from_code(&code).ok_or_else(|| {
        PyTypeError::new_err(format!(
            "{code:?} is not an xconnauth error category; raise one of the InvalidToken subclasses"
        ))
    })?;
    let message = exc
        .getattr("message")
        .ok()
        .and_then(|m| {
            m.cast::<PyString>()
                .ok()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .filter(|m| !m.is_empty());
    Ok((Error::new(kind, kind.title()), message))
}
