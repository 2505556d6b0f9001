//! Text helpers: byte offsets to line:column, "did you mean" suggestions, and the cheap
//! pre-parse guard against inputs that would make a recursive parser work too hard.

/// Maps byte offsets in one source text to 1-based line and column (columns count
/// characters, not bytes, so they match what an editor shows).
pub(crate) struct LineIndex<'s> {
    src: &'s str,
    starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, starts }
    }

    /// 1-based (line, column) of a byte offset; offsets past the end clamp to the end and
    /// offsets inside a multi-byte character count up to that character.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .src
            .get(start..)
            .map(|rest| {
                rest.char_indices()
                    .take_while(|(i, _)| start + i < offset)
                    .count()
            })
            .unwrap_or(0);
        (line, column + 1)
    }
}

/// Edit distance over characters where inserting, deleting, substituting one character
/// or swapping two adjacent ones each cost 1 (optimal string alignment), so the typo
/// `imgae` is one edit from `image`.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub(crate) fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let lower = word.to_ascii_lowercase().replace('-', "_");
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, c), *c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Stack files are a few kilobytes; anything this large is not one.
pub(crate) const MAX_SOURCE_BYTES: usize = 1024 * 1024;
/// Deepest nesting of arrays and inline tables accepted, and most dotted key segments.
pub(crate) const MAX_NESTING: usize = 32;

/// A problem found before parsing: the byte offset and what is wrong.
pub(crate) struct GuardError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// Scans the source like a TOML lexer just enough to track strings and comments, and
/// rejects nesting of `[`/`{` or dotted keys deeper than [`MAX_NESTING`], so that no
/// input can drive the recursive parser (or dropping its result) into deep recursion.
pub(crate) fn check_nesting(src: &str) -> Result<(), GuardError> {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    // Inside an inline table, keys follow `{` and `,`; at top level they start a line.
    let mut braces: Vec<u8> = Vec::new();
    let mut in_key = true;
    let mut dots = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'\n' if braces.is_empty() => {
                in_key = true;
                dots = 0;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(GuardError {
                        offset: i,
                        message: format!(
                            "arrays and tables nested more than {MAX_NESTING} levels deep"
                        ),
                    });
                }
                braces.push(b);
                if b == b'{' {
                    in_key = true;
                    dots = 0;
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                braces.pop();
                if braces.is_empty() && b == b']' {
                    // end of a table header or an array: a header's key has ended
                    in_key = false;
                }
            }
            b',' if braces.last() == Some(&b'{') => {
                in_key = true;
                dots = 0;
            }
            b'=' => in_key = false,
            b'.' if in_key => {
                dots += 1;
                if dots > MAX_NESTING {
                    return Err(GuardError {
                        offset: i,
                        message: format!("a dotted key with more than {MAX_NESTING} parts"),
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Offset just past the string starting at `start` (basic, literal, or multi-line);
/// the end of the input when the string is not closed.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes.get(start..start + 3) == Some(&[quote, quote, quote][..]);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' && quote == b'"' {
            i += 2;
            continue;
        }
        if !triple && b == b'\n' {
            return i;
        }
        if b == quote {
            if !triple {
                return i + 1;
            }
            if bytes.get(i..i + 3) == Some(&[quote, quote, quote][..]) {
                return i + 3;
            }
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let idx = LineIndex::new("ab\ncdé\nx");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(1), (1, 2));
        assert_eq!(idx.position(3), (2, 1));
        assert_eq!(idx.position(8), (3, 1)); // after the two-byte é
        assert_eq!(idx.position(100), (3, 2));
    }

    #[test]
    fn empty_source_is_line_one() {
        assert_eq!(LineIndex::new("").position(0), (1, 1));
    }

    #[test]
    fn distance_and_suggestion() {
        assert_eq!(edit_distance("instnce_type", "instance_type"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("imgae", "image"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let keys = ["instance_type", "ami", "min_size", "max_size"];
        assert_eq!(suggest("instnce_type", &keys), Some("instance_type"));
        assert_eq!(suggest("Min-Size", &keys), Some("min_size"));
        assert_eq!(suggest("colour", &keys), None);
    }

    #[test]
    fn nesting_guard_counts_brackets_outside_strings() {
        let deep = format!("a = {}{}", "[".repeat(40), "]".repeat(40));
        let err = check_nesting(&deep).unwrap_err();
        assert_eq!(err.offset, 4 + MAX_NESTING);
        let in_string = format!("a = \"{}\"\nb = '{}'", "[".repeat(100), "{".repeat(100));
        assert!(check_nesting(&in_string).is_ok());
        let in_comment = format!("# {}\na = 1", "[".repeat(100));
        assert!(check_nesting(&in_comment).is_ok());
        let multi = format!("a = \"\"\"\n{}\n\"\"\"", "[".repeat(100));
        assert!(check_nesting(&multi).is_ok());
    }

    #[test]
    fn nesting_guard_counts_dotted_keys_but_not_floats() {
        let dotted = format!("{} = 1", vec!["a"; 40].join("."));
        assert!(check_nesting(&dotted).is_err());
        let floats = format!("a = [{}]", vec!["1.5"; 100].join(", "));
        assert!(check_nesting(&floats).is_ok());
        let header = format!("[{}]", vec!["a"; 40].join("."));
        assert!(check_nesting(&header).is_err());
    }
}
