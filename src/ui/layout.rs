//! Where each part of the screen goes. Both drawing and key handling use it (key
//! handling needs page heights), so the two can never disagree.

use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Focus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub table: Option<Rect>,
    pub details: Option<Rect>,
    /// The terminal panes, when they are up (they take the whole main area).
    pub terminal: Option<Rect>,
    pub status: Rect,
}

fn split(app: &App) -> [Rect; 3] {
    let full = Rect::new(0, 0, app.size.0, app.size.1);
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(full)
}

/// Everything between the header and the status bar.
pub fn main_area(app: &App) -> Rect {
    split(app)[1]
}

pub fn areas(app: &App) -> Areas {
    let [header, main, status] = split(app);
    if app.terms.shown && !app.terms.panes.is_empty() {
        return Areas {
            header,
            table: None,
            details: None,
            terminal: Some(main),
            status,
        };
    }
    let (table, details) = if !app.view.has_details() {
        (Some(main), None)
    } else if app.zoom {
        match app.focus {
            Focus::Table => (Some(main), None),
            Focus::Details => (None, Some(main)),
        }
    } else {
        // The table needs its header and a few rows; logs want the rest.
        let pct = if app.view == super::app::View::Containers {
            45
        } else {
            55
        };
        let [t, d] =
            Layout::vertical([Constraint::Percentage(pct), Constraint::Fill(1)]).areas(main);
        (Some(t), Some(d))
    };
    Areas {
        header,
        table,
        details,
        terminal: None,
        status,
    }
}
