//! `berth serve -H tcp://... --tlsverify`: the real docker CLI over mutual TLS (run with
//! its hijacked attach included); a client without a certificate is refused, and TCP
//! without TLS is refused at start.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{eventually, with_busybox};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running openssl failed ({e}): install openssl"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`.
fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=berth-test-ca",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server-key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("s.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .expect("s.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            "server-cert.pem",
            "-days",
            "2",
            "-extfile",
            "s.ext",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "client.csr",
            "-subj",
            "/CN=client",
        ],
    );
    std::fs::write(dir.join("c.ext"), "extendedKeyUsage=clientAuth\n").expect("c.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "c.ext",
        ],
    );
}

#[test]
fn docker_cli_over_mutual_tls() {
    let b = with_busybox();
    let dir = tempfile::tempdir().expect("cert dir");
    let d = dir.path();
    make_certs(d);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let host = format!("tcp://127.0.0.1:{port}");
    let p = |f: &str| d.join(f).display().to_string();

    // Without TLS: refused with the fix in the message.
    let r = b.run(&["serve", "-H", &host]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("--tlsverify"), "{}", r.stderr);

    let mut server = b
        .cmd()
        .args([
            "serve",
            "-H",
            &host,
            "--tlsverify",
            "--tlscacert",
            &p("ca.pem"),
            "--tlscert",
            &p("server-cert.pem"),
            "--tlskey",
            &p("server-key.pem"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting berth serve");
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(&mut server);
    assert!(eventually(10, || std::net::TcpStream::connect((
        "127.0.0.1",
        port
    ))
    .is_ok()));
    let docker = |tls_client: bool, args: &[&str]| {
        let mut c = Command::new("docker");
        c.env("DOCKER_CONFIG", d.join("docker-config")).args([
            "--tlsverify",
            "--tlscacert",
            &p("ca.pem"),
        ]);
        if tls_client {
            c.args(["--tlscert", &p("cert.pem"), "--tlskey", &p("key.pem")]);
        }
        let out = c
            .args(["-H", &host])
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("running docker failed ({e}): the docker CLI must be on PATH")
            });
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = docker(true, &["run", "--rm", "busybox", "echo", "hi-over-tls"]);
    assert_eq!((code, out.as_str()), (0, "hi-over-tls\n"), "{err}");
    let (code, out, err) = docker(true, &["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    // A client without a certificate the CA signed gets nothing.
    let (code, _, err) = docker(false, &["version"]);
    assert_ne!(code, 0);
    assert!(err.contains("certificate required"), "{err}");
}
