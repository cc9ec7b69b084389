//! A TAP 13 / KTAP 1 reader for kselftest and KUnit output.
//!
//! Only leaf results count: a KTAP result line that closes a block of
//! nested results (a KUnit suite, a parameterised case) is a summary of its
//! children. Lines that are not TAP (kernel messages, diagnostics) are
//! ignored, so the reader works on a raw serial console.

/// Pass/fail/skip totals.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

/// What a TAP stream said.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub counts: Counts,
    /// Names of failed tests (and of plans that ended early).
    pub failures: Vec<String>,
    /// Skipped tests with their stated reasons.
    pub skips: Vec<(String, String)>,
    /// For each failed test that printed diagnostics ("# " lines) before
    /// its result: its name and the last [`DIAG_LINES`] of them.
    pub diagnostics: Vec<(String, Vec<String>)>,
}

/// How many diagnostic lines of a failed test a [`Report`] keeps.
pub const DIAG_LINES: usize = 12;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail,
    Skip(String),
}

#[derive(Debug, PartialEq, Eq)]
struct ResultLine {
    depth: usize,
    name: String,
    outcome: Outcome,
}

/// Removes a printk timestamp such as `[    1.234567] `.
pub fn strip_printk_time(line: &str) -> &str {
    let t = line.trim_end_matches('\r');
    if let Some(rest) = t.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let stamp = rest[..end].trim();
            if !stamp.is_empty() && stamp.chars().all(|c| c.is_ascii_digit() || c == '.') {
                let after = &rest[end + 1..];
                return after.strip_prefix(' ').unwrap_or(after);
            }
        }
    }
    t
}

fn indent_depth(line: &str) -> (usize, &str) {
    let body = line.trim_start_matches([' ', '\t']);
    let width: usize = line[..line.len() - body.len()]
        .chars()
        .map(|c| if c == '\t' { 8 } else { 1 })
        .sum();
    (width / 4, body)
}

fn parse_result(line: &str) -> Option<ResultLine> {
    let (depth, body) = indent_depth(line);
    let (ok, rest) = if let Some(r) = body.strip_prefix("not ok ") {
        (false, r)
    } else if let Some(r) = body.strip_prefix("ok ") {
        (true, r)
    } else {
        return None;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = rest[digits..].trim_start();
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (name, directive) = match rest
        .find(" # ")
        .or_else(|| rest.strip_prefix("# ").map(|_| 0))
    {
        Some(i) => {
            let d = rest[i..].trim_start().trim_start_matches('#').trim_start();
            (rest[..i].trim(), Some(d))
        }
        None => (rest.trim(), None),
    };
    let outcome = match directive {
        Some(d) => {
            let (word, reason) = d.split_once(' ').unwrap_or((d, ""));
            match word.to_ascii_uppercase().as_str() {
                "SKIP" | "TODO" => Outcome::Skip(reason.trim().to_string()),
                "XFAIL" => Outcome::Pass,
                _ if ok => Outcome::Pass,
                _ => Outcome::Fail,
            }
        }
        None if ok => Outcome::Pass,
        None => Outcome::Fail,
    };
    Some(ResultLine {
        depth,
        name: name.to_string(),
        outcome,
    })
}

fn parse_plan(line: &str) -> Option<(usize, usize)> {
    let (depth, body) = indent_depth(line);
    let n = body.strip_prefix("1..")?;
    let n = n.split_whitespace().next()?;
    n.parse().ok().map(|n| (depth, n))
}

fn is_version(line: &str) -> bool {
    let (depth, body) = indent_depth(line);
    depth == 0 && (body.starts_with("TAP version") || body.starts_with("KTAP version"))
}

/// Reads a TAP/KTAP stream (possibly several documents one after another).
pub fn parse(text: &str) -> Report {
    let mut rep = Report::default();
    // children[d]: results were seen at depth d since the last result at d-1.
    let mut children: Vec<bool> = Vec::new();
    let mut plan: Option<usize> = None;
    let mut top_results = 0usize;
    // The diagnostic lines since the last result line.
    let mut diag: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let finish = |rep: &mut Report, plan: Option<usize>, top: usize| {
        if let Some(p) = plan {
            if top < p {
                let missing = p - top;
                rep.counts.failed += missing;
                rep.failures
                    .push(format!("{missing} planned test(s) never reported a result"));
            }
        }
    };
    for raw in text.lines() {
        let line = strip_printk_time(raw);
        if is_version(line) {
            finish(&mut rep, plan.take(), top_results);
            top_results = 0;
            children.clear();
            continue;
        }
        if let Some((0, n)) = parse_plan(line) {
            plan = Some(plan.unwrap_or(0) + n);
            continue;
        }
        let Some(r) = parse_result(line) else {
            let body = line.trim_start();
            if let Some(d) = body
                .strip_prefix("# ")
                .or_else(|| (body == "#").then_some(""))
            {
                if diag.len() == DIAG_LINES {
                    diag.pop_front();
                }
                diag.push_back(d.to_string());
            }
            continue;
        };
        let seen: Vec<String> = std::mem::take(&mut diag).into();
        if children.len() < r.depth + 2 {
            children.resize(r.depth + 2, false);
        }
        let is_parent = children[r.depth + 1];
        for c in children.iter_mut().skip(r.depth + 1) {
            *c = false;
        }
        children[r.depth] = true;
        if r.depth == 0 {
            top_results += 1;
        }
        if is_parent {
            continue;
        }
        match r.outcome {
            Outcome::Pass => rep.counts.passed += 1,
            Outcome::Fail => {
                rep.counts.failed += 1;
                if !seen.is_empty() {
                    rep.diagnostics.push((r.name.clone(), seen));
                }
                rep.failures.push(r.name);
            }
            Outcome::Skip(reason) => {
                rep.counts.skipped += 1;
                rep.skips.push((r.name, reason));
            }
        }
    }
    finish(&mut rep, plan, top_results);
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    const KSELFTEST: &str = include_str!("../testdata/hmm-tests.tap");
    const KUNIT: &str = include_str!("../testdata/kunit-console.log");

    #[test]
    fn result_lines() {
        assert_eq!(
            parse_result("ok 1 hmm.a"),
            Some(ResultLine {
                depth: 0,
                name: "hmm.a".into(),
                outcome: Outcome::Pass
            })
        );
        assert_eq!(
            parse_result("not ok 12 - b").unwrap().outcome,
            Outcome::Fail
        );
        assert_eq!(
            parse_result("ok 3 c # SKIP no device").unwrap().outcome,
            Outcome::Skip("no device".into())
        );
        assert_eq!(
            parse_result("not ok 4 d # skip").unwrap().outcome,
            Outcome::Skip(String::new())
        );
        assert_eq!(
            parse_result("not ok 5 e # XFAIL").unwrap().outcome,
            Outcome::Pass
        );
        let r = parse_result("        ok 2 case").unwrap();
        assert_eq!(r.depth, 2);
        assert_eq!(parse_result("ok one"), None);
        assert_eq!(parse_result("# ok 1 x"), None);
    }

    #[test]
    fn printk_prefix_is_removed() {
        assert_eq!(strip_printk_time("[    1.234567]     ok 1 x"), "    ok 1 x");
        assert_eq!(strip_printk_time("[abc] ok"), "[abc] ok");
        assert_eq!(strip_printk_time("ok 1 x\r"), "ok 1 x");
    }

    #[test]
    fn failed_tests_keep_their_last_diagnostics() {
        let mut t = String::from("TAP version 13\n1..3\n# from a passing test\nok 1 a\n");
        for i in 0..20 {
            t.push_str(&format!("# line {i}\n"));
        }
        t.push_str("not ok 2 b # exit status 1\nnot ok 3 c\n");
        let r = parse(&t);
        assert_eq!(r.failures, vec!["b", "c"]);
        // Only b printed anything; it keeps its last DIAG_LINES lines.
        assert_eq!(r.diagnostics.len(), 1);
        let (name, lines) = &r.diagnostics[0];
        assert_eq!(name, "b");
        assert_eq!(lines.len(), DIAG_LINES);
        assert_eq!(lines.first().map(String::as_str), Some("line 8"));
        assert_eq!(lines.last().map(String::as_str), Some("line 19"));
    }

    #[test]
    fn kselftest_sample() {
        let r = parse(KSELFTEST);
        assert_eq!(
            r.counts,
            Counts {
                passed: 3,
                failed: 1,
                skipped: 2
            }
        );
        assert_eq!(r.failures, vec!["hmm.hmm_device_private.anon_write_huge"]);
        assert_eq!(r.skips[0].1, "Not enough huge pages");
        assert_eq!(r.skips[1].1, "DEVICE_COHERENT not available");
    }

    #[test]
    fn truncated_plan_counts_missing_as_failed() {
        let r = parse("TAP version 13\n1..4\nok 1 a\nok 2 b\n");
        assert_eq!(r.counts.passed, 2);
        assert_eq!(r.counts.failed, 2);
        assert!(r.failures[0].contains("never reported"));
    }

    #[test]
    fn several_documents_are_summed() {
        let r = parse("TAP version 13\n1..1\nok 1 a\nTAP version 13\n1..2\nok 1 b\nnot ok 2 c\n");
        assert_eq!(
            r.counts,
            Counts {
                passed: 2,
                failed: 1,
                skipped: 0
            }
        );
    }

    /// A real boot of the normal kernel (v7.3.4, no series): the console
    /// with the built-in KUnit suites, and hmm-tests' TAP from ttyS1.
    const REAL_CONSOLE: &str = include_str!("../testdata/console-7.3.4-normal.log");
    const REAL_TESTS: &str = include_str!("../testdata/tests-7.3.4-normal.log");

    #[test]
    fn real_captures() {
        let k = parse(REAL_CONSOLE);
        // "# Totals: pass:361" for rust_doctests_kernel plus three suites of one case.
        assert_eq!(
            k.counts,
            Counts {
                passed: 364,
                failed: 0,
                skipped: 0
            }
        );
        let t = parse(REAL_TESTS);
        // "# Totals: pass:39 fail:0 xfail:0 xpass:0 skip:39 error:0"
        assert_eq!(
            t.counts,
            Counts {
                passed: 39,
                failed: 0,
                skipped: 39
            }
        );
        assert!(t
            .skips
            .iter()
            .all(|(n, r)| n.contains("device_coherent") && r == "DEVICE_COHERENT not available"));
    }

    #[test]
    fn kunit_console_counts_leaves_only() {
        let r = parse(KUNIT);
        // Two suites: one with 2 cases (one parameterised with 3 params,
        // one skipped param), one with a failing case. Summary lines of
        // suites and of the parameterised case are not counted.
        assert_eq!(
            r.counts,
            Counts {
                passed: 4,
                failed: 1,
                skipped: 1
            }
        );
        assert_eq!(r.failures, vec!["rust_doctest_b"]);
    }
}
