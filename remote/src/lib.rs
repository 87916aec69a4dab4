//! Keys that keep themselves fresh: a verifier that trusts Keycloak realms by their
//! issuer URL (DESIGN §5 "Keys from an issuer", §7 "Remote verifiers").
//!
//! For each trusted issuer the engine finds the JWKS through OIDC discovery (or a
//! configured URL), caches it for the `Cache-Control: max-age` lifetime within bounds,
//! refreshes it in the background ahead of expiry, and refetches it once per cooldown
//! when a token names an unknown key. Every fetch obeys the same rules: `https` only
//! (plain `http` to literal loopback only), no redirects, a size cap, one overall
//! deadline, one retry of a transient error inside it. A failed fetch, or a set with no
//! key usable under the policy, keeps the last good keys.
//!
//! Verification with known keys takes no lock: it loads the current core
//! [`Verifier`] from a [`swap::KeySwapOption`] and verifies. Fetches run on the engine's own
//! threads (one per issuer), started on first need and again in a child process after
//! `fork()`.
//!
//! ```no_run
//! use xconnauth::Policy;
//! use xconnauth_remote::{Options, RemoteVerifier};
//! let policy = Policy::new(["https://sso.example.com/realms/demo"]);
//! let verifier = RemoteVerifier::new(policy, Options::default())?;
//! match verifier.verify_header("Bearer eyJ...", xconnauth::now().unwrap_or_default()) {
//!     Ok(token) => println!("sub = {:?}", token.claims().sub()),
//!     // 503: the issuer has been unreachable since start; the token may be fine.
//!     Err(e) if e.http_status() == 503 => eprintln!("keys unavailable: {e}"),
//!     Err(e) => eprintln!("rejected: {} ({})", e.code(), e.http_status()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod fetch;
mod options;
pub mod swap;

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use xconnauth::{
    ConfigError, Discovery, Error, ErrorKind, KeySet, Policy, VerifiedToken, Verifier,
};

pub use fetch::check_url;
pub use options::Options;
use swap::KeySwapOption;

/// Why a remote verifier could not be built or refreshed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteError {
    /// The policy, an option or a URL is wrong (C `invalid_config`, CLI exit 2).
    Config(ConfigError),
    /// Fetching or using an issuer's keys failed; the last good keys are kept.
    Fetch {
        /// The issuer whose keys could not be fetched.
        issuer: String,
        /// What went wrong (network, status, size, JSON, no usable key, ...).
        message: String,
    },
}

impl RemoteError {
    /// The human message.
    #[must_use]
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteError::Config(e) => write!(f, "{e}"),
            RemoteError::Fetch { issuer, message } => {
                write!(f, "keys of {issuer}: {message}")
            }
        }
    }
}

impl std::error::Error for RemoteError {}

impl From<ConfigError> for RemoteError {
    fn from(e: ConfigError) -> Self {
        RemoteError::Config(e)
    }
}

/// What the engine knows about one issuer (for health checks and logs).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerStatus {
    /// The trusted issuer.
    pub issuer: String,
    /// Where its keys come from (configured, or found by discovery); `None` before the
    /// first successful discovery.
    pub jwks_uri: Option<String>,
    /// When its keys were last fetched and accepted.
    pub last_success: Option<SystemTime>,
    /// The error of the last attempt, if it failed (cleared by a success).
    pub last_error: Option<String>,
    /// Attempts finished so far (successful or not).
    pub fetch_count: u64,
    /// Key ids of the keys in use for this issuer (empty: none yet).
    pub kids: Vec<String>,
    /// When the cache lifetime of the keys in use ends (a refresh is due before).
    pub expires_at: Option<SystemTime>,
}

/// A verifier that owns the key engine: [`verify`](Self::verify) refreshes the keys by
/// itself when a token names an unknown key. Cheap to clone (an `Arc` inside); `Send`
/// and `Sync`: share one across threads.
///
/// Categories beyond the core's: `keys_unavailable` (HTTP 503) when no key matched and
/// some issuer has no keys yet (unreachable since start, or not tried yet in
/// non-blocking mode). Without trusting an unverified claim the engine cannot tell
/// which realm a token belongs to, so any issuer without keys makes an unmatched token
/// `keys_unavailable` rather than `unknown_kid`; once every issuer has keys, an
/// unmatched token is `unknown_kid`.
///
/// ```
/// use xconnauth::Policy;
/// use xconnauth_remote::{Options, RemoteVerifier};
/// // Nothing listens on port 9: the issuer is down at start.
/// let policy = Policy::new(["http://127.0.0.1:9/realms/demo"]);
/// let options = Options::default().with_timeout(std::time::Duration::from_millis(500));
/// let v = RemoteVerifier::new(policy, options)?;
/// let err = v.verify(b"e30.e30.AAAA", 1_764_000_000).unwrap_err();
/// assert_eq!(err.code(), "keys_unavailable");
/// assert_eq!(err.http_status(), 503);
/// assert!(v.snapshot().is_none());
/// assert!(v.status()[0].last_error.is_some());
/// # Ok::<(), xconnauth_remote::RemoteError>(())
/// ```
#[derive(Clone)]
pub struct RemoteVerifier {
    handle: Arc<Handle>,
}

impl fmt::Debug for RemoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteVerifier")
            .field("issuers", &self.handle.shared.policy.issuers)
            .field("has_keys", &self.handle.shared.current.load().is_some())
            .finish_non_exhaustive()
    }
}

/// Dropped with the last clone: stops the engine's threads.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        for iss in &self.shared.issuers {
            lock(&iss.state).shutdown = true;
            iss.cv.notify_all();
        }
    }
}

struct Shared {
    policy: Policy,
    options: Options,
    agent: fetch::Http,
    current: KeySwapOption<Verifier>,
    issuers: Vec<Issuer>,
    /// Serialises rebuilds of `current`, so the last swap holds the newest sets.
    rebuild: Mutex<()>,
    /// Process that started the worker threads (0: none yet).
    worker_pid: AtomicU32,
    spawn: Mutex<()>,
    /// Milliseconds since `base` at which some background refresh is due: verify
    /// makes sure the workers exist once it has passed (a child after `fork()`).
    due_ms: AtomicU64,
    base: Instant,
}

struct Issuer {
    issuer: String,
    configured_jwks: Option<String>,
    state: Mutex<IssuerState>,
    cv: Condvar,
}

#[derive(Default)]
struct IssuerState {
    keys: Option<KeySet>,
    jwks_uri: Option<String>,
    last_success: Option<SystemTime>,
    last_error: Option<String>,
    expires_at: Option<SystemTime>,
    /// Attempts finished; waiters watch it change.
    attempts: u64,
    /// The last attempt succeeded.
    last_ok: bool,
    requested: bool,
    in_flight: bool,
    last_end: Option<Instant>,
    next_refresh: Option<Instant>,
    shutdown: bool,
}

/// A poisoned lock only means another thread panicked while holding it; the state it
/// guards is plain data that stays consistent between statements, so go on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RemoteVerifier {
    /// A verifier for `policy.issuers`, their keys fetched by the engine. Nothing is
    /// fetched here unless `options.fail_fast` is set; the first verify (or
    /// [`refresh`](Self::refresh)) starts the engine.
    ///
    /// # Errors
    /// [`RemoteError::Config`]: an invalid policy or option, an issuer or JWKS URL that
    /// breaks the URL rules ([`check_url`]), a `jwks_uris` entry for an untrusted
    /// issuer, an unreadable `ca_file`. With `fail_fast`, the first
    /// [`RemoteError::Fetch`].
    pub fn new(policy: Policy, options: Options) -> Result<RemoteVerifier, RemoteError> {
        policy.validate()?;
        options.validate()?;
        for issuer in &policy.issuers {
            check_url(issuer).map_err(|m| ConfigError::new(format!("issuer {m}")))?;
        }
        for (issuer, url) in &options.jwks_uris {
            if !policy.issuers.contains(issuer) {
                return Err(ConfigError::new(format!(
                    "jwks_uris names \"{issuer}\", which is not a trusted issuer"
                ))
                .into());
            }
            check_url(url).map_err(|m| ConfigError::new(format!("jwks_uris {m}")))?;
        }
        let agent = fetch::agent(&options)?;
        let issuers = policy
            .issuers
            .iter()
            .map(|iss| Issuer {
                issuer: iss.clone(),
                configured_jwks: options.jwks_uris.get(iss).cloned(),
                state: Mutex::new(IssuerState::default()),
                cv: Condvar::new(),
            })
            .collect();
        let shared = Arc::new(Shared {
            policy,
            options,
            agent,
            current: KeySwapOption::empty(),
            issuers,
            rebuild: Mutex::new(()),
            worker_pid: AtomicU32::new(0),
            spawn: Mutex::new(()),
            due_ms: AtomicU64::new(u64::MAX),
            base: Instant::now(),
        });
        let v = RemoteVerifier {
            handle: Arc::new(Handle { shared }),
        };
        if v.handle.shared.options.fail_fast {
            v.refresh()?;
        }
        Ok(v)
    }

    /// Verifies a compact JWS at unix time `now`. With the token's key known this is
    /// the core verify behind one atomic load. An unknown kid asks for a refresh of
    /// every issuer not in cooldown and (unless `non_blocking`) waits for it, at most
    /// the fetch deadline, then verifies once more.
    ///
    /// # Errors
    /// The core's categories, plus `keys_unavailable` (see [`RemoteVerifier`]).
    pub fn verify(&self, token: &[u8], now: u64) -> Result<VerifiedToken, Error> {
        self.verify_with(|v| v.verify(token, now))
    }

    /// Runs `verify` on the current core verifier under the rules of
    /// [`verify`](Self::verify): when it answers `unknown_kid` (or `bad_signature`
    /// while an issuer has no keys yet) the keys are refreshed and `verify` runs once
    /// more on the new ones. For callers that verify into their own buffer
    /// ([`Verifier::verify_into`]) and so allocate nothing per token: `verify` may
    /// run more than once, its last answer is the result.
    ///
    /// ```
    /// use xconnauth::Policy;
    /// use xconnauth_remote::{Options, RemoteVerifier};
    /// // Nothing listens on port 9: the issuer is down at start.
    /// let policy = Policy::new(["http://127.0.0.1:9/realms/demo"]);
    /// let options = Options::default().with_timeout(std::time::Duration::from_millis(500));
    /// let v = RemoteVerifier::new(policy, options)?;
    /// let mut buf = [0u8; 64];
    /// let token = b"e30.e30.AAAA";
    /// let err = v.verify_with(|core| core.verify_into(token, 1_764_000_000, &mut buf).map(|_| ()));
    /// assert_eq!(err.unwrap_err().code(), "keys_unavailable");
    /// # Ok::<(), xconnauth_remote::RemoteError>(())
    /// ```
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_with<R>(
        &self,
        mut verify: impl FnMut(&Verifier) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let sh = &self.handle.shared;
        if sh.elapsed_ms() >= sh.due_ms.load(Ordering::Relaxed) {
            sh.ensure_workers();
        }
        // `load()`, not `load_full()`: a guard in this thread's own slot, no write to the
        // shared Arc's count (verifying threads share no cache line).
        let first = match sh.current.load().as_deref() {
            Some(v) => match verify(v) {
                Err(e) if e.kind() == ErrorKind::UnknownKid => e,
                // Another realm's key under the same kid failed; the token's own realm
                // may be one whose keys we do not have yet.
                Err(e) if e.kind() == ErrorKind::BadSignature && sh.keyless() => e,
                done => return done,
            },
            None => no_keys(),
        };
        sh.verify_after_refresh(&mut verify, first)
    }

    /// Verifies an `Authorization` header value, `Bearer <token>`.
    ///
    /// # Errors
    /// `malformed` when the scheme is not `Bearer`, else as [`verify`](Self::verify).
    pub fn verify_header(&self, value: &str, now: u64) -> Result<VerifiedToken, Error> {
        self.verify_header_bytes(value.as_bytes(), now)
    }

    /// [`verify_header`](Self::verify_header) for raw header bytes.
    ///
    /// # Errors
    /// As [`verify_header`](Self::verify_header).
    pub fn verify_header_bytes(&self, value: &[u8], now: u64) -> Result<VerifiedToken, Error> {
        self.verify(xconnauth::bearer_token_bytes(value)?, now)
    }

    /// Fetches every issuer's keys now, ignoring the cooldown but never starting a
    /// second fetch of an issuer whose fetch is under way (it waits for that one).
    /// Waits at most the fetch deadline. A failure keeps the last good keys.
    ///
    /// # Errors
    /// The first issuer whose attempt failed, or did not finish within the deadline.
    pub fn refresh(&self) -> Result<(), RemoteError> {
        let sh = &self.handle.shared;
        sh.ensure_workers();
        let marks: Vec<u64> = sh
            .issuers
            .iter()
            .map(|iss| {
                let mut st = lock(&iss.state);
                if !st.in_flight {
                    st.requested = true;
                    iss.cv.notify_all();
                }
                st.attempts
            })
            .collect();
        let deadline = Instant::now() + sh.options.timeout + WAKE_SLACK;
        for (iss, mark) in sh.issuers.iter().zip(marks) {
            let st = sh.wait_for_attempt(iss, mark, deadline);
            if st.attempts == mark {
                return Err(RemoteError::Fetch {
                    issuer: iss.issuer.clone(),
                    message: "no attempt finished within the fetch deadline".into(),
                });
            }
            if !st.last_ok {
                return Err(RemoteError::Fetch {
                    issuer: iss.issuer.clone(),
                    message: st.last_error.clone().unwrap_or_default(),
                });
            }
        }
        Ok(())
    }

    /// Per issuer, in policy order: where its keys come from, the last success and
    /// error, how many attempts, the key ids in use, when they expire.
    #[must_use]
    pub fn status(&self) -> Vec<IssuerStatus> {
        self.handle
            .shared
            .issuers
            .iter()
            .map(|iss| {
                let st = lock(&iss.state);
                IssuerStatus {
                    issuer: iss.issuer.clone(),
                    jwks_uri: iss.configured_jwks.clone().or_else(|| st.jwks_uri.clone()),
                    last_success: st.last_success,
                    last_error: st.last_error.clone(),
                    fetch_count: st.attempts,
                    kids: st
                        .keys
                        .iter()
                        .flat_map(KeySet::iter)
                        .filter_map(|k| k.kid().map(str::to_owned))
                        .collect(),
                    expires_at: st.expires_at,
                }
            })
            .collect()
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.handle.shared.policy
    }

    /// The current core verifier (every issuer that has keys, built with
    /// [`Verifier::with_issuer_keys`]); `None` while no issuer has keys.
    ///
    /// Callers that verify on a snapshot (an event loop verifying inline with the
    /// keys it holds) still keep the background refresh alive: like
    /// [`verify`](Self::verify), this starts the worker threads once a refresh is due
    /// and none runs in this process (a child after `fork()`), so keys removed at the
    /// issuer stop being trusted.
    #[must_use]
    pub fn snapshot(&self) -> Option<Arc<Verifier>> {
        let sh = &self.handle.shared;
        if sh.elapsed_ms() >= sh.due_ms.load(Ordering::Relaxed) {
            sh.ensure_workers();
        }
        sh.current.snapshot()
    }
}

/// Fetches one document (a JWKS, say) once, under the engine's rules: [`check_url`],
/// no redirects, `options.max_bytes`, one `options.timeout` deadline with one retry of a
/// transient error, the system roots plus `options.ca_file`. For callers that want a
/// single fetch without the engine (the CLI's `--jwks URL`).
///
/// ```
/// use xconnauth_remote::{fetch_document, Options, RemoteError};
/// let err = fetch_document("http://jwks.example.com/certs", &Options::default()).unwrap_err();
/// assert!(matches!(err, RemoteError::Config(_)));
/// ```
///
/// # Errors
/// [`RemoteError::Config`] for a URL against the rules or an unreadable `ca_file`;
/// [`RemoteError::Fetch`] (its `issuer` holds the URL) when the fetch fails.
pub fn fetch_document(url: &str, options: &Options) -> Result<Vec<u8>, RemoteError> {
    options.validate()?;
    check_url(url).map_err(ConfigError::new)?;
    let agent = fetch::agent(options)?;
    let deadline = Instant::now() + options.timeout;
    fetch::get(&agent, url, options.max_bytes, deadline)
        .map(|f| f.body)
        .map_err(|message| RemoteError::Fetch {
            issuer: url.to_owned(),
            message,
        })
}

/// With several issuers being refreshed, how long a waiter watches one before looking
/// at the next.
const MULTI_WAIT_SLICE: Duration = Duration::from_millis(20);

/// Time for a worker to notice a finished fetch and a waiter to wake, beyond the
/// deadline of the fetch itself.
const WAKE_SLACK: Duration = Duration::from_millis(100);

fn no_keys() -> Error {
    Error::new(
        ErrorKind::KeysUnavailable,
        "no signing keys yet: an issuer's keys could not be fetched so far",
    )
}

impl Shared {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Starts one worker per issuer unless this process already has them.
    fn ensure_workers(self: &Arc<Self>) {
        let pid = std::process::id();
        if self.worker_pid.load(Ordering::Acquire) == pid {
            return;
        }
        let _spawn = lock(&self.spawn);
        if self.worker_pid.load(Ordering::Acquire) == pid {
            return;
        }
        for (i, iss) in self.issuers.iter().enumerate() {
            // A fetch that was under way in the parent has no thread here.
            lock(&iss.state).in_flight = false;
            let shared = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name(format!("xconnauth-keys-{i}"))
                .spawn(move || worker(&shared, i));
            if let Err(e) = spawned {
                let mut st = lock(&iss.state);
                st.last_error = Some(format!("cannot start the key thread: {e}"));
                return;
            }
        }
        self.worker_pid.store(pid, Ordering::Release);
    }

    fn verify_after_refresh<R>(
        self: &Arc<Self>,
        verify: &mut impl FnMut(&Verifier) -> Result<R, Error>,
        first: Error,
    ) -> Result<R, Error> {
        self.ensure_workers();
        let mut waits = Vec::new();
        for iss in &self.issuers {
            let mut st = lock(&iss.state);
            if st.in_flight || st.requested {
                waits.push(st.attempts);
                continue;
            }
            let cooled = st
                .last_end
                .is_none_or(|end| end.elapsed() >= self.options.refresh_cooldown);
            if cooled {
                st.requested = true;
                iss.cv.notify_all();
                waits.push(st.attempts);
            } else {
                waits.push(u64::MAX);
            }
        }
        let asked = waits.iter().any(|&w| w != u64::MAX);
        if !asked || self.options.non_blocking {
            return Err(self.explain(first));
        }
        let deadline = Instant::now() + self.options.timeout + WAKE_SLACK;
        let mut verify_now = || match self.current.load().as_deref() {
            Some(v) => verify(v),
            None => Err(no_keys()),
        };
        // Wait for the asked issuers; with several, re-verify as each one finishes, so
        // a realm that answers at once is not held up by one that is down.
        let mut pending: Vec<(&Issuer, u64)> = self
            .issuers
            .iter()
            .zip(waits)
            .filter(|(_, mark)| *mark != u64::MAX)
            .collect();
        while !pending.is_empty() {
            let slice = if pending.len() == 1 {
                deadline
            } else {
                deadline.min(Instant::now() + MULTI_WAIT_SLICE)
            };
            let mut finished = false;
            pending.retain(|&(iss, mark)| {
                let st = self.wait_for_attempt(iss, mark, slice);
                let done = st.attempts != mark || st.shutdown;
                finished |= done;
                !done
            });
            if Instant::now() >= deadline {
                break;
            }
            if finished && !pending.is_empty() {
                if let Ok(v) = verify_now() {
                    return Ok(v);
                }
            }
        }
        verify_now().map_err(|e| self.explain(e))
    }

    /// True while some issuer has no keys yet.
    fn keyless(&self) -> bool {
        self.issuers
            .iter()
            .any(|iss| lock(&iss.state).keys.is_none())
    }

    /// `unknown_kid` while some issuer has no keys is `keys_unavailable`: that issuer
    /// may hold the token's key. So is `bad_signature`: the kid may have matched
    /// another realm's key while the token's own realm (the same kid) has no keys yet.
    /// Neither case trusts anything of the token: it fails closed, as 503 instead of 401.
    fn explain(&self, e: Error) -> Error {
        let suspect = matches!(e.kind(), ErrorKind::UnknownKid | ErrorKind::BadSignature);
        if suspect && self.keyless() {
            no_keys()
        } else {
            e
        }
    }

    fn wait_for_attempt<'a>(
        &self,
        iss: &'a Issuer,
        mark: u64,
        deadline: Instant,
    ) -> MutexGuard<'a, IssuerState> {
        let mut st = lock(&iss.state);
        while st.attempts == mark && !st.shutdown {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = iss
                .cv
                .wait_timeout(st, left)
                .map_or_else(|p| p.into_inner().0, |(g, _)| g);
        }
        st
    }

    /// Builds the core verifier from every issuer that has keys and swaps it in.
    fn rebuild(&self) -> Result<(), ConfigError> {
        let _one = lock(&self.rebuild);
        let sets: Vec<(String, KeySet)> = self
            .issuers
            .iter()
            .filter_map(|iss| {
                let st = lock(&iss.state);
                st.keys.clone().map(|k| (iss.issuer.clone(), k))
            })
            .collect();
        if sets.is_empty() {
            self.current.store(None);
            return Ok(());
        }
        let v = Verifier::with_issuer_keys(self.policy.clone(), sets)?;
        self.current.store(Some(Arc::new(v)));
        Ok(())
    }

    /// Publishes the earliest background refresh for the fork check in `verify`.
    fn publish_due(&self) {
        let mut due = u64::MAX;
        for iss in &self.issuers {
            if let Some(t) = lock(&iss.state).next_refresh {
                let ms = t.saturating_duration_since(self.base).as_millis();
                due = due.min(u64::try_from(ms).unwrap_or(u64::MAX));
            }
        }
        // Past the due time plus a deadline's worth, the worker is late or missing.
        let grace = u64::try_from(self.options.timeout.as_millis()).unwrap_or(u64::MAX);
        self.due_ms
            .store(due.saturating_add(grace), Ordering::Relaxed);
    }

    /// One attempt: discovery (unless configured or cached) and the JWKS, sharing one
    /// deadline. The set must hold a key usable under the policy.
    fn fetch_keys(
        &self,
        iss: &Issuer,
        cached_uri: Option<String>,
    ) -> Result<(KeySet, String, Duration), String> {
        let deadline = Instant::now() + self.options.timeout;
        let max = self.options.max_bytes;
        let jwks_uri = match iss.configured_jwks.clone().or(cached_uri) {
            Some(u) => u,
            None => {
                let url = fetch::discovery_url(&iss.issuer);
                let doc = fetch::get(&self.agent, &url, max, deadline)?;
                let d =
                    Discovery::parse(&doc.body).map_err(|e| format!("discovery at {url}: {e}"))?;
                d.check_issuer(&iss.issuer)
                    .map_err(|e| format!("discovery at {url}: {e}"))?;
                check_url(&d.jwks_uri).map_err(|e| format!("discovered jwks_uri {e}"))?;
                d.jwks_uri
            }
        };
        let fetched =
            fetch::get(&self.agent, &jwks_uri, max, deadline).map_err(|e| format!("JWKS: {e}"))?;
        let keys =
            KeySet::from_jwks(&fetched.body).map_err(|e| format!("JWKS at {jwks_uri}: {e}"))?;
        if keys.usable_under(&self.policy).next().is_none() {
            return Err(format!(
                "JWKS at {jwks_uri} holds no key usable under the policy (algorithms {:?}, \
                 {}..={} bits); the last good keys are kept",
                self.policy.algorithms, self.policy.min_rsa_bits, self.policy.max_rsa_bits
            ));
        }
        Verifier::with_issuer_keys(self.policy.clone(), [(iss.issuer.clone(), keys.clone())])
            .map_err(|e| format!("JWKS at {jwks_uri}: {e}"))?;
        let ttl = self.options.ttl_for(fetched.cache_control.as_deref());
        Ok((keys, jwks_uri, ttl))
    }
}

/// One issuer's thread: runs requested and scheduled attempts until the verifier is
/// dropped.
fn worker(sh: &Arc<Shared>, index: usize) {
    let Some(iss) = sh.issuers.get(index) else {
        return;
    };
    let mut st = lock(&iss.state);
    loop {
        if st.shutdown {
            return;
        }
        let now = Instant::now();
        let due = st.requested || st.next_refresh.is_some_and(|t| t <= now);
        if !due {
            let wait = st.next_refresh.map_or(Duration::from_secs(3600), |t| {
                t.saturating_duration_since(now)
            });
            st = iss
                .cv
                .wait_timeout(st, wait)
                .map_or_else(|p| p.into_inner().0, |(g, _)| g);
            continue;
        }
        st.requested = false;
        st.in_flight = true;
        let cached = st.jwks_uri.clone();
        drop(st);

        // A bug in a fetch must not leave `in_flight` set for ever (every caller with an
        // unknown kid would then wait out the deadline): it becomes a failed attempt.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sh.fetch_keys(iss, cached)))
                .unwrap_or_else(|_| Err("internal error while fetching (please report it)".into()));

        let mut guard = lock(&iss.state);
        let end = Instant::now();
        let ok = match result {
            Ok((keys, uri, ttl)) => {
                let previous = guard.keys.replace(keys);
                let previous_uri = guard.jwks_uri.replace(uri);
                drop(guard);
                let built = sh.rebuild();
                guard = lock(&iss.state);
                match built {
                    Ok(()) => {
                        let wall = SystemTime::now();
                        guard.last_success = Some(wall);
                        guard.last_error = None;
                        guard.expires_at = Some(wall + ttl);
                        // Refresh ahead: at four fifths of the lifetime.
                        guard.next_refresh = Some(end + ttl.mul_f64(0.8));
                        true
                    }
                    Err(e) => {
                        guard.keys = previous;
                        guard.jwks_uri = previous_uri;
                        guard.last_error = Some(format!("keys not usable: {e}"));
                        false
                    }
                }
            }
            Err(message) => {
                // A discovered URL that failed may have moved: discover again next time.
                if iss.configured_jwks.is_none() {
                    guard.jwks_uri = None;
                }
                guard.last_error = Some(message);
                false
            }
        };
        if !ok {
            let retry = sh.options.refresh_cooldown.max(Duration::from_secs(1));
            guard.next_refresh = Some(end + retry);
        }
        guard.last_ok = ok;
        guard.last_end = Some(end);
        guard.in_flight = false;
        guard.attempts += 1;
        iss.cv.notify_all();
        drop(guard);
        sh.publish_due();
        st = lock(&iss.state);
    }
}
