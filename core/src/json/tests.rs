#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use alloc::{format, string::String, vec::Vec};

fn ok(s: &str) -> bool {
    validate(s.as_bytes()).is_ok()
}

#[test]
fn grammar() {
    for good in [
        "{}",
        "[]",
        " {\"a\" : 1 ,\"b\":[true,false,null,-0.5e+3,\"x\"]}\r\n",
        "\"\\ud83d\\ude00\"",
        "0",
        "{\"a\":{\"a\":{\"a\":1}}}",
    ] {
        assert!(ok(good), "{good}");
    }
    for bad in [
        "",
        "{",
        "{\"a\":1,}",
        "[1,]",
        "{'a':1}",
        "{a:1}",
        "01",
        "1.",
        ".5",
        "1e",
        "NaN",
        "Infinity",
        "-Infinity",
        "tru",
        "nul",
        "\"\\q\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\ud83d\\u0041\"",
        "\"a\u{1}\"",
        "{} x",
        "{}{}",
        "/*c*/{}",
        "\u{feff}{}",
        "[1 2]",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
    ] {
        assert!(!ok(bad), "{bad:?}");
    }
    assert_eq!(validate(&[b'"', 0xff, b'"']), Err(JsonError::Utf8));
    assert_eq!(validate(&[b'"', 0xc0, 0xaf, b'"']), Err(JsonError::Utf8));
}

/// UTF-8 is checked run by run inside strings; the verdict must be exactly that of
/// checking the whole document first, for every placement of every kind of byte.
#[test]
fn utf8_checked_in_place_matches_a_whole_document_check() {
    let reference = |doc: &[u8]| {
        if core::str::from_utf8(doc).is_err() {
            return Err(JsonError::Utf8);
        }
        validate(doc)
    };
    let sequences: [&[u8]; 14] = [
        "é".as_bytes(),
        "€".as_bytes(),
        "😀".as_bytes(),
        "\u{ffff}".as_bytes(),
        b"\xc3",             // truncated
        b"\x80",             // lone continuation
        b"\xc0\xaf",         // overlong
        b"\xe0\x80\xaf",     // overlong
        b"\xed\xa0\x80",     // encoded surrogate
        b"\xf4\x90\x80\x80", // above U+10FFFF
        b"\xf0\x9f\x98",     // truncated 4-byte
        b"\xc3\xa9\xa9",     // one continuation too many
        b"\xff",
        b"\xc3\xa9\xe2\x82\xac",
    ];
    let shapes: [&str; 8] = [
        r#"{"X":1}"#,
        r#"{"aX":"bX"}"#,
        r#"{"a":"X","b":"X\n"}"#,
        r#"["X",1]"#,
        r#"{"a":1X}"#,
        r#"X{"a":1}"#,
        r#"{"a":"X"} x"#,
        r#"{"a":"X","a":"X"}"#,
    ];
    for shape in shapes {
        for seq in sequences {
            for twice in [false, true] {
                let mut doc = Vec::new();
                for (i, part) in shape.split('X').enumerate() {
                    if i > 0 {
                        doc.extend_from_slice(seq);
                        if twice {
                            doc.extend_from_slice(seq);
                        }
                    }
                    doc.extend_from_slice(part.as_bytes());
                }
                let got = validate(&doc);
                assert_eq!(got, reference(&doc), "{doc:?}");
                if core::str::from_utf8(&doc).is_ok() {
                    // Valid text: the verdict is the shape's, whatever the letters.
                    let want = match shape {
                        r#"{"a":1X}"# | r#"X{"a":1}"# | r#"{"a":"X"} x"# => Err(JsonError::Syntax),
                        r#"{"a":"X","a":"X"}"# => Err(JsonError::Duplicate),
                        _ => Ok(()),
                    };
                    assert_eq!(got, want, "{doc:?}");
                }
            }
        }
    }
}

/// The word-at-a-time hash of a plain name is the streamed hash of its bytes, for
/// every length around the word boundaries, and an escaped spelling hashes like
/// the plain one.
#[test]
fn name_hash_is_one_function_of_the_unescaped_bytes() {
    let mut next = crate::testutil::xorshift(0x9e37_79b9_7f4a_7c15u64);
    for len in 0..40 {
        for _ in 0..50 {
            let raw: Vec<u8> = (0..len).map(|_| b'a' + (next() % 26) as u8).collect();
            let plain = JsonStr {
                raw: &raw,
                escaped: false,
            };
            let mut streamed = NameHash::default();
            raw.iter().for_each(|&b| streamed.push(b));
            assert_eq!(name_hash(&plain), streamed.finish(), "{raw:?}");
            // The same name with its first character escaped.
            if let Some((&first, rest)) = raw.split_first() {
                let text = format!("\\u{:04x}{}", first, core::str::from_utf8(rest).unwrap());
                let esc = JsonStr {
                    raw: text.as_bytes(),
                    escaped: true,
                };
                assert_eq!(name_hash(&esc), name_hash(&plain), "{text}");
            }
        }
    }
    // Names that differ only in length or in a padded zero byte differ.
    let h = |s: &[u8]| {
        name_hash(&JsonStr {
            raw: s,
            escaped: false,
        })
    };
    assert_ne!(h(b"a"), h(b"a\0"));
    assert_ne!(h(b""), h(b"\0"));
    assert_ne!(h(b"abcdefgh"), h(b"abcdefgh\0"));
}

#[test]
fn the_exact_check_agrees_with_a_set_of_unescaped_names() {
    let mut rng = crate::testutil::xorshift(17);
    for round in 0..400 {
        let count = [1, 2, 60, 127, 128, 129, 300, 1000, 1024][round % 9];
        let mut names: alloc::vec::Vec<alloc::string::String> = (0..count)
            .map(|i| alloc::format!("n{}", i * 7919 % 100_003))
            .collect();
        let dup = round % 3 != 0 && count > 1;
        if dup {
            let (a, b) = ((rng() as usize) % count, (rng() as usize) % count);
            let b = if a == b { (b + 1) % count } else { b };
            let copy = names[a].clone();
            names[b] = copy;
        }
        let mut doc = alloc::string::String::from("{");
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                doc.push(',');
            }
            // Escape some names: equal after unescaping is still a duplicate.
            let written = if rng().is_multiple_of(4) {
                n.replacen('n', "\\u006e", 1)
            } else {
                n.clone()
            };
            let value = if rng().is_multiple_of(8) {
                r#"{"n0":[1,"}"]}"#
            } else {
                "0"
            };
            doc.push_str(&alloc::format!("\"{written}\":{value}"));
        }
        doc.push('}');
        let want = if dup {
            Err(JsonError::Duplicate)
        } else {
            Ok(())
        };
        assert_eq!(validate(doc.as_bytes()), want, "heap, {count} names");
        for room in [0usize, 100, 512, 4000, 9000] {
            let mut buf = alloc::vec![0u8; room];
            let got = validate_with(
                doc.as_bytes(),
                usize::MAX,
                Scratch::Room(&mut buf),
                &mut |_, _, _| {},
            )
            .map(|_| ());
            assert_eq!(got, want, "room {room}, {count} names");
        }
    }
}

/// Names whose hashes all collide sort and look up by their bytes (insertion sort
/// for small runs, heapsort for long ones), so colliding hashes cost no more.
#[test]
fn entries_with_colliding_hashes_sort_by_their_names() {
    for count in [3usize, 15, 16, 17, 200] {
        let mut src = alloc::string::String::new();
        let mut at = alloc::vec::Vec::new();
        for i in (0..count).rev() {
            src.push('"');
            at.push(src.len());
            src.push_str(&alloc::format!("name{i:04}\""));
        }
        let mut bytes = alloc::vec![0u8; count * ENTRY];
        let mut e = Entries(&mut bytes);
        for (i, &a) in at.iter().enumerate() {
            e.set(i, (0xabcd_ef01u64 << 32) | a as u64);
        }
        e.sort(src.as_bytes(), count);
        for i in 1..count {
            assert!(order(src.as_bytes(), e.get(i - 1), e.get(i)).is_lt());
        }
        for &a in &at {
            assert!(e.contains(src.as_bytes(), count, (0xabcd_ef01u64 << 32) | a as u64));
        }
        src.push_str("\"other\"");
        let other = (0xabcd_ef01u64 << 32) | (src.len() - 6) as u64;
        assert!(!e.contains(src.as_bytes(), count, other));
    }
}

#[test]
fn duplicates_after_unescaping() {
    assert_eq!(validate(br#"{"a":1,"a":2}"#), Err(JsonError::Duplicate));
    assert_eq!(
        validate(br#"{"exp":1,"\u0065xp":2}"#),
        Err(JsonError::Duplicate)
    );
    assert_eq!(
        validate("{\"\u{e9}\":1,\"\\u00e9\":2}".as_bytes()),
        Err(JsonError::Duplicate)
    );
    assert_eq!(validate(br#"{"a":{"a":1},"b":{"a":2}}"#), Ok(()));
    assert_eq!(validate(br#"{"a":[{"x":1},{"x":1}]}"#), Ok(()));
    assert_eq!(
        validate(br#"{"o":{"k":1,"k":1}}"#),
        Err(JsonError::Duplicate)
    );
    // Many distinct names: the filter saturates and exact rescans must still pass.
    let mut s = alloc::string::String::from("{");
    for i in 0..500 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&alloc::format!("\"k{i}\":{{\"k{i}\":[\"}}\"]}}"));
    }
    s.push('}');
    assert_eq!(validate(s.as_bytes()), Ok(()));
    s.insert_str(1, "\"k499\":0,");
    assert_eq!(validate(s.as_bytes()), Err(JsonError::Duplicate));
}

#[test]
fn name_limit() {
    let doc = br#"{"a":1,"b":{"c":2,"d":3}}"#;
    assert_eq!(
        validate_with(doc, 4, Scratch::Room(&mut []), &mut |_, _, _| {}).map(|_| ()),
        Ok(())
    );
    assert_eq!(
        validate_with(doc, 3, Scratch::Room(&mut []), &mut |_, _, _| {}).map(|_| ()),
        Err(JsonError::TooManyNames)
    );
    // Names beyond the hash slots fall back to filter + exact rescan.
    let mut s = alloc::string::String::from("{");
    for i in 0..(NAME_SLOTS * 3) {
        s.push_str(&alloc::format!("\"\\u0041{i}\":{{\"x\":{{\"A{i}\":0}}}},"));
    }
    s.push_str("\"z\":0}");
    assert_eq!(validate(s.as_bytes()), Ok(()));
    let dup = s.replacen("\"z\"", "\"A7\"", 1);
    assert_eq!(validate(dup.as_bytes()), Err(JsonError::Duplicate));
}

#[test]
fn depth() {
    let deep = |n: usize| {
        let mut s = alloc::string::String::new();
        for _ in 0..n {
            s.push('[');
        }
        for _ in 0..n {
            s.push(']');
        }
        s
    };
    assert!(ok(&deep(32)));
    assert!(ok(&deep(MAX_DEPTH)));
    assert_eq!(
        validate(deep(MAX_DEPTH + 1).as_bytes()),
        Err(JsonError::TooDeep)
    );
    assert_eq!(validate(deep(100_000).as_bytes()), Err(JsonError::TooDeep));
}

/// The members `validate_with` hands over are exactly those a second walk finds.
#[test]
fn members_from_the_validator_match_a_second_walk() {
    let docs: [&[u8]; 9] = [
        br#"{}"#,
        br#" { "a" : 1 , "b":[1,{"x":[]}], "c":{"d":{"e":"}"}},"e":{},"f":[] } "#,
        br#"{"\u0065xp":-1.5e3,"s":"a\"b\\","t":true,"f":false,"n":null}"#,
        br#"{"realm_access":{"roles":["a","b"]},"resource_access":{"c":{"roles":[]}}}"#,
        br#"[{"a":1},{"b":2}]"#,
        br#""top""#,
        br#"{"a":{"a":{"a":1}},"b":[[["]"]]]}"#,
        br#"{"k":"\ud83d\ude00","l":"\u00e9"}"#,
        b"\t{\n\"a\"\r:\n[ ]\t}\n",
    ];
    for doc in docs {
        let mut handed = Vec::new();
        let root = validate_with(doc, usize::MAX, Scratch::Room(&mut []), &mut |n, v, _| {
            handed.push((n, v))
        })
        .unwrap();
        assert_eq!(root, doc.trim_ascii(), "{}", String::from_utf8_lossy(doc));
        let walked: Vec<_> = match Object::parse(doc) {
            Ok(o) => o.iter().collect(),
            Err(_) => Vec::new(),
        };
        assert_eq!(
            handed.len(),
            walked.len(),
            "{}",
            String::from_utf8_lossy(doc)
        );
        for ((n1, v1), (n2, v2)) in handed.iter().zip(&walked) {
            assert_eq!(n1.raw(), n2.raw());
            assert_eq!(n1.is_escaped(), n2.is_escaped());
            assert_eq!(format!("{v1:?}"), format!("{v2:?}"));
        }
    }
}

#[test]
fn lookups_and_strings() {
    let o = Object::parse(
        br#"{"iss":"https:\/\/kc","n":"Jos\u00e9","s":"a \ud83d\ude00 b","x":[1,{"y":"}"}],"z":2}"#,
    )
    .unwrap();
    assert!(o.get("iss").unwrap().as_str().unwrap().eq_str("https://kc"));
    assert!(o.get("n").unwrap().as_str().unwrap().eq_str("José"));
    let s = o.get("s").unwrap().as_str().unwrap();
    assert!(s.eq_str("a 😀 b"));
    assert!(s.has_word("😀"));
    assert!(!s.has_word("a 😀"));
    assert_eq!(alloc::format!("{s}"), "a 😀 b");
    assert!(matches!(o.get("z"), Some(Value::Number(n)) if n.as_json() == "2"));
    assert_eq!(o.get("x").unwrap().as_array().unwrap().iter().count(), 2);
    assert!(o.get("y").is_none());
}

#[test]
fn words() {
    let o = Object::parse(br#"{"a":"openid profile spark","b":"open\u0069d  sparkle"}"#).unwrap();
    let a = o.get("a").unwrap().as_str().unwrap();
    let b = o.get("b").unwrap().as_str().unwrap();
    for (s, w, want) in [
        (a, "spark", true),
        (a, "openid", true),
        (a, "spar", false),
        (a, "open", false),
        (b, "openid", true),
        (b, "spark", false),
        (b, "sparkle", true),
        (b, "", false),
    ] {
        assert_eq!(s.has_word(w), want, "{s:?} {w}");
    }
}

#[test]
fn numeric_dates() {
    let nd = |s: &str| {
        validate(s.as_bytes()).unwrap();
        Number { raw: s.as_bytes() }.as_numeric_date()
    };
    assert_eq!(nd("0"), Some(0));
    assert_eq!(nd("-0"), Some(0));
    assert_eq!(nd("-0.0"), Some(0));
    assert_eq!(nd("1751328120.25"), Some(1_751_328_120));
    assert_eq!(nd("1.7e9"), Some(1_700_000_000));
    assert_eq!(nd("17000000000e-1"), Some(1_700_000_000));
    assert_eq!(nd("9007199254740992"), Some(1 << 53));
    assert_eq!(nd("9007199254740992.0"), Some(1 << 53));
    assert_eq!(nd("9007199254740992.5"), None);
    assert_eq!(nd("9007199254740994"), None);
    assert_eq!(nd("9223372036854775809"), None);
    assert_eq!(nd("1e400"), None);
    assert_eq!(nd("0e999999999999"), Some(0));
    assert_eq!(nd("1e-400"), Some(0));
    assert_eq!(nd("-1"), None);
    assert_eq!(nd("-0.5"), None);
    // The plain-integer shortcut (up to 15 digits) and the general path agree.
    for n in [
        "1",
        "1764003540",
        "100000000000000",
        "999999999999999",
        "4503599627370496",
    ] {
        assert_eq!(nd(n), nd(&format!("{n}.0")), "{n}");
        assert_eq!(nd(n), n.parse::<u64>().ok(), "{n}");
    }
}
