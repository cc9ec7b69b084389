//! Kconfig fragments: parsing, merging into a `.config`, and checking that
//! every requested value survived `make olddefconfig`.

use crate::bail;
use crate::util::Result;

/// One `CONFIG_` assignment. `None` means `# CONFIG_FOO is not set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub name: String,
    pub value: Option<String>,
}

impl Setting {
    fn render(&self) -> String {
        match &self.value {
            Some(v) => format!("{}={v}", self.name),
            None => format!("# {} is not set", self.name),
        }
    }
}

/// Parses one line of a `.config` or fragment. Comments other than the
/// "is not set" form and blank lines give `Ok(None)`.
pub fn parse_line(line: &str) -> Result<Option<Setting>> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("# ") {
        if let Some(name) = rest.strip_suffix(" is not set") {
            if name.starts_with("CONFIG_") && !name.contains(' ') {
                return Ok(Some(Setting {
                    name: name.to_string(),
                    value: None,
                }));
            }
        }
        return Ok(None);
    }
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let Some((name, value)) = line.split_once('=') else {
        bail!("not a Kconfig assignment: `{line}`");
    };
    if !name.starts_with("CONFIG_") || name.contains(char::is_whitespace) || value.is_empty() {
        bail!("not a Kconfig assignment: `{line}`");
    }
    let value = if value == "n" {
        None
    } else {
        Some(value.to_string())
    };
    Ok(Some(Setting {
        name: name.to_string(),
        value,
    }))
}

/// Parses a whole fragment; later lines win over earlier ones for the same
/// symbol, as in `merge_config.sh`. Errors name the line number.
pub fn parse_fragment(text: &str) -> Result<Vec<Setting>> {
    let mut out: Vec<Setting> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(s)) => {
                out.retain(|o| o.name != s.name);
                out.push(s);
            }
            Ok(None) => {}
            Err(e) => bail!("line {}: {e}", i + 1),
        }
    }
    Ok(out)
}

/// Merges `fragments` into the text of a `.config`: existing lines for the
/// same symbols are replaced in place, new ones are appended.
pub fn merge(config: &str, fragments: &[Setting]) -> Result<String> {
    let mut lines: Vec<String> = config.lines().map(str::to_string).collect();
    for s in fragments {
        let mut found = false;
        for l in lines.iter_mut() {
            if let Some(old) = parse_line(l)? {
                if old.name == s.name {
                    *l = s.render();
                    found = true;
                }
            }
        }
        if !found {
            lines.push(s.render());
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

/// Returns a description of every fragment setting that the final config
/// does not have, e.g. because a dependency is missing.
pub fn verify(config: &str, fragments: &[Setting]) -> Result<Vec<String>> {
    let mut have = std::collections::HashMap::new();
    for l in config.lines() {
        if let Some(s) = parse_line(l)? {
            have.insert(s.name, s.value);
        }
    }
    let mut missing = Vec::new();
    for s in fragments {
        let got = have.get(&s.name).cloned().flatten();
        if got != s.value {
            missing.push(format!(
                "{} wanted, got {}",
                s.render(),
                got.map_or_else(|| "unset".to_string(), |v| format!("{}={v}", s.name))
            ));
        }
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            parse_line("CONFIG_A=y").unwrap(),
            Some(Setting {
                name: "CONFIG_A".into(),
                value: Some("y".into())
            })
        );
        assert_eq!(
            parse_line("# CONFIG_B is not set").unwrap(),
            Some(Setting {
                name: "CONFIG_B".into(),
                value: None
            })
        );
        assert_eq!(parse_line("CONFIG_C=n").unwrap().unwrap().value, None);
        assert_eq!(
            parse_line("CONFIG_S=\"a b\"")
                .unwrap()
                .unwrap()
                .value
                .as_deref(),
            Some("\"a b\"")
        );
        assert_eq!(parse_line("# a comment").unwrap(), None);
        assert_eq!(parse_line("   ").unwrap(), None);
        assert!(parse_line("FOO=y").is_err());
        assert!(parse_line("CONFIG_X").is_err());
        assert!(parse_line("CONFIG_X=").is_err());
    }

    #[test]
    fn fragment_errors_name_the_line() {
        let e = parse_fragment("CONFIG_A=y\nbogus\n").unwrap_err();
        assert!(e.0.starts_with("line 2:"), "{e}");
    }

    #[test]
    fn later_fragment_lines_win() {
        let f = parse_fragment("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_A is not set\n").unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "CONFIG_B");
        assert_eq!(f[1].value, None);
    }

    #[test]
    fn merge_replaces_in_place_and_appends() {
        let base = "# head\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\n";
        let frag = parse_fragment("CONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=128\n").unwrap();
        let out = merge(base, &frag).unwrap();
        assert_eq!(
            out,
            "# head\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=128\n"
        );
    }

    #[test]
    fn verify_reports_dropped_options() {
        let frag =
            parse_fragment("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=y\n").unwrap();
        let final_config = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D=m\n";
        let missing = verify(final_config, &frag).unwrap();
        assert_eq!(
            missing,
            vec![
                "CONFIG_B=m wanted, got unset".to_string(),
                "CONFIG_D=y wanted, got CONFIG_D=m".to_string()
            ]
        );
        assert!(
            verify("CONFIG_A=y\n", &parse_fragment("CONFIG_A=y").unwrap())
                .unwrap()
                .is_empty()
        );
    }
}
