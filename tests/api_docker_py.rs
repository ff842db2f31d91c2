//! docker-py (PyPI `docker`) against `berth serve`: a smoke test of a third client.

mod api_support;
mod common;

use api_support::Server;
use common::with_busybox;

const SCRIPT: &str = r#"
import os, docker
c = docker.DockerClient(base_url=os.environ["BERTH_API"])
assert c.ping()
assert c.version()["ApiVersion"] == "1.51"
out = c.containers.run("busybox", ["sh", "-c", "echo py-hi"], remove=True)
assert out == b"py-hi\n", out
ct = c.containers.run("busybox", ["sleep", "30"], detach=True, name="py1")
code, output = ct.exec_run(["sh", "-c", "echo in-exec; exit 2"])
assert (code, output) == (2, b"in-exec\n"), (code, output)
assert [x.name for x in c.containers.list()] == ["py1"]
ct.kill()
assert ct.wait()["StatusCode"] == 137
ct.remove()
img = c.images.get("busybox")
img.tag("py/img", "1")
assert "py/img:1" in c.images.get("py/img:1").tags
c.images.remove("py/img:1")
v = c.volumes.create("pyvol")
assert [x.name for x in c.volumes.list()] == ["pyvol"]
v.remove()
try:
    c.containers.get("nosuch")
    raise SystemExit("expected NotFound")
except docker.errors.NotFound:
    pass
print("docker-py ok")
"#;

#[test]
fn docker_py_smoke() {
    let has_py = std::process::Command::new("python3")
        .args(["-c", "import docker"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_py,
        "the docker-py smoke test needs python3 with the `docker` package: run scripts/install-deps.sh (pip install docker)"
    );
    let b = with_busybox();
    let s = Server::start(&b);
    let out = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .env("BERTH_API", &s.host)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "docker-py failed:\nstdout: {}\nstderr: {}\nserver log: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log_text()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "docker-py ok");
}
