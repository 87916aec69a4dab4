//! `xconnauth._xconnauth`: the compiled half of the `xconnauth` Python package.
//!
//! Thin bindings over the `xconnauth` core crate: a [`KeySet`] parsed from JWKS JSON, an
//! immutable, thread-safe [`Verifier`] whose RSA work runs with the GIL released, and the
//! core's HTTP answer helpers. Exceptions and the `Claims` mapping are defined in Python
//! (`pysrc/xconnauth`) and looked up from here.

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyMapping, PyString, PyTuple};
use xconnauth::http::{ProblemDetails, I2_CONNECT_PROBLEM_TYPE};
use xconnauth::{ConfigError, Discovery, ErrorKind, Policy, VerifiedToken};
use xconnauth_remote::swap::KeySwap;

mod claims;
mod convert;
mod errors;
mod remote;

/// A set of trusted RSA signing keys, parsed once from a JWKS document.
///
/// Only RSA signing keys are kept (``kty`` ``RSA``, ``use`` absent or ``sig``); other
/// entries (EC keys, ``use: enc`` / RSA-OAEP keys) and malformed ones (``"use": null``,
/// a numeric ``kid``, a bad ``n`` or ``e``, ...) are skipped and listed in ``skipped``
/// with their reason. A document without any usable key raises ``ConfigError``.
#[pyclass(frozen, module = "xconnauth._xconnauth")]
pub struct KeySet {
    inner: xconnauth::KeySet,
}

#[pymethods]
impl KeySet {
    /// Parses JWKS JSON (``{"keys": [...]}``) as a realm publishes it at
    /// ``<realm>/protocol/openid-connect/certs``.
    ///
    /// ``backend`` picks the RSA implementation by name (one of ``BACKENDS``); the
    /// default is the fastest one in this build (``DEFAULT_BACKEND``). Both give the
    /// same verdict on every token.
    ///
    /// Raises ``ConfigError`` when the document is not strict JSON, is too large, has
    /// no ``keys`` array or no usable signing key (malformed entries are skipped, see
    /// ``skipped``); ``TypeError`` unless ``jwks`` is str or bytes; ``ValueError`` for
    /// an unknown backend name.
    #[staticmethod]
    #[pyo3(signature = (jwks, backend = None))]
    fn from_jwks(
        py: Python<'_>,
        jwks: &Bound<'_, PyAny>,
        backend: Option<&str>,
    ) -> PyResult<KeySet> {
        let backend = match backend {
            None => xconnauth::Backend::default(),
            Some(name) => xconnauth::Backend::ALL
                .iter()
                .copied()
                .find(|b| b.name() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        xconnauth::Backend::ALL.iter().map(|b| b.name()).collect();
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "unknown backend {name:?}: this build has {}",
                        known.join(", ")
                    ))
                })?,
        };
        let bytes = convert::octets(jwks, "jwks", || {
            errors::config_error(py, "JWKS text is not valid UTF-8")
        })?;
        let parsed = py.detach(move || xconnauth::KeySet::from_jwks_with(&bytes, backend));
        parsed
            .map(|inner| KeySet { inner })
            .map_err(|e| errors::from_config(py, &e))
    }

    /// The ``kid`` of each usable key, in document order (``None`` for a key without
    /// one).
    #[getter]
    fn kids(&self) -> Vec<Option<String>> {
        self.inner
            .iter()
            .map(|k| k.kid().map(str::to_owned))
            .collect()
    }

    /// The JWKS entries that are not in the set, in document order: one dict per entry
    /// with ``index`` (position in ``keys``), ``kid`` (``None`` unless a string) and
    /// ``reason``.
    #[getter]
    fn skipped<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner
            .skipped()
            .iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("index", s.index)?;
                d.set_item("kid", s.kid.as_deref())?;
                d.set_item("reason", &s.reason)?;
                Ok(d)
            })
            .collect()
    }

    /// The name of the RSA implementation these keys verify with.
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner
            .iter()
            .next()
            .map_or(xconnauth::Backend::default(), xconnauth::RsaKey::backend)
            .name()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        let keys: Vec<String> = self
            .inner
            .iter()
            .map(|k| {
                format!(
                    "{} ({}, {} bits)",
                    k.kid().unwrap_or("<no kid>"),
                    k.alg().map_or("any alg", |a| a.name()),
                    k.bits()
                )
            })
            .collect();
        format!("KeySet([{}])", keys.join(", "))
    }
}

/// The keys a verifier is built from: one set for every issuer, or one per issuer.
enum Keys {
    One(xconnauth::KeySet),
    PerIssuer(Vec<(String, xconnauth::KeySet)>),
}

impl Keys {
    fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Keys> {
        if let Ok(ks) = obj.cast::<KeySet>() {
            return Ok(Keys::One(ks.get().inner.clone()));
        }
        if let Ok(map) = obj.cast::<PyMapping>() {
            let mut sets = Vec::new();
            for item in map.items()?.iter() {
                let (issuer, ks): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                let issuer = issuer.cast::<PyString>().map_err(|_| {
                    PyTypeError::new_err("keys: a mapping's keys must be issuer strings")
                })?;
                let ks = ks.cast::<KeySet>().map_err(|_| {
                    PyTypeError::new_err("keys: a mapping's values must be KeySet objects")
                })?;
                sets.push((issuer.to_cow()?.into_owned(), ks.get().inner.clone()));
            }
            return Ok(Keys::PerIssuer(sets));
        }
        Err(PyTypeError::new_err(format!(
            "keys must be a KeySet or a mapping of issuer to KeySet, not {}",
            obj.get_type().name()?
        )))
    }

    fn build(self, policy: Policy) -> Result<xconnauth::Verifier, ConfigError> {
        match self {
            Keys::One(keys) => xconnauth::Verifier::new(keys, policy),
            Keys::PerIssuer(sets) => xconnauth::Verifier::with_issuer_keys(policy, sets),
        }
    }
}

/// Verifies bearer tokens against trusted keys and a policy (DESIGN §4 options).
///
/// ``Verifier(keys, issuers, *, audiences=None, algorithms=("RS256",), leeway=30,
/// token_type="Bearer", required_scopes=(), required_realm_roles=(),
/// required_client_roles=None, required_claims=("exp",), min_rsa_bits=2048,
/// max_rsa_bits=8192, max_token_bytes=16384, header_types=None, cache_entries=0)``
///
/// ``keys`` is a ``KeySet`` (trusted for every issuer) or a mapping of issuer to
/// ``KeySet`` (a token must then be signed by a key of the realm its ``iss`` names).
/// ``issuers``, ``audiences`` and ``header_types`` take a str or a sequence of str;
/// ``audiences=None`` and ``token_type=None`` switch those checks off. RFC 9068 access
/// tokens (oidc-provider, Auth0, ...): ``token_type=None, header_types=["at+jwt"]``. Invalid options raise ``ConfigError``
/// (a ``ValueError``), wrong types ``TypeError``.
///
/// A verifier is safe to share between threads. ``verify`` releases the GIL for the
/// RSA work. Key rotation: ``with_keys`` returns a new verifier with the same policy;
/// ``set_keys`` swaps the key set of this verifier in place, atomically (a verify in
/// flight finishes with the keys it started with; no verify ever sees a mix).
#[pyclass(frozen, module = "xconnauth._xconnauth")]
pub struct Verifier {
    // Verify loads it without a lock or a shared reference count bump (KeySwap, shared
    // with the C ABI and the key engine); `set_keys` swaps it whole.
    inner: KeySwap<xconnauth::Verifier>,
}

impl From<Arc<xconnauth::Verifier>> for Verifier {
    fn from(v: Arc<xconnauth::Verifier>) -> Self {
        Verifier {
            inner: KeySwap::new(v),
        }
    }
}

impl Verifier {
    fn rebuilt(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<xconnauth::Verifier> {
        let keys = Keys::extract(keys)?;
        let policy = self.inner.load().policy().clone();
        keys.build(policy).map_err(|e| errors::from_config(py, &e))
    }

    /// The one road of every `verify*` method of both verifier classes: the argument's
    /// octets and the time from Python, `check` with the GIL released, the result as a
    /// `Claims` or the category's exception.
    pub(crate) fn run<'py>(
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
        what: &str,
        now: Option<&Bound<'py, PyAny>>,
        check: impl FnOnce(&[u8], u64) -> Result<VerifiedToken, xconnauth::Error> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let octets = convert::token_octets(input, what)?;
        let now = convert::unix_time(now)?;
        let result = py.detach(|| check(&octets, now));
        Self::finish(py, result)
    }

    fn finish<'py>(
        py: Python<'py>,
        result: Result<VerifiedToken, xconnauth::Error>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // `Claims._from_payload`, looked up once (a lookup per call was a tenth of a
        // cache hit).
        static FROM_PAYLOAD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let token = result.map_err(|err| errors::invalid_token(py, err))?;
        // `Claims` converts claims on access, where that can no longer fail: the core
        // validated the payload as strict JSON. The one exception is Python's integer
        // digit limit (`sys.set_int_max_str_digits`, never below 640 unless off), so a
        // payload with a longer digit run is decoded now, and a refusal is this token's
        // verdict instead of a `ValueError` at some later claim access.
        let decode_now =
            has_digit_run_over(token.payload_json().as_bytes(), MIN_INT_MAX_STR_DIGITS);
        let payload = Bound::new(py, claims::Payload::new(token))?;
        let claims = FROM_PAYLOAD
            .get_or_try_init(py, || {
                let claims = py.import("xconnauth._claims")?.getattr("Claims")?;
                claims.getattr("_from_payload").map(Bound::unbind)
            })?
            .bind(py)
            .call1((payload, decode_now));
        match claims {
            Err(e) if decode_now && e.is_instance_of::<PyValueError>(py) => {
                Err(errors::invalid_token(
                    py,
                    xconnauth::Error::new(
                        ErrorKind::TooLarge,
                        "a number in the payload has more digits than this Python \
                         converts to int (sys.get_int_max_str_digits())",
                    ),
                ))
            }
            other => other,
        }
    }
}

/// The lowest limit `sys.set_int_max_str_digits` accepts (CPython's
/// `_PY_LONG_MAX_STR_DIGITS_THRESHOLD`); 0 means no limit.
const MIN_INT_MAX_STR_DIGITS: usize = 640;

/// True when `text` has more than `limit` ASCII digits in a row: the only way a JSON
/// integer in it can have more than `limit` digits.
///
/// Runs on every verification, so it looks at one byte in `limit` instead of all of
/// them (it was half the time of a cache hit): any run longer than `limit` covers one
/// of the bytes at `limit - 1`, `2 * limit - 1`, ...; only a digit found there is
/// measured, and each run at most once.
fn has_digit_run_over(text: &[u8], limit: usize) -> bool {
    let Some(step) = limit.checked_sub(1) else {
        return text.iter().any(u8::is_ascii_digit);
    };
    let mut at = step;
    while let Some(b) = text.get(at) {
        if !b.is_ascii_digit() {
            at += limit;
            continue;
        }
        let (before, after) = text.split_at(at);
        let start = before
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let end = after
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(text.len(), |i| at + i);
        if end - start > limit {
            return true;
        }
        // The next run that could be too long starts after `end` and so covers
        // `end + limit`.
        at = end + limit;
    }
    false
}

#[pymethods]
impl Verifier {
    #[new]
    #[pyo3(signature = (keys, issuers, **options))]
    #[pyo3(
        text_signature = "(keys, issuers, *, audiences=None, algorithms=['RS256'], leeway=30, token_type='Bearer', required_scopes=(), required_realm_roles=(), required_client_roles=None, required_claims=['exp'], min_rsa_bits=2048, max_rsa_bits=8192, max_token_bytes=16384, header_types=None, cache_entries=0)"
    )]
    fn new(
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        issuers: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Verifier> {
        let keys = Keys::extract(keys)?;
        let policy = convert::policy(issuers, options)?;
        let verifier = keys
            .build(policy)
            .map_err(|e| errors::from_config(py, &e))?;
        Ok(Arc::new(verifier).into())
    }

    /// Verifies a compact JWS (str or bytes) and returns its claims.
    ///
    /// ``now`` is the unix time in seconds (int or float, floored); ``None`` reads the
    /// system clock. Returns a read-only ``Claims`` mapping equal to ``json.loads`` of
    /// the payload. Raises the ``InvalidToken`` subclass of the first failed check
    /// (DESIGN §3 order). The GIL is released during verification.
    #[pyo3(signature = (token, now=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let verifier = self.inner.load();
        Self::run(py, token, "token", now, |t, now| verifier.verify(t, now))
    }

    /// Verifies an ``Authorization`` header value, ``Bearer <token>`` (RFC 6750 §2.1;
    /// the scheme is case-insensitive). A missing or other scheme raises ``Malformed``.
    /// Otherwise as ``verify``.
    #[pyo3(signature = (value, now=None))]
    fn verify_header<'py>(
        &self,
        py: Python<'py>,
        value: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let verifier = self.inner.load();
        Self::run(py, value, "value", now, |v, now| {
            verifier.verify_header_bytes(v, now)
        })
    }

    /// Seconds taken by ``count`` verifications of ``token`` in the core alone (no
    /// Python objects, GIL released): the reference ``python/bench/bench.py`` measures
    /// the binding against, in the same process. Raises like ``verify`` if the token
    /// does not verify. Not public API.
    fn _core_seconds(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        now: u64,
        count: u32,
    ) -> PyResult<f64> {
        let token = convert::token_octets(token, "token")?;
        let verifier = self.inner.load();
        let outcome = py.detach(|| {
            let start = std::time::Instant::now();
            for _ in 0..count {
                std::hint::black_box(verifier.verify(std::hint::black_box(&token), now))?;
            }
            Ok(start.elapsed().as_secs_f64())
        });
        outcome.map_err(|err| errors::invalid_token(py, err))
    }

    /// A new verifier with this one's policy and ``keys`` (a ``KeySet`` or a mapping of
    /// issuer to ``KeySet``). This verifier is unchanged.
    fn with_keys(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<Verifier> {
        Ok(Arc::new(self.rebuilt(py, keys)?).into())
    }

    /// Replaces this verifier's keys atomically (key rotation). Verifications already
    /// running finish with the old keys; later ones use the new keys. On error (no key
    /// usable with the policy) the old keys stay.
    fn set_keys(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.store(Arc::new(self.rebuilt(py, keys)?));
        Ok(())
    }

    /// The policy as a dict of DESIGN §4 options.
    #[getter]
    fn policy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        policy_dict(py, self.inner.load().policy())
    }

    fn __repr__(&self) -> String {
        let v = self.inner.load();
        let p = v.policy();
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
            format!("[{}]", quoted.join(", "))
        };
        let algs: Vec<String> = p.algorithms.iter().map(|a| a.name().to_owned()).collect();
        format!(
            "Verifier(issuers={}, audiences={}, algorithms={})",
            list(&p.issuers),
            p.audiences
                .as_deref()
                .map_or_else(|| "None".to_owned(), list),
            list(&algs)
        )
    }
}

/// A policy as a dict of DESIGN §4 options (core's `Policy::options`, sequences as
/// tuples).
pub(crate) fn policy_dict<'py>(py: Python<'py>, p: &Policy) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, value) in p.options() {
        d.set_item(name, convert::option_object(py, value)?)?;
    }
    Ok(d)
}

/// The RFC 6750 §3 ``WWW-Authenticate`` value for a rejected token:
/// ``Bearer realm="…", error="invalid_token", error_description="…"`` (or
/// ``insufficient_scope`` for 403 answers).
///
/// ``exc`` is an ``InvalidToken``. For one the verifier raised, the value is exactly
/// core's; for one an application created itself, ``error_description`` is the
/// category's title.
#[pyfunction]
#[pyo3(signature = (exc, realm=None))]
fn www_authenticate(exc: &Bound<'_, PyAny>, realm: Option<&str>) -> PyResult<String> {
    let (err, _) = errors::error_of(exc)?;
    let mut out = String::new();
    xconnauth::http::www_authenticate(&err, realm, &mut out)
        .map_err(|_| PyTypeError::new_err("could not format the WWW-Authenticate value"))?;
    Ok(out)
}

/// The RFC 7807 problem JSON text for a rejected token: ``type``, ``title``, ``status``,
/// ``detail``, optional ``instance``, and ``error`` (the category code).
///
/// ``type_uri`` defaults to ``about:blank`` (the title is then the HTTP status phrase);
/// any other URI, e.g. ``I2_CONNECT_PROBLEM_TYPE``, gives a title naming the problem.
#[pyfunction]
#[pyo3(signature = (exc, type_uri=None, instance=None))]
fn problem_json(
    exc: &Bound<'_, PyAny>,
    type_uri: Option<&str>,
    instance: Option<&str>,
) -> PyResult<String> {
    let (err, message) = errors::error_of(exc)?;
    let mut problem = ProblemDetails::new(&err);
    if let Some(message) = message {
        problem.detail.clear();
        for c in message.chars() {
            if problem.detail.push(c).is_err() {
                break;
            }
        }
    }
    if let Some(t) = type_uri {
        problem = problem.with_type(t);
    }
    if let Some(i) = instance {
        problem = problem.with_instance(i);
    }
    Ok(problem.to_json())
}

/// Checks ``issuers`` and the ``Verifier`` keyword options without keys: raises what
/// ``Verifier(keys, issuers, **options)`` would raise for the options themselves
/// (``TypeError``, ``ConfigError``). For building verifiers before any key is known.
#[pyfunction]
#[pyo3(signature = (issuers, **options))]
#[pyo3(
    text_signature = "(issuers, *, audiences=None, algorithms=['RS256'], leeway=30, token_type='Bearer', required_scopes=(), required_realm_roles=(), required_client_roles=None, required_claims=['exp'], min_rsa_bits=2048, max_rsa_bits=8192, max_token_bytes=16384, header_types=None, cache_entries=0)"
)]
fn validate_options(
    py: Python<'_>,
    issuers: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    convert::policy(issuers, options)?
        .validate()
        .map_err(|e| errors::from_config(py, &e))
}

/// Reads an OIDC discovery document (``.well-known/openid-configuration``), checks that
/// its ``issuer`` is exactly ``issuer``, and returns its ``jwks_uri``.
///
/// Raises ``ConfigError`` when the document is not strict JSON, lacks ``issuer`` or
/// ``jwks_uri``, or names another issuer.
#[pyfunction]
fn parse_discovery(py: Python<'_>, document: &Bound<'_, PyAny>, issuer: &str) -> PyResult<String> {
    let bytes = convert::octets(document, "document", || {
        errors::config_error(py, "discovery document is not valid UTF-8")
    })?;
    let discovery = Discovery::parse(&bytes).map_err(|e| errors::from_config(py, &e))?;
    discovery
        .check_issuer(issuer)
        .map_err(|e| errors::from_config(py, &e))?;
    Ok(discovery.jwks_uri)
}

/// The compiled module. Everything here is immutable or behind a lock, so it runs
/// without the GIL on free-threaded builds too.
#[pymodule(gil_used = false)]
fn _xconnauth(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<KeySet>()?;
    m.add_class::<Verifier>()?;
    m.add_class::<remote::RemoteVerifier>()?;
    m.add_class::<claims::Payload>()?;
    m.add_class::<errors::CoreError>()?;
    m.add_function(wrap_pyfunction!(claims::claims_scopes, m)?)?;
    m.add_function(wrap_pyfunction!(claims::claims_realm_roles, m)?)?;
    m.add_function(wrap_pyfunction!(www_authenticate, m)?)?;
    m.add_function(wrap_pyfunction!(problem_json, m)?)?;
    m.add_function(wrap_pyfunction!(parse_discovery, m)?)?;
    m.add_function(wrap_pyfunction!(validate_options, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("I2_CONNECT_PROBLEM_TYPE", I2_CONNECT_PROBLEM_TYPE)?;
    let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
    m.add("ERROR_CODES", PyTuple::new(py, codes)?)?;
    let algs: Vec<&str> = xconnauth::Algorithm::ALL.iter().map(|a| a.name()).collect();
    m.add("ALGORITHMS", PyTuple::new(py, algs)?)?;
    m.add("OPTION_NAMES", PyTuple::new(py, xconnauth::OPTION_NAMES)?)?;
    let backends: Vec<&str> = xconnauth::Backend::ALL.iter().map(|b| b.name()).collect();
    m.add("BACKENDS", PyTuple::new(py, backends)?)?;
    m.add("DEFAULT_BACKEND", xconnauth::Backend::default().name())?;
    Ok(())
}
