//! Terminal panes (exec and attach) against the fake backend: what the pane shows,
//! that keys reach the process, resizes are forwarded, the detach sequence leaves the
//! pane with its session kept, several panes at once, and a pane closing when its
//! process exits.

use std::sync::Arc;

use berth::client::fake::{fixed_now, FakeClient};
use berth::ui::harness::Harness;
use berth::ui::Settings;

async fn harness(client: &FakeClient, settings: Settings, w: u16, h: u16) -> Harness {
    Harness::new(Arc::new(client.clone()), settings, fixed_now(), w, h).await
}

/// The fake's session runs on its own task: give it turns until the screen has been
/// the same for a few of them.
async fn pump(h: &mut Harness) {
    let mut last = String::new();
    let mut same = 0;
    for _ in 0..200 {
        tokio::task::yield_now().await;
        h.poll().await;
        let now = h.screen();
        same = if now == last { same + 1 } else { 0 };
        if same >= 3 {
            return;
        }
        last = now;
    }
}

#[tokio::test]
async fn shell_pane_snapshots() {
    for (w, hgt) in [(80, 24), (160, 45)] {
        let client = FakeClient::demo();
        let mut h = harness(&client, Settings::default(), w, hgt).await;
        h.keys(&["e"]).await;
        pump(&mut h).await;
        h.type_text("echo hi-there").await;
        h.keys(&["enter"]).await;
        pump(&mut h).await;
        let screen = h.screen();
        assert!(
            screen.contains("hi-there\n") || screen.contains("hi-there "),
            "{screen}"
        );
        insta::assert_snapshot!(format!("terminal_shell_{w}x{hgt}"), screen);
    }
}

#[tokio::test]
async fn keys_reach_the_process_and_resizes_are_forwarded() {
    let client = FakeClient::demo();
    let mut h = harness(&client, Settings::default(), 100, 30).await;
    h.keys(&["e"]).await;
    pump(&mut h).await;
    // Under the tab row, the pane is the whole main area: 100 x (30 - 3).
    assert!(
        client.calls().iter().any(|c| c == "resize web 27x100"),
        "{:?}",
        client.calls()
    );
    assert!(
        client
            .calls()
            .iter()
            .any(|c| c.starts_with("exec web /bin/sh")),
        "{:?}",
        client.calls()
    );
    // ctrl-c is the process's, not the console's quit key; so is q.
    h.keys(&["ctrl-c", "q", "up", "f5"]).await;
    pump(&mut h).await;
    assert!(!h.app.quit);
    let calls = client.calls();
    assert!(calls.iter().any(|c| c == "ctrl web 0x03"), "{calls:?}");
    assert!(h.screen().contains("web:/# q"), "{}", h.screen());
    // Escape sequences of the arrow and F5 keys reach the process.
    assert!(
        calls.iter().filter(|c| *c == "ctrl web 0x1b").count() >= 2,
        "{calls:?}"
    );

    h.resize(120, 40).await;
    pump(&mut h).await;
    assert!(
        client.calls().iter().any(|c| c == "resize web 37x120"),
        "{:?}",
        client.calls()
    );
}

#[tokio::test]
async fn detach_keeps_the_session_and_backtick_returns() {
    let client = FakeClient::demo();
    let mut h = harness(&client, Settings::default(), 100, 30).await;
    h.keys(&["e"]).await;
    pump(&mut h).await;
    h.type_text("echo one").await;
    h.keys(&["enter", "ctrl-p", "ctrl-q"]).await;
    let screen = h.screen();
    assert!(screen.contains("Containers (7)"), "{screen}");
    assert!(screen.contains("detached from web: shell"), "{screen}");

    h.keys(&["`"]).await;
    pump(&mut h).await;
    let screen = h.screen();
    assert!(
        screen.contains("one"),
        "the session's screen is kept: {screen}"
    );
    // A prefix that does not complete the sequence goes to the process, prefix first.
    h.keys(&["ctrl-p", "x"]).await;
    pump(&mut h).await;
    assert!(client.calls().iter().any(|c| c == "ctrl web 0x10"));
    assert!(h.screen().contains("web:/# x"), "{}", h.screen());
}

#[tokio::test]
async fn several_panes_and_a_pane_closes_when_its_process_exits() {
    let client = FakeClient::demo();
    let mut h = harness(&client, Settings::default(), 100, 30).await;
    h.keys(&["e"]).await;
    pump(&mut h).await;
    h.keys(&["ctrl-p", "ctrl-q", "j", "a"]).await;
    pump(&mut h).await;
    let screen = h.screen();
    assert!(screen.contains("1 web: shell"), "{screen}");
    assert!(screen.contains("2 api: attach"), "{screen}");
    // The attach shows the main process's output.
    assert!(screen.contains("api: GET /api/items/39"), "{screen}");
    assert!(client.calls().iter().any(|c| c == "attach api"));

    h.keys(&["alt-left"]).await;
    pump(&mut h).await;
    let screen = h.screen();
    assert!(screen.contains("web:/#"), "{screen}");
    assert!(!screen.contains("api: GET"), "{screen}");
    h.type_text("exit").await;
    h.keys(&["enter"]).await;
    pump(&mut h).await;
    let screen = h.screen();
    assert!(
        screen.contains("web: shell: exited with code 0"),
        "{screen}"
    );
    assert!(!screen.contains("1 web: shell"), "{screen}");
    assert!(screen.contains("1 api: attach"), "{screen}");
}

#[tokio::test]
async fn exec_needs_a_running_container_and_a_writable_console() {
    let client = FakeClient::demo();
    let mut h = harness(&client, Settings::default(), 100, 30).await;
    // Rows are newest first; the stopped ones come after the running ones.
    h.keys(&["G", "e"]).await;
    let screen = h.screen();
    assert!(screen.contains("is not running"), "{screen}");
    h.keys(&["`"]).await;
    assert!(
        h.screen().contains("no terminal sessions"),
        "{}",
        h.screen()
    );

    let settings = Settings {
        readonly: true,
        ..Settings::default()
    };
    let mut h = harness(&client, settings, 100, 30).await;
    h.keys(&["e"]).await;
    assert!(h.screen().contains("read-only mode: exec is disabled"));
    assert!(!client.calls().iter().any(|c| c.starts_with("exec")));
}

#[tokio::test]
async fn detach_keys_come_from_the_config() {
    let s = Settings::from_toml("detach_keys = \"ctrl-x,x\"", None);
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    let client = FakeClient::demo();
    let mut h = harness(&client, s, 100, 30).await;
    h.keys(&["e"]).await;
    pump(&mut h).await;
    h.keys(&["ctrl-p", "ctrl-q"]).await;
    assert!(h.screen().contains("keys go to web: shell"));
    h.keys(&["ctrl-x", "x"]).await;
    assert!(
        h.screen().contains("detached from web: shell"),
        "{}",
        h.screen()
    );

    let bad = Settings::from_toml("detach_keys = \"ctrl-\"", None);
    assert!(
        bad.problems.iter().any(|p| p.contains("detach_keys")),
        "{:?}",
        bad.problems
    );
}

#[tokio::test]
async fn the_wheel_scrolls_back_through_a_pane() {
    let client = FakeClient::demo();
    let mut h = harness(&client, Settings::default(), 80, 12).await;
    h.keys(&["e"]).await;
    pump(&mut h).await;
    for i in 0..20 {
        h.type_text(&format!("echo out-{i}")).await;
        h.keys(&["enter"]).await;
    }
    for _ in 0..50 {
        if h.screen().contains("out-19 ") {
            break;
        }
        pump(&mut h).await;
    }
    assert!(h.screen().contains("out-19 "), "{}", h.screen());
    assert!(!h.screen().contains("out-3 "));
    // out-3 is 34 lines above the live screen's last; 9 notches of 3 show it.
    for _ in 0..9 {
        h.mouse(crossterm::event::MouseEventKind::ScrollUp, 10, 5)
            .await;
    }
    let screen = h.screen();
    assert!(screen.contains("out-3 "), "{screen}");
    // A key goes back to the live screen.
    h.keys(&["x"]).await;
    assert!(h.screen().contains("web:/# x"), "{}", h.screen());
}

#[tokio::test]
async fn quitting_with_open_sessions_asks_first() {
    let client = FakeClient::demo();
    let mut h = harness(&client, Settings::default(), 100, 30).await;
    h.keys(&["e"]).await;
    pump(&mut h).await;
    h.keys(&["ctrl-p", "ctrl-q", "q"]).await;
    assert!(!h.app.quit);
    let screen = h.screen();
    assert!(
        screen.contains("1 terminal session(s) open: web: shell"),
        "{screen}"
    );
    h.keys(&["n"]).await;
    assert!(!h.app.quit);
    h.keys(&["q", "y"]).await;
    assert!(h.app.quit);
}

#[tokio::test]
async fn pastes_go_to_the_pane_or_prompt_and_never_fire_actions() {
    let client = FakeClient::demo();
    let mut h = harness(&client, Settings::default(), 100, 30).await;
    // On the table, a paste of "x" must not stop anything.
    h.paste("xsd").await;
    assert!(
        !client
            .calls()
            .iter()
            .any(|c| c.starts_with("stop") || c.starts_with("start")),
        "{:?}",
        client.calls()
    );
    // Into the filter prompt it is typed.
    h.keys(&["/"]).await;
    h.paste("api").await;
    h.keys(&["enter"]).await;
    assert!(h.screen().contains("filter: api"), "{}", h.screen());
    h.keys(&["esc"]).await;
    // Into a pane it goes whole, line breaks as CR.
    h.keys(&["e"]).await;
    pump(&mut h).await;
    h.paste("echo pasted-1\necho pasted-2\n").await;
    pump(&mut h).await;
    let screen = h.screen();
    assert!(
        screen.contains("\npasted-1 ") && screen.contains("\npasted-2 "),
        "{screen}"
    );
}
