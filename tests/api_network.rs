//! The real docker CLI (28.2, `docker` on PATH) driving berth's networks through
//! `berth serve`: network create/ls/inspect/connect/disconnect/rm, a published port
//! reached with curl, and pulling from a registry that is not there.

mod common;

use std::process::{Child, Command, Stdio};

use common::{eventually, with_busybox, Berth};

struct Serve {
    child: Child,
    sock: std::path::PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(b: &Berth) -> Serve {
    let sock = b.path().join("api.sock");
    let child = b
        .cmd()
        .args(["serve", "-H", &format!("unix://{}", sock.display())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting berth serve");
    assert!(
        eventually(10, || sock.exists()),
        "berth serve did not create {}",
        sock.display()
    );
    Serve { child, sock }
}

/// Runs the docker CLI against the server; returns (exit code, stdout, stderr).
fn docker(s: &Serve, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", s.sock.display()))
        .env(
            "DOCKER_CONFIG",
            s.sock.parent().expect("dir").join("docker-config"),
        )
        .output()
        .unwrap_or_else(|e| {
            panic!("running docker failed ({e}): the docker CLI 28 must be on PATH (docker-ce-cli)")
        });
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn ok(r: (i32, String, String)) -> String {
    assert_eq!(r.0, 0, "docker failed: {}{}", r.1, r.2);
    r.1
}

#[test]
fn docker_cli_manages_networks_and_published_ports() {
    let b = with_busybox();
    let s = serve(&b);
    let ls = ok(docker(
        &s,
        &["network", "ls", "--format", "{{.Name}} {{.Driver}}"],
    ));
    assert_eq!(
        ls.lines().collect::<Vec<_>>(),
        ["bridge bridge", "host host", "none null"]
    );
    ok(docker(
        &s,
        &[
            "network",
            "create",
            "--subnet",
            "10.211.0.0/24",
            "--label",
            "team=a",
            "apinet",
        ],
    ));
    let subnet = ok(docker(
        &s,
        &[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels.team}}",
            "apinet",
        ],
    ));
    assert_eq!(subnet.trim(), "10.211.0.0/24 10.211.0.1 a");
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    ok(docker(
        &s,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "apinet",
            "--network-alias",
            "site",
            "-p",
            &format!("{port}:80"),
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/etc",
        ],
    ));
    let ps = ok(docker(&s, &["ps", "--format", "{{.Names}} {{.Ports}}"]));
    assert_eq!(ps.trim(), format!("web 0.0.0.0:{port}->80/tcp"));
    let host = Command::new("curl")
        .args([
            "-s",
            "-m",
            "3",
            &format!("http://127.0.0.1:{port}/hostname"),
        ])
        .output()
        .expect("curl (install curl)");
    assert!(!host.stdout.is_empty(), "the published port answers");
    // By alias from another container on the network.
    let got = ok(docker(
        &s,
        &[
            "run",
            "--rm",
            "--network",
            "apinet",
            "busybox",
            "sh",
            "-c",
            "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 site 80 | tail -n 1",
        ],
    ));
    assert_eq!(got.trim(), String::from_utf8_lossy(&host.stdout).trim());
    // connect / disconnect a container started on the default bridge.
    ok(docker(
        &s,
        &["run", "-d", "--name", "other", "busybox", "sleep", "300"],
    ));
    ok(docker(
        &s,
        &["network", "connect", "--alias", "peer", "apinet", "other"],
    ));
    let members = ok(docker(
        &s,
        &["network", "inspect", "-f", "{{len .Containers}}", "apinet"],
    ));
    assert_eq!(members.trim(), "2");
    ok(docker(&s, &["network", "disconnect", "apinet", "other"]));
    // In use: Docker's refusal, then removal once empty.
    let (code, _, err) = docker(&s, &["network", "rm", "apinet"]);
    assert_ne!(code, 0);
    assert!(err.contains("has active endpoints"), "{err}");
    ok(docker(&s, &["rm", "-f", "web"]));
    ok(docker(&s, &["network", "rm", "apinet"]));
    let (code, _, err) = docker(&s, &["network", "inspect", "apinet"]);
    assert_ne!(code, 0);
    assert!(err.contains("network apinet not found"), "{err}");
    // A pull from nowhere fails with the registry's error, not a hang.
    let (code, _, err) = docker(&s, &["pull", "127.0.0.1:1/nothing:latest"]);
    assert_ne!(code, 0);
    assert!(err.contains("127.0.0.1:1"), "{err}");
}
