//! Drives an `App` without a terminal: keys in, effects run against a client, the
//! screen rendered into a ratatui `TestBackend`. Used by the snapshot and end-to-end
//! tests and by anything that renders the UI off-screen (screenshots).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use tokio::sync::mpsc;

use super::app::App;
use super::config::Settings;
use super::keymap::Key;
use super::msg::Msg;
use super::tasks::Tasks;
use crate::client::Client;

pub struct Harness {
    pub app: App,
    tasks: Tasks,
    rx: mpsc::UnboundedReceiver<Msg>,
    now: DateTime<Utc>,
    log_wait: Duration,
}

impl Harness {
    /// An app of `width` x `height` over `client`, with its clock pinned at `now`,
    /// after its first loads have landed.
    pub async fn new(
        client: Arc<dyn Client>,
        settings: Settings,
        now: DateTime<Utc>,
        width: u16,
        height: u16,
    ) -> Harness {
        Self::with_log_wait(client, settings, now, width, height, Duration::from_secs(5)).await
    }

    /// As `new`, waiting at most `log_wait` for a log stream to end when settling:
    /// short for a real engine, whose followers run as long as the container.
    pub async fn with_log_wait(
        client: Arc<dyn Client>,
        settings: Settings,
        now: DateTime<Utc>,
        width: u16,
        height: u16,
        log_wait: Duration,
    ) -> Harness {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut tasks = Tasks::new(client.clone(), tx);
        let mut app = App::new(settings, client.describe(), now, (width, height));
        for e in app.start() {
            tasks.run(e);
        }
        let mut h = Harness {
            app,
            tasks,
            rx,
            now,
            log_wait,
        };
        h.settle().await;
        h
    }

    /// Runs until no task is left and no message is waiting (the event subscription
    /// aside, which is given a few turns of the scheduler to deliver).
    pub async fn settle(&mut self) {
        loop {
            self.tasks.settle(self.log_wait).await;
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            let mut any = false;
            while let Ok(m) = self.rx.try_recv() {
                any = true;
                self.apply(m);
            }
            if !any {
                return;
            }
        }
    }

    fn apply(&mut self, m: Msg) {
        for e in self.app.update(m) {
            self.tasks.run(e);
        }
    }

    /// Presses keys written as in the config file ("j", "enter", "ctrl-a"); single
    /// characters of a longer plain string are typed one by one with `type_text`.
    pub async fn keys(&mut self, keys: &[&str]) {
        for k in keys {
            let key = Key::parse(k).unwrap_or_else(|e| panic!("{e}"));
            self.apply(Msg::Key(KeyEvent::new(key.code, key.mods)));
            self.settle().await;
        }
    }

    pub async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let code = crossterm::event::KeyCode::Char(c);
            self.apply(Msg::Key(KeyEvent::new(
                code,
                crossterm::event::KeyModifiers::NONE,
            )));
        }
        self.settle().await;
    }

    /// A left click, or a wheel notch (`up`), at column `x`, row `y`.
    pub async fn mouse(&mut self, kind: crossterm::event::MouseEventKind, x: u16, y: u16) {
        self.apply(Msg::Mouse(crossterm::event::MouseEvent {
            kind,
            column: x,
            row: y,
            modifiers: crossterm::event::KeyModifiers::NONE,
        }));
        self.settle().await;
    }

    /// Text pasted into the terminal (bracketed paste).
    pub async fn paste(&mut self, text: &str) {
        self.apply(Msg::Paste(text.to_string()));
        self.settle().await;
    }

    /// The terminal was resized to `width` x `height`.
    pub async fn resize(&mut self, width: u16, height: u16) {
        self.apply(Msg::Resize(width, height));
        self.settle().await;
    }

    /// `n` timer ticks at the pinned time (stats samples, refreshes).
    pub async fn ticks(&mut self, n: usize) {
        for _ in 0..n {
            self.apply(Msg::Tick(self.now));
            self.settle().await;
        }
    }

    /// Delivers whatever arrived meanwhile (for backends that answer in real time).
    pub async fn poll(&mut self) {
        self.settle().await;
    }

    pub fn render(&self) -> Buffer {
        let (w, h) = self.app.size;
        let mut terminal = match Terminal::new(TestBackend::new(w, h)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        // TestBackend cannot fail to draw.
        let _ = terminal.draw(|f| self.app.draw(f));
        terminal.backend().buffer().clone()
    }

    /// The screen as text, one line per row (no styles).
    pub fn screen(&self) -> String {
        let buf = self.render();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }
}
