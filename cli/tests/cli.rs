//! End-to-end tests of the `xconnauth` binary: the Keycloak samples in
//! `examples/keycloak/`, JWKS over a loopback HTTP server, and the whole dev corpus.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::BorrowMut;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use serde_json::Value as Json;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/keycloak");
const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/vectors/dev/cases.jsonl"
);
const ISSUER: &str = "https://sso.example.com/realms/demo";
const NOW: &str = "1764000000";

fn example(name: &str) -> PathBuf {
    Path::new(EXAMPLES).join(name)
}

fn example_text(name: &str) -> String {
    std::fs::read_to_string(example(name)).unwrap()
}

/// The binary with a predictable environment: no colour, no proxies (the loopback
/// server must be reached directly).
fn xconnauth() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xconnauth"));
    cmd.env("NO_COLOR", "1");
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `verify --jwks <sample> --policy <sample> --now <sample now>` plus `extra`.
fn verify_sample(extra: &[&str]) -> Command {
    let mut cmd = xconnauth();
    cmd.arg("verify")
        .arg("--jwks")
        .arg(example("jwks.json"))
        .arg("--policy")
        .arg(example("policy.json"))
        .args(["--now", NOW])
        .args(extra);
    cmd
}

/// Runs to completion with empty stdin. Takes `Command` or `&mut Command`.
fn run(mut cmd: impl BorrowMut<Command>) -> Output {
    cmd.borrow_mut().stdin(Stdio::null()).output().unwrap()
}

fn run_with_stdin(mut cmd: impl BorrowMut<Command>, input: &[u8]) -> Output {
    let mut child = cmd
        .borrow_mut()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The single JSON object a `--json` run printed.
fn json_result(out: &Output) -> Json {
    let text = stdout(out);
    let mut lines = text.lines();
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no output; stderr: {}", stderr(out)));
    assert_eq!(lines.next(), None, "more than one line: {text}");
    serde_json::from_str(first).unwrap()
}

fn assert_rejected(out: &Output, code: &str) {
    let result = json_result(out);
    assert_eq!(result["valid"], Json::Bool(false), "{result}");
    assert_eq!(result["error"], code, "{result}");
    // The message is human text without the category, never empty.
    let message = result["message"].as_str().unwrap();
    assert!(
        !message.is_empty() && !message.starts_with(&format!("{code}: ")),
        "{result}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// Canonical unpadded base64url decoding, written out here so the expected claims do
/// not come from the code under test.
fn b64url_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {c}"),
        }
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for &c in s.as_bytes() {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The decoded header and payload of a sample token, as JSON.
fn decoded_parts(token: &str) -> (Json, Json) {
    let mut parts = token.trim_end().split('.');
    let header = serde_json::from_slice(&b64url_decode(parts.next().unwrap())).unwrap();
    let payload = serde_json::from_slice(&b64url_decode(parts.next().unwrap())).unwrap();
    (header, payload)
}

/// A fresh, empty scratch directory for one test.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------- the samples

#[test]
fn valid_token_prints_header_and_claims() {
    let token = example_text("token.jwt");
    let out = run(verify_sample(&["--json", token.trim_end()]));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let result = json_result(&out);
    let (header, payload) = decoded_parts(&token);
    assert_eq!(result["valid"], Json::Bool(true));
    assert_eq!(result["header"], header);
    assert_eq!(result["claims"], payload);
    // Key order is kept (preserve_order): "valid" first, claims in token order.
    let text = stdout(&out);
    assert!(
        text.starts_with(r#"{"valid":true,"header":{"alg":"RS256""#),
        "{text}"
    );
    let claims: Vec<&String> = result["claims"].as_object().unwrap().keys().collect();
    let expected: Vec<&String> = payload.as_object().unwrap().keys().collect();
    assert_eq!(claims, expected);
    assert!(stderr(&out).is_empty());
}

#[test]
fn valid_token_human_summary() {
    let token = example_text("token.jwt");
    let out = run(verify_sample(&[token.trim_end()]));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("VALID "), "{text}");
    for part in [
        r#"sub="0b9e6c1a-3f2d-4e8b-a7c5-9d1e2f3a4b5c""#,
        r#"azp="demo-client""#,
        r#"iss="https://sso.example.com/realms/demo""#,
        r#"aud="product-factory,account""#,
        r#"scope="openid offline_access spark profile""#,
        "spark-user",
        "product-factory:reader",
        "exp=2025-11-24T16:59:00Z",
    ] {
        assert!(text.contains(part), "{part} missing in {text}");
    }
    assert!(
        !text.contains('\x1b'),
        "colour without a terminal: {text:?}"
    );
}

#[test]
fn tampered_token_is_bad_signature() {
    let token = example_text("tampered.jwt");
    let out = run(verify_sample(&["--json", token.trim_end()]));
    assert_rejected(&out, "bad_signature");

    let out = run(verify_sample(&[token.trim_end()]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("INVALID bad_signature: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn expired_token_is_expired() {
    let token = example_text("expired.jwt");
    assert_rejected(
        &run(verify_sample(&["--json", token.trim_end()])),
        "expired",
    );
}

#[test]
fn now_defaults_to_the_clock() {
    // The sample token expired long before any machine running this test was built.
    let token = example_text("token.jwt");
    let out = run(xconnauth()
        .args(["verify", "--json", "--policy"])
        .arg(example("policy.json"))
        .arg("--jwks")
        .arg(example("jwks.json"))
        .arg(token.trim_end()));
    assert_rejected(&out, "expired");
}

#[test]
fn flags_override_the_policy_file() {
    let token = example_text("token.jwt");
    let token = token.trim_end();
    let cases: &[(&[&str], &str)] = &[
        (&["--scope", "nope"], "missing_scope"),
        (&["--audience", "other"], "wrong_audience"),
        (
            &["--issuer", "https://sso.example.com/realms/other"],
            "wrong_issuer",
        ),
        (&["--token-type", "ID"], "wrong_type"),
        (&["--realm-role", "spark-admin"], "missing_role"),
        (&["--client-role", "product-factory:admin"], "missing_role"),
        (&["--required-claim", "nonce"], "missing_claim"),
        (&["--min-rsa-bits", "3072"], "weak_key"),
        (&["--max-token-bytes", "100"], "too_large"),
    ];
    for (flags, code) in cases {
        let mut args = flags.to_vec();
        args.extend(["--json", token]);
        assert_rejected(&run(verify_sample(&args)), code);
    }
    // Leeway: the file's 30 s accept a token 29 s after exp; --leeway 0 does not.
    let at_exp = |extra: &[&str]| {
        let mut cmd = xconnauth();
        cmd.args(["verify", "--json", "--now", "1764003569", "--jwks"])
            .arg(example("jwks.json"))
            .arg("--policy")
            .arg(example("policy.json"))
            .args(extra)
            .arg(token);
        run(cmd)
    };
    assert_eq!(at_exp(&[]).status.code(), Some(0));
    assert_rejected(&at_exp(&["--leeway", "0"]), "expired");

    // The sample JWKS holds an RS256 key only, so allowing only PS256 leaves no usable
    // key: the override reached the policy, and the core refuses the configuration.
    let out = run(verify_sample(&["--algorithm", "PS256", "--json", token]));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_result(&out)["error"], "invalid_config");
    // Flags that relax the file's requirements or repeat them correctly.
    let passing: &[&[&str]] = &[
        &["--scope", "spark", "--scope", "profile"],
        &["--audience", "nope", "--audience", "account"],
        &[
            "--client-role",
            "account:view-profile",
            "--client-role",
            "product-factory:writer",
        ],
        &["--no-token-type"],
        &["--token-type", "Bearer", "--leeway", "0"],
    ];
    for flags in passing {
        let mut args = flags.to_vec();
        args.extend(["--json", token]);
        let out = run(verify_sample(&args));
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", stdout(&out));
    }
}

#[test]
fn flags_alone_without_a_policy_file() {
    let token = example_text("token.jwt");
    let mut cmd = xconnauth();
    cmd.args([
        "verify",
        "--json",
        "--issuer",
        ISSUER,
        "--audience",
        "product-factory",
        "--now",
        NOW,
    ])
    .arg("--jwks")
    .arg(example("jwks.json"))
    .args([
        "--client-role",
        "product-factory:reader",
        "--",
        token.trim_end(),
    ]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn client_role_splits_at_the_first_colon() {
    let dir = scratch_dir("client-role");
    // A Keycloak-style role containing ':' must be looked up under client "orders-api".
    let policy = dir.join("p.json");
    std::fs::write(&policy, format!(r#"{{"issuers":["{ISSUER}"]}}"#)).unwrap();
    let token = example_text("token.jwt");
    let out = run(xconnauth()
        .args([
            "verify",
            "--json",
            "--now",
            NOW,
            "--client-role",
            "product-factory:reader:x",
        ])
        .arg("--jwks")
        .arg(example("jwks.json"))
        .arg("--policy")
        .arg(&policy)
        .arg(token.trim_end()));
    let result = json_result(&out);
    assert_eq!(result["error"], "missing_role");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("product-factory/reader:x"),
        "{result}"
    );
}

// ---------------------------------------------------------------- batch mode

#[test]
fn batch_mode_reads_one_token_per_line() {
    let input = format!(
        "{}\n{}\r\n{}",
        example_text("token.jwt").trim_end(),
        example_text("expired.jwt").trim_end(),
        example_text("tampered.jwt").trim_end()
    );
    let out = run_with_stdin(verify_sample(&["--json", "-"]), input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Json> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["valid"], Json::Bool(true));
    assert_eq!(lines[1]["error"], "expired");
    assert_eq!(lines[2]["error"], "bad_signature");
    assert_eq!(stderr(&out), "3 tokens: 1 valid, 2 invalid\n");
}

#[test]
fn batch_mode_all_valid_exits_zero() {
    let token = example_text("token.jwt");
    let input = format!("{0}\n{0}\n", token.trim_end());
    let out = run_with_stdin(verify_sample(&["-"]), input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.starts_with("VALID "))
            .count(),
        2
    );
    assert_eq!(stderr(&out), "2 tokens: 2 valid, 0 invalid\n");
}

#[test]
fn batch_mode_trims_only_the_line_terminator() {
    let token = example_text("token.jwt");
    let token = token.trim_end();
    // A trailing space, an empty line, a leading tab, and an over-long line: none is
    // repaired or skipped.
    let long = "a".repeat(40_000);
    let input = format!("{token} \n\n\t{token}\n{long}\n{token}\n");
    let out = run_with_stdin(verify_sample(&["--json", "-"]), input.as_bytes());
    let codes: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            let v: Json = serde_json::from_str(l).unwrap();
            v.get("error")
                .and_then(Json::as_str)
                .unwrap_or("ok")
                .to_owned()
        })
        .collect();
    assert_eq!(
        codes,
        ["malformed", "malformed", "malformed", "too_large", "ok"]
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "5 tokens: 1 valid, 4 invalid\n");
}

#[test]
fn batch_mode_with_empty_input() {
    let out = run_with_stdin(verify_sample(&["-"]), b"");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "0 tokens: 0 valid, 0 invalid\n");
}

// ---------------------------------------------------------------- configuration errors

#[test]
fn unknown_policy_option_is_a_config_error() {
    let dir = scratch_dir("unknown-option");
    let policy = dir.join("p.json");
    std::fs::write(
        &policy,
        format!(r#"{{"issuers":["{ISSUER}"],"issuer":"x"}}"#),
    )
    .unwrap();
    let token = example_text("token.jwt");
    let out = run(xconnauth()
        .args(["verify", "--json", "--now", NOW])
        .arg("--jwks")
        .arg(example("jwks.json"))
        .arg("--policy")
        .arg(&policy)
        .arg(token.trim_end()));
    assert_eq!(out.status.code(), Some(2));
    let result = json_result(&out);
    assert_eq!(result["valid"], Json::Bool(false));
    assert_eq!(result["error"], "invalid_config");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("unknown option \"issuer\""),
        "{result}"
    );
}

#[test]
fn unknown_policy_option_human_output() {
    let dir = scratch_dir("unknown-option-human");
    let policy = dir.join("p.json");
    std::fs::write(&policy, r#"{"nope":1}"#).unwrap();
    let out = run(xconnauth()
        .args(["verify", "--issuer", ISSUER])
        .arg("--jwks")
        .arg(example("jwks.json"))
        .arg("--policy")
        .arg(&policy)
        .arg("x.y.z"));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).starts_with("error: policy file "),
        "{}",
        stderr(&out)
    );
}

/// DESIGN §4 floors: `min_rsa_bits` below 2048 or `max_rsa_bits` above 16384 is a
/// configuration error (exit 2), from a flag or from the policy file.
#[test]
fn rsa_size_below_the_floor_is_a_config_error() {
    let token = example_text("token.jwt");
    for flags in [
        &["--min-rsa-bits", "16"][..],
        &["--min-rsa-bits", "2047"],
        &["--max-rsa-bits", "16385"],
        &["--min-rsa-bits", "4096", "--max-rsa-bits", "3072"],
    ] {
        let out = run(verify_sample(flags).arg("--json").arg(token.trim_end()));
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        let result = json_result(&out);
        assert_eq!(result["error"], "invalid_config", "{flags:?}: {result}");
    }
    let dir = scratch_dir("rsa-floor");
    let policy = dir.join("p.json");
    std::fs::write(
        &policy,
        format!(r#"{{"issuers":["{ISSUER}"],"min_rsa_bits":1024}}"#),
    )
    .unwrap();
    let out = run(xconnauth()
        .args(["verify", "--json", "--now", NOW])
        .arg("--jwks")
        .arg(example("jwks.json"))
        .arg("--policy")
        .arg(&policy)
        .arg(token.trim_end()));
    assert_eq!(out.status.code(), Some(2));
    let result = json_result(&out);
    assert_eq!(result["error"], "invalid_config");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("min_rsa_bits 1024 is below 2048"),
        "{result}"
    );
    // At the floor it verifies.
    let out = run(verify_sample(&["--min-rsa-bits", "2048"]).arg(token.trim_end()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn missing_issuer_without_policy_is_a_config_error() {
    let out = run(xconnauth()
        .args(["verify", "--json"])
        .arg("--jwks")
        .arg(example("jwks.json"))
        .arg("x.y.z"));
    assert_eq!(out.status.code(), Some(2));
    let result = json_result(&out);
    assert_eq!(result["error"], "invalid_config");
    assert!(
        result["message"].as_str().unwrap().contains("--issuer"),
        "{result}"
    );
}

#[test]
fn bad_jwks_sources_are_config_errors() {
    let dir = scratch_dir("bad-jwks");
    let not_jwks = dir.join("not.json");
    std::fs::write(&not_jwks, "{\"keys\":").unwrap();
    let missing = dir.join("missing.json");
    for source in [
        not_jwks.to_str().unwrap(),
        missing.to_str().unwrap(),
        "file:///etc/passwd",
        "ftp://example.com/jwks.json",
    ] {
        let out = run(xconnauth().args([
            "verify", "--json", "--issuer", ISSUER, "--jwks", source, "x.y.z",
        ]));
        assert_eq!(out.status.code(), Some(2), "{source}");
        assert_eq!(json_result(&out)["error"], "invalid_config", "{source}");
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let token = example_text("token.jwt");
    for args in [
        &["verify", "--bogus"][..],
        &["verify", "--issuer", ISSUER, "x.y.z"], // no --jwks
        &[
            "verify",
            "--jwks",
            "j",
            "--token-type",
            "T",
            "--no-token-type",
            "x",
        ],
        &[
            "verify", "--jwks", "j", "--issuer", ISSUER, "--leeway", "-1", "x",
        ],
        &[
            "verify",
            "--jwks",
            "j",
            "--issuer",
            ISSUER,
            "--algorithm",
            "HS256",
            "x",
        ],
        &[
            "verify",
            "--jwks",
            "j",
            "--issuer",
            ISSUER,
            "--client-role",
            "no-colon",
            "x",
        ],
        &["frobnicate"],
        &[],
    ] {
        let out = run(xconnauth().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    // An inconsistent option (min above the default max 8192) reaches the core's policy
    // validation: still exit 2.
    let out = run(verify_sample(&["--min-rsa-bits", "9000", token.trim_end()]));
    assert_eq!(out.status.code(), Some(2));

    let out = run(xconnauth().args(["verify", "--help"]));
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    // Every DESIGN §4 option is named in the help.
    for name in [
        "issuers",
        "audiences",
        "algorithms",
        "leeway",
        "token_type",
        "required_scopes",
        "required_realm_roles",
        "required_client_roles",
        "required_claims",
        "min_rsa_bits",
        "max_rsa_bits",
        "max_token_bytes",
        "header_types",
    ] {
        assert!(
            help.contains(&format!("policy: {name}")),
            "{name} not in help"
        );
    }
    assert!(help.contains("FIRST ':'"));
    assert_eq!(run(xconnauth().arg("--help")).status.code(), Some(0));
    assert_eq!(
        run(xconnauth().args(["inspect", "--help"])).status.code(),
        Some(0)
    );
    assert_eq!(run(xconnauth().arg("--version")).status.code(), Some(0));
}

// ---------------------------------------------------------------- JWKS over HTTP

/// Serves `responses` (one per connection, in order) on 127.0.0.1 from a background
/// thread; returns the base URL and the thread.
fn serve(responses: Vec<Vec<u8>>) -> (String, thread::JoinHandle<Vec<String>>) {
    serve_on(TcpListener::bind("127.0.0.1:0").unwrap(), responses)
}

/// [`serve`] on a listener bound already (its address goes into the responses).
fn serve_on(
    listener: TcpListener,
    responses: Vec<Vec<u8>>,
) -> (String, thread::JoinHandle<Vec<String>>) {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut request_lines = Vec::new();
        for response in responses {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            request_lines.push(first.trim_end().to_owned());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            // The client may hang up early (size cap): that is expected, not a failure.
            let _ = reader.get_mut().write_all(&response);
        }
        request_lines
    });
    (url, handle)
}

fn http_response(status: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[test]
fn jwks_from_a_url() {
    let jwks = std::fs::read(example("jwks.json")).unwrap();
    let (base, server) = serve(vec![http_response("200 OK", &jwks)]);
    let url = format!("{base}/realms/demo/protocol/openid-connect/certs");
    let token = example_text("token.jwt");
    let out = run(xconnauth()
        .args(["verify", "--json", "--now", NOW, "--jwks", &url, "--policy"])
        .arg(example("policy.json"))
        .arg(token.trim_end()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(json_result(&out)["valid"], Json::Bool(true));
    let requests = server.join().unwrap();
    assert_eq!(
        requests,
        ["GET /realms/demo/protocol/openid-connect/certs HTTP/1.1"]
    );
}

#[test]
fn jwks_url_over_the_size_cap_is_refused() {
    let body = vec![b' '; 1536 * 1024];
    let (base, server) = serve(vec![http_response("200 OK", &body)]);
    let out = run(xconnauth().args([
        "verify",
        "--json",
        "--issuer",
        ISSUER,
        "--jwks",
        &format!("{base}/certs"),
        "x.y.z",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let result = json_result(&out);
    assert_eq!(result["error"], "invalid_config");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("larger than max_bytes (1048576)"),
        "{result}"
    );
    server.join().unwrap();
}

#[test]
fn jwks_url_http_error_is_refused() {
    let (base, server) = serve(vec![http_response("404 Not Found", b"{}")]);
    let out = run(xconnauth().args([
        "verify",
        "--issuer",
        ISSUER,
        "--jwks",
        &format!("{base}/certs"),
        "x.y.z",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("HTTP status 404"), "{}", stderr(&out));
    server.join().unwrap();
}

#[test]
fn jwks_url_connection_refused_is_a_config_error() {
    // Bind then drop: the port is (almost certainly) closed now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/certs");
    let out = run(xconnauth().args(["verify", "--issuer", ISSUER, "--jwks", &url, "x.y.z"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot fetch JWKS"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn discover_finds_the_keys_of_the_issuer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = format!("{base}/realms/demo");
    let discovery = serde_json::json!({"issuer": issuer, "jwks_uri": format!("{issuer}/certs")});
    let jwks = std::fs::read(example("jwks.json")).unwrap();
    let (_, server) = serve_on(
        listener,
        vec![
            http_response("200 OK", discovery.to_string().as_bytes()),
            http_response("200 OK", &jwks),
        ],
    );
    // The sample token names https://sso.example.com/realms/demo: under the loopback
    // issuer it verifies its signature with the discovered keys, then fails on `iss`.
    let token = example_text("token.jwt");
    let out = run(xconnauth()
        .args([
            "verify",
            "--json",
            "--now",
            NOW,
            "--discover",
            "--issuer",
            &issuer,
        ])
        .arg(token.trim_end()));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(json_result(&out)["error"], "wrong_issuer");
    let requests = server.join().unwrap();
    assert_eq!(
        requests,
        [
            "GET /realms/demo/.well-known/openid-configuration HTTP/1.1",
            "GET /realms/demo/certs HTTP/1.1"
        ]
    );
}

#[test]
fn discover_errors_are_config_errors() {
    // Issuer down.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}/realms/demo");
    // Discovery naming another issuer.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let other = serde_json::json!({"issuer": "https://evil.example.com", "jwks_uri": format!("{base}/certs")});
    let (_, server) = serve_on(
        listener,
        vec![http_response("200 OK", other.to_string().as_bytes())],
    );
    let mismatch = format!("{base}/realms/demo");
    for (issuer, expect) in [
        (down.as_str(), "cannot get the issuers' keys"),
        (mismatch.as_str(), "is not the configured"),
        ("http://foo.localhost/realms/demo", "loopback"),
        ("http://sso.example.com/realms/demo", "loopback"),
    ] {
        let out = run(xconnauth().args(["verify", "--discover", "--issuer", issuer, "x.y.z"]));
        assert_eq!(out.status.code(), Some(2), "{issuer}");
        assert!(stderr(&out).contains(expect), "{issuer}: {}", stderr(&out));
    }
    server.join().unwrap();
    // --jwks and --discover together, or neither: usage errors.
    let out = run(xconnauth().args([
        "verify",
        "--discover",
        "--jwks",
        "j",
        "--issuer",
        ISSUER,
        "x",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(xconnauth().args([
        "verify",
        "--discover",
        "--issuer",
        ISSUER,
        "--ca-file",
        "/nonexistent/ca.pem",
        "x",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ca_file"), "{}", stderr(&out));
}

#[test]
fn jwks_url_redirects_and_plain_http_are_refused() {
    let (base, server) = serve(vec![
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/certs\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    ]);
    let out = run(xconnauth().args([
        "verify",
        "--issuer",
        ISSUER,
        "--jwks",
        &format!("{base}/certs"),
        "x.y.z",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("HTTP 302 redirect refused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.join().unwrap().len(), 1);
    for url in ["http://sso.example.com/certs", "http://foo.localhost/certs"] {
        let out = run(xconnauth().args(["verify", "--issuer", ISSUER, "--jwks", url, "x.y.z"]));
        assert_eq!(out.status.code(), Some(2), "{url}");
        assert!(
            stderr(&out).contains("only to a loopback"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn loopback_urls_bypass_proxies_from_the_environment() {
    let jwks = std::fs::read(example("jwks.json")).unwrap();
    let (base, server) = serve(vec![http_response("200 OK", &jwks)]);
    let token = example_text("token.jwt");
    let out = run(xconnauth()
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env("http_proxy", "http://127.0.0.1:1")
        .args([
            "verify",
            "--now",
            NOW,
            "--jwks",
            &format!("{base}/certs"),
            "--policy",
        ])
        .arg(example("policy.json"))
        .arg(token.trim_end()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    server.join().unwrap();
}

// ---------------------------------------------------------------- inspect

/// The code points of Unicode `Cc`, `Cf`, `Zl` and `Zp` (generated list, see
/// `src/terminal.rs`).
fn unsafe_for_terminal() -> Vec<char> {
    let data = include_str!("data/unicode-cc-cf-zl-zp.txt");
    data.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .flat_map(|l| {
            let (a, b) = l.split_once(' ').unwrap();
            u32::from_str_radix(a, 16).unwrap()..=u32::from_str_radix(b, 16).unwrap()
        })
        .filter_map(char::from_u32)
        .collect()
}

fn b64url_encode(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Issue 17: every control, format and separator character of an unverified token
/// (the whole Unicode category, in a claim value and in a member name) reaches the
/// terminal escaped, in human and JSON output alike, and JSON output keeps the values.
#[test]
fn inspect_escapes_every_control_and_format_character() {
    let bad = unsafe_for_terminal();
    assert_eq!(bad.len(), 237);
    let value: String = bad.iter().collect();
    let payload = serde_json::json!({ "sub": value, "x\u{61c}\u{2066}y": 1 });
    let token = format!(
        "{}.{}.c2ln",
        b64url_encode(br#"{"alg":"RS256","kid":"\u202ekid"}"#),
        b64url_encode(payload.to_string().as_bytes())
    );
    for json in [false, true] {
        let mut cmd = xconnauth();
        cmd.arg("inspect");
        if json {
            cmd.arg("--json");
        }
        let out = run(cmd.arg(&token));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        let raw: Vec<String> = text
            .chars()
            .filter(|c| *c != '\n' && bad.contains(c))
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        assert!(raw.is_empty(), "json={json}: raw {raw:?}");
        if json {
            let v: Json = serde_json::from_str(text.trim_end()).unwrap();
            assert_eq!(v["claims"]["sub"], Json::String(value.clone()));
            assert_eq!(v["header"]["kid"], "\u{202e}kid");
        } else {
            assert!(text.contains("\\u061c"), "{text}");
        }
    }
}

#[test]
fn inspect_is_labelled_unverified() {
    let token = example_text("tampered.jwt");
    let out = run(xconnauth().args(["inspect", token.trim_end()]));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(
        text.lines().next(),
        Some("UNVERIFIED: signature, issuer and expiry have NOT been checked")
    );
    assert!(text.contains("\"spark-admin\""), "{text}");
    assert!(
        text.contains("\n  \"alg\": \"RS256\""),
        "not pretty-printed: {text}"
    );
}

#[test]
fn inspect_json() {
    let token = example_text("token.jwt");
    let out = run(xconnauth().args(["inspect", "--json", token.trim_end()]));
    assert_eq!(out.status.code(), Some(0));
    let (header, payload) = decoded_parts(&token);
    let result = json_result(&out);
    assert_eq!(result["verified"], Json::Bool(false));
    assert_eq!(result["header"], header);
    assert_eq!(result["claims"], payload);
}

#[test]
fn inspect_errors_exit_1_with_the_category() {
    let out = run(xconnauth().args(["inspect", "--json", "a.b"]));
    assert_eq!(out.status.code(), Some(1));
    let result = json_result(&out);
    assert_eq!(result["verified"], Json::Bool(false));
    assert_eq!(result["error"], "malformed");

    let out = run(xconnauth().args(["inspect", "e30.e30.!!"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "inspect does not look at the signature"
    );
    let out = run(xconnauth().args(["inspect", "e30.bm90IGpzb24.c2ln"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("INVALID bad_json: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn inspect_batch() {
    let input = format!("{}\nnot-a-token\n", example_text("token.jwt").trim_end());
    let out = run_with_stdin(
        xconnauth().args(["inspect", "--json", "-"]),
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Json> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["claims"]["azp"], "demo-client");
    assert_eq!(lines[1]["error"], "malformed");
}

// ---------------------------------------------------------------- the dev corpus

/// What one corpus case produced, when it differs from what it expects.
fn run_corpus_case(case: &Json, cases_dir: &Path, scratch: &Path, index: usize) -> Option<String> {
    let name = case["name"].as_str().unwrap();
    let policy = scratch.join(format!("{index}-policy.json"));
    std::fs::write(&policy, serde_json::to_vec(&case["options"]).unwrap()).unwrap();
    let jwks = match case["jwks_ref"].as_str() {
        Some(rel) => cases_dir.join(rel),
        None => {
            let path = scratch.join(format!("{index}-jwks.json"));
            std::fs::write(&path, serde_json::to_vec(&case["jwks"]).unwrap()).unwrap();
            path
        }
    };
    let out = run(xconnauth()
        .args([
            "verify",
            "--json",
            "--now",
            &case["now"].to_string(),
            "--jwks",
        ])
        .arg(&jwks)
        .arg("--policy")
        .arg(&policy)
        .arg("--")
        .arg(case["token"].as_str().unwrap()));
    let got: Json = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            return Some(format!(
                "{name}: no JSON result (exit {:?}): {}",
                out.status.code(),
                stderr(&out)
            ))
        }
    };
    let describe = |v: &Json| match v.get("error") {
        Some(code) => format!("{code} ({})", v["message"]),
        None => "ok".to_owned(),
    };
    if case["expect"] == "ok" {
        if got["valid"] != Json::Bool(true) {
            return Some(format!("{name}: expected ok, got {}", describe(&got)));
        }
        if got["claims"] != case["claims"] {
            return Some(format!(
                "{name}: claims differ: got {}, expected {}",
                got["claims"], case["claims"]
            ));
        }
        if out.status.code() != Some(0) {
            return Some(format!("{name}: valid but exit {:?}", out.status.code()));
        }
    } else {
        let want = &case["expect"]["error"];
        if &got["error"] != want {
            return Some(format!("{name}: expected {want}, got {}", describe(&got)));
        }
        if out.status.code() != Some(1) {
            return Some(format!("{name}: rejected but exit {:?}", out.status.code()));
        }
    }
    None
}

#[test]
fn dev_corpus() {
    let text = std::fs::read_to_string(CORPUS)
        .unwrap_or_else(|e| panic!("the dev corpus {CORPUS} must be present: {e}"));
    let cases: Vec<Json> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(cases.len() > 100, "only {} corpus cases", cases.len());
    let cases_dir = Path::new(CORPUS).parent().unwrap().to_path_buf();
    let scratch = scratch_dir("corpus");

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                if let Some(f) = run_corpus_case(case, &cases_dir, &scratch, i) {
                    failures.lock().unwrap().push((i, f));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    let report: Vec<String> = failures.into_iter().map(|(_, f)| f).collect();
    assert!(
        report.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        report.len(),
        cases.len(),
        report.join("\n")
    );
}

// ---------------------------------------------------------------- RFC 9068 header types

/// A signed RFC 9068 sample token of core/tests/data (header typ variants, no typ claim).
fn rfc9068_token(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/rfc9068_tokens.json");
    let all: Json = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    all[name].as_str().unwrap().to_owned()
}

#[test]
fn header_type_flag_and_policy_option() {
    // Flags alone (the sample policy requires Keycloak scopes and roles).
    let verify = |extra: &[&str]| {
        let mut cmd = xconnauth();
        cmd.args(["verify", "--issuer", ISSUER, "--now", NOW])
            .arg("--jwks")
            .arg(example("jwks.json"))
            .args(extra);
        run(cmd)
    };
    let rfc9068 = ["--audience", "https://api.example.com", "--json"];
    // The sample policy (token_type Bearer) refuses it, naming the options to set.
    let at_jwt = rfc9068_token("at+jwt");
    let out = verify(&[&rfc9068[..], &[at_jwt.as_str()]].concat());
    assert_rejected(&out, "missing_claim");
    let message = json_result(&out)["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("set token_type to null and header_types to [\"at+jwt\"]"),
        "{message}"
    );
    // Flags: --no-token-type --header-type at+jwt.
    let flags = [
        &rfc9068[..],
        &["--no-token-type", "--header-type", "at+jwt"],
    ]
    .concat();
    for name in ["at+jwt", "application/at+jwt", "AT+JWT", "escaped"] {
        let token = rfc9068_token(name);
        let out = verify(&[&flags[..], &[token.as_str()]].concat());
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stdout(&out));
    }
    for name in ["JWT", "no_typ", "typ_number"] {
        let token = rfc9068_token(name);
        let out = verify(&[&flags[..], &[token.as_str()]].concat());
        assert_rejected(&out, "wrong_type");
    }
    // Repeatable: every value given is accepted.
    let jwt = rfc9068_token("JWT");
    let both = [&flags[..], &["--header-type", "JWT", jwt.as_str()]].concat();
    assert_eq!(verify(&both).status.code(), Some(0));
    // The same from a policy file.
    let dir = scratch_dir("header-types");
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"issuers":["https://sso.example.com/realms/demo"],"audiences":["https://api.example.com"],"token_type":null,"header_types":["at+jwt"]}"#,
    )
    .unwrap();
    let with_file = |token: &str| {
        let mut cmd = xconnauth();
        cmd.args(["verify", "--json", "--now", NOW])
            .arg("--jwks")
            .arg(example("jwks.json"))
            .arg("--policy")
            .arg(&policy)
            .arg(token);
        run(cmd)
    };
    assert_eq!(with_file(&at_jwt).status.code(), Some(0));
    assert_rejected(&with_file(&jwt), "wrong_type");
    // An empty value is a configuration error (exit 2).
    let empty = [&flags[..], &["--header-type", "", at_jwt.as_str()]].concat();
    assert_eq!(verify(&empty).status.code(), Some(2));
}
