//! Drawing the details pane: logs, stats charts, inspect tree, top, and the
//! environment/mounts/ports summary.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Row, Table};
use ratatui::Frame;
use serde_json::Value;

use super::app::{App, DetailTab, Focus, LogState, View};
use crate::cli::units::{bytes_size, size3};
use crate::widgets::json_tree::{JsonStyles, JsonTreeView};
use crate::widgets::log_view::{LogStyles, LogView};

impl App {
    pub(super) fn details_title(&self) -> Line<'static> {
        let t = &self.settings.theme;
        let mut spans = vec![Span::raw(" ")];
        let name = match self.view {
            View::Containers => self.containers.selected().map(|c| c.name.clone()),
            View::Images => self.images.selected().map(|i| i.reference()),
            View::Volumes => self.volumes.selected().map(|v| v.name.clone()),
            View::Networks => self.networks.selected().map(|n| n.name.clone()),
            View::Events => None,
        };
        if let Some(n) = name {
            spans.push(Span::styled(format!("{n} "), t.title));
        }
        if self.view == View::Containers {
            for tab in DetailTab::CONTAINER {
                let style = if tab == self.details.tab {
                    t.tab_active
                } else {
                    t.tab
                };
                spans.push(Span::styled(format!(" {} ", tab.title()), style));
            }
            spans.push(Span::raw(" "));
            if self.details.tab == DetailTab::Logs {
                let logs = &self.details.logs;
                let mut flags = Vec::new();
                flags.push(if logs.following() {
                    "follow"
                } else {
                    "scrolled"
                });
                if logs.timestamps {
                    flags.push("time");
                }
                if logs.wrap {
                    flags.push("wrap");
                }
                if logs.only_matches && logs.search().is_some() {
                    flags.push("only matches");
                }
                if self.older_inflight() {
                    flags.push("reading older lines…");
                }
                spans.push(Span::styled(format!("[{}] ", flags.join(" ")), t.dim));
                if let Some(p) = logs.search() {
                    spans.push(Span::styled(
                        format!("/{}/ {} ", p.raw(), logs.match_count()),
                        t.key,
                    ));
                }
            }
        } else if self.view == View::Images {
            for tab in DetailTab::IMAGE {
                let style = if tab == self.details.image_tab {
                    t.tab_active
                } else {
                    t.tab
                };
                spans.push(Span::styled(format!(" {} ", tab.title()), style));
            }
        } else {
            spans.push(Span::styled(" Inspect ", t.tab_active));
        }
        Line::from(spans)
    }

    pub(super) fn draw_details(&self, f: &mut Frame, r: Rect) {
        let focused = self.focus == Focus::Details;
        let block = self.block(self.details_title(), focused);
        let inner = block.inner(r);
        f.render_widget(block, r);
        if self.details.target.is_none() {
            self.note(f, inner, "nothing selected");
            return;
        }
        match self.current_tab() {
            DetailTab::Logs => self.draw_logs(f, inner),
            DetailTab::Stats => self.draw_stats(f, inner),
            DetailTab::Inspect => self.draw_inspect(f, inner, focused),
            DetailTab::Top => self.draw_top(f, inner),
            DetailTab::Env => self.draw_env(f, inner),
            DetailTab::Layers => self.draw_layers(f, inner),
        }
    }

    fn note(&self, f: &mut Frame, r: Rect, text: &str) {
        f.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), self.settings.theme.dim)),
            r,
        );
    }

    fn draw_logs(&self, f: &mut Frame, r: Rect) {
        let t = &self.settings.theme;
        let logs = &self.details.logs;
        let lines = logs.visible(usize::from(r.height), usize::from(r.width));
        if lines.is_empty() {
            let text = match &self.details.log_state {
                _ if !logs.is_empty() => "no line matches (F shows all)".to_string(),
                LogState::Idle | LogState::Streaming => "waiting for output…".to_string(),
                LogState::Ended => "no output".to_string(),
                LogState::Failed(e) => format!("cannot read the log: {e}"),
            };
            self.note(f, r, &text);
            return;
        }
        let view = LogView {
            lines,
            timestamps: logs.timestamps,
            wrap: logs.wrap,
            search: logs.search(),
            current_match: logs.current_match(),
            styles: LogStyles {
                stdout: t.base,
                stderr: t.stderr,
                timestamp: t.dim,
                search_match: t.search_match,
                colors: t.name != "monochrome",
            },
        };
        f.render_widget(view, r);
    }

    fn draw_stats(&self, f: &mut Frame, r: Rect) {
        let t = &self.settings.theme;
        let Some(c) = self.containers.selected() else {
            return;
        };
        let hist = self.stats.get(&c.id);
        let Some(last) = hist.and_then(|h| h.last()).filter(|_| c.running()) else {
            let text = if c.running() {
                "sampling…"
            } else {
                "not running: no usage to show"
            };
            self.note(f, r, text);
            return;
        };
        let [summary, charts] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(r);
        let mem_limit = if last.mem_limit > 0 {
            format!(
                " / {} ({:.1}%)",
                bytes_size(last.mem_limit),
                last.mem_percent
            )
        } else {
            String::new()
        };
        let line = Line::from(vec![
            Span::styled(" CPU ", t.header),
            Span::raw(format!("{:.1}%  ", last.cpu_percent)),
            Span::styled("MEM ", t.header),
            Span::raw(format!("{}{mem_limit}  ", bytes_size(last.mem_used))),
            Span::styled("NET ", t.header),
            Span::raw(format!("{} / {}  ", size3(last.net_rx), size3(last.net_tx))),
            Span::styled("BLOCK ", t.header),
            Span::raw(format!(
                "{} / {}  ",
                size3(last.block_read),
                size3(last.block_write)
            )),
            Span::styled("PIDS ", t.header),
            Span::raw(last.pids.to_string()),
        ]);
        f.render_widget(Paragraph::new(line), summary);
        let samples: Vec<_> = hist
            .map(|h| h.samples.iter().copied().collect())
            .unwrap_or_default();
        // The newest sample sits at the right edge; history grows leftwards.
        let x0 = (super::app::STATS_HISTORY - samples.len()) as f64;
        let cpu: Vec<(f64, f64)> = samples
            .iter()
            .enumerate()
            .map(|(i, s)| (x0 + i as f64, s.cpu_percent))
            .collect();
        let mem: Vec<(f64, f64)> = samples
            .iter()
            .enumerate()
            .map(|(i, s)| (x0 + i as f64, s.mem_used as f64 / (1024.0 * 1024.0)))
            .collect();
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(charts);
        let cpu_max = cpu.iter().map(|p| p.1).fold(100.0_f64, f64::max);
        let mem_max = mem.iter().map(|p| p.1).fold(1.0_f64, f64::max) * 1.2;
        self.chart(f, left, "CPU %", &cpu, cpu_max, t.chart_cpu, |v| {
            format!("{v:.0}")
        });
        // Small containers use a few MiB: whole numbers would label the axis 0, 1, 1.
        let decimals = if mem_max < 10.0 { 1 } else { 0 };
        self.chart(f, right, "Memory MiB", &mem, mem_max, t.chart_mem, |v| {
            format!("{v:.decimals$}")
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn chart(
        &self,
        f: &mut Frame,
        r: Rect,
        title: &str,
        data: &[(f64, f64)],
        max: f64,
        style: Style,
        label: impl Fn(f64) -> String,
    ) {
        let t = &self.settings.theme;
        let dataset = Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style)
            .data(data);
        let span = super::app::STATS_HISTORY as f64 - 1.0;
        let chart = Chart::new(vec![dataset])
            .block(
                ratatui::widgets::Block::default().title(Span::styled(format!(" {title} "), t.dim)),
            )
            .x_axis(Axis::default().bounds([0.0, span]).style(t.dim))
            .y_axis(
                Axis::default()
                    .bounds([0.0, max])
                    .labels([label(0.0), label(max / 2.0), label(max)])
                    .style(t.dim),
            );
        f.render_widget(chart, r);
    }

    fn draw_inspect(&self, f: &mut Frame, r: Rect, focused: bool) {
        let t = &self.settings.theme;
        match &self.details.inspect {
            None => self.note(f, r, "loading…"),
            Some(i) => match &i.result {
                Err(e) => self.note(f, r, &format!("inspect failed: {e}")),
                Ok(tree) => f.render_widget(
                    JsonTreeView {
                        tree,
                        styles: JsonStyles {
                            key: t.json_key,
                            string: t.json_string,
                            number: t.json_number,
                            boolean: t.json_bool,
                            null: t.json_null,
                            punct: t.dim,
                            cursor: t.selected,
                        },
                        focused,
                    },
                    r,
                ),
            },
        }
    }

    fn draw_top(&self, f: &mut Frame, r: Rect) {
        let t = &self.settings.theme;
        if !self.containers.selected().is_some_and(|c| c.running()) {
            self.note(f, r, "not running: no processes");
            return;
        }
        match &self.details.top {
            None => self.note(f, r, "loading…"),
            Some(Err(e)) => self.note(f, r, &format!("top failed: {e}")),
            Some(Ok(top)) => {
                let titles = top.titles.clone().unwrap_or_default();
                let procs = top.processes.clone().unwrap_or_default();
                let n = titles.len();
                let widths: Vec<Constraint> = titles
                    .iter()
                    .enumerate()
                    .map(|(i, title)| {
                        if i + 1 == n {
                            Constraint::Fill(1)
                        } else {
                            let w = procs
                                .iter()
                                .filter_map(|p| p.get(i))
                                .map(|v| v.chars().count())
                                .chain([title.len()])
                                .max()
                                .unwrap_or(4);
                            Constraint::Length(w as u16)
                        }
                    })
                    .collect();
                let table = Table::new(procs.into_iter().map(Row::new), widths)
                    .header(Row::new(titles).style(t.header));
                f.render_widget(table, r);
            }
        }
    }

    fn draw_env(&self, f: &mut Frame, r: Rect) {
        let t = &self.settings.theme;
        let Some(Ok(tree)) = self.details.inspect.as_ref().map(|i| i.result.as_ref()) else {
            self.note(f, r, "loading…");
            return;
        };
        let v = tree.value();
        let mut lines = vec![Line::from(Span::styled(" Environment", t.header))];
        let env = v.pointer("/Config/Env").and_then(Value::as_array);
        for e in env.into_iter().flatten().filter_map(Value::as_str) {
            match e.split_once('=') {
                Some((k, val)) => lines.push(Line::from(vec![
                    Span::styled(format!("   {k}"), t.json_key),
                    Span::raw(format!("={val}")),
                ])),
                None => lines.push(Line::from(format!("   {e}"))),
            }
        }
        lines.push(Line::from(Span::styled(" Mounts", t.header)));
        let mounts = v.pointer("/Mounts").and_then(Value::as_array);
        let mut any = false;
        for m in mounts.into_iter().flatten() {
            any = true;
            let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let rw = if m.get("RW").and_then(Value::as_bool).unwrap_or(true) {
                "rw"
            } else {
                "ro"
            };
            let src = if s("Name").is_empty() {
                s("Source")
            } else {
                s("Name")
            };
            lines.push(Line::from(format!(
                "   {:<7} {src} -> {} ({rw})",
                s("Type"),
                s("Destination")
            )));
        }
        if !any {
            lines.push(Line::from(Span::styled("   none", t.dim)));
        }
        lines.push(Line::from(Span::styled(" Ports", t.header)));
        let ports = v
            .pointer("/HostConfig/PortBindings")
            .and_then(Value::as_object);
        let mut any = false;
        for (port, binds) in ports.into_iter().flatten() {
            any = true;
            let hosts: Vec<String> = binds
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| {
                    let ip = b.get("HostIp").and_then(Value::as_str).unwrap_or("");
                    let p = b.get("HostPort").and_then(Value::as_str).unwrap_or("");
                    format!("{}:{p}", if ip.is_empty() { "0.0.0.0" } else { ip })
                })
                .collect();
            if hosts.is_empty() {
                lines.push(Line::from(format!("   {port} (not published)")));
            } else {
                lines.push(Line::from(format!("   {port} <- {}", hosts.join(", "))));
            }
        }
        if !any {
            lines.push(Line::from(Span::styled("   none", t.dim)));
        }
        f.render_widget(Paragraph::new(lines), r);
    }
}
