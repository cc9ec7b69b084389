// SPDX-License-Identifier: MIT

//! The subtest tables of the test binaries.

pub mod basic;
pub mod channel;
pub mod file;
pub mod file_random;
pub mod module;
pub mod negative;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::igt::check_names;

    #[test]
    fn subtest_tables_are_well_formed() {
        for table in [
            basic::SUBTESTS,
            negative::SUBTESTS,
            module::SUBTESTS,
            channel::SUBTESTS,
        ] {
            check_names(table).unwrap();
        }
        // Names are unique across binaries too, so TAP names and logs are
        // unambiguous.
        let mut all: Vec<&str> = [
            basic::SUBTESTS,
            negative::SUBTESTS,
            module::SUBTESTS,
            channel::SUBTESTS,
        ]
        .iter()
        .flat_map(|t| t.iter().map(|s| s.name))
        .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "a subtest name is used by two binaries");
        assert!(n >= 30, "only {n} subtests");
    }
}
