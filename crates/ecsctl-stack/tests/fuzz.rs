//! `parse` never panics, whatever it is given, and every diagnostic it returns for
//! non-empty text has a real position. Deterministic: a fixed-seed xorshift generator.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// xorshift64*: small, fast, and the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<_> = std::fs::read_dir(root.join("examples"))
        .expect("examples/ at the repository root")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.push(root.join("stack.toml.example"));
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("a readable example"))
        .collect()
}

/// Parses `src`, failing the test on a panic or on a diagnostic without a position.
fn check(src: &str, case: &str) {
    let result = catch_unwind(AssertUnwindSafe(|| ecsctl_stack::parse(src, "fuzz.toml")));
    let parsed = match result {
        Ok(r) => r,
        Err(_) => panic!(
            "parse panicked on {case}; input ({} bytes) starts: {:?}",
            src.len(),
            src.chars().take(200).collect::<String>()
        ),
    };
    if let Err(diags) = parsed {
        assert!(!diags.0.is_empty(), "{case}: an error with no diagnostics");
        let lines = src.split('\n').count();
        for d in &diags.0 {
            assert!(
                d.line >= 1 && d.column >= 1 && d.line <= lines,
                "{case}: diagnostic without a real position: {d}"
            );
            assert!(d.hint.is_some(), "{case}: diagnostic without a hint: {d}");
            assert!(!d.message.is_empty(), "{case}: empty message");
        }
    }
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..1000 {
        let len = rng.below(600);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(
            &String::from_utf8_lossy(&bytes),
            &format!("random bytes #{case}"),
        );
    }
}

#[test]
fn random_toml_like_text() {
    const PIECES: &[&str] = &[
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        "=",
        "\"",
        "'",
        "\"\"\"",
        "'''",
        ",",
        ".",
        "\n",
        " ",
        "#",
        "\\",
        "stack",
        "name",
        "service",
        "network",
        "cluster",
        "azs",
        "cidr",
        "\"10.0.0.0/16\"",
        "1",
        "-1",
        "1.5",
        "true",
        "1979-05-27",
        "inf",
        "nan",
        "é",
        "\t",
        "\r\n",
        "image",
        "path",
        "\"/api/*\"",
        "host",
        "tags",
        "environment",
        "scaling",
    ];
    let mut rng = Rng(42);
    for case in 0..1500 {
        let n = rng.below(80);
        let src: String = (0..n).map(|_| *rng.pick(PIECES)).collect();
        check(&src, &format!("toml-like text #{case}"));
    }
}

#[test]
fn truncated_and_flipped_examples() {
    let corpus = corpus();
    let mut rng = Rng(7);
    for (i, example) in corpus.iter().enumerate() {
        check(example, &format!("example {i}"));
        let bytes = example.as_bytes();
        for case in 0..150 {
            let cut = rng.below(bytes.len() + 1);
            check(
                &String::from_utf8_lossy(&bytes[..cut]),
                &format!("example {i} truncated at {cut} (#{case})"),
            );
            let mut flipped = bytes.to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(flipped.len());
                flipped[at] ^= 1 << rng.below(8);
            }
            check(
                &String::from_utf8_lossy(&flipped),
                &format!("example {i} with flipped bytes (#{case})"),
            );
            let mut spliced = bytes.to_vec();
            let from = rng.below(bytes.len());
            let to = rng.below(bytes.len());
            let len = rng.below(64).min(bytes.len() - from.max(to));
            spliced.copy_within(from..from + len, to);
            check(
                &String::from_utf8_lossy(&spliced),
                &format!("example {i} with a spliced range (#{case})"),
            );
        }
    }
}

#[test]
fn deep_nesting() {
    const OPEN: [&str; 4] = ["[", "{ a = ", "[{ b = ", "["];
    const CLOSE: [&str; 3] = ["]", "}", "]}"];
    let mut rng = Rng(0xdead_beef);
    for case in 0..200 {
        let depth = 1 + rng.below(5000);
        let mut src = String::from("[stack]\nname = ");
        for _ in 0..depth {
            let open = OPEN[rng.below(OPEN.len())];
            src.push_str(open);
        }
        if rng.below(2) == 0 {
            for _ in 0..depth {
                let close = CLOSE[rng.below(CLOSE.len())];
                src.push_str(close);
            }
        }
        check(&src, &format!("deep nesting #{case} (depth {depth})"));
    }
    for depth in [10, 80, 81, 500, 20_000] {
        let dotted = vec!["a"; depth].join(".");
        check(
            &format!("{dotted} = 1\n"),
            &format!("dotted key of {depth} parts"),
        );
        check(
            &format!("[{dotted}]\n"),
            &format!("table header of {depth} parts"),
        );
        check(
            &format!("[[{dotted}]]\n"),
            &format!("array header of {depth} parts"),
        );
        check(
            &format!("x = {}1{}", "[".repeat(depth), "]".repeat(depth)),
            &format!("array nested {depth} deep"),
        );
        check(
            &format!("x = {}1{}", "{a=".repeat(depth), "}".repeat(depth)),
            &format!("inline table nested {depth} deep"),
        );
    }
}

#[test]
fn huge_inputs() {
    let ten_mb = "a".repeat(10 * 1024 * 1024);
    check(&ten_mb, "10 MB of text");
    let many_lines = "# comment\n".repeat(100_000); // 1 MB
    check(&many_lines, "100k comment lines");
    let many_services = "[[service]]\nname = \"web\"\n".repeat(5_000);
    check(&many_services, "5000 services");
}
