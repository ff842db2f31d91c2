//! Smoke test of the real binary in a real terminal (tmux): `berth` with no arguments
//! opens the console, answers keys promptly, shows help, and on quit restores the
//! terminal and exits 0. Uses a private tmux server so it never touches the user's.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Berth;

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A 100x30 session `smoke` running the console on `b`'s root; when the console
    /// exits the pane prints its exit code and stays.
    fn start_console(&self, b: &Berth) {
        let shell_cmd = format!(
            "TERM=xterm-256color {} --root {}; echo berth-exited-$?; sleep 30",
            env!("CARGO_BIN_EXE_berth"),
            b.path().display()
        );
        self.run(&[
            "new-session",
            "-d",
            "-s",
            "smoke",
            "-x",
            "100",
            "-y",
            "30",
            &shell_cmd,
        ]);
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self
            .cmd()
            .args(args)
            .output()
            .expect("running tmux (scripts/install-deps.sh installs it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "smoke"])
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "smoke", k]);
        }
    }

    /// Waits until the screen satisfies `ok`; fails with the screen after 15 s.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "timed out waiting for {what}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

#[test]
fn console_opens_answers_keys_and_restores_the_terminal() {
    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    b.run(&["create", "--name", "smoke-box", "busybox", "true"])
        .ok();
    let tmux = Tmux {
        socket: format!("berth-smoke-{}", std::process::id()),
    };
    tmux.start_console(&b);
    let s = tmux.wait("the containers table", |s| s.contains("smoke-box"));
    assert!(s.contains("Containers (1)"), "{s}");
    assert!(s.contains("created"), "{s}");

    // Each key must show at once, not on the next timer tick.
    tmux.keys(&["?"]);
    tmux.wait("the help screen", |s| s.contains("show this help"));
    tmux.keys(&["Escape"]);
    tmux.wait("help to close", |s| !s.contains("show this help"));
    tmux.keys(&["2"]);
    tmux.wait("the images view", |s| {
        s.contains("busybox") && s.contains("REPOSITORY")
    });
    tmux.keys(&[":"]);
    tmux.wait("the palette", |s| s.contains("commands (tab completes)"));
    tmux.keys(&["Escape"]);
    // Wait before the next key: ESC and a key read together mean alt-key.
    tmux.wait("the palette to close", |s| {
        !s.contains("commands (tab completes)")
    });

    tmux.keys(&["q"]);
    let s = tmux.wait("the console to exit", |s| s.contains("berth-exited-"));
    assert!(s.contains("berth-exited-0"), "{s}");
    // Back on the normal screen: the console's frame is gone.
    assert!(!s.contains("REPOSITORY"), "{s}");
}

/// The real binary in a real terminal: a shell in a container's terminal pane takes
/// typed keys (ctrl-c included) and the detach sequence returns to the console.
#[test]
fn terminal_pane_in_a_real_terminal() {
    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    b.run(&[
        "run",
        "-d",
        "--name",
        "smoke-shell",
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    let tmux = Tmux {
        socket: format!("berth-smoke-term-{}", std::process::id()),
    };
    tmux.start_console(&b);
    tmux.wait("the running container", |s| {
        s.contains("smoke-shell") && s.contains("running")
    });
    tmux.keys(&["e"]);
    tmux.wait("the shell's prompt", |s| s.contains("/ # "));
    // A long-running command, interrupted: ctrl-c is the shell's, not the console's.
    tmux.keys(&["sleep 100", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["C-c"]);
    tmux.keys(&["echo pane-$((40+2))", "Enter"]);
    tmux.wait("the command's output", |s| {
        s.lines().any(|l| l.trim_end() == "pane-42")
    });
    tmux.keys(&["C-p", "C-q"]);
    let s = tmux.wait("the console again", |s| {
        s.contains("detached from smoke-shell")
    });
    assert!(s.contains("Containers (1)"), "{s}");
    // A session is still open: quitting asks first.
    tmux.keys(&["q"]);
    tmux.wait("the question", |s| s.contains("Quit berth?"));
    tmux.keys(&["y"]);
    let s = tmux.wait("the console to exit", |s| s.contains("berth-exited-"));
    assert!(s.contains("berth-exited-0"), "{s}");
}
