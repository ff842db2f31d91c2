//! Image pulls in progress: per pull, each layer's last status and progress, drawn as a
//! small panel above the status bar while they run (the console stays usable).

use bollard::models::CreateImageInfo;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::app::App;
use crate::widgets::popup;

/// One layer's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerProgress {
    pub id: String,
    pub status: String,
    pub current: u64,
    pub total: u64,
}

/// One running pull.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pull {
    pub reference: String,
    pub layers: Vec<LayerProgress>,
    /// The last message that was not about a layer ("Pulling from ...", "Digest: ...").
    pub note: String,
    pub error: Option<String>,
}

impl Pull {
    pub fn new(reference: &str) -> Pull {
        Pull {
            reference: reference.to_string(),
            ..Default::default()
        }
    }

    /// Takes one of dockerd's progress messages.
    pub fn apply(&mut self, info: &CreateImageInfo) {
        if let Some(msg) = info.error_detail.as_ref().and_then(|e| e.message.clone()) {
            self.error = Some(msg);
            return;
        }
        let status = info.status.clone().unwrap_or_default();
        let Some(id) = info
            .id
            .clone()
            .filter(|i| !i.is_empty() && *i != self.tag())
        else {
            if !status.is_empty() {
                self.note = status;
            }
            return;
        };
        let (current, total) = info
            .progress_detail
            .as_ref()
            .map(|p| {
                (
                    p.current.unwrap_or(0).max(0) as u64,
                    p.total.unwrap_or(0).max(0) as u64,
                )
            })
            .unwrap_or((0, 0));
        match self.layers.iter_mut().find(|l| l.id == id) {
            Some(l) => {
                l.status = status;
                if total > 0 || current > 0 {
                    l.current = current;
                    l.total = total;
                }
            }
            None => self.layers.push(LayerProgress {
                id,
                status,
                current,
                total,
            }),
        }
    }

    /// dockerd's first line uses the tag as its id ("latest: Pulling from ...").
    fn tag(&self) -> String {
        self.reference
            .rsplit_once(':')
            .filter(|(_, t)| !t.contains('/'))
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| "latest".into())
    }
}

/// "[=====>    ]  1.2MB/3.4MB" for a layer, or just its status.
fn bar(l: &LayerProgress, width: usize) -> String {
    let done = matches!(
        l.status.as_str(),
        "Pull complete" | "Already exists" | "Download complete"
    );
    if l.total == 0 || done {
        return l.status.clone();
    }
    let frac = (l.current as f64 / l.total as f64).clamp(0.0, 1.0);
    let filled = ((width as f64) * frac) as usize;
    let mut b = String::with_capacity(width + 2);
    b.push('[');
    for i in 0..width {
        b.push(if i < filled {
            '='
        } else if i == filled {
            '>'
        } else {
            ' '
        });
    }
    b.push(']');
    format!(
        "{} {b} {}/{}",
        l.status,
        crate::cli::units::size3(l.current),
        crate::cli::units::size3(l.total)
    )
}

impl App {
    /// The pulls panel, bottom right above the status bar.
    pub(super) fn draw_pulls(&self, f: &mut Frame, status: Rect) {
        if self.pulls.is_empty() {
            return;
        }
        let t = &self.settings.theme;
        let mut lines: Vec<Line> = Vec::new();
        for p in &self.pulls {
            lines.push(Line::from(Span::styled(
                format!("{}  {}", p.reference, p.note),
                t.title,
            )));
            for l in &p.layers {
                lines.push(Line::from(format!("  {}: {}", l.id, bar(l, 20))));
            }
        }
        let area = f.area();
        let w = area.width.min(72);
        let h = (lines.len() as u16 + 2)
            .min(status.y.saturating_sub(1))
            .max(3);
        let rect = Rect::new(area.width - w, status.y.saturating_sub(h), w, h);
        f.render_widget(Clear, rect);
        let inner = popup::frame_box(f, rect, "pulling", t.border_focused, t.popup);
        f.render_widget(Paragraph::new(lines).style(t.popup), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: Option<&str>, status: &str, cur: i64, total: i64) -> CreateImageInfo {
        CreateImageInfo {
            id: id.map(str::to_string),
            status: Some(status.into()),
            progress_detail: Some(bollard::models::ProgressDetail {
                current: Some(cur),
                total: Some(total),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn layers_keep_their_last_status_and_progress() {
        let mut p = Pull::new("busybox:1.36");
        p.apply(&info(Some("1.36"), "Pulling from library/busybox", 0, 0));
        p.apply(&info(Some("abc"), "Pulling fs layer", 0, 0));
        p.apply(&info(Some("abc"), "Downloading", 50, 100));
        assert_eq!(p.note, "Pulling from library/busybox");
        assert_eq!(p.layers.len(), 1);
        assert_eq!((p.layers[0].current, p.layers[0].total), (50, 100));
        assert!(bar(&p.layers[0], 10).contains("[=====>    ]"));
        p.apply(&info(Some("abc"), "Pull complete", 0, 0));
        assert_eq!(bar(&p.layers[0], 10), "Pull complete");
        p.apply(&CreateImageInfo {
            error_detail: Some(bollard::models::ErrorDetail {
                code: None,
                message: Some("denied".into()),
            }),
            ..Default::default()
        });
        assert_eq!(p.error.as_deref(), Some("denied"));
    }
}
