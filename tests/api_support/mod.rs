//! `berth serve` for the API tests: a server on a socket inside the test's root, killed
//! (by its pid) when dropped, and the docker CLI pointed at it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Berth;

pub struct Server {
    child: Child,
    pub sock: PathBuf,
    pub host: String,
    log: PathBuf,
    /// The docker CLI's config dir (kept out of the user's ~/.docker).
    pub docker_config: PathBuf,
}

impl Server {
    pub fn start(b: &Berth) -> Server {
        let sock = b.path().join("api.sock");
        let log = b.path().join("serve.log");
        let host = format!("unix://{}", sock.display());
        let child = b
            .cmd()
            .args(["serve", "-H", &host])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("creating the server log"))
            .spawn()
            .expect("spawning berth serve");
        let docker_config = b.path().join("docker-config");
        std::fs::create_dir_all(&docker_config).expect("creating the docker config dir");
        let mut s = Server {
            child,
            sock,
            host,
            log,
            docker_config,
        };
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            if std::os::unix::net::UnixStream::connect(&s.sock).is_ok() {
                return s;
            }
            if let Ok(Some(st)) = s.child.try_wait() {
                panic!("berth serve exited ({st}): {}", s.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("berth serve did not listen in 15s: {}", s.log_text());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The docker CLI against this server. Fails (never skips) without one on PATH.
    pub fn docker(&self) -> Command {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join("docker").is_file()))
            .unwrap_or(false);
        assert!(
            found,
            "the API tests drive the real docker CLI: install it (scripts/install-deps.sh installs Debian's docker.io when no docker is on PATH)"
        );
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.docker_config)
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .stdin(Stdio::null());
        c
    }

    /// Runs a docker command; returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = self.docker().args(args).output().expect("running docker");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// Runs a docker command that must succeed; returns its stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(
            code,
            0,
            "docker {args:?} failed\nstdout: {out}\nstderr: {err}\nserver log: {}",
            self.log_text()
        );
        out
    }

    /// Threads of the server process (to check that streams end with their clients).
    pub fn threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One raw HTTP/1.1 request over the socket; returns (status, body). For bad-input tests
/// that no well-behaved client would send.
pub fn http(sock: &std::path::Path, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("connecting to the API");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("setting a timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("sending the request");
    // The server may answer (413) before reading everything and stop reading: send
    // from another thread while the answer is read here.
    let mut w = s.try_clone().expect("cloning the socket");
    let body = body.to_vec();
    let sender = std::thread::spawn(move || {
        let _ = w.write_all(&body);
    });
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let _ = s.shutdown(std::net::Shutdown::Both);
    let _ = sender.join();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
