//! `--change` instructions for import and commit: the Dockerfile instructions that
//! only edit the image config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER,
//! VOLUME, WORKDIR, STOPSIGNAL), parsed the way Dockerfile lines are.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::error::{Error, Result};
use crate::engine::image::config::RunConfig;

/// Splits `rest` as a JSON array when it is one, else None (shell form).
fn json_form(rest: &str) -> Option<Vec<String>> {
    let t = rest.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// Exec form stays as given; shell form runs through the image's shell.
fn command(rest: &str, shell: &[String]) -> Vec<String> {
    match json_form(rest) {
        Some(v) => v,
        None => {
            let mut v = shell.to_vec();
            v.push(rest.trim().to_string());
            v
        }
    }
}

/// Splits words like a shell, honouring double and single quotes and backslashes.
fn words(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                in_word = true;
                let q = c;
                loop {
                    match chars.next() {
                        Some(ch) if ch == q => break,
                        Some('\\') if q == '"' => match chars.next() {
                            Some(n) => cur.push(n),
                            None => {
                                return Err(Error::invalid(format!("unterminated quote in {s:?}")))
                            }
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err(Error::invalid(format!("unterminated quote in {s:?}"))),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `k=v k2="v 2"` or the legacy `k v with spaces`.
fn pairs(instr: &str, rest: &str) -> Result<Vec<(String, String)>> {
    let ws = words(rest)?;
    if ws.is_empty() {
        return Err(Error::invalid(format!(
            "{instr} requires at least one argument"
        )));
    }
    if !ws[0].contains('=') {
        let mut it = rest.trim().splitn(2, char::is_whitespace);
        let k = it.next().unwrap_or_default().to_string();
        let v = it.next().map(str::trim).unwrap_or_default().to_string();
        if v.is_empty() {
            return Err(Error::invalid(format!(
                "{instr} {k}: a value is required (use {k}=value)"
            )));
        }
        return Ok(vec![(k, v)]);
    }
    ws.into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::invalid(format!(
                "{instr}: {w:?} is not of the form key=value"
            ))),
        })
        .collect()
}

pub fn apply(cfg: &mut RunConfig, change: &str) -> Result<()> {
    let change = change.trim();
    let (instr, rest) = change
        .split_once(char::is_whitespace)
        .map(|(a, b)| (a, b.trim()))
        .unwrap_or((change, ""));
    let upper = instr.to_ascii_uppercase();
    let shell: Vec<String> = cfg
        .shell
        .clone()
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
    match upper.as_str() {
        "CMD" => cfg.cmd = Some(command(rest, &shell)),
        "ENTRYPOINT" => {
            cfg.entrypoint = Some(command(rest, &shell));
            // As in a Dockerfile, a new entrypoint resets a CMD inherited before it.
            cfg.cmd = None;
        }
        "ENV" => {
            let env = cfg.env.get_or_insert_with(Vec::new);
            for (k, v) in pairs("ENV", rest)? {
                let prefix = format!("{k}=");
                env.retain(|e| !e.starts_with(&prefix) && e != &k);
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            let labels = cfg.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in pairs("LABEL", rest)? {
                labels.insert(k, v);
            }
        }
        "EXPOSE" => {
            let ports = cfg.exposed_ports.get_or_insert_with(BTreeMap::new);
            let ws = words(rest)?;
            if ws.is_empty() {
                return Err(Error::invalid("EXPOSE requires at least one port"));
            }
            for p in ws {
                let (num, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
                let proto = proto.to_ascii_lowercase();
                if num.parse::<u16>().is_err() || !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
                    return Err(Error::invalid(format!("EXPOSE: invalid port {p:?}")));
                }
                ports.insert(format!("{num}/{proto}"), Value::Object(Default::default()));
            }
        }
        "VOLUME" => {
            let vols = cfg.volumes.get_or_insert_with(BTreeMap::new);
            let list = json_form(rest).map(Ok).unwrap_or_else(|| words(rest))?;
            if list.is_empty() {
                return Err(Error::invalid("VOLUME requires at least one path"));
            }
            for v in list {
                vols.insert(v, Value::Object(Default::default()));
            }
        }
        "USER" if !rest.is_empty() => cfg.user = Some(rest.to_string()),
        "WORKDIR" if !rest.is_empty() => {
            let base = cfg.working_dir.clone().unwrap_or_default();
            cfg.working_dir = Some(if rest.starts_with('/') || base.is_empty() {
                rest.to_string()
            } else {
                format!("{}/{}", base.trim_end_matches('/'), rest)
            });
        }
        "STOPSIGNAL" if !rest.is_empty() => cfg.stop_signal = Some(rest.to_string()),
        "ONBUILD" if !rest.is_empty() => cfg.on_build.get_or_insert_with(Vec::new).push(rest.to_string()),
        "USER" | "WORKDIR" | "STOPSIGNAL" | "ONBUILD" => {
            return Err(Error::invalid(format!("{upper} requires an argument")))
        }
        _ => {
            return Err(Error::invalid(format!(
                "{} is not a valid change command (use one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)",
                instr.to_ascii_lowercase()
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(changes: &[&str]) -> Result<RunConfig> {
        let mut c = RunConfig::default();
        for ch in changes {
            apply(&mut c, ch)?;
        }
        Ok(c)
    }

    #[test]
    fn each_instruction() {
        let c = applied(&[
            r#"CMD ["sh", "-c", "echo hi"]"#,
            "ENV A=1 B=\"two words\"",
            "ENV C three four",
            "ENV A=9",
            "WORKDIR /app",
            "WORKDIR sub",
            "EXPOSE 80 53/udp",
            "LABEL org.x=y",
            "VOLUME /data",
            "USER nobody",
            "STOPSIGNAL SIGINT",
        ])
        .expect("valid changes");
        assert_eq!(
            c.cmd,
            Some(vec!["sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(
            c.env,
            Some(vec![
                "B=two words".into(),
                "C=three four".into(),
                "A=9".into()
            ])
        );
        assert_eq!(c.working_dir.as_deref(), Some("/app/sub"));
        let ports: Vec<_> = c.exposed_ports.unwrap_or_default().into_keys().collect();
        assert_eq!(ports, vec!["53/udp".to_string(), "80/tcp".to_string()]);
        assert_eq!(
            c.labels
                .unwrap_or_default()
                .get("org.x")
                .map(String::as_str),
            Some("y")
        );
        assert!(c.volumes.unwrap_or_default().contains_key("/data"));
        assert_eq!(c.user.as_deref(), Some("nobody"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
    }

    #[test]
    fn shell_form_uses_the_shell() {
        let c = applied(&["ENTRYPOINT top -b"]).expect("valid");
        assert_eq!(
            c.entrypoint,
            Some(vec!["/bin/sh".into(), "-c".into(), "top -b".into()])
        );
    }

    #[test]
    fn bad_changes_are_errors() {
        for bad in [
            "RUN echo",
            "EXPOSE http",
            "ENV",
            "ENV A",
            "USER",
            "FROM x",
            "LABEL =x",
            "ENV A=\"open",
        ] {
            assert!(applied(&[bad]).is_err(), "{bad} should fail");
        }
    }
}
