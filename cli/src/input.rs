//! Tokens from the command line or, in batch mode, one per line of standard input.

use std::io::{self, BufRead};

/// One line of batch input, without its line terminator.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// The line's bytes (at most `cap` of them, see [`read_line`]).
    pub(crate) bytes: Vec<u8>,
    /// The line was longer than `cap`; `bytes` holds only its first `cap` bytes.
    pub(crate) truncated: bool,
}

/// Reads the next line of `reader`, removing exactly one trailing `\n` or `\r\n` and
/// nothing else: whitespace is part of the token and must fail verification, not be
/// silently repaired. Returns `None` at end of input, so text after the last newline
/// is a line of its own only when it is non-empty.
///
/// Keeps at most `cap` bytes and discards the rest of a longer line, so one huge line
/// cannot exhaust memory; callers pick `cap` above their size limit so a truncated line
/// is still rejected for its size.
pub(crate) fn read_line<R: BufRead>(reader: &mut R, cap: usize) -> io::Result<Option<Line>> {
    let mut bytes = Vec::new();
    let mut truncated = false;
    let mut seen_any = false;
    let mut ended_with_newline = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        seen_any = true;
        let (part, used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (chunk.get(..i).unwrap_or_default(), i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = cap.saturating_sub(bytes.len());
        if part.len() > room {
            truncated = true;
        }
        bytes.extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        reader.consume(used);
        if done {
            ended_with_newline = true;
            break;
        }
    }
    if !seen_any {
        return Ok(None);
    }
    // `\r` is part of the terminator only directly before the `\n`.
    if ended_with_newline && !truncated && bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    Ok(Some(Line { bytes, truncated }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lines(input: &[u8], cap: usize) -> Vec<(Vec<u8>, bool)> {
        // A tiny buffer exercises lines split across several fill_buf calls.
        let mut reader = io::BufReader::with_capacity(3, input);
        let mut out = Vec::new();
        while let Some(line) = read_line(&mut reader, cap).unwrap() {
            out.push((line.bytes, line.truncated));
        }
        out
    }

    fn texts(input: &[u8]) -> Vec<Vec<u8>> {
        lines(input, 1000).into_iter().map(|(b, _)| b).collect()
    }

    #[test]
    fn terminators() {
        assert_eq!(texts(b""), Vec::<Vec<u8>>::new());
        assert_eq!(texts(b"a.b.c"), [b"a.b.c".to_vec()]);
        assert_eq!(texts(b"a.b.c\n"), [b"a.b.c".to_vec()]);
        assert_eq!(texts(b"a\r\nb\n"), [b"a".to_vec(), b"b".to_vec()]);
        // Only the empty remainder after the last newline is skipped.
        assert_eq!(texts(b"a\n\n"), [b"a".to_vec(), Vec::<u8>::new()]);
        assert_eq!(texts(b"\n"), [Vec::<u8>::new()]);
        // Nothing but the terminator is removed.
        assert_eq!(texts(b" a \t\r\r\n"), [b" a \t\r".to_vec()]);
        assert_eq!(texts(b"a\r"), [b"a\r".to_vec()]);
    }

    #[test]
    fn long_lines_are_capped() {
        let got = lines(b"abcdefgh\nxy\n", 4);
        assert_eq!(got, [(b"abcd".to_vec(), true), (b"xy".to_vec(), false)]);
        let got = lines(b"abcd\r\n", 4);
        assert_eq!(got, [(b"abcd".to_vec(), true)]);
    }
}
