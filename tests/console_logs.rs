//! The log pane against the fake backend: ANSI colours drawn as colours (and nothing
//! else of the escapes), older pages read on scrolling up, the window bounded, and the
//! tail read again when following resumes.

use std::sync::Arc;

use berth::client::fake::{fixed_now, FakeClient};
use berth::client::{LogLine, LogStreamKind};
use berth::ui::harness::Harness;
use berth::ui::Settings;
use ratatui::style::{Color, Modifier};

fn find(h: &Harness, needle: &str) -> Option<(u16, u16)> {
    let buf = h.render();
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(i) = row.find(needle) {
            // Columns are cells; the rows here are ASCII up to the needle.
            return Some((row[..i].chars().count() as u16, y));
        }
    }
    None
}

#[tokio::test]
async fn ansi_colours_are_drawn() {
    let client = FakeClient::demo();
    let line = |text: &str| LogLine {
        stream: LogStreamKind::Stdout,
        time: Some(fixed_now()),
        text: text.to_string(),
    };
    client
        .add_log(
            "web",
            line("\x1b[1;31mFATAL\x1b[0m disk \x1b[38;5;33mfull\x1b[m\x1b[2K"),
        )
        .expect("web exists");
    client
        .add_log("web", line("\x1b]0;title\x07plain \x1b[10;1Hline"))
        .expect("web exists");
    let mut h = Harness::new(
        Arc::new(client.clone()),
        Settings::default(),
        fixed_now(),
        120,
        40,
    )
    .await;
    h.ticks(1).await;
    let screen = h.screen();
    assert!(screen.contains("FATAL disk full"), "{screen}");
    assert!(screen.contains("plain line"), "{screen}");
    assert!(
        !screen.contains("[1;31m") && !screen.contains("title"),
        "{screen}"
    );
    let buf = h.render();
    let (x, y) = find(&h, "FATAL").expect("the line is drawn");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    let (x, y) = find(&h, "disk").expect("the line is drawn");
    assert_ne!(buf[(x, y)].fg, Color::Red, "the reset ends the colour");
    let (x, y) = find(&h, "full").expect("the line is drawn");
    assert_eq!(buf[(x, y)].fg, Color::Indexed(33));

    // Under NO_COLOR's monochrome theme, colours go and emphasis stays.
    let mono = Settings {
        theme: berth::ui::theme::Theme::monochrome(),
        ..Settings::default()
    };
    let h = Harness::new(Arc::new(client), mono, fixed_now(), 120, 40).await;
    let buf = h.render();
    let (x, y) = find(&h, "FATAL").expect("the line is drawn");
    assert_ne!(buf[(x, y)].fg, Color::Red);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
}

#[tokio::test]
async fn older_pages_load_on_scroll_and_the_window_stays_bounded() {
    let client = FakeClient::demo();
    let settings = Settings {
        log_tail: 10,
        log_lines: 25,
        ..Settings::default()
    };
    let mut h = Harness::new(Arc::new(client), settings, fixed_now(), 120, 40).await;
    let screen = h.screen();
    assert!(screen.contains("web: GET /api/items/39"), "{screen}");
    assert!(
        !screen.contains("/items/29 "),
        "only the tail is read first: {screen}"
    );
    assert_eq!(h.app.details.logs.len(), 10);

    // Scrolling up past the first line held reads the page before it.
    h.keys(&["enter", "g", "k"]).await;
    assert_eq!(h.app.details.logs.len(), 20);
    h.keys(&["g", "k"]).await;
    // The window holds 25 lines at most: the newest ones went.
    assert_eq!(h.app.details.logs.len(), 25);
    h.keys(&["g", "k", "g", "k", "g", "k"]).await;
    let screen = h.screen();
    assert!(screen.contains("web: GET /api/items/0 "), "{screen}");
    assert_eq!(h.app.details.logs.len(), 25);

    // Following the end again reads the tail afresh.
    h.keys(&["G"]).await;
    let screen = h.screen();
    assert!(screen.contains("web: GET /api/items/39"), "{screen}");
    assert_eq!(h.app.details.logs.len(), 10);
}
