//! The containers table: name, image, state, status, ports and live usage.

use bollard::models::{ContainerSummary, PortSummary};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::client::StatsSample;
use crate::ui::table::{Column, SortKey, TableItem};
use crate::ui::theme::Theme;
use crate::widgets::sparkline::sparkline;

pub const NAME: usize = 0;
pub const IMAGE: usize = 1;
pub const STATE: usize = 2;
pub const STATUS: usize = 3;
pub const PORTS: usize = 4;
pub const CPU: usize = 5;
pub const MEM: usize = 6;
pub const GRAPH: usize = 7;

pub const COLUMNS: &[Column] = &[
    Column::flex("NAME", 16, 9),
    Column::new("IMAGE", 18, 5),
    Column::new("STATE", 10, 8),
    Column::flex("STATUS", 20, 6),
    Column::flex("PORTS", 18, 2),
    Column::new("CPU %", 6, 7),
    Column::new("MEM", 9, 4),
    Column::new("CPU", 12, 3),
];

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerItem {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub status: String,
    pub ports: String,
    pub created: i64,
    pub stats: Option<StatsSample>,
}

impl ContainerItem {
    pub fn from_summary(s: &ContainerSummary) -> ContainerItem {
        ContainerItem {
            id: s.id.clone().unwrap_or_default(),
            name: s
                .names
                .iter()
                .flatten()
                .next()
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default(),
            image: s.image.clone().unwrap_or_default(),
            state: s.state.map(|st| st.to_string()).unwrap_or_default(),
            status: s.status.clone().unwrap_or_default(),
            ports: ports_text(s.ports.as_deref().unwrap_or(&[])),
            created: s.created.unwrap_or(0),
            stats: None,
        }
    }

    pub fn running(&self) -> bool {
        self.state == "running"
    }

    /// Running or paused: a process exists (stop/kill apply).
    pub fn alive(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused" | "restarting")
    }
}

/// docker ps's PORTS text: "0.0.0.0:8080->80/tcp, 443/tcp".
pub fn ports_text(ports: &[PortSummary]) -> String {
    ports
        .iter()
        .map(|p| {
            let proto = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into());
            match p.public_port {
                Some(public) => format!(
                    "{}:{}->{}/{}",
                    p.ip.as_deref().unwrap_or("0.0.0.0"),
                    public,
                    p.private_port,
                    proto
                ),
                None => format!("{}/{}", p.private_port, proto),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn state_rank(state: &str) -> f64 {
    match state {
        "running" => 0.0,
        "restarting" => 1.0,
        "paused" => 2.0,
        "created" => 3.0,
        _ => 4.0,
    }
}

impl TableItem for ContainerItem {
    fn key(&self) -> String {
        self.id.clone()
    }

    fn cell(&self, col: usize) -> String {
        match col {
            NAME => self.name.clone(),
            IMAGE => self.image.clone(),
            STATE => self.state.clone(),
            STATUS => self.status.clone(),
            PORTS => self.ports.clone(),
            CPU => match self.stats {
                Some(s) if self.running() => format!("{:.1}", s.cpu_percent),
                _ => "-".into(),
            },
            MEM => match self.stats {
                Some(s) if self.alive() => crate::cli::units::bytes_size(s.mem_used),
                _ => "-".into(),
            },
            _ => String::new(),
        }
    }

    fn sort_key(&self, col: usize) -> SortKey {
        let num = |v: Option<f64>| SortKey::Num(v.unwrap_or(-1.0));
        match col {
            STATE => SortKey::Num(state_rank(&self.state)),
            // Newest first reads best when sorting by status (it is mostly age).
            STATUS => SortKey::Num(-(self.created as f64)),
            CPU | GRAPH => num(self.stats.filter(|_| self.running()).map(|s| s.cpu_percent)),
            MEM => num(self
                .stats
                .filter(|_| self.alive())
                .map(|s| s.mem_used as f64)),
            _ => SortKey::Text(self.cell(col)),
        }
    }
}

/// One styled cell of a row.
pub fn cell<'a>(item: &ContainerItem, col: usize, theme: &Theme, cpu_history: &[f64]) -> Line<'a> {
    match col {
        STATE => Line::from(Span::styled(item.state.clone(), theme.state(&item.state))),
        GRAPH if item.running() => {
            let max = cpu_history.iter().copied().fold(100.0_f64, f64::max);
            Line::from(Span::styled(
                sparkline(cpu_history, max, usize::from(COLUMNS[GRAPH].width)),
                theme.sparkline,
            ))
        }
        CPU | MEM => Line::from(item.cell(col)).right_aligned(),
        _ => Line::from(Span::styled(item.cell(col), Style::default())),
    }
}
