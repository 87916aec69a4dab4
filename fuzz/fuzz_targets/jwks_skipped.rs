//! Arbitrary bytes as a JWKS, for issue 17's "one bad key does not spoil the set".
//! Invariants: nothing panics; when the document is a JSON object with a `keys` array,
//! every entry is either a key of the set or listed in `skipped()` (in order, with
//! the entry's string `kid`), and the set fails only when no entry is usable: each
//! entry alone gives the same verdict (usable or skipped, same reason) as in the
//! whole document.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xconnauth::{parse_object, KeySet, Value, MAX_JWKS_BYTES};

fuzz_target!(|data: &[u8]| {
    let result = KeySet::from_jwks(data);
    let Some(doc) = parse_object(data) else {
        assert!(result.is_err(), "not a JSON object, yet a key set");
        return;
    };
    let Some(Value::Array(list)) = doc.get("keys") else {
        assert!(result.is_err(), "no keys array, yet a key set");
        return;
    };
    if data.len() > MAX_JWKS_BYTES {
        assert!(result.is_err());
        return;
    }
    let entries: Vec<Value<'_>> = list.iter().collect();
    // Each entry alone: usable (Some(kid)) or skipped (its reason).
    let alone: Vec<Result<Option<String>, String>> = entries
        .iter()
        .map(|e| {
            let text = match e {
                Value::Object(o) => o.as_json(),
                Value::Array(a) => a.as_json(),
                _ => "null",
            };
            let one = format!(r#"{{"keys":[{text}]}}"#);
            match KeySet::from_jwks(one.as_bytes()) {
                Ok(k) => Ok(k.iter().next().and_then(|k| k.kid().map(String::from))),
                Err(_) => Err(String::new()),
            }
        })
        .collect();
    match result {
        Ok(keys) => {
            assert!(!keys.is_empty());
            assert_eq!(keys.len() + keys.skipped().len(), entries.len());
            let mut last = None;
            for s in keys.skipped() {
                assert!(last.is_none_or(|l| l < s.index), "skipped out of order");
                last = Some(s.index);
                assert!(alone[s.index].is_err(), "entry {} usable alone", s.index);
                let kid = match &entries[s.index] {
                    Value::Object(o) => match o.get("kid") {
                        Some(Value::String(k)) => Some(k.to_string()),
                        _ => None,
                    },
                    _ => None,
                };
                assert_eq!(s.kid, kid);
                assert!(!s.reason.is_empty());
            }
            let kept: Vec<Option<String>> =
                keys.iter().map(|k| k.kid().map(String::from)).collect();
            let usable: Vec<Option<String>> = alone.iter().filter_map(|a| a.clone().ok()).collect();
            assert_eq!(kept, usable, "the set is not its usable entries");
        }
        Err(_) => assert!(
            alone.iter().all(Result::is_err),
            "the set failed though an entry is usable alone"
        ),
    }
});
