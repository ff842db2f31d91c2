//! `top`: a running container's processes, as `ps -ef` shows them (read from /proc), or
//! as the host's `ps` shows them with the caller's options (Docker's `ps_args`).

use std::process::Command;

use bollard::models::ContainerTopResponse;

use crate::engine::error::{Error, Result};
use crate::engine::runtime::cgroups::{container_path, Cgroups};
use crate::engine::runtime::lifecycle::get;
use crate::engine::store::Store;

/// One process of a container, for `top`.
#[derive(Debug, Clone)]
pub struct ProcessRow {
    pub uid: u32,
    pub pid: i32,
    pub ppid: i32,
    pub start_ticks: u64,
    pub cpu_ticks: u64,
    pub tty_nr: i64,
    pub cmd: String,
}

/// `docker top`'s default `ps -ef` columns, from the engine's /proc rows.
pub fn top_table(rows: &[ProcessRow]) -> ContainerTopResponse {
    // SAFETY: sysconf with a valid name has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<i64>().ok())
        })
        .unwrap_or(0);
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let user = |uid: u32| {
        passwd
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
            })
            .unwrap_or_else(|| uid.to_string())
    };
    let processes = rows
        .iter()
        .map(|r| {
            let stime = chrono::DateTime::from_timestamp(boot + (r.start_ticks / hz) as i64, 0)
                .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
                .unwrap_or_default();
            let secs = r.cpu_ticks / hz;
            let tty = if r.tty_nr == 0 {
                "?".to_string()
            } else {
                format!("pts/{}", r.tty_nr & 0xff)
            };
            vec![
                user(r.uid),
                r.pid.to_string(),
                r.ppid.to_string(),
                "0".into(),
                stime,
                tty,
                format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
                r.cmd.clone(),
            ]
        })
        .collect();
    ContainerTopResponse {
        titles: Some(
            ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ),
        processes: Some(processes),
    }
}

/// The pids in a running container's cgroup.
fn running_pids(store: &Store, name_or_id: &str) -> Result<Vec<i32>> {
    let rec = get(store, name_or_id)?;
    if !rec.state.running {
        return Err(Error::conflict(format!(
            "Container {} is not running",
            rec.id
        )));
    }
    let cg = Cgroups::detect().map_err(|e| Error::Other(format!("cgroups: {e}")))?;
    cg.pids(&container_path(&rec.id))
        .map_err(|e| Error::Other(format!("listing processes of {}: {e}", rec.id)))
}

/// The processes in the container's cgroup, read from /proc.
pub fn top(store: &Store, name_or_id: &str) -> Result<Vec<ProcessRow>> {
    let pids = running_pids(store, name_or_id)?;
    let mut rows = Vec::new();
    for pid in pids {
        let (Ok(stat), Ok(status)) = (
            std::fs::read_to_string(format!("/proc/{pid}/stat")),
            std::fs::read_to_string(format!("/proc/{pid}/status")),
        ) else {
            continue; // exited meanwhile
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse().ok())
            .unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = if cmdline.is_empty() {
            format!(
                "[{}]",
                stat.get(stat.find('(').map(|i| i + 1).unwrap_or(0)..close)
                    .unwrap_or("")
            )
        } else {
            String::from_utf8_lossy(&cmdline)
                .trim_end_matches('\0')
                .replace('\0', " ")
        };
        rows.push(ProcessRow {
            uid,
            pid,
            ppid: num(1) as i32,
            tty_nr: num(4),
            cpu_ticks: (num(11) + num(12)) as u64,
            start_ticks: num(19) as u64,
            cmd,
        });
    }
    Ok(rows)
}

/// `docker top CONTAINER [ps OPTIONS]`: the host's `ps` with the caller's options,
/// limited to the container's processes (`-q PIDS`; options that refuse `-q`, like `f`,
/// get the full list, filtered here by the PID column), as dockerd does.
pub fn top_ps(store: &Store, name_or_id: &str, ps_args: &str) -> Result<ContainerTopResponse> {
    validate_ps_args(ps_args)?;
    let pids = running_pids(store, name_or_id)?;
    let args: Vec<&str> = ps_args.split_whitespace().collect();
    let list = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let run = |extra: Option<&str>| {
        let mut cmd = Command::new("ps");
        cmd.args(&args);
        if let Some(e) = extra {
            cmd.args(["-q", e]);
        }
        cmd.output()
    };
    let out = match run((!pids.is_empty()).then_some(list.as_str())) {
        Ok(o) if o.status.success() => o,
        _ => match run(None) {
            Ok(o) if o.status.success() => o,
            Ok(o) => {
                return Err(Error::invalid(format!(
                    "Error running ps: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )))
            }
            Err(e) => {
                return Err(Error::Other(format!(
                    "Error running ps: {e} (berth runs the host's `ps` for `top` with options: install procps)"
                )))
            }
        },
    };
    parse_ps_output(&String::from_utf8_lossy(&out.stdout), &pids)
}

/// dockerd's check: `ps` options may name output columns, but a column header may not
/// be renamed to look like the PID column berth filters by (`-o user=PID`).
fn validate_ps_args(ps_args: &str) -> Result<()> {
    for word in ps_args.split_whitespace() {
        for spec in word.split(',') {
            if let Some((key, value)) = spec.split_once('=') {
                if value.starts_with("PID") && key != "pid" {
                    return Err(Error::invalid(format!(
                        "specifying \"{key}={value}\" is not allowed"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// `ps` output to Docker's top table: the header's words are the titles, the last
/// column takes the rest of each line (commands have spaces), and only rows whose PID
/// is one of the container's stay.
fn parse_ps_output(output: &str, pids: &[i32]) -> Result<ContainerTopResponse> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| Error::invalid("Couldn't find PID field in ps output"))?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let pid: i32 = fields
            .get(pid_col)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Unexpected pid '{}' in ps output",
                    fields.get(pid_col).unwrap_or(&"")
                ))
            })?;
        if !pids.contains(&pid) {
            continue;
        }
        let keep = titles.len().saturating_sub(1).min(fields.len());
        let mut row: Vec<String> = fields[..keep].iter().map(|f| f.to_string()).collect();
        row.push(fields[keep..].join(" "));
        processes.push(row);
    }
    Ok(ContainerTopResponse {
        titles: Some(titles),
        processes: Some(processes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_output_keeps_the_containers_rows_and_whole_commands() {
        let out = "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n\
                   root           1  0.0  0.0   2268  1444 ?        Ss   12:00   0:00 sleep 300\n\
                   root          42  0.0  0.0   2268  1444 ?        S    12:00   0:00 sh -c echo hi there\n\
                   root        4242  0.0  0.0   2268  1444 ?        S    12:00   0:00 /usr/sbin/sshd -D\n";
        let t = parse_ps_output(out, &[1, 42]).unwrap();
        let titles = t.titles.unwrap();
        assert_eq!(titles.len(), 11);
        assert_eq!(titles[1], "PID");
        let rows = t.processes.unwrap();
        assert_eq!(rows.len(), 2, "the host's sshd is not the container's");
        assert_eq!(rows[1][1], "42");
        assert_eq!(rows[1].last().unwrap(), "sh -c echo hi there");
        assert_eq!(rows[1].len(), titles.len());
    }

    #[test]
    fn ps_output_without_a_pid_column_is_an_error() {
        let e = parse_ps_output("USER COMMAND\nroot sleep\n", &[1]).unwrap_err();
        assert!(e.to_string().contains("Couldn't find PID field"), "{e}");
        let e = parse_ps_output("PID CMD\nabc sleep\n", &[1]).unwrap_err();
        assert!(e.to_string().contains("Unexpected pid 'abc'"), "{e}");
    }

    #[test]
    fn renaming_a_column_to_pid_is_refused() {
        assert!(validate_ps_args("-o pid,user=PID").is_err());
        assert!(validate_ps_args("-eo user=PIDX").is_err());
        assert!(validate_ps_args("-o pid=PID,args").is_ok());
        assert!(validate_ps_args("aux").is_ok());
        assert!(validate_ps_args("-o pid,comm=COMMAND").is_ok());
    }
}
