//! The `benchmark_thp_migration` numbers of hmm-tests, read from the `hmm`
//! (C test_hmm) and `hmm-rust` (Rust dmirror) suites of one boot, or from
//! the rounds of the `hmm-bench` suite, and put side by side.

/// Throughputs (GB/s) of one buffer size.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    /// System to device, with and without THP.
    pub s2d: (f64, f64),
    /// Device to system, with and without THP.
    pub d2s: (f64, f64),
    /// The mean times (ms) behind `s2d`, with and without THP: printed
    /// with more digits than the throughputs, so ratios come from them.
    pub s2d_ms: (f64, f64),
    /// The mean times (ms) behind `d2s`.
    pub d2s_ms: (f64, f64),
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
                s2d_ms: (0.0, 0.0),
                d2s_ms: (0.0, 0.0),
            });
        } else if let Some(r) = cur.as_mut() {
            if l.starts_with("S->D Throughput") {
                r.s2d = two_numbers(l).unwrap_or_default();
            } else if l.starts_with("D->S Throughput") {
                r.d2s = two_numbers(l).unwrap_or_default();
            } else if l.starts_with("Sys->Dev Migration") {
                r.s2d_ms = two_numbers(l).unwrap_or_default();
            } else if l.starts_with("Dev->Sys Migration") {
                r.d2s_ms = two_numbers(l).unwrap_or_default();
            }
        }
    }
    rows.extend(cur);
    rows
}

/// The marker `hmm-bench.sh` prints before each round of one module.
const ROUND_MARK: &str = "# NOVA-HMM-BENCH ";

/// The module whose rounds are C test_hmm.
const C_MODULE: &str = "test_hmm";

/// Reads the rounds of the `hmm-bench` suite (its output lines, with the
/// benchmark's own lines as TAP comments): the tables of the C rounds and
/// of the Rust rounds, in order.
pub fn parse_rounds<S: AsRef<str>>(lines: &[S]) -> (Vec<Vec<Row>>, Vec<Vec<Row>>) {
    let (mut c, mut rust) = (Vec::new(), Vec::new());
    let mut cur: Option<(bool, String)> = None;
    let mut finish = |cur: Option<(bool, String)>| {
        if let Some((is_c, text)) = cur {
            let rows = parse(&text);
            if !rows.is_empty() {
                if is_c {
                    c.push(rows)
                } else {
                    rust.push(rows)
                }
            }
        }
    };
    for l in lines.iter().map(AsRef::as_ref) {
        if let Some(rest) = l.strip_prefix(ROUND_MARK) {
            finish(cur.take());
            let is_c = rest
                .split_whitespace()
                .any(|kv| kv == format!("module={C_MODULE}"));
            cur = Some((is_c, String::new()));
        } else if let (Some((_, text)), Some(body)) = (cur.as_mut(), l.strip_prefix('#')) {
            text.push_str(body.strip_prefix(' ').unwrap_or(body));
            text.push('\n');
        }
    }
    finish(cur);
    (c, rust)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Each row's median over the rounds: the rows of the first round, each
/// number the median of that number in the rounds that have the row.
pub fn median_rows(rounds: &[Vec<Row>]) -> Vec<Row> {
    let Some(first) = rounds.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|r| {
            let same: Vec<&Row> = rounds
                .iter()
                .filter_map(|rows| rows.iter().find(|x| x.name == r.name))
                .collect();
            let m = |f: fn(&Row) -> f64| median(same.iter().map(|x| f(x)).collect());
            Row {
                name: r.name.clone(),
                s2d: (m(|x| x.s2d.0), m(|x| x.s2d.1)),
                d2s: (m(|x| x.d2s.0), m(|x| x.d2s.1)),
                s2d_ms: (m(|x| x.s2d_ms.0), m(|x| x.s2d_ms.1)),
                d2s_ms: (m(|x| x.d2s_ms.0), m(|x| x.d2s_ms.1)),
            }
        })
        .collect()
}

/// Rust's speed as a multiple of C's: from the times when both have one
/// (more digits), else from the throughputs.
fn ratio(rust: f64, c: f64, rust_ms: f64, c_ms: f64) -> String {
    if rust_ms > 0.0 && c_ms > 0.0 {
        format!("{:.2}x", c_ms / rust_ms)
    } else if c > 0.0 {
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
        for (dir, cv, rv, ct, rt) in [
            ("S->D", cr.s2d, r.s2d, cr.s2d_ms, r.s2d_ms),
            ("D->S", cr.d2s, r.d2s, cr.d2s_ms, r.d2s_ms),
        ] {
            out.push_str(&format!(
                "{:<32}| {dir} | {:>6.2} {:>6.2} {:>6} | {:>6.2} {:>6.2} {:>6}\n",
                r.name,
                cv.0,
                rv.0,
                ratio(rv.0, cv.0, rt.0, ct.0),
                cv.1,
                rv.1,
                ratio(rv.1, cv.1, rt.1, ct.1)
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
        assert_eq!(rows[0].s2d_ms, (1.816, 1.668));
        assert_eq!(rows[0].d2s_ms, (0.568, 0.513));
        let big = &rows[6];
        assert_eq!(big.name, "One twenty eight THP Size (256.0 MB)");
        assert_eq!(big.s2d, (0.30, 0.30));
        assert_eq!(big.d2s, (0.79, 0.83));
    }

    #[test]
    fn rounds_are_split_by_module_and_take_medians() {
        let round = |s2d: f64| {
            vec![
                "ok 1 hmm-bench.something".to_string(),
                "# === Single THP Size (2.0 MB) ===".to_string(),
                format!("# S->D Throughput:  | {s2d:.2} GB/s | 1.00 GB/s |"),
                "# D->S Throughput:  | 2.00 GB/s | 3.00 GB/s |".to_string(),
            ]
        };
        let mut lines = Vec::new();
        for (r, c, rust) in [(1, 1.0, 4.0), (2, 3.0, 5.0), (3, 2.0, 9.0)] {
            lines.push(format!("# NOVA-HMM-BENCH round={r} module=test_hmm"));
            lines.extend(round(c));
            lines.push(format!("# NOVA-HMM-BENCH round={r} module=rust_dmirror"));
            lines.extend(round(rust));
        }
        let (c, rust) = parse_rounds(&lines);
        assert_eq!((c.len(), rust.len()), (3, 3));
        let (mc, mr) = (median_rows(&c), median_rows(&rust));
        assert_eq!(mc.len(), 1);
        assert_eq!(mc[0].name, "Single THP Size (2.0 MB)");
        assert_eq!(mc[0].s2d, (2.0, 1.0));
        assert_eq!(mr[0].s2d, (5.0, 1.0));
        assert_eq!(mr[0].d2s, (2.0, 3.0));
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
        assert!(median_rows(&[]).is_empty());
    }

    #[test]
    fn compares_matching_sizes() {
        let row = |name: &str, s2d, d2s, s2d_ms| Row {
            name: name.into(),
            s2d,
            d2s,
            s2d_ms,
            d2s_ms: (0.0, 0.0),
        };
        let c = vec![row("A", (1.0, 2.0), (4.0, 0.0), (0.0, 3.0))];
        let rust = vec![
            row("A", (0.5, 2.0), (2.0, 1.0), (0.0, 4.0)),
            row("only in rust", (1.0, 1.0), (1.0, 1.0), (0.0, 0.0)),
        ];
        let t = compare(&c, &rust);
        // From the throughputs, where there are no times.
        assert!(t.contains("0.50x"), "{t}");
        // From the times where there are: 3 ms against 4 ms.
        assert!(t.contains("0.75x"), "{t}");
        assert!(!t.contains("1.00x"), "{t}");
        assert!(!t.contains("only in rust"), "{t}");
        // No C number: no ratio.
        assert!(
            t.lines().any(|l| l.starts_with("A") && l.ends_with("-")),
            "{t}"
        );
    }
}
