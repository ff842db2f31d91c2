//! End to end: a shell in a real container, in the console's terminal pane, over the
//! in-process engine. Needs root (real containers).
//!
//! This test has its own `main` (`harness = false`): the engine starts exec helpers by
//! re-running the current executable with `__exec`, and here that is this binary, so
//! `main` hands such invocations to berth's command line like the real binary would.

mod common;

use std::time::Duration;

use common::console::{console_with_container, wait_screen};
use common::Berth;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.iter().any(|a| a == "__exec" || a == "__monitor") {
        std::process::exit(berth::cli::main_with_args(args));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("starting a tokio runtime");
    let filter = args
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| !a.starts_with('-'));
    let name = "shell_in_a_terminal_pane";
    if filter.is_some_and(|f| !name.contains(f)) {
        println!("test {name} ... filtered out");
        return;
    }
    runtime.block_on(shell_in_a_terminal_pane());
    println!("test {name} ... ok");
}

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with('│') && l.contains(name))
        .unwrap_or("")
}

/// Waits (without ticking) until the screen shows `ok`.
async fn shell_in_a_terminal_pane() {
    let b = Berth::new();
    let (mut h, _id) = console_with_container(
        &b,
        "e2e-shell",
        "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    )
    .await;
    wait_screen(
        &mut h,
        "the running container",
        Duration::from_secs(20),
        |s| row(s, "e2e-shell").contains("running"),
    )
    .await;

    h.keys(&["e"]).await;
    wait_screen(&mut h, "the shell's prompt", Duration::from_secs(20), |s| {
        s.contains("/ # ")
    })
    .await;
    // The shell evaluates what is typed: the output is not just the echoed input.
    let n = std::process::id() % 1000;
    h.type_text(&format!("echo hi-$(({n}+1))-x")).await;
    h.keys(&["enter"]).await;
    let want = format!("hi-{}-x", n + 1);
    wait_screen(
        &mut h,
        "the command's output",
        Duration::from_secs(20),
        |s| s.lines().any(|l| l.trim_end() == want),
    )
    .await;

    // The pane is the main area under its tab row; a resize reaches the process.
    h.resize(100, 32).await;
    h.type_text("stty size").await;
    h.keys(&["enter"]).await;
    wait_screen(&mut h, "the new size", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.trim_end() == "29 100")
    })
    .await;

    // Detach: back to the console, the session kept; ` returns to it.
    h.keys(&["ctrl-p", "ctrl-q"]).await;
    let screen = h.screen();
    assert!(
        screen.contains("detached from e2e-shell: shell"),
        "{screen}"
    );
    assert!(row(&screen, "e2e-shell").contains("running"), "{screen}");
    h.keys(&["`"]).await;
    h.type_text("exit 3").await;
    h.keys(&["enter"]).await;
    wait_screen(&mut h, "the pane to close", Duration::from_secs(20), |s| {
        s.contains("e2e-shell: shell: exited with code 3")
    })
    .await;
    assert!(h.app.terms.panes.is_empty());
    assert!(!h.app.terms.shown);
}
