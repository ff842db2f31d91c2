//! A folding JSON tree (inspect output): containers fold to one line with their size,
//! the cursor moves over visible rows, and only the rows on screen are styled.

use std::collections::HashSet;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    String,
    Number,
    Bool,
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum RowKind {
    Open {
        open: char,
        close: char,
        len: usize,
        collapsed: bool,
    },
    Close(char),
    Leaf(String, LeafKind),
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    depth: usize,
    key: Option<String>,
    /// JSON pointer of the value ("" for the root); a Close row has its container's.
    path: String,
    kind: RowKind,
    /// Whether a comma follows (not the last member of its parent).
    comma: bool,
}

/// The roles a tree needs from a theme.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonStyles {
    pub key: Style,
    pub string: Style,
    pub number: Style,
    pub boolean: Style,
    pub null: Style,
    pub punct: Style,
    pub cursor: Style,
}

/// A member while flattening: its key (objects only), JSON pointer and value.
type Child<'a> = (Option<String>, String, &'a Value);

#[derive(Debug, Clone)]
pub struct JsonTree {
    value: Value,
    collapsed: HashSet<String>,
    rows: Vec<Row>,
    cursor: usize,
    offset: usize,
}

fn escape_key(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

impl JsonTree {
    /// A tree with containers deeper than `expand_depth` folded.
    pub fn new(value: Value, expand_depth: usize) -> JsonTree {
        let mut collapsed = HashSet::new();
        fn walk(v: &Value, path: &str, depth: usize, limit: usize, out: &mut HashSet<String>) {
            let children: Vec<(String, &Value)> = match v {
                Value::Object(m) => m.iter().map(|(k, v)| (escape_key(k), v)).collect(),
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v))
                    .collect(),
                _ => return,
            };
            if depth >= limit {
                out.insert(path.to_string());
            }
            for (k, child) in children {
                walk(child, &format!("{path}/{k}"), depth + 1, limit, out);
            }
        }
        walk(&value, "", 0, expand_depth, &mut collapsed);
        let mut t = JsonTree {
            value,
            collapsed,
            rows: Vec::new(),
            cursor: 0,
            offset: 0,
        };
        t.rebuild();
        t
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    fn rebuild(&mut self) {
        let cursor_path = self.rows.get(self.cursor).map(|r| r.path.clone());
        let mut rows = Vec::new();
        self.flatten(&self.value, None, String::new(), 0, false, &mut rows);
        self.rows = rows;
        if let Some(p) = cursor_path {
            if let Some(i) = self.rows.iter().position(|r| r.path == p) {
                self.cursor = i;
            }
        }
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
    }

    fn flatten(
        &self,
        v: &Value,
        key: Option<String>,
        path: String,
        depth: usize,
        comma: bool,
        out: &mut Vec<Row>,
    ) {
        let (open, close, children): (char, char, Vec<Child>) = match v {
            Value::Object(m) => (
                '{',
                '}',
                m.iter()
                    .map(|(k, c)| (Some(k.clone()), format!("{path}/{}", escape_key(k)), c))
                    .collect(),
            ),
            Value::Array(a) => (
                '[',
                ']',
                a.iter()
                    .enumerate()
                    .map(|(i, c)| (None, format!("{path}/{i}"), c))
                    .collect(),
            ),
            other => {
                let (text, kind) = match other {
                    Value::String(s) => (format!("{s:?}"), LeafKind::String),
                    Value::Number(n) => (n.to_string(), LeafKind::Number),
                    Value::Bool(b) => (b.to_string(), LeafKind::Bool),
                    _ => ("null".to_string(), LeafKind::Null),
                };
                out.push(Row {
                    depth,
                    key,
                    path,
                    kind: RowKind::Leaf(text, kind),
                    comma,
                });
                return;
            }
        };
        let collapsed = self.collapsed.contains(&path) && !children.is_empty();
        out.push(Row {
            depth,
            key,
            path: path.clone(),
            kind: RowKind::Open {
                open,
                close,
                len: children.len(),
                collapsed,
            },
            comma,
        });
        if collapsed || children.is_empty() {
            return;
        }
        let n = children.len();
        for (i, (k, p, c)) in children.into_iter().enumerate() {
            self.flatten(c, k, p, depth + 1, i + 1 < n, out);
        }
        out.push(Row {
            depth,
            key: None,
            path,
            kind: RowKind::Close(close),
            comma,
        });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The JSON pointer under the cursor.
    pub fn cursor_path(&self) -> Option<&str> {
        self.rows.get(self.cursor).map(|r| r.path.as_str())
    }

    fn is_container(&self, path: &str) -> bool {
        matches!(
            self.value.pointer(path),
            Some(Value::Object(m)) if !m.is_empty()
        ) || matches!(self.value.pointer(path), Some(Value::Array(a)) if !a.is_empty())
    }

    /// Folds or unfolds the container under the cursor (a closing bracket counts as
    /// its container).
    pub fn toggle(&mut self) {
        let Some(path) = self.cursor_path().map(str::to_string) else {
            return;
        };
        if !self.is_container(&path) {
            return;
        }
        if !self.collapsed.remove(&path) {
            self.collapsed.insert(path.clone());
        }
        self.rebuild();
        // Folding from the closing bracket lands on the folded line.
        if let Some(i) = self.rows.iter().position(|r| r.path == path) {
            self.cursor = i;
        }
    }

    pub fn expand(&mut self) {
        if let Some(path) = self.cursor_path().map(str::to_string) {
            if self.collapsed.remove(&path) {
                self.rebuild();
            }
        }
    }

    /// Folds the container under the cursor; on a leaf or folded row, its parent.
    pub fn collapse(&mut self) {
        let Some(path) = self.cursor_path().map(str::to_string) else {
            return;
        };
        let target = if self.is_container(&path) && !self.collapsed.contains(&path) {
            path
        } else {
            match path.rfind('/') {
                Some(i) => path[..i].to_string(),
                None => return,
            }
        };
        self.collapsed.insert(target.clone());
        self.rebuild();
        if let Some(i) = self.rows.iter().position(|r| r.path == target) {
            self.cursor = i;
        }
    }

    pub fn expand_all(&mut self) {
        self.collapsed.clear();
        self.rebuild();
    }

    /// Folds everything below the root.
    pub fn collapse_all(&mut self) {
        let fresh = JsonTree::new(self.value.clone(), 1);
        self.collapsed = fresh.collapsed;
        self.cursor = 0;
        self.offset = 0;
        self.rebuild();
    }

    pub fn move_by(&mut self, delta: isize, height: usize) {
        if self.rows.is_empty() {
            return;
        }
        let max = self.rows.len() as isize - 1;
        self.cursor = (self.cursor as isize + delta).clamp(0, max) as usize;
        self.scroll(height);
    }

    pub fn go_top(&mut self) {
        self.cursor = 0;
        self.offset = 0;
    }

    pub fn go_bottom(&mut self, height: usize) {
        self.cursor = self.rows.len().saturating_sub(1);
        self.scroll(height);
    }

    fn scroll(&mut self, height: usize) {
        let height = height.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
    }

    fn line(&self, row: &Row, s: &JsonStyles) -> Line<'static> {
        let mut spans = vec![Span::raw("  ".repeat(row.depth))];
        if let Some(k) = &row.key {
            spans.push(Span::styled(format!("{k:?}"), s.key));
            spans.push(Span::styled(": ", s.punct));
        }
        let comma = if row.comma { "," } else { "" };
        match &row.kind {
            RowKind::Open {
                open,
                close,
                len,
                collapsed,
            } => {
                if *len == 0 {
                    spans.push(Span::styled(format!("{open}{close}{comma}"), s.punct));
                } else if *collapsed {
                    let what = if *open == '{' { "keys" } else { "items" };
                    spans.push(Span::styled(format!("{open}…{close}{comma}"), s.punct));
                    spans.push(Span::styled(format!("  {len} {what}"), s.null));
                } else {
                    spans.push(Span::styled(open.to_string(), s.punct));
                }
            }
            RowKind::Close(c) => spans.push(Span::styled(format!("{c}{comma}"), s.punct)),
            RowKind::Leaf(text, kind) => {
                let style = match kind {
                    LeafKind::String => s.string,
                    LeafKind::Number => s.number,
                    LeafKind::Bool => s.boolean,
                    LeafKind::Null => s.null,
                };
                spans.push(Span::styled(text.clone(), style));
                spans.push(Span::styled(comma, s.punct));
            }
        }
        Line::from(spans)
    }

    /// The first row shown for a viewport of `height` rows.
    fn first_row(&self, height: usize) -> usize {
        let mut off = self.offset;
        if self.cursor >= off + height {
            off = self.cursor + 1 - height;
        }
        off.min(self.cursor)
    }
}

/// Draws a tree; `focused` shows the cursor.
pub struct JsonTreeView<'a> {
    pub tree: &'a JsonTree,
    pub styles: JsonStyles,
    pub focused: bool,
}

impl Widget for JsonTreeView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let height = usize::from(area.height);
        let first = self.tree.first_row(height);
        for (i, row) in self.tree.rows.iter().skip(first).take(height).enumerate() {
            let y = area.y + i as u16;
            let line = self.tree.line(row, &self.styles);
            buf.set_line(area.x, y, &line, area.width);
            if self.focused && first + i == self.tree.cursor {
                buf.set_style(Rect::new(area.x, y, area.width, 1), self.styles.cursor);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(t: &JsonTree) -> Vec<String> {
        t.rows
            .iter()
            .map(|r| {
                t.line(r, &JsonStyles::default())
                    .spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect()
            })
            .collect()
    }

    fn sample() -> Value {
        json!({"Id": "abc", "State": {"Running": true, "Pid": 42}, "Args": ["a", "b"], "Empty": {}})
    }

    #[test]
    fn folds_below_the_expand_depth() {
        let t = JsonTree::new(sample(), 1);
        assert_eq!(
            text(&t),
            [
                "{",
                "  \"Args\": […],  2 items",
                "  \"Empty\": {},",
                "  \"Id\": \"abc\",",
                "  \"State\": {…}  2 keys",
                "}"
            ]
        );
    }

    #[test]
    fn toggle_expand_collapse() {
        let mut t = JsonTree::new(sample(), 1);
        t.move_by(4, 10);
        assert_eq!(t.cursor_path(), Some("/State"));
        t.toggle();
        assert_eq!(t.len(), 9);
        assert_eq!(text(&t)[5], "    \"Pid\": 42,");
        // Collapsing from a leaf folds its parent and moves there.
        t.move_by(1, 10);
        assert_eq!(t.cursor_path(), Some("/State/Pid"));
        t.collapse();
        assert_eq!(t.cursor_path(), Some("/State"));
        assert_eq!(t.len(), 6);
        t.expand();
        assert_eq!(t.len(), 9);
        t.collapse_all();
        assert_eq!(t.len(), 6);
        t.expand_all();
        assert_eq!(t.len(), 12);
    }

    #[test]
    fn toggling_a_closing_bracket_folds_its_container() {
        let mut t = JsonTree::new(sample(), 5);
        let close = t
            .rows
            .iter()
            .position(|r| r.path == "/State" && matches!(r.kind, RowKind::Close(_)))
            .unwrap();
        t.move_by(close as isize, 20);
        t.toggle();
        assert_eq!(t.cursor_path(), Some("/State"));
        assert!(text(&t)[t.cursor()].contains("{…}"));
    }

    #[test]
    fn keys_with_slashes_have_distinct_paths() {
        let t = JsonTree::new(json!({"a/b": {"c": 1}, "a": {"b": {"c": 2}}}), 9);
        let paths: HashSet<&str> = t.rows.iter().map(|r| r.path.as_str()).collect();
        assert!(paths.contains("/a~1b/c"));
        assert!(paths.contains("/a/b/c"));
    }
}
