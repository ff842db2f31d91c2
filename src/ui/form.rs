//! The run form: image, name, command, env, ports, volumes, restart policy and limits,
//! each a one-line ratatui-textarea. On submit the fields become a `docker run`
//! command line parsed by the CLI's own flag parser, so every field means exactly what
//! the matching `berth run` flag means (and fails with the same message).

use bollard::models::ContainerCreateBody;
use clap::Parser;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use ratatui_textarea::TextArea;

use super::theme::Theme;
use crate::cli::runflags::{to_create_request, ImageAndCommand, RunFlags};
use crate::widgets::popup;

#[derive(Debug, Parser)]
#[command(name = "run", no_binary_name = false)]
struct FormArgs {
    #[command(flatten)]
    flags: RunFlags,
    #[command(flatten)]
    args: ImageAndCommand,
}

const IMAGE: usize = 0;
const NAME: usize = 1;
const COMMAND: usize = 2;
const ENV: usize = 3;
const PORTS: usize = 4;
const VOLUMES: usize = 5;
const RESTART: usize = 6;
const MEMORY: usize = 7;
const CPUS: usize = 8;

/// (label, placeholder) per field, in order.
const FIELDS: [(&str, &str); 9] = [
    ("Image", "busybox:latest"),
    ("Name", "(generated)"),
    (
        "Command",
        "(the image's default)   e.g. sh -c 'echo hi; sleep 60'",
    ),
    ("Env", "KEY=value OTHER='with spaces'"),
    ("Ports", "8080:80 127.0.0.1:5432:5432/tcp"),
    ("Volumes", "data:/var/lib/data /host/dir:/in/container:ro"),
    ("Restart", "no | always | unless-stopped | on-failure[:N]"),
    ("Memory", "256m"),
    ("CPUs", "1.5"),
];

/// What a submitted form asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    pub name: Option<String>,
    pub body: ContainerCreateBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FormEvent {
    None,
    Cancel,
    Submit(Box<RunRequest>),
}

#[derive(Debug, Clone)]
pub struct RunForm {
    fields: Vec<TextArea<'static>>,
    focus: usize,
    pub error: Option<String>,
}

/// Splits like a shell does for words: blanks separate, quotes group, `\` escapes.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

impl RunForm {
    /// A blank form, the image prefilled (from the images view).
    pub fn new(image: &str) -> RunForm {
        let fields = FIELDS
            .iter()
            .map(|(_, placeholder)| {
                let mut t = TextArea::default();
                t.set_placeholder_text(*placeholder);
                t.set_cursor_line_style(Style::default());
                t
            })
            .collect();
        let mut form = RunForm {
            fields,
            focus: IMAGE,
            error: None,
        };
        if !image.is_empty() {
            form.fields[IMAGE].insert_str(image);
            form.focus = NAME;
        }
        form
    }

    fn value(&self, i: usize) -> String {
        self.fields[i].lines().join(" ").trim().to_string()
    }

    pub fn handle(&mut self, k: KeyEvent) -> FormEvent {
        let n = self.fields.len();
        match k.code {
            KeyCode::Esc => return FormEvent::Cancel,
            KeyCode::Enter => {
                return match self.request() {
                    Ok(r) => FormEvent::Submit(Box::new(r)),
                    Err(e) => {
                        self.error = Some(e);
                        FormEvent::None
                    }
                }
            }
            KeyCode::Char('s') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                return match self.request() {
                    Ok(r) => FormEvent::Submit(Box::new(r)),
                    Err(e) => {
                        self.error = Some(e);
                        FormEvent::None
                    }
                }
            }
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n - 1) % n,
            _ => {
                self.fields[self.focus].input(k);
                self.error = None;
            }
        }
        FormEvent::None
    }

    /// The `run -d` command line the fields spell.
    fn argv(&self) -> Result<Vec<String>, String> {
        let image = self.value(IMAGE);
        if image.is_empty() {
            return Err("an image is required".into());
        }
        let mut argv: Vec<String> = vec!["run".into(), "-d".into()];
        let mut flag = |f: &str, v: String| {
            argv.push(f.to_string());
            argv.push(v);
        };
        let name = self.value(NAME);
        if !name.is_empty() {
            flag("--name", name);
        }
        for (field, f) in [(ENV, "-e"), (PORTS, "-p"), (VOLUMES, "-v")] {
            for w in
                split_words(&self.value(field)).map_err(|e| format!("{}: {e}", FIELDS[field].0))?
            {
                flag(f, w);
            }
        }
        for (field, f) in [(RESTART, "--restart"), (MEMORY, "-m"), (CPUS, "--cpus")] {
            let v = self.value(field);
            if !v.is_empty() {
                flag(f, v);
            }
        }
        argv.push(image);
        argv.extend(split_words(&self.value(COMMAND)).map_err(|e| format!("Command: {e}"))?);
        Ok(argv)
    }

    pub fn request(&self) -> Result<RunRequest, String> {
        let argv = self.argv()?;
        let parsed = FormArgs::try_parse_from(&argv).map_err(|e| {
            // clap's first line is the message; the rest is usage help for a shell.
            e.to_string()
                .lines()
                .next()
                .unwrap_or("invalid value")
                .trim_start_matches("error: ")
                .to_string()
        })?;
        let req = to_create_request(
            &parsed.flags,
            parsed.args.image(),
            parsed.args.command(),
            &|k| std::env::var(k).ok(),
        )
        .map_err(|e| e.to_string())?;
        Ok(RunRequest {
            name: req.name,
            body: req.body,
        })
    }

    pub fn draw(&self, f: &mut Frame, t: &Theme) {
        let area = f.area();
        let height = self.fields.len() as u16 + 5;
        let rect = popup::centered(area, 78, height);
        let inner = popup::frame_box(f, rect, "Run a container", t.border_focused, t.popup);
        let label_w = 9;
        for (i, field) in self.fields.iter().enumerate() {
            let y = inner.y + i as u16;
            if y >= inner.y + inner.height {
                break;
            }
            let focused = i == self.focus;
            let label_style = if focused { t.key } else { t.dim };
            f.render_widget(
                Paragraph::new(Span::styled(format!("{:>8}", FIELDS[i].0), label_style)),
                Rect::new(inner.x, y, label_w.min(inner.width), 1),
            );
            let mut ta = field.clone();
            ta.set_block(Block::default().borders(Borders::NONE));
            ta.set_style(t.popup);
            ta.set_placeholder_style(t.dim);
            ta.set_cursor_style(if focused { t.selected } else { t.popup });
            let x = inner.x + label_w + 1;
            f.render_widget(
                &ta,
                Rect::new(x, y, inner.width.saturating_sub(label_w + 1), 1),
            );
        }
        let msg_y = inner.y + self.fields.len() as u16 + 1;
        if msg_y < inner.y + inner.height {
            let line = match &self.error {
                Some(e) => Line::from(Span::styled(format!(" {e}"), t.status_error)),
                None => Line::from(vec![
                    Span::styled(" enter", t.key),
                    Span::raw(" create and start   "),
                    Span::styled("tab/↓ ↑", t.key),
                    Span::raw(" move   "),
                    Span::styled("esc", t.key),
                    Span::raw(" cancel"),
                ]),
            };
            f.render_widget(
                Paragraph::new(line),
                Rect::new(inner.x, msg_y, inner.width, 1),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_into(form: &mut RunForm, text: &str) {
        for c in text.chars() {
            form.handle(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    fn next(form: &mut RunForm) {
        form.handle(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words(r#"sh -c 'echo hi; sleep 1' "a b" c\ d"#).unwrap(),
            ["sh", "-c", "echo hi; sleep 1", "a b", "c d"]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_words("''").unwrap(), [""]);
        assert!(split_words("'open").is_err());
    }

    #[test]
    fn fields_become_a_create_body() {
        let mut form = RunForm::new("busybox:latest");
        type_into(&mut form, "web1");
        next(&mut form);
        type_into(&mut form, "sh -c 'sleep 60'");
        next(&mut form);
        type_into(&mut form, "A=1 B='x y'");
        next(&mut form);
        next(&mut form);
        type_into(&mut form, "data:/data");
        next(&mut form);
        type_into(&mut form, "unless-stopped");
        next(&mut form);
        type_into(&mut form, "64m");
        let FormEvent::Submit(r) = form.handle(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        else {
            panic!("not submitted: {:?}", form.error);
        };
        assert_eq!(r.name.as_deref(), Some("web1"));
        let b = r.body;
        assert_eq!(b.image.as_deref(), Some("busybox:latest"));
        assert_eq!(
            b.cmd,
            Some(vec!["sh".into(), "-c".into(), "sleep 60".into()])
        );
        assert_eq!(b.env, Some(vec!["A=1".into(), "B=x y".into()]));
        let hc = b.host_config.unwrap_or_default();
        assert_eq!(hc.memory, Some(64 * 1024 * 1024));
        assert_eq!(hc.binds, Some(vec!["data:/data".into()]));
        assert_eq!(
            hc.restart_policy
                .and_then(|p| p.name)
                .map(|n| n.to_string()),
            Some("unless-stopped".into())
        );
    }

    #[test]
    fn bad_values_stay_in_the_form_with_the_cli_message() {
        let mut form = RunForm::new("");
        assert!(matches!(
            form.handle(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            FormEvent::None
        ));
        assert_eq!(form.error.as_deref(), Some("an image is required"));
        type_into(&mut form, "busybox");
        for _ in 0..7 {
            next(&mut form);
        }
        type_into(&mut form, "lots");
        form.handle(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        let e = form.error.clone().unwrap_or_default();
        assert!(e.contains("lots"), "{e}");
    }
}
