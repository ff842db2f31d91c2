//! The image layer explorer (the Images view's Layers tab): the image's history steps
//! with their sizes, the selected step's file changes as a tree (added, changed,
//! removed; directories with the bytes below them), and the space wasted by files that
//! later layers replace or remove.

use std::collections::HashMap;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::app::App;
use crate::cli::units::size3;
use crate::client::{FileChange, FileChangeKind, ImageLayers};

/// One line of the file tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    pub depth: usize,
    pub name: String,
    pub kind: FileChangeKind,
    pub dir: bool,
    /// A file's bytes; a directory's: everything changed below it.
    pub size: u64,
}

/// The file changes of one layer as tree rows, parents before children.
pub fn tree(changes: &[FileChange]) -> Vec<TreeRow> {
    let mut sorted: Vec<&FileChange> = changes.iter().collect();
    sorted.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    // Bytes below each directory: every file adds its size to each of its ancestors.
    let mut below: HashMap<&str, u64> = HashMap::new();
    for c in &sorted {
        if c.dir {
            continue;
        }
        let mut p = c.path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if p.is_empty() {
                break;
            }
            *below.entry(p).or_default() += c.size;
        }
    }
    sorted
        .iter()
        .map(|c| {
            let trimmed = c.path.trim_start_matches('/');
            let depth = trimmed.matches('/').count();
            let name = trimmed.rsplit('/').next().unwrap_or(trimmed).to_string();
            TreeRow {
                depth,
                name,
                kind: c.kind,
                dir: c.dir,
                size: if c.dir {
                    below.get(c.path.as_str()).copied().unwrap_or(0)
                } else {
                    c.size
                },
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct LayersState {
    pub model: ImageLayers,
    pub selected: usize,
    /// The first tree row shown.
    pub scroll: usize,
    /// The selected layer's tree (rebuilt when the selection moves).
    pub rows: Vec<TreeRow>,
}

impl LayersState {
    pub fn new(model: ImageLayers) -> LayersState {
        // Open on the first layer that changes files (the base, usually).
        let selected = model.layers.iter().position(|l| !l.empty).unwrap_or(0);
        let mut s = LayersState {
            model,
            selected,
            scroll: 0,
            rows: Vec::new(),
        };
        s.select(selected);
        s
    }

    pub fn select(&mut self, i: usize) {
        let n = self.model.layers.len();
        if n == 0 {
            return;
        }
        self.selected = i.min(n - 1);
        self.scroll = 0;
        self.rows = tree(&self.model.layers[self.selected].changes);
    }

    pub fn move_by(&mut self, delta: isize) {
        let i = (self.selected as isize + delta).max(0) as usize;
        self.select(i);
    }

    pub fn scroll_by(&mut self, delta: isize, height: usize) {
        let max = self.rows.len().saturating_sub(height);
        self.scroll = ((self.scroll as isize + delta).max(0) as usize).min(max);
    }
}

fn marker(kind: FileChangeKind) -> &'static str {
    match kind {
        FileChangeKind::Added => "+",
        FileChangeKind::Modified => "~",
        FileChangeKind::Removed => "-",
    }
}

/// Height of the tree area for a details pane of `inner` (what PgDn moves by).
pub fn tree_height(inner_height: u16) -> usize {
    usize::from(inner_height.saturating_sub(2)).max(1)
}

impl App {
    pub(super) fn draw_layers(&self, f: &mut Frame, r: Rect) {
        let t = &self.settings.theme;
        let state = match &self.details.layers {
            None => {
                let p = Paragraph::new(Span::styled(" reading the layers…", t.dim));
                f.render_widget(p, r);
                return;
            }
            Some(Err(e)) => {
                let p = Paragraph::new(Span::styled(format!(" {e}"), t.status_error));
                f.render_widget(p, r);
                return;
            }
            Some(Ok(s)) => s,
        };
        let m = &state.model;
        let [summary, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(r);
        let pct = if m.size > 0 {
            m.wasted as f64 / m.size as f64 * 100.0
        } else {
            0.0
        };
        let mut spans = vec![
            Span::styled(
                format!(" {} layers, {} ", m.layers.len(), size3(m.size)),
                t.title,
            ),
            Span::styled(
                format!("wasted {} ({pct:.0}%)", size3(m.wasted)),
                if m.wasted > 0 { t.paused } else { t.dim },
            ),
        ];
        if let Some((p, w, copies)) = m.wasted_paths.first() {
            let copies = if *copies == 1 {
                "1 copy".to_string()
            } else {
                format!("{copies} copies")
            };
            spans.push(Span::styled(
                format!("  most: {p} {} in {copies}", size3(*w)),
                t.dim,
            ));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), summary);

        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(body);
        let rows = m.layers.iter().enumerate().map(|(i, l)| {
            let cmd = l
                .created_by
                .trim_start_matches("/bin/sh -c ")
                .trim_start_matches("#(nop) ")
                .trim()
                .to_string();
            let style = if l.empty { t.dim } else { Style::default() };
            Row::new(vec![
                format!("{:>2}", i + 1),
                if l.empty { "-".into() } else { size3(l.size) },
                cmd,
            ])
            .style(style)
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(2),
                Constraint::Length(9),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(vec!["#", "SIZE", "STEP"]).style(t.header))
        .column_spacing(1)
        .row_highlight_style(t.selected);
        let mut ts = TableState::default().with_selected(Some(state.selected));
        f.render_stateful_widget(table, left, &mut ts);

        let layer = &m.layers[state.selected.min(m.layers.len().saturating_sub(1))];
        let title = if layer.empty {
            " no files changed (metadata only)".to_string()
        } else {
            format!(
                " files of layer {} ({} changes)",
                state.selected + 1,
                state.rows.len()
            )
        };
        let [head, tree_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(right);
        f.render_widget(Paragraph::new(Span::styled(title, t.header)), head);
        let lines: Vec<Line> = state
            .rows
            .iter()
            .skip(state.scroll)
            .take(usize::from(tree_area.height))
            .map(|row| {
                let style = match row.kind {
                    FileChangeKind::Added => t.running,
                    FileChangeKind::Modified => t.paused,
                    FileChangeKind::Removed => t.exited,
                };
                let name = if row.dir {
                    format!("{}/", row.name)
                } else {
                    row.name.clone()
                };
                Line::from(vec![
                    Span::styled(format!(" {} ", marker(row.kind)), style),
                    Span::styled(format!("{:>8} ", size3(row.size)), t.dim),
                    Span::raw("  ".repeat(row.depth)),
                    Span::styled(name, style),
                ])
            })
            .collect();
        f.render_widget(Paragraph::new(lines), tree_area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::LayerInfo;

    fn change(path: &str, kind: FileChangeKind, dir: bool, size: u64) -> FileChange {
        FileChange {
            path: path.into(),
            kind,
            dir,
            size,
        }
    }

    #[test]
    fn tree_nests_and_sums_directories() {
        use FileChangeKind::*;
        let rows = tree(&[
            change("/etc/passwd", Modified, false, 10),
            change("/etc", Modified, true, 0),
            change("/usr/bin/curl", Added, false, 300),
            change("/usr", Added, true, 0),
            change("/usr/bin", Added, true, 0),
        ]);
        let shown: Vec<(usize, &str, u64)> = rows
            .iter()
            .map(|r| (r.depth, r.name.as_str(), r.size))
            .collect();
        assert_eq!(
            shown,
            [
                (0, "etc", 10),
                (1, "passwd", 10),
                (0, "usr", 300),
                (1, "bin", 300),
                (2, "curl", 300)
            ]
        );
    }

    #[test]
    fn wasted_space_counts_replaced_and_removed_copies() {
        use FileChangeKind::*;
        let layer = |changes| LayerInfo {
            created_by: String::new(),
            size: 1,
            empty: false,
            changes,
        };
        let m = ImageLayers::new(vec![
            layer(vec![
                change("/a", Added, false, 100),
                change("/d", Added, true, 0),
                change("/d/x", Added, false, 40),
                change("/keep", Added, false, 7),
            ]),
            layer(vec![change("/a", Modified, false, 120)]),
            layer(vec![change("/d", Removed, true, 0)]),
        ]);
        // /a: the first copy (100) is hidden by the second; /d/x (40) was removed.
        assert_eq!(m.wasted, 140);
        assert_eq!(m.wasted_paths[0], ("/a".to_string(), 100, 2));
        assert_eq!(m.wasted_paths[1], ("/d/x".to_string(), 40, 1));
        assert_eq!(m.wasted_paths.len(), 2);
    }
}
