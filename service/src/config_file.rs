//! The service's configuration file (`--config FILE`, TOML).
//!
//! Every key of the file is a command-line flag under another spelling, and the file is
//! turned into those flags before the command line is read: one parser, one set of checks,
//! one error vocabulary. Flags on the command line come after the file's, so a single-valued
//! flag given on the command line wins; repeatable ones (trunks, allowed addresses, caller
//! ids, numbers) add up.
//!
//! ```toml
//! listen = "127.0.0.1:8080"          # --listen
//! setup_timeout_secs = 85            # --setup-timeout-secs (top level: key → --key-with-dashes)
//!
//! [sip]
//! listen = "127.0.0.1:5060"          # --sip-listen (a section's key → --section-key)
//! allow = ["127.0.0.2"]              # --sip-allow, once per element
//!
//! [[sip.trunks]]                     # --sip-trunk name=host:port;transport=tcp;user=gw;…
//! name = "carrier"
//! host = "127.0.0.1"
//! port = 5080
//! transport = "tcp"                  # any other key becomes ;key=value (true: ;key)
//! user = "gw"
//! password = "secret"
//! register = true
//!
//! [pstn]
//! caller_ids = ["+15550000000"]      # --pstn-caller-id, once per element
//! setup_timeout_secs = 115           # --pstn-setup-timeout-secs
//!
//! [pstn.numbers]                     # --pstn-number NUMBER=USER
//! "+15551230001" = "8:acs:reception"
//!
//! [pstn.user_caller_ids]             # --pstn-user-caller-id USER=NUMBER
//! "8:acs:reception" = ["+15551230009"]
//! ```

use std::path::Path;

use toml::{Table, Value};

/// Reads `path` and returns the flags it stands for.
pub fn flags_from_file(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    flags_from_toml(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

/// The flags a TOML text stands for.
pub fn flags_from_toml(text: &str) -> Result<Vec<String>, String> {
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.to_string().trim_end().replace('\n', " "))?;
    let mut flags = Vec::new();
    for (key, value) in &table {
        match value {
            Value::Table(section) => section_flags(key, section, &mut flags)?,
            _ => push_scalar(&mut flags, &flag_name(None, key), key, value)?,
        }
    }
    Ok(flags)
}

fn flag_name(section: Option<&str>, key: &str) -> String {
    match section {
        Some(s) => format!("--{s}-{key}").replace('_', "-"),
        None => format!("--{key}").replace('_', "-"),
    }
}

fn section_flags(section: &str, table: &Table, flags: &mut Vec<String>) -> Result<(), String> {
    for (key, value) in table {
        let at = format!("{section}.{key}");
        match (section, key.as_str()) {
            ("sip", "trunks") => {
                let Value::Array(trunks) = value else {
                    return Err(format!("{at}: expected [[sip.trunks]] tables"));
                };
                for (i, t) in trunks.iter().enumerate() {
                    let Value::Table(t) = t else {
                        return Err(format!("{at}[{i}]: expected a table"));
                    };
                    flags.push("--sip-trunk".into());
                    flags.push(trunk_spec(t).map_err(|e| format!("{at}[{i}]: {e}"))?);
                }
            }
            ("sip", "allow") | ("pstn", "caller_ids") => {
                let flag = if key == "allow" {
                    "--sip-allow"
                } else {
                    "--pstn-caller-id"
                };
                for v in array_of_strings(value, &at)? {
                    flags.push(flag.into());
                    flags.push(v);
                }
            }
            ("pstn", "numbers") => {
                let Value::Table(numbers) = value else {
                    return Err(format!(
                        "{at}: expected a table of \"+number\" = \"user id\""
                    ));
                };
                for (number, user) in numbers {
                    let Value::String(user) = user else {
                        return Err(format!("{at}.\"{number}\": expected a user id string"));
                    };
                    flags.push("--pstn-number".into());
                    flags.push(format!("{number}={user}"));
                }
            }
            ("pstn", "user_caller_ids") => {
                let Value::Table(users) = value else {
                    return Err(format!("{at}: expected a table of \"user id\" = [numbers]"));
                };
                for (user, numbers) in users {
                    for n in array_of_strings(numbers, &format!("{at}.\"{user}\""))? {
                        flags.push("--pstn-user-caller-id".into());
                        flags.push(format!("{user}={n}"));
                    }
                }
            }
            _ => match value {
                Value::Table(_) | Value::Array(_) => {
                    return Err(format!("{at}: unknown key (not a table or list setting)"))
                }
                _ => push_scalar(flags, &flag_name(Some(section), key), &at, value)?,
            },
        }
    }
    Ok(())
}

fn push_scalar(flags: &mut Vec<String>, flag: &str, at: &str, value: &Value) -> Result<(), String> {
    let v = match value {
        Value::String(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        // A switch takes its value inline (`--dev-tokens=false`): alone it means on.
        Value::Boolean(b) => {
            flags.push(format!("{flag}={b}"));
            return Ok(());
        }
        _ => return Err(format!("{at}: expected a string, number or boolean")),
    };
    flags.push(flag.to_string());
    flags.push(v);
    Ok(())
}

fn array_of_strings(value: &Value, at: &str) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err(format!("{at}: expected a list of strings"));
    };
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(format!("{at}: expected a list of strings")),
        })
        .collect()
}

/// `name=host:port;key=value;flag` from a `[[sip.trunks]]` table (the `--sip-trunk` syntax,
/// checked by its parser).
fn trunk_spec(t: &Table) -> Result<String, String> {
    let text = |k: &str| match t.get(k) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        None => Ok(None),
        Some(_) => Err(format!("'{k}' must be a string")),
    };
    let name = text("name")?.ok_or("'name' is missing")?;
    let host = text("host")?.ok_or("'host' is missing")?;
    let mut spec = if host.contains(':') && !host.starts_with('[') {
        format!("{name}=[{host}]")
    } else {
        format!("{name}={host}")
    };
    match t.get("port") {
        Some(Value::Integer(p)) if (1..=65535).contains(p) => spec.push_str(&format!(":{p}")),
        Some(_) => return Err("'port' must be a number 1..65535".into()),
        None => {}
    }
    let mut rest: Vec<(&String, &Value)> = t.iter().collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in rest {
        if matches!(k.as_str(), "name" | "host" | "port") {
            continue;
        }
        if k.contains([';', '=']) {
            return Err(format!("bad key '{k}'"));
        }
        match v {
            Value::Boolean(true) => spec.push_str(&format!(";{k}")),
            Value::Boolean(false) => {}
            Value::String(s) if !s.contains(';') => spec.push_str(&format!(";{k}={s}")),
            Value::Integer(i) => spec.push_str(&format!(";{k}={i}")),
            _ => {
                return Err(format!(
                    "'{k}' must be a string without ';', a number or a boolean"
                ))
            }
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_becomes_flags() {
        let flags = flags_from_toml(
            r#"
listen = "127.0.0.1:8080"
setup_timeout_secs = 30
simulate_loss_percent = 2.5

[sip]
listen = "127.0.0.1:5070"
allow = ["127.0.0.2", "127.0.0.3"]

[[sip.trunks]]
name = "carrier"
host = "127.0.0.1"
port = 5080
transport = "tcp"
user = "gw"
password = "pw"
register = true

[[sip.trunks]]
name = "backup"
host = "::1"

[pstn]
caller_ids = ["+15550000000"]
setup_timeout_secs = 3

[pstn.numbers]
"+15551230001" = "8:acs:reception"

[pstn.user_caller_ids]
"8:acs:reception" = ["+15551230009"]
"#,
        )
        .unwrap();
        let pairs: Vec<(String, String)> = flags
            .chunks(2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect();
        let has = |f: &str, v: &str| pairs.iter().any(|(a, b)| a == f && b == v);
        assert!(has("--listen", "127.0.0.1:8080"), "{pairs:?}");
        assert!(has("--setup-timeout-secs", "30"));
        assert!(has("--simulate-loss-percent", "2.5"));
        assert!(has("--sip-listen", "127.0.0.1:5070"));
        assert!(has("--sip-allow", "127.0.0.2") && has("--sip-allow", "127.0.0.3"));
        assert!(has(
            "--sip-trunk",
            "carrier=127.0.0.1:5080;password=pw;register;transport=tcp;user=gw"
        ));
        assert!(has("--sip-trunk", "backup=[::1]"));
        assert!(has("--pstn-caller-id", "+15550000000"));
        assert!(has("--pstn-setup-timeout-secs", "3"));
        assert!(has("--pstn-number", "+15551230001=8:acs:reception"));
        assert!(has("--pstn-user-caller-id", "8:acs:reception=+15551230009"));
    }

    #[test]
    fn bad_files_say_where() {
        let err = |t: &str| flags_from_toml(t).unwrap_err();
        assert!(err("listen = ").contains("line 1"), "{}", err("listen = "));
        assert!(err("[sip]\ntrunks = 3").contains("sip.trunks"));
        assert!(err("[[sip.trunks]]\nhost = \"h\"").contains("'name' is missing"));
        assert!(err("[[sip.trunks]]\nname = \"a\"\nhost = \"h\"\nport = 0").contains("port"));
        assert!(err("[pstn]\ncaller_ids = [1]").contains("pstn.caller_ids"));
        assert!(err("[pstn.numbers]\n\"+1555\" = 3").contains("user id"));
        assert!(err("[sip]\nbogus = [1]").contains("sip.bogus"));
        assert!(err("x = [1]").contains("x"));
        assert!(flags_from_file(Path::new("/nonexistent/acs.toml"))
            .unwrap_err()
            .contains("cannot read config file"));
    }
}
