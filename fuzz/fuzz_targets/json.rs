//! Arbitrary bytes to `parse_object`, differentially against serde_json.
//! Invariants: ours accepts => serde_json accepts, with the same member names, values,
//! strings (unescaped), number text and NumericDate (exact oracle); and, in the other
//! direction, serde_json accepts an object without duplicate names nested at most
//! MAX_DEPTH deep => ours accepts (those two are our only extra strictness); the
//! verifier's one-pass claims reading agrees with validating and then walking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xconnauth::{Value, MAX_DEPTH};
use xconnauth_fuzz::{check_value, Tree};

fuzz_target!(|data: &[u8]| {
    assert!(
        xconnauth::__one_pass_claims_agree(data),
        "one-pass and two-pass claims readings differ"
    );
    let ours = xconnauth::parse_object(data);
    let serde_value = serde_json::from_slice::<serde_json::Value>(data);
    let tree = serde_json::from_slice::<Tree>(data);
    match (&ours, &tree) {
        (Some(o), Ok(t)) => {
            let Ok(serde_json::Value::Object(map)) = &serde_value else {
                panic!("serde Value differs from serde Tree")
            };
            let names: Vec<String> = o.iter().map(|(k, _)| k.chars().collect()).collect();
            let serde_names: Vec<&String> = map.keys().collect();
            assert_eq!(
                names.iter().collect::<Vec<_>>(),
                serde_names,
                "top-level names differ"
            );
            assert!(!t.has_duplicate_names() && t.depth() <= MAX_DEPTH);
            check_value(Value::Object(*o), t);
        }
        (Some(_), Err(e)) => panic!("ours accepts what serde_json rejects: {e}"),
        (None, Ok(t @ Tree::Obj(_))) => assert!(
            t.has_duplicate_names() || t.depth() > MAX_DEPTH,
            "ours rejects an object serde_json accepts, without duplicates, depth {}",
            t.depth()
        ),
        (None, _) => {}
    }
});
