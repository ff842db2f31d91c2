//! `events` / `system events`: past events in a time window, then (without --until)
//! new ones as they happen.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use crate::cli::{CliError, CliResult};
use crate::engine::events::Event;
use crate::engine::runtime::logs::parse_time_arg;
use crate::engine::Engine;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided (type=, event=, container=, image=, volume=, label=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Format output using a custom template ('json' or a Go template)
    #[arg(long)]
    format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long)]
    since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    until: Option<String>,
}

pub(crate) fn matches(e: &Event, filters: &[(String, String)]) -> bool {
    // Docker: values of one key are OR'd, different keys AND'd.
    let mut keys: Vec<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
    keys.dedup();
    keys.iter().all(|key| {
        filters.iter().filter(|(k, _)| k == key).any(|(k, v)| {
            let attr = |name: &str| e.actor.attributes.get(name).map(String::as_str);
            match k.as_str() {
                "type" => e.kind == *v,
                "event" | "action" => e.action == *v,
                "container" => {
                    e.kind == "container"
                        && (e.actor.id.starts_with(v.as_str()) || attr("name") == Some(v.as_str()))
                }
                "image" => {
                    attr("image") == Some(v.as_str())
                        || (e.kind == "image"
                            && (e.actor.id.contains(v.as_str())
                                || attr("name") == Some(v.as_str())))
                }
                "volume" => e.kind == "volume" && e.actor.id == *v,
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => attr(lk) == Some(lv),
                    None => attr(v).is_some(),
                },
                _ => false,
            }
        })
    })
}

fn line(e: &Event, format: Option<&str>) -> CliResult<String> {
    if let Some(f) = format {
        let v = serde_json::to_value(e).unwrap_or_default();
        if f.trim() == "json" {
            return Ok(format!("{v}\n"));
        }
        let t =
            crate::cli::gotemplate::Template::parse(&f.replace("\\t", "\t").replace("\\n", "\n"))
                .map_err(|err| CliError::usage(err.to_string()))?;
        return Ok(format!(
            "{}\n",
            t.execute(&v)
                .map_err(|err| CliError::failed(err.to_string()))?
        ));
    }
    let time = chrono::DateTime::from_timestamp_nanos(e.time_nano)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let attrs: Vec<String> = e
        .actor
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Ok(format!(
        "{time} {} {} {} ({})\n",
        e.kind,
        e.action,
        e.actor.id,
        attrs.join(", ")
    ))
}

pub fn events(engine: &Engine, a: EventsArgs) -> CliResult {
    let mut filters = Vec::new();
    for f in &a.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            CliError::usage(format!("bad format of filter (expected name=value): {f}"))
        })?;
        if !matches!(
            k,
            "type" | "event" | "action" | "container" | "image" | "volume" | "label"
        ) {
            return Err(CliError::failed(format!("invalid filter '{k}'")));
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let now = chrono::Utc::now();
    let nanos = |s: &Option<String>, flag: &str| -> CliResult<Option<i64>> {
        s.as_deref()
            .map(|v| {
                parse_time_arg(v, now)
                    .map(|t| t.timestamp_nanos_opt().unwrap_or(i64::MAX))
                    .map_err(|e| CliError::usage(format!("invalid value for \"--{flag}\": {e}")))
            })
            .transpose()
    };
    let since = nanos(&a.since, "since")?;
    let until = nanos(&a.until, "until")?;
    let mut out = std::io::stdout().lock();
    // Without --since, only events from now on (docker's behaviour).
    let mut seq = if since.is_none() {
        engine.events_last_seq()?
    } else {
        0
    };
    loop {
        for e in engine.events(seq, since, until)? {
            seq = e.seq;
            if matches(&e, &filters) {
                let text = line(&e, a.format.as_deref())?;
                if let Err(err) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                    if err.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(());
                    }
                    return Err(CliError::failed(format!("writing output: {err}")));
                }
            }
        }
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        if until.is_some_and(|u| u <= now) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
