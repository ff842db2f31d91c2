//! Drawing the whole screen from `&App`: header with view tabs, the current table,
//! the details pane, the status bar, and any overlay on top.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::app::{App, Focus, Overlay, Prompt, View};
use super::keymap::Action;
use super::layout::areas;
use super::table::{fit_columns, Column, TableItem, TableModel};
use super::views::containers;
use crate::widgets::popup;

impl App {
    pub fn draw(&self, f: &mut Frame) {
        let t = &self.settings.theme;
        f.render_widget(Block::default().style(t.base), f.area());
        let a = areas(self);
        self.draw_header(f, a.header);
        if let Some(r) = a.table {
            self.draw_table(f, r);
        }
        if let Some(r) = a.details {
            self.draw_details(f, r);
        }
        if let Some(r) = a.terminal {
            self.draw_terminals(f, r);
        }
        self.draw_status(f, a.status);
        self.draw_pulls(f, a.status);
        self.draw_overlay(f, a.status);
    }

    pub(super) fn block(&self, title: Line<'static>, focused: bool) -> Block<'static> {
        let t = &self.settings.theme;
        Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(if focused { t.border_focused } else { t.border })
            .title(title)
    }

    /// The view tabs (also what mouse clicks on the first row are matched against).
    /// The tabs; without the gaps between them when the endpoint's name would not fit
    /// beside them (so it stays visible at 80 columns).
    pub(super) fn header_line(&self) -> Line<'static> {
        let t = &self.settings.theme;
        let tabs = |gap: &'static str| {
            let mut spans = vec![Span::styled(" berth ", t.title), Span::raw(" ")];
            for (i, v) in View::ALL.iter().enumerate() {
                let style = if *v == self.view { t.tab_active } else { t.tab };
                spans.push(Span::styled(format!(" {} {} ", i + 1, v.title()), style));
                spans.push(Span::raw(gap));
            }
            Line::from(spans)
        };
        let full = tabs(" ");
        if full.width() + self.header_right().chars().count() + 1 < usize::from(self.size.0) {
            full
        } else {
            tabs("")
        }
    }

    fn header_right(&self) -> String {
        let mut right = self.backend.clone();
        if self.settings.readonly {
            right.push_str(" [read-only]");
        }
        right
    }

    fn draw_header(&self, f: &mut Frame, r: Rect) {
        let t = &self.settings.theme;
        let right = self.header_right();
        let left = self.header_line();
        let width = usize::from(r.width);
        let used = left.width();
        f.render_widget(Paragraph::new(left), r);
        if used + right.chars().count() + 1 < width {
            f.render_widget(
                Paragraph::new(
                    Line::from(Span::styled(format!("{right} "), t.dim)).right_aligned(),
                ),
                r,
            );
        }
    }

    fn table_title<T: TableItem>(&self, m: &TableModel<T>, cols: &[Column]) -> Line<'static> {
        let t = &self.settings.theme;
        let count = if m.len() == m.total() {
            format!("{}", m.total())
        } else {
            format!("{}/{}", m.len(), m.total())
        };
        let mut spans = vec![Span::styled(
            format!(" {} ({count}) ", self.view.title()),
            t.title,
        )];
        if let Some((c, desc)) = m.sort() {
            let arrow = if desc { "↓" } else { "↑" };
            let name = cols.get(c).map(|c| c.title).unwrap_or("");
            spans.push(Span::styled(format!("sort: {name}{arrow} "), t.dim));
        }
        if let Some(p) = m.filter() {
            spans.push(Span::styled(format!("filter: {} ", p.raw()), t.key));
        }
        if m.marked_count() > 0 {
            spans.push(Span::styled(
                format!("{} marked ", m.marked_count()),
                t.marked,
            ));
        }
        Line::from(spans)
    }

    fn draw_table(&self, f: &mut Frame, r: Rect) {
        let focused = self.focus == Focus::Table || !self.view.has_details();
        match self.view {
            View::Containers => {
                let theme = &self.settings.theme;
                let empty = Vec::new();
                self.render_table(
                    f,
                    r,
                    &self.containers,
                    containers::COLUMNS,
                    focused,
                    |c, col| {
                        let hist = self.stats.get(&c.id).map(|h| h.cpu());
                        containers::cell(c, col, theme, hist.as_ref().unwrap_or(&empty))
                    },
                );
            }
            View::Images => self.render_table(
                f,
                r,
                &self.images,
                super::views::images::COLUMNS,
                focused,
                |i, col| {
                    if col == 4 {
                        Line::from(i.cell(col)).right_aligned()
                    } else {
                        Line::from(i.cell(col))
                    }
                },
            ),
            View::Volumes => self.render_table(
                f,
                r,
                &self.volumes,
                super::views::volumes::COLUMNS,
                focused,
                |v, col| Line::from(v.cell(col)),
            ),
            View::Networks => self.render_table(
                f,
                r,
                &self.networks,
                super::views::networks::COLUMNS,
                focused,
                |n, col| Line::from(n.cell(col)),
            ),
            View::Events => {
                let theme = &self.settings.theme;
                self.render_table(
                    f,
                    r,
                    &self.events,
                    super::views::events::COLUMNS,
                    focused,
                    |e, col| {
                        if col == 2 {
                            let style = match e.action.as_str() {
                                "start" | "unpause" | "create" => theme.running,
                                "die" | "kill" | "stop" | "destroy" | "delete" | "oom" => {
                                    theme.exited
                                }
                                "pause" => theme.paused,
                                _ => Style::default(),
                            };
                            Line::from(Span::styled(e.cell(col), style))
                        } else {
                            Line::from(e.cell(col))
                        }
                    },
                )
            }
        }
    }

    fn render_table<T: TableItem>(
        &self,
        f: &mut Frame,
        r: Rect,
        m: &TableModel<T>,
        cols: &[Column],
        focused: bool,
        cell: impl Fn(&T, usize) -> Line<'static>,
    ) {
        let t = &self.settings.theme;
        let block = self.block(self.table_title(m, cols), focused);
        let inner = block.inner(r);
        f.render_widget(block, r);
        // Two cells for the mark, then the columns that fit.
        let shown = fit_columns(cols, inner.width.saturating_sub(2));
        let sort = m.sort();
        let header = Row::new(
            std::iter::once(Cell::from(" ")).chain(shown.iter().map(|&i| {
                let mut title = cols[i].title.to_string();
                if let Some((c, desc)) = sort {
                    if c == i {
                        title.push(if desc { '↓' } else { '↑' });
                    }
                }
                Cell::from(title)
            })),
        )
        .style(t.header);
        let rows = m.rows().map(|item| {
            let mark = if m.is_marked(item) {
                Span::styled("●", t.marked)
            } else {
                Span::raw(" ")
            };
            Row::new(
                std::iter::once(Cell::from(Line::from(mark)))
                    .chain(shown.iter().map(|&i| Cell::from(cell(item, i)))),
            )
        });
        let widths = std::iter::once(Constraint::Length(1)).chain(shown.iter().map(|&i| {
            if cols[i].flex {
                Constraint::Min(cols[i].width)
            } else {
                Constraint::Length(cols[i].width)
            }
        }));
        let sel = if focused {
            t.selected
        } else {
            t.selected_unfocused
        };
        let table = Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .row_highlight_style(sel);
        let mut state = TableState::default()
            .with_offset(m.offset())
            .with_selected((!m.is_empty()).then_some(m.cursor()));
        f.render_stateful_widget(table, inner, &mut state);
        if m.is_empty() && inner.height > 2 {
            let load = match self.view {
                View::Containers => Some(super::msg::Load::Containers),
                View::Images => Some(super::msg::Load::Images),
                View::Volumes => Some(super::msg::Load::Volumes),
                View::Networks => Some(super::msg::Load::Networks),
                View::Events => None,
            };
            let text = if load.is_some_and(|l| !self.loaded.contains(&l)) {
                "loading…".to_string()
            } else if m.total() > 0 {
                "nothing matches the filter (esc clears it)".to_string()
            } else {
                format!("no {}", self.view.title().to_lowercase())
            };
            let r = Rect::new(inner.x + 2, inner.y + 2, inner.width.saturating_sub(2), 1);
            f.render_widget(Paragraph::new(Span::styled(text, t.dim)), r);
        }
    }

    /// Key hints for the status bar, from the live keymap.
    fn hints(&self) -> Line<'static> {
        let t = &self.settings.theme;
        let km = &self.settings.keymap;
        if self.terms.shown {
            let label = self.terms.active().map(|p| p.label.as_str()).unwrap_or("");
            let detach: Vec<String> = self
                .settings
                .detach_keys
                .iter()
                .map(|k| k.to_string())
                .collect();
            return Line::from(vec![
                Span::styled(format!(" keys go to {label}  "), t.status),
                Span::styled(detach.join(" "), t.key.patch(t.status)),
                Span::styled(" back to the console", t.status),
            ]);
        }
        let mut actions: Vec<(Action, &str)> = vec![
            (Action::Help, "help"),
            (Action::Palette, "cmd"),
            (Action::Filter, "filter"),
        ];
        match (self.view, self.focus) {
            (View::Containers, Focus::Table) => actions.extend([
                (Action::Open, "logs"),
                (Action::Exec, "shell"),
                (Action::Mark, "mark"),
                (Action::Start, "start"),
                (Action::Stop, "stop"),
                (Action::Remove, "rm"),
                (Action::Create, "run"),
            ]),
            (View::Containers, Focus::Details) => {
                actions = vec![
                    (Action::Back, "back"),
                    (Action::NextTab, "tab"),
                    (Action::Search, "search"),
                    (Action::Timestamps, "time"),
                    (Action::Wrap, "wrap"),
                    (Action::Follow, "follow"),
                ]
            }
            (View::Images, _) => actions.extend([
                (Action::Create, "run"),
                (Action::Remove, "rm"),
                (Action::Tag, "tag"),
                (Action::Prune, "prune"),
            ]),
            (View::Volumes, _) | (View::Networks, _) => actions.extend([
                (Action::Create, "create"),
                (Action::Remove, "rm"),
                (Action::Prune, "prune"),
            ]),
            (View::Events, _) => actions.push((Action::SortReverse, "order")),
        }
        let mut spans = vec![Span::raw(" ")];
        for (a, label) in actions {
            let keys = km.keys(a);
            let Some(k) = keys.first() else { continue };
            spans.push(Span::styled(k.to_string(), t.key.patch(t.status)));
            spans.push(Span::styled(format!(" {label}  "), t.status));
        }
        Line::from(spans)
    }

    fn draw_status(&self, f: &mut Frame, r: Rect) {
        let t = &self.settings.theme;
        f.render_widget(Block::default().style(t.status), r);
        if let Overlay::Prompt { kind, input, .. } = &self.overlay {
            let prompt = match kind {
                Prompt::Filter => "/",
                Prompt::Search => "search /",
                Prompt::Command => ":",
                _ => "",
            };
            if !prompt.is_empty() {
                let cursor = Style::default().add_modifier(Modifier::REVERSED);
                f.render_widget(
                    Paragraph::new(input.line(prompt, t.key.patch(t.status), cursor))
                        .style(t.status),
                    r,
                );
                return;
            }
        }
        let line = match &self.status {
            Some(s) => Line::from(Span::styled(
                format!(" {}", s.text),
                if s.error {
                    t.status_error
                } else {
                    t.status_info
                },
            )),
            None => self.hints(),
        };
        f.render_widget(Paragraph::new(line).style(t.status), r);
    }

    fn draw_overlay(&self, f: &mut Frame, status: Rect) {
        let t = &self.settings.theme;
        let area = f.area();
        match &self.overlay {
            Overlay::None => {}
            Overlay::Help { scroll } => self.draw_help(f, *scroll),
            Overlay::RunForm(form) => form.draw(f, t),
            Overlay::Confirm {
                title,
                lines,
                force,
                ..
            } => {
                let mut body: Vec<Line> =
                    lines.iter().map(|l| Line::from(format!("  {l}"))).collect();
                body.push(Line::from(""));
                let mut choice = vec![
                    Span::styled("y", t.key),
                    Span::raw(" yes   "),
                    Span::styled("n", t.key),
                    Span::raw(" no"),
                ];
                if force.is_some() {
                    choice.push(Span::raw("   "));
                    choice.push(Span::styled("f", t.key));
                    choice.push(Span::raw(" force"));
                }
                body.push(Line::from(choice));
                let w = (title.chars().count() as u16 + 6).max(40).max(
                    lines
                        .iter()
                        .map(|l| l.chars().count() as u16 + 6)
                        .max()
                        .unwrap_or(0),
                );
                let rect = popup::centered(area, w, body.len() as u16 + 2);
                let inner = popup::frame_box(f, rect, title, t.border_focused, t.popup);
                f.render_widget(Paragraph::new(body).style(t.popup), inner);
            }
            Overlay::Prompt { kind, input, .. } => match kind {
                Prompt::Command => {
                    let cands = self.palette_candidates(input.text());
                    if cands.is_empty() || area.height < 6 {
                        return;
                    }
                    let shown: Vec<Line> = cands
                        .iter()
                        .take(usize::from(area.height / 2))
                        .map(|c| {
                            let help = super::palette::find(c)
                                .map(|cmd| format!("{:<13} {}", cmd.args, cmd.help))
                                .unwrap_or_default();
                            Line::from(vec![
                                Span::styled(format!(" {c:<14}"), t.key),
                                Span::styled(help, t.dim),
                            ])
                        })
                        .collect();
                    let h = shown.len() as u16 + 2;
                    let w = area.width.min(64);
                    let rect = Rect::new(0, status.y.saturating_sub(h), w, h);
                    let inner =
                        popup::frame_box(f, rect, "commands (tab completes)", t.border, t.popup);
                    f.render_widget(Paragraph::new(shown).style(t.popup), inner);
                }
                Prompt::Rename | Prompt::Tag | Prompt::CreateVolume | Prompt::CreateNetwork => {
                    let title = match kind {
                        Prompt::Rename => "Rename container",
                        Prompt::Tag => "Tag image as",
                        Prompt::CreateNetwork => "Create bridge network named",
                        _ => "Create volume (empty: anonymous)",
                    };
                    let rect = popup::centered(area, 50, 3);
                    let inner = popup::frame_box(f, rect, title, t.border_focused, t.popup);
                    let cursor = Style::default().add_modifier(Modifier::REVERSED);
                    f.render_widget(
                        Paragraph::new(input.line(" ", t.popup, cursor)).style(t.popup),
                        inner,
                    );
                }
                _ => {}
            },
        }
    }

    fn draw_help(&self, f: &mut Frame, scroll: usize) {
        let t = &self.settings.theme;
        let mut lines = Vec::new();
        let detach: Vec<String> = self
            .settings
            .detach_keys
            .iter()
            .map(|k| k.to_string())
            .collect();
        for (ctx, mut entries) in self.settings.keymap.describe() {
            lines.push(Line::from(Span::styled(ctx.title().to_string(), t.header)));
            if ctx == super::keymap::Context::Terminal {
                // A sequence, set by detach_keys rather than [keys].
                entries.insert(0, (detach.join(" "), "back to the console (session kept)"));
            }
            for (keys, help) in entries {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys:<18}"), t.key),
                    Span::raw(help),
                ]));
            }
            lines.push(Line::from(""));
        }
        lines.push(Line::from(Span::styled(
            "Remap keys in ~/.config/berth/config.toml, e.g. [keys] stop = [\"ctrl-s\"]",
            t.dim,
        )));
        let area = f.area();
        let rect = popup::centered(area, 72, area.height.saturating_sub(2));
        let inner = popup::frame_box(
            f,
            rect,
            "Keys (j/k scroll, any other key closes)",
            t.border_focused,
            t.popup,
        );
        let max = lines.len().saturating_sub(usize::from(inner.height));
        f.render_widget(
            Paragraph::new(lines)
                .style(t.popup)
                .wrap(Wrap { trim: false })
                .scroll((scroll.min(max) as u16, 0)),
            inner,
        );
    }
}
