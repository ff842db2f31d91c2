//! Snapshot tests of every console view at 80x24 and 160x45 against the fake backend
//! (fixed data, clock pinned), plus key-driven behaviour: actions, confirmations,
//! read-only mode, filters, marks, the palette and errors.

use std::sync::Arc;

use berth::client::fake::{fixed_now, FakeClient};
use berth::ui::harness::Harness;
use berth::ui::Settings;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 45)];

async fn harness_with(client: &FakeClient, settings: Settings, w: u16, h: u16) -> Harness {
    Harness::new(Arc::new(client.clone()), settings, fixed_now(), w, h).await
}

async fn harness(w: u16, h: u16) -> (Harness, FakeClient) {
    let client = FakeClient::demo();
    let h = harness_with(&client, Settings::default(), w, h).await;
    (h, client)
}

/// Snapshots a scenario (keys pressed after `ticks` stats samples) at both sizes.
async fn scenario(name: &str, ticks: usize, keys: &[&str]) {
    for (w, h) in SIZES {
        let (mut t, _) = harness(w, h).await;
        t.ticks(ticks).await;
        t.keys(keys).await;
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.screen());
    }
}

#[tokio::test]
async fn containers_view_with_logs() {
    scenario("containers_logs", 3, &[]).await;
}

#[tokio::test]
async fn containers_stats_tab() {
    scenario("containers_stats", 6, &["enter", "tab"]).await;
}

#[tokio::test]
async fn containers_inspect_tab() {
    scenario(
        "containers_inspect",
        0,
        &["enter", "tab", "tab", "j", "j", "enter"],
    )
    .await;
}

#[tokio::test]
async fn containers_top_tab() {
    scenario("containers_top", 0, &["enter", "]", "]", "]"]).await;
}

#[tokio::test]
async fn containers_env_tab() {
    scenario("containers_env", 0, &["j", "j", "j", "enter", "backtab"]).await;
}

#[tokio::test]
async fn images_view() {
    scenario("images", 0, &["2"]).await;
}

#[tokio::test]
async fn volumes_view() {
    scenario("volumes", 0, &["3"]).await;
}

#[tokio::test]
async fn events_view() {
    scenario("events", 0, &["5"]).await;
}

#[tokio::test]
async fn networks_view() {
    scenario("networks", 0, &["4"]).await;
}

#[tokio::test]
async fn networks_create_remove_and_prune() {
    let (mut t, client) = harness(160, 45).await;
    t.keys(&["4"]).await;
    let screen = t.screen();
    assert!(screen.contains("Networks (5)"), "{screen}");
    assert!(
        screen.contains("172.18.0.0/24") && screen.contains("db,web"),
        "{screen}"
    );
    // Create through the prompt.
    t.keys(&["c"]).await;
    t.type_text("backend").await;
    t.keys(&["enter"]).await;
    assert!(
        t.screen().contains("created network backend"),
        "{}",
        t.screen()
    );
    assert!(t.screen().contains("Networks (6)"));
    // A network in use is refused; the engine's message shows.
    t.keys(&["/"]).await;
    t.type_text("shop").await;
    t.keys(&["enter", "d", "y"]).await;
    assert!(
        t.screen().contains("has active endpoints"),
        "{}",
        t.screen()
    );
    // Prune takes the unused custom ones (backend, vault).
    t.keys(&["esc", "P", "y"]).await;
    assert!(t.screen().contains("pruned 2 network(s)"), "{}", t.screen());
    assert!(client.calls().iter().any(|c| c == "network-create backend"));
}

#[tokio::test]
async fn help_overlay() {
    scenario("help", 0, &["?"]).await;
}

#[tokio::test]
async fn palette_completion() {
    for (w, h) in SIZES {
        let (mut t, _) = harness(w, h).await;
        t.keys(&[":"]).await;
        t.type_text("st").await;
        insta::assert_snapshot!(format!("palette_{w}x{h}"), t.screen());
    }
}

#[tokio::test]
async fn remove_confirm_dialog() {
    scenario("confirm_remove", 0, &["space", "space", "d"]).await;
}

#[tokio::test]
async fn filter_and_sort() {
    for (w, h) in SIZES {
        let (mut t, _) = harness(w, h).await;
        t.ticks(2).await;
        t.keys(&["/"]).await;
        t.type_text("!exited").await;
        // Sort by CPU %, highest first.
        t.keys(&["enter", "o", "o", "o", "o", "o", "o", "O"]).await;
        insta::assert_snapshot!(format!("filter_sort_{w}x{h}"), t.screen());
    }
}

#[tokio::test]
async fn log_search_and_zoom() {
    for (w, h) in SIZES {
        let (mut t, _) = harness(w, h).await;
        t.keys(&["enter", "/"]).await;
        t.type_text("warning").await;
        t.keys(&["enter", "n", "t", "z"]).await;
        insta::assert_snapshot!(format!("log_search_{w}x{h}"), t.screen());
    }
}

#[tokio::test]
async fn stop_key_stops_the_selected_container() {
    let (mut t, client) = harness(120, 30).await;
    assert!(t.screen().contains("web"));
    t.keys(&["x"]).await;
    let calls = client.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].starts_with("stop 01"), "{calls:?}");
    let screen = t.screen();
    assert!(screen.contains("stop: web"), "{screen}");
    let web = screen
        .lines()
        .find(|l| l.contains(" web "))
        .unwrap_or_default();
    assert!(web.contains("exited"), "{screen}");
}

#[tokio::test]
async fn bulk_actions_apply_to_marked_rows() {
    let (mut t, client) = harness(120, 30).await;
    t.keys(&["space", "space", "r"]).await;
    let calls = client.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c.starts_with("restart ")), "{calls:?}");
    assert!(t.screen().contains("restart: web, api"));
}

#[tokio::test]
async fn remove_asks_first_and_force_removes_running() {
    let (mut t, client) = harness(120, 30).await;
    t.keys(&["d"]).await;
    assert!(t.screen().contains("Remove 1 container(s)?"));
    t.keys(&["n"]).await;
    assert!(client.calls().is_empty());
    t.keys(&["d", "y"]).await;
    // web is running: a plain remove fails, and says why.
    assert!(
        t.screen().contains("container is running"),
        "{}",
        t.screen()
    );
    t.keys(&["d", "f"]).await;
    let screen = t.screen();
    assert!(
        !screen
            .lines()
            .any(|l| l.starts_with('│') && l.contains(" web ")),
        "{screen}"
    );
    assert_eq!(client.calls().len(), 2);
}

#[tokio::test]
async fn readonly_mode_refuses_every_change() {
    let client = FakeClient::demo();
    let settings = Settings {
        readonly: true,
        ..Settings::default()
    };
    let mut t = harness_with(&client, settings, 120, 30).await;
    for k in ["x", "s", "r", "K", "p", "d", "R", "c"] {
        t.keys(&[k]).await;
        assert!(t.screen().contains("read-only mode"), "{k}: {}", t.screen());
    }
    t.keys(&["2", "d", "T", "P", "3", "c", ":"]).await;
    t.type_text("volume-create x").await;
    t.keys(&["enter"]).await;
    assert!(client.calls().is_empty(), "{:?}", client.calls());
    assert!(t.screen().contains("[read-only]"));
}

#[tokio::test]
async fn rename_through_the_dialog() {
    let (mut t, client) = harness(120, 30).await;
    t.keys(&["R", "ctrl-u"]).await;
    t.type_text("frontend").await;
    t.keys(&["enter"]).await;
    assert_eq!(client.calls().len(), 1);
    assert!(client.calls()[0].ends_with(" frontend"));
    assert!(t.screen().contains("frontend"));
}

#[tokio::test]
async fn engine_errors_go_to_the_status_bar() {
    let (mut t, client) = harness(120, 30).await;
    client.fail_next("stop");
    t.keys(&["x"]).await;
    let screen = t.screen();
    assert!(screen.contains("stop failed: web: cannot stop"), "{screen}");
    // The row is unchanged and the console still answers keys.
    t.keys(&["j"]).await;
    assert!(t.screen().contains("api"));
}

#[tokio::test]
async fn palette_runs_commands() {
    let (mut t, client) = harness(120, 30).await;
    t.keys(&[":"]).await;
    t.type_text("vol").await;
    t.keys(&["tab"]).await;
    t.type_text("-create scratch").await;
    t.keys(&["enter"]).await;
    assert_eq!(client.calls(), vec!["volume-create scratch"]);
    assert!(t.screen().contains("created volume scratch"));
    t.keys(&[":"]).await;
    t.type_text("sort name!").await;
    t.keys(&["enter"]).await;
    let screen = t.screen();
    assert!(screen.contains("sort: NAME↓"), "{screen}");
    t.keys(&[":"]).await;
    t.type_text("bogus").await;
    t.keys(&["enter"]).await;
    assert!(t.screen().contains("unknown command"));
}

#[tokio::test]
async fn events_arrive_live() {
    let (mut t, _client) = harness(120, 30).await;
    t.keys(&["x", "5"]).await;
    let screen = t.screen();
    let first = screen.lines().nth(3).unwrap_or_default();
    assert!(first.contains("stop") && first.contains("web"), "{screen}");
}

#[tokio::test]
async fn empty_engine_and_every_size_draw() {
    let client = FakeClient::empty();
    for (w, h) in [(20, 5), (80, 24), (300, 80), (1, 1)] {
        let mut t = harness_with(&client, Settings::default(), w, h).await;
        for v in ["1", "2", "3", "4", "5", "?"] {
            t.keys(&[v]).await;
            let _ = t.screen();
        }
    }
    let t = harness_with(&client, Settings::default(), 80, 24).await;
    assert!(t.screen().contains("no containers"));
}

#[tokio::test]
async fn run_form() {
    for (w, h) in SIZES {
        let (mut t, _) = harness(w, h).await;
        t.keys(&["2", "c"]).await;
        t.type_text("web2").await;
        t.keys(&["tab", "tab"]).await;
        t.type_text("NGINX_PORT=8080").await;
        insta::assert_snapshot!(format!("run_form_{w}x{h}"), t.screen());
    }
}

#[tokio::test]
async fn run_form_creates_and_starts() {
    let (mut t, client) = harness(120, 30).await;
    t.keys(&["c"]).await;
    t.type_text("busybox:latest").await;
    t.keys(&["tab"]).await;
    t.type_text("new1").await;
    t.keys(&["tab"]).await;
    t.type_text("sleep 60").await;
    t.keys(&["enter"]).await;
    let calls = client.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0], "create new1");
    assert!(calls[1].starts_with("start "), "{calls:?}");
    let screen = t.screen();
    assert!(screen.contains("started new1"), "{screen}");
    let row = screen
        .lines()
        .find(|l| l.starts_with('│') && l.contains("new1"))
        .unwrap_or_default();
    assert!(row.contains("running"), "{screen}");
}

#[tokio::test]
async fn run_form_reports_bad_flags_in_place() {
    let (mut t, client) = harness(120, 30).await;
    t.keys(&["c", "enter"]).await;
    assert!(t.screen().contains("an image is required"));
    t.type_text("busybox").await;
    for _ in 0..6 {
        t.keys(&["tab"]).await;
    }
    t.type_text("sometimes").await;
    t.keys(&["enter"]).await;
    assert!(t.screen().contains("sometimes"), "{}", t.screen());
    t.keys(&["esc"]).await;
    assert!(client.calls().is_empty());
    assert!(!t.screen().contains("Run a container"));
}

#[tokio::test]
async fn copy_id_and_name() {
    let (mut t, _) = harness(160, 30).await;
    t.keys(&["Y"]).await;
    assert!(t.screen().contains("copied web"), "{}", t.screen());
    t.keys(&["y"]).await;
    assert!(t.screen().contains("copied 015e1f0c3a9b"), "{}", t.screen());
}

#[tokio::test]
async fn log_filter_to_matching_lines() {
    for (w, h) in SIZES {
        let (mut t, _) = harness(w, h).await;
        t.keys(&["enter", "/"]).await;
        t.type_text("warning").await;
        t.keys(&["enter", "F"]).await;
        let screen = t.screen();
        assert!(screen.contains("only matches"), "{screen}");
        assert!(!screen.contains("GET /api"), "{screen}");
        insta::assert_snapshot!(format!("log_only_matches_{w}x{h}"), screen);
        t.keys(&["F"]).await;
        assert!(t.screen().contains("GET /api"));
    }
}

#[tokio::test]
async fn save_logs_to_a_file() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let client = FakeClient::demo();
    let settings = Settings {
        save_dir: Some(dir.path().to_path_buf()),
        ..Settings::default()
    };
    let mut t = harness_with(&client, settings, 120, 30).await;
    t.keys(&["enter", "S"]).await;
    let path = dir.path().join("web-20260501T120000.log");
    let text = std::fs::read_to_string(&path).expect("the saved log");
    assert_eq!(text.lines().count(), 40);
    assert!(text.starts_with("2026-05-01T11:53:20"), "{text}");
    assert!(t.screen().contains("saved the log to"));
    // Never overwrites: a second save in the same second fails and says so.
    t.keys(&["S"]).await;
    assert!(t.screen().contains("File exists"), "{}", t.screen());
}

#[tokio::test]
async fn mouse_clicks_and_wheel() {
    use crossterm::event::{MouseButton, MouseEventKind};
    let click = MouseEventKind::Down(MouseButton::Left);
    let (mut t, _) = harness(120, 30).await;
    // Third data row: the table's top border is row 1, its header row 2.
    t.mouse(click, 10, 5).await;
    assert!(t.screen().contains("╭ worker"), "{}", t.screen());
    // The Stats tab in the details title (details pane starts at row 14 here).
    let screen = t.screen();
    let (row, line) = screen
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("╭ worker"))
        .expect("details title");
    let col = line.find("Stats").expect("Stats tab");
    let x = line[..col].chars().count() as u16;
    t.mouse(click, x, row as u16).await;
    assert!(t.screen().contains("sampling…") || t.screen().contains("CPU"));
    // Wheel over the table moves the cursor three rows.
    t.mouse(MouseEventKind::ScrollDown, 10, 5).await;
    assert!(t.screen().contains("╭ cron"), "{}", t.screen());
    // The view tabs on the first row.
    let header = t.screen().lines().next().unwrap_or_default().to_string();
    let x = header[..header.find("Volumes").expect("tab")]
        .chars()
        .count() as u16;
    t.mouse(click, x, 0).await;
    assert!(t.screen().contains("Volumes (3)"));
    // With capture off, clicks do nothing.
    t.keys(&["m"]).await;
    assert!(t.screen().contains("mouse off"));
    t.mouse(click, 2, 0).await;
    assert!(t.screen().contains("Volumes (3)"));
}

#[tokio::test]
async fn pull_from_the_palette_reports_and_lists_the_image() {
    let (mut t, client) = harness(120, 30).await;
    t.keys(&["2"]).await;
    let before = t.screen();
    assert!(before.contains("Images (7)"), "{before}");
    t.keys(&[":"]).await;
    t.type_text("pull alpine:3.21").await;
    t.keys(&["enter"]).await;
    let after = t.screen();
    assert!(after.contains("pulled alpine:3.21"), "{after}");
    assert!(after.contains("Images (8)"), "{after}");
    assert!(client.calls().iter().any(|c| c == "pull alpine:3.21"));
    // A failed pull says why.
    t.keys(&[":"]).await;
    t.type_text("pull missing/thing").await;
    t.keys(&["enter"]).await;
    assert!(
        t.screen().contains("pull access denied for missing/thing"),
        "{}",
        t.screen()
    );
}
