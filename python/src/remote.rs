//! `RemoteVerifier`: the Rust key engine (`xconnauth-remote`) behind `JWKSClient`.
//!
//! Fetches, waits for a single-flight refresh and RSA work all run with the GIL
//! released, so other Python threads (and an event loop offloading to a thread) go on.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use xconnauth::{Error, ErrorKind, VerifiedToken};
use xconnauth_remote::{Options, RemoteError};

use crate::{convert, errors, policy_dict, Verifier};

/// A verifier that trusts issuers by URL and keeps their keys fresh (DESIGN §5).
///
/// ``RemoteVerifier(issuers, options_json, **policy)``: ``options_json`` is the engine's
/// options object (``timeout``, ``max_bytes``, ``default_ttl``, ``min_ttl``, ``max_ttl``,
/// ``refresh_cooldown``, ``ca_file``, ``fail_fast``, ``non_blocking``, ``jwks_uris``);
/// ``policy`` the ``Verifier`` keyword options. Prefer ``JWKSClient``, which builds it.
#[pyclass(frozen, module = "xconnauth._xconnauth")]
pub struct RemoteVerifier {
    inner: xconnauth_remote::RemoteVerifier,
}

fn remote_error(py: Python<'_>, err: RemoteError) -> PyErr {
    match err {
        RemoteError::Config(e) => errors::from_config(py, &e),
        other => errors::jwks_error(py, &other.message()),
    }
}

fn unix_seconds(t: Option<SystemTime>) -> Option<f64> {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
}

impl RemoteVerifier {
    /// The current keys only: no refresh, no wait. `keys_unavailable` while there are none.
    fn cached(&self, token: &[u8], now: u64, header: bool) -> Result<VerifiedToken, Error> {
        let Some(v) = self.inner.snapshot() else {
            return Err(Error::new(
                ErrorKind::KeysUnavailable,
                "no signing keys yet: an issuer's keys could not be fetched so far",
            ));
        };
        if header {
            v.verify_header_bytes(token, now)
        } else {
            v.verify(token, now)
        }
    }
}

#[pymethods]
impl RemoteVerifier {
    #[new]
    #[pyo3(signature = (issuers, options_json, **policy))]
    fn new(
        py: Python<'_>,
        issuers: &Bound<'_, PyAny>,
        options_json: &str,
        policy: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<RemoteVerifier> {
        let policy = convert::policy(issuers, policy)?;
        let options =
            Options::from_json(options_json.as_bytes()).map_err(|e| errors::from_config(py, &e))?;
        // With fail_fast the constructor fetches: no GIL held meanwhile.
        let inner = py
            .detach(move || xconnauth_remote::RemoteVerifier::new(policy, options))
            .map_err(|e| remote_error(py, e))?;
        Ok(RemoteVerifier { inner })
    }

    /// Verifies a compact JWS; an unknown kid refreshes the keys (single-flight, at most
    /// once per cooldown) and waits for that, at most the fetch deadline, unless the
    /// engine is non-blocking. Raises ``InvalidToken`` subclasses or ``KeysUnavailable``.
    #[pyo3(signature = (token, now=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Verifier::run(py, token, "token", now, |t, now| self.inner.verify(t, now))
    }

    /// ``verify`` for an ``Authorization`` header value, ``Bearer <token>``.
    #[pyo3(signature = (value, now=None))]
    fn verify_header<'py>(
        &self,
        py: Python<'py>,
        value: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Verifier::run(py, value, "value", now, |v, now| {
            self.inner.verify_header_bytes(v, now)
        })
    }

    /// Verifies with the keys held now, never fetching nor waiting (for an event loop:
    /// an ``UnknownKid`` or ``KeysUnavailable`` here is then retried with ``verify`` off
    /// the loop). ``header``: ``token`` is an ``Authorization`` value.
    #[pyo3(signature = (token, now=None, header=false))]
    fn verify_cached<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        header: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        Verifier::run(py, token, "token", now, |t, now| {
            self.cached(t, now, header)
        })
    }

    /// Fetches every issuer's keys now (ignoring the cooldown, joining a fetch under
    /// way), waiting at most the deadline. Raises ``JWKSError`` for the first failed
    /// issuer; the last good keys stay in use.
    fn refresh(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.refresh())
            .map_err(|e| remote_error(py, e))
    }

    /// Per issuer, a dict: ``issuer``, ``jwks_uri``, ``last_success`` and ``expires_at``
    /// (unix seconds or ``None``), ``last_error`` (str or ``None``), ``fetch_count``
    /// (attempts finished), ``kids`` (tuple of key ids in use).
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for s in self.inner.status() {
            let d = PyDict::new(py);
            d.set_item("issuer", &s.issuer)?;
            d.set_item("jwks_uri", s.jwks_uri.as_deref())?;
            d.set_item("last_success", unix_seconds(s.last_success))?;
            d.set_item("last_error", s.last_error.as_deref())?;
            d.set_item("fetch_count", s.fetch_count)?;
            d.set_item("kids", PyTuple::new(py, &s.kids)?)?;
            d.set_item("expires_at", unix_seconds(s.expires_at))?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// A plain ``Verifier`` over the keys held now (``None`` while there are none).
    fn snapshot(&self) -> Option<Verifier> {
        self.inner
            .snapshot()
            .map(|v: Arc<xconnauth::Verifier>| v.into())
    }

    /// The policy as a dict of DESIGN §4 options.
    #[getter]
    fn policy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        policy_dict(py, self.inner.policy())
    }

    fn __repr__(&self) -> String {
        format!("RemoteVerifier(issuers={:?})", self.inner.policy().issuers)
    }
}
