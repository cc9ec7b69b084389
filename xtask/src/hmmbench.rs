//! The `benchmark_thp_migration` numbers of hmm-tests, read from the `hmm`
//! (C test_hmm) and `hmm-rust` (Rust dmirror) suites of one boot and put
//! side by side.

/// Throughputs (GB/s) of one buffer size.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    /// System to device, with and without THP.
    pub s2d: (f64, f64),
    /// Device to system, with and without THP.
    pub d2s: (f64, f64),
}

fn two_numbers(line: &str) -> Option<(f64, f64)> {
    let mut cols = line.split('|').skip(1).map(|c| {
        c.split_whitespace()
            .next()
            .and_then(|n| n.parse::<f64>().ok())
    });
    Some((cols.next()??, cols.next()??))
}

/// Reads the benchmark tables from one suite's output.
pub fn parse(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut cur: Option<Row> = None;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("=== ") {
            if let Some(r) = cur.take() {
                rows.push(r);
            }
            let name = rest.trim_end_matches(" ===").trim().to_string();
            cur = Some(Row {
                name,
                s2d: (0.0, 0.0),
                d2s: (0.0, 0.0),
            });
        } else if let Some(r) = cur.as_mut() {
            if l.starts_with("S->D Throughput") {
                r.s2d = two_numbers(l).unwrap_or_default();
            } else if l.starts_with("D->S Throughput") {
                r.d2s = two_numbers(l).unwrap_or_default();
            }
        }
    }
    rows.extend(cur);
    rows
}

fn ratio(rust: f64, c: f64) -> String {
    if c > 0.0 {
        format!("{:.2}x", rust / c)
    } else {
        "-".to_string()
    }
}

/// A table of Rust against C, one line per size and direction.
pub fn compare(c: &[Row], rust: &[Row]) -> String {
    let mut out = String::from(
        "HMM migration throughput, C test_hmm vs Rust dmirror (GB/s, Rust/C), same boot:\n\
         size                            | dir  | THP: C   Rust  ratio | 4K: C    Rust  ratio\n",
    );
    for r in rust {
        let Some(cr) = c.iter().find(|x| x.name == r.name) else {
            continue;
        };
        for (dir, cv, rv) in [("S->D", cr.s2d, r.s2d), ("D->S", cr.d2s, r.d2s)] {
            out.push_str(&format!(
                "{:<32}| {dir} | {:>6.2} {:>6.2} {:>6} | {:>6.2} {:>6.2} {:>6}\n",
                r.name,
                cv.0,
                rv.0,
                ratio(rv.0, cv.0),
                cv.1,
                rv.1,
                ratio(rv.1, cv.1)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_captured_c_run() {
        let rows = parse(include_str!("../testdata/tests-7.3.4-normal.log"));
        assert_eq!(rows.len(), 7);
        assert_eq!(rows[0].name, "Small Buffer (0.5 MB)");
        let big = &rows[6];
        assert_eq!(big.name, "One twenty eight THP Size (256.0 MB)");
        assert_eq!(big.s2d, (0.30, 0.30));
        assert_eq!(big.d2s, (0.79, 0.83));
    }

    #[test]
    fn compares_matching_sizes() {
        let c = vec![Row {
            name: "A".into(),
            s2d: (1.0, 2.0),
            d2s: (4.0, 0.0),
        }];
        let rust = vec![
            Row {
                name: "A".into(),
                s2d: (0.5, 2.0),
                d2s: (2.0, 1.0),
            },
            Row {
                name: "only in rust".into(),
                s2d: (1.0, 1.0),
                d2s: (1.0, 1.0),
            },
        ];
        let t = compare(&c, &rust);
        assert!(t.contains("0.50x"), "{t}");
        assert!(t.contains("1.00x"), "{t}");
        assert!(!t.contains("only in rust"), "{t}");
        // No C number: no ratio.
        assert!(
            t.lines().any(|l| l.starts_with("A") && l.ends_with("-")),
            "{t}"
        );
    }
}
