//! The terminal side: raw mode and the alternate screen (restored on exit, on error
//! and on panic), the crossterm event stream, the tick timer, and drawing when the
//! app says something changed.

use std::sync::Arc;

use crossterm::event::{Event, EventStream, KeyEventKind, MouseEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::app::App;
use super::config::Settings;
use super::msg::{Effect, Msg};
use super::tasks::Tasks;
use crate::client::Client;

/// At most this many queued messages are applied before the screen is redrawn, so a
/// flood of log lines cannot starve the keyboard.
const MAX_BATCH: usize = 256;

/// Runs the console until the user quits. The terminal is restored whatever happens.
pub async fn run(client: Arc<dyn Client>, settings: Settings) -> std::io::Result<()> {
    run_switchable(client, settings, None).await
}

/// [`run`], with `connect` making the client for `:ctx ENDPOINT`.
pub async fn run_switchable(
    client: Arc<dyn Client>,
    settings: Settings,
    connect: Option<crate::client::Connector>,
) -> std::io::Result<()> {
    // Installs a panic hook that restores the terminal before the message prints.
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            // Raw mode may be on already: never leave the shell unusable.
            ratatui::restore();
            return Err(e);
        }
    };
    // Pastes arrive as one event: a terminal pane gets them whole, and pasted text can
    // never fire the console's single-key actions.
    paste_mode(true);
    let result = event_loop(&mut terminal, client, settings, connect).await;
    // Whatever state it was left in, the shell gets its mouse back.
    mouse_capture(false);
    paste_mode(false);
    ratatui::restore();
    result
}

/// Writes the clipboard escape straight to the terminal (ratatui only draws cells).
fn copy(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    // A terminal without OSC 52 ignores the sequence; nothing to report.
    let _ = out.write_all(super::clipboard::osc52(text).as_bytes());
    let _ = out.flush();
}

/// Button presses and the wheel only (xterm 1000 + SGR 1006): no motion reports, so
/// moving the mouse costs nothing, and releasing capture lets the terminal select text.
fn mouse_capture(on: bool) {
    use std::io::Write;
    let seq: &[u8] = if on {
        b"\x1b[?1000h\x1b[?1006h"
    } else {
        b"\x1b[?1000l\x1b[?1006l"
    };
    let mut out = std::io::stdout();
    let _ = out.write_all(seq);
    let _ = out.flush();
}

/// Bracketed paste on or off (xterm 2004).
fn paste_mode(on: bool) {
    use std::io::Write;
    let seq: &[u8] = if on { b"\x1b[?2004h" } else { b"\x1b[?2004l" };
    let mut out = std::io::stdout();
    let _ = out.write_all(seq);
    let _ = out.flush();
}

/// What a terminal event means to the app; None for events it ignores (key
/// releases and repeats on terminals that report them, mouse moves, focus).
fn to_msg(ev: Event) -> Option<Msg> {
    match ev {
        Event::Key(k) if k.kind == KeyEventKind::Press => Some(Msg::Key(k)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::Down(_) | MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                Some(Msg::Mouse(m))
            }
            // Moves, drags and releases: nothing to do, so no redraw either.
            _ => None,
        },
        _ => None,
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    client: Arc<dyn Client>,
    settings: Settings,
    connect: Option<crate::client::Connector>,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = Tasks::new(client.clone(), tx.clone());
    let fresh_settings = settings.clone();
    let size = terminal.size()?;
    let mut tick = tokio::time::interval(settings.stats_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut app = App::new(
        settings,
        client.describe(),
        chrono::Utc::now(),
        (size.width, size.height),
    );
    for e in app.start() {
        tasks.run(e);
    }
    let mut input = EventStream::new();
    loop {
        if app.dirty {
            terminal.draw(|f| app.draw(f))?;
            app.dirty = false;
        }
        let mut msgs = Vec::new();
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(ev)) => msgs.extend(to_msg(ev)),
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            Some(msg) = rx.recv() => msgs.push(msg),
            _ = tick.tick() => msgs.push(Msg::Tick(chrono::Utc::now())),
        }
        // Take everything else that is already waiting, so a burst (a resize drag, a
        // chatty log) costs one redraw rather than one per event. The terminal stream
        // is polled with this task's own waker (not `now_or_never`'s no-op one):
        // crossterm hands the waker of a pending poll to its wake-up thread, and a
        // no-op waker there would leave later key presses unnoticed.
        while msgs.len() < MAX_BATCH {
            tokio::select! {
                biased;
                ev = input.next() => match ev {
                    Some(Ok(ev)) => msgs.extend(to_msg(ev)),
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                },
                _ = std::future::ready(()) => match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                },
            }
        }
        let mut switch_to = None;
        for m in msgs {
            for e in app.update(m) {
                match e {
                    Effect::Clipboard(text) => copy(&text),
                    Effect::MouseCapture(on) => mouse_capture(on),
                    Effect::SwitchEndpoint(name) => switch_to = Some(name),
                    e => tasks.run(e),
                }
            }
            if switch_to.is_some() {
                // What is still queued belongs to the engine being left.
                break;
            }
        }
        if let Some(name) = switch_to {
            let made = match &connect {
                Some(c) => c(&name).map_err(|e| e.message),
                None => Err("this console cannot switch engines".to_string()),
            };
            match made {
                Ok(new) => {
                    // Dropping the tasks aborts followers and reads of the old engine.
                    tasks = Tasks::new(new.clone(), tx.clone());
                    while rx.try_recv().is_ok() {}
                    let size = terminal.size()?;
                    app = App::new(
                        fresh_settings.clone(),
                        new.describe(),
                        chrono::Utc::now(),
                        (size.width, size.height),
                    );
                    for e in app.start() {
                        tasks.run(e);
                    }
                }
                Err(e) => app.error(format!("cannot switch to {name}: {e}")),
            }
            app.dirty = true;
        }
        if app.quit {
            return Ok(());
        }
    }
}
