//! Kernel splat detection on a serial console log.
//!
//! Any of these in the console fails a VM run, whatever the tests said.

use crate::tap::strip_printk_time;

/// Markers of kernel reports, matched anywhere in a console line.
const MARKERS: &[&str] = &[
    "BUG:",
    "kernel BUG at",
    "WARNING:",
    "Oops",
    "KASAN",
    "UBSAN:",
    "general protection fault",
    "Kernel panic",
    "Call Trace:",
    "page dumped because",
    // Lockdep reports start with "WARNING:" (circular or recursive
    // locking, inconsistent lock state, suspicious RCU usage, bad unlock
    // balance); these are the ones that do not. The boot banner ("RCU
    // lockdep checking is enabled") is not a report.
    "possible irq lock inversion",
    "DEBUG_LOCKS_WARN_ON",
    "INFO: lockdep is turned off",
    "INFO: trying to register non-static key",
    "RCU stall",
    "rcu: INFO:",
    "detected stalls on CPU",
    "self-detected stall",
    "blocked for more than",
    "soft lockup",
    "hard LOCKUP",
    "list_add corruption",
    "list_del corruption",
];

/// A splat found in the log: its first line number (1-based) and the
/// matching line.
#[derive(Debug, PartialEq, Eq)]
pub struct Splat {
    pub line: usize,
    pub text: String,
}

/// Finds every console line that carries a kernel report marker.
pub fn find(console: &str) -> Vec<Splat> {
    console
        .lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let line = strip_printk_time(raw);
            MARKERS.iter().any(|m| line.contains(m)).then(|| Splat {
                line: i + 1,
                text: line.trim().to_string(),
            })
        })
        .collect()
}

/// A splat with some console context after it, for the error message.
pub fn excerpt(console: &str, s: &Splat, after: usize) -> String {
    console
        .lines()
        .skip(s.line - 1)
        .take(after + 1)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_boot_has_no_splat() {
        let log = "[    0.000000] Linux version 7.3.4\n\
                   [    0.100000] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar\n\
                   [    1.000000] Run /init as init process\n\
                   nova-init: suite hmm\n";
        assert!(find(log).is_empty());
    }

    #[test]
    fn real_clean_consoles_have_no_splat() {
        // The debug kernel's banner mentions lockdep and KASAN settings.
        let debug = include_str!("../testdata/console-7.3.4-debug.log");
        assert!(debug.contains("RCU lockdep checking is enabled"));
        assert_eq!(find(debug), vec![]);
        let log = include_str!("../testdata/console-7.3.4-normal.log");
        assert_eq!(find(log), vec![]);
        // The same console with a warning spliced in is caught.
        let bad = log.replacen(
            "Run /init as init process",
            "WARNING: CPU: 0 PID: 1 at mm/memremap.c:1 memremap_pages+0x1/0x2",
            1,
        );
        assert_eq!(find(&bad).len(), 1);
    }

    #[test]
    fn detects_each_kind() {
        for l in [
            "[    5.1] WARNING: CPU: 1 PID: 77 at mm/migrate_device.c:123 migrate_vma_setup+0x1/0x2",
            "[    5.1] BUG: KASAN: slab-use-after-free in dmirror_fops_release+0x10/0x20",
            "[    5.1] BUG: unable to handle page fault for address: ffff888000000000",
            "[    5.1] Oops: general protection fault, probably for non-canonical address",
            "[    5.1] WARNING: possible circular locking dependency detected",
            "[    5.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "[  245.0] INFO: task hmm-tests:88 blocked for more than 120 seconds.",
            "[    5.1] kernel BUG at mm/filemap.c:1500!",
            "[    5.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!",
            "[    5.1] list_del corruption. prev->next should be ffff, but was dead",
            "[    5.1] INFO: lockdep is turned off.",
            "[    5.1] DEBUG_LOCKS_WARN_ON(1)",
        ] {
            assert_eq!(find(l).len(), 1, "{l}");
        }
    }

    #[test]
    fn reports_are_located() {
        let log = "ok\n\
                   [ 1.0] WARNING: CPU: 0 PID: 1 at x.c:1 f\n\
                   [ 1.0] Modules linked in:\n\
                   [ 1.0] Call Trace:\n\
                   [ 1.0]  <TASK>\n\
                   fine\n\
                   [ 2.0] BUG: KASAN: use-after-free in g\n";
        let s = find(log);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].line, 2);
        assert_eq!(s[1].line, 4);
        assert_eq!(s[2].line, 7);
        assert!(excerpt(log, &s[0], 2).contains("Modules linked in"));
    }
}
