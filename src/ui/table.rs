//! The model behind every resource table: items, the filtered and sorted view of them,
//! the cursor (which follows the same item across refreshes and re-sorts), scrolling,
//! and the marks of a multi-selection. Drawing lives with each view.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::filter::Pattern;

/// What a column sorts by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Text(String),
    Num(f64),
}

impl SortKey {
    fn cmp(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Num(a), SortKey::Num(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (SortKey::Text(a), SortKey::Text(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
            // Mixed kinds only happen for missing values: numbers first.
            (SortKey::Num(_), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Num(_)) => Ordering::Greater,
        }
    }
}

/// A row of a resource table.
pub trait TableItem {
    /// Stable identity across refreshes (an id, or id + tag).
    fn key(&self) -> String;
    /// The cell text of column `col`, as shown and as the filter sees it.
    fn cell(&self, col: usize) -> String;
    fn sort_key(&self, col: usize) -> SortKey {
        SortKey::Text(self.cell(col))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub title: &'static str,
    /// Preferred width; flexible columns grow into what is left.
    pub width: u16,
    pub flex: bool,
    /// Lower numbers are dropped first when the terminal is narrow.
    pub priority: u8,
}

impl Column {
    pub const fn new(title: &'static str, width: u16, priority: u8) -> Column {
        Column {
            title,
            width,
            flex: false,
            priority,
        }
    }
    pub const fn flex(title: &'static str, width: u16, priority: u8) -> Column {
        Column {
            title,
            width,
            flex: true,
            priority,
        }
    }
}

/// The columns that fit in `width` (with one cell of spacing each), in their order.
pub fn fit_columns(cols: &[Column], width: u16) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..cols.len()).collect();
    let need = |shown: &[usize]| -> u32 {
        shown
            .iter()
            .map(|&i| u32::from(cols[i].width) + 1)
            .sum::<u32>()
    };
    while need(&shown) > u32::from(width) && shown.len() > 1 {
        // Drop the lowest priority; among equals, the rightmost.
        let Some(pos) = shown
            .iter()
            .enumerate()
            .min_by_key(|(pos, &i)| (cols[i].priority, std::cmp::Reverse(*pos)))
            .map(|(pos, _)| pos)
        else {
            break;
        };
        shown.remove(pos);
    }
    shown
}

#[derive(Debug, Clone)]
pub struct TableModel<T> {
    items: Vec<T>,
    /// Indices into `items`: the filtered rows in display order.
    view: Vec<usize>,
    cursor: usize,
    offset: usize,
    sort: Option<(usize, bool)>,
    filter: Option<Pattern>,
    marks: BTreeSet<String>,
    columns: usize,
}

impl<T: TableItem> TableModel<T> {
    pub fn new(columns: usize, sort: Option<(usize, bool)>) -> Self {
        TableModel {
            items: Vec::new(),
            view: Vec::new(),
            cursor: 0,
            offset: 0,
            sort,
            filter: None,
            marks: BTreeSet::new(),
            columns,
        }
    }

    /// Replaces the items, keeping the cursor on the same item when it still exists,
    /// and forgetting marks of items that are gone.
    pub fn set_items(&mut self, items: Vec<T>) {
        let selected = self.selected().map(|i| i.key());
        self.items = items;
        let keys: BTreeSet<String> = self.items.iter().map(|i| i.key()).collect();
        self.marks.retain(|k| keys.contains(k));
        self.rebuild(selected);
    }

    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// Changes items in place (new stats, say) and re-sorts, cursor kept on its item.
    pub fn update_items(&mut self, f: impl FnOnce(&mut [T])) {
        let selected = self.selected().map(|i| i.key());
        f(&mut self.items);
        self.rebuild(selected);
    }

    fn rebuild(&mut self, selected: Option<String>) {
        let mut view: Vec<usize> = (0..self.items.len())
            .filter(|&i| match &self.filter {
                None => true,
                Some(p) => p.matches(&self.row_text(&self.items[i])),
            })
            .collect();
        if let Some((col, desc)) = self.sort {
            let items = &self.items;
            // Stable: equal keys keep the backend's order (newest first for containers).
            view.sort_by(|&a, &b| {
                let o = items[a].sort_key(col).cmp(&items[b].sort_key(col));
                if desc {
                    o.reverse()
                } else {
                    o
                }
            });
        }
        self.view = view;
        self.cursor = selected
            .and_then(|k| self.view.iter().position(|&i| self.items[i].key() == k))
            .unwrap_or(self.cursor)
            .min(self.view.len().saturating_sub(1));
    }

    fn row_text(&self, item: &T) -> String {
        (0..self.columns)
            .map(|c| item.cell(c))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    pub fn total(&self) -> usize {
        self.items.len()
    }

    /// The visible rows, in order.
    pub fn rows(&self) -> impl Iterator<Item = &T> {
        self.view.iter().map(|&i| &self.items[i])
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn selected(&self) -> Option<&T> {
        self.view.get(self.cursor).map(|&i| &self.items[i])
    }

    /// Moves the cursor by `delta` rows, clamped, and scrolls `height` rows to show it.
    pub fn move_by(&mut self, delta: isize, height: usize) {
        if self.view.is_empty() {
            return;
        }
        let max = self.view.len() - 1;
        self.cursor = (self.cursor as isize + delta).clamp(0, max as isize) as usize;
        self.scroll_to_cursor(height);
    }

    pub fn go_top(&mut self) {
        self.cursor = 0;
        self.offset = 0;
    }

    /// Puts the cursor on visible row `index` (a mouse click), if there is one.
    pub fn select(&mut self, index: usize, height: usize) {
        if index < self.view.len() {
            self.cursor = index;
            self.scroll_to_cursor(height);
        }
    }

    pub fn go_bottom(&mut self, height: usize) {
        self.cursor = self.view.len().saturating_sub(1);
        self.scroll_to_cursor(height);
    }

    /// Keeps the offset so the cursor row is on screen (`height` data rows).
    pub fn scroll_to_cursor(&mut self, height: usize) {
        let height = height.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        let max_offset = self.view.len().saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }

    pub fn set_filter(&mut self, text: &str) {
        let selected = self.selected().map(|i| i.key());
        self.filter = Pattern::parse(text);
        self.offset = 0;
        self.rebuild(selected);
    }

    pub fn filter(&self) -> Option<&Pattern> {
        self.filter.as_ref()
    }

    pub fn sort(&self) -> Option<(usize, bool)> {
        self.sort
    }

    /// Sorts by the next column (unsorted after the last one... no: wraps to the first).
    pub fn cycle_sort(&mut self) {
        let next = match self.sort {
            Some((c, _)) => (c + 1) % self.columns.max(1),
            None => 0,
        };
        self.sort_by(next, false);
    }

    pub fn sort_by(&mut self, col: usize, desc: bool) {
        let selected = self.selected().map(|i| i.key());
        self.sort = Some((col.min(self.columns.saturating_sub(1)), desc));
        self.rebuild(selected);
    }

    pub fn reverse_sort(&mut self) {
        let (col, desc) = self.sort.unwrap_or((0, false));
        self.sort_by(col, !desc);
    }

    pub fn toggle_mark(&mut self) {
        if let Some(k) = self.selected().map(|i| i.key()) {
            if !self.marks.remove(&k) {
                self.marks.insert(k);
            }
        }
    }

    /// Marks every visible row, or clears the marks when all are already marked.
    pub fn toggle_mark_all(&mut self) {
        let keys: Vec<String> = self.rows().map(|i| i.key()).collect();
        if keys.iter().all(|k| self.marks.contains(k)) {
            self.marks.clear();
        } else {
            self.marks.extend(keys);
        }
    }

    pub fn clear_marks(&mut self) -> bool {
        let had = !self.marks.is_empty();
        self.marks.clear();
        had
    }

    pub fn is_marked(&self, item: &T) -> bool {
        self.marks.contains(&item.key())
    }

    pub fn marked_count(&self) -> usize {
        self.marks.len()
    }

    /// What an action applies to: the marked items, else the one under the cursor.
    pub fn targets(&self) -> Vec<&T> {
        if self.marks.is_empty() {
            self.selected().into_iter().collect()
        } else {
            self.items
                .iter()
                .filter(|i| self.marks.contains(&i.key()))
                .collect()
        }
    }
}

/// The table operations keys need, over any item type (the App holds four tables
/// of different item types and acts on the current one).
pub trait TableOps {
    fn move_by(&mut self, delta: isize, height: usize);
    fn select(&mut self, index: usize, height: usize);
    fn offset(&self) -> usize;
    fn go_top(&mut self);
    fn go_bottom(&mut self, height: usize);
    fn cycle_sort(&mut self);
    fn reverse_sort(&mut self);
    fn sort_by(&mut self, col: usize, desc: bool);
    fn toggle_mark(&mut self);
    fn toggle_mark_all(&mut self);
    fn clear_marks(&mut self) -> bool;
}

impl<T: TableItem> TableOps for TableModel<T> {
    fn move_by(&mut self, delta: isize, height: usize) {
        TableModel::move_by(self, delta, height)
    }
    fn select(&mut self, index: usize, height: usize) {
        TableModel::select(self, index, height)
    }
    fn offset(&self) -> usize {
        TableModel::offset(self)
    }
    fn go_top(&mut self) {
        TableModel::go_top(self)
    }
    fn go_bottom(&mut self, height: usize) {
        TableModel::go_bottom(self, height)
    }
    fn cycle_sort(&mut self) {
        TableModel::cycle_sort(self)
    }
    fn reverse_sort(&mut self) {
        TableModel::reverse_sort(self)
    }
    fn sort_by(&mut self, col: usize, desc: bool) {
        TableModel::sort_by(self, col, desc)
    }
    fn toggle_mark(&mut self) {
        TableModel::toggle_mark(self)
    }
    fn toggle_mark_all(&mut self) {
        TableModel::toggle_mark_all(self)
    }
    fn clear_marks(&mut self) -> bool {
        TableModel::clear_marks(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    struct Row(&'static str, f64);

    impl TableItem for Row {
        fn key(&self) -> String {
            self.0.to_string()
        }
        fn cell(&self, col: usize) -> String {
            match col {
                0 => self.0.to_string(),
                _ => format!("{}", self.1),
            }
        }
        fn sort_key(&self, col: usize) -> SortKey {
            match col {
                0 => SortKey::Text(self.0.to_string()),
                _ => SortKey::Num(self.1),
            }
        }
    }

    fn model() -> TableModel<Row> {
        let mut m = TableModel::new(2, None);
        m.set_items(vec![Row("web", 3.0), Row("api", 10.0), Row("db", 1.5)]);
        m
    }

    fn names(m: &TableModel<Row>) -> Vec<&'static str> {
        m.rows().map(|r| r.0).collect()
    }

    #[test]
    fn sorts_numbers_and_text_and_reverses() {
        let mut m = model();
        assert_eq!(names(&m), ["web", "api", "db"]);
        m.cycle_sort();
        assert_eq!(names(&m), ["api", "db", "web"]);
        m.cycle_sort();
        assert_eq!(names(&m), ["db", "web", "api"]);
        m.reverse_sort();
        assert_eq!(names(&m), ["api", "web", "db"]);
        m.cycle_sort();
        assert_eq!(m.sort(), Some((0, false)));
    }

    #[test]
    fn cursor_follows_item_across_sort_and_refresh() {
        let mut m = model();
        m.move_by(1, 10);
        assert_eq!(m.selected().unwrap().0, "api");
        m.sort_by(0, false);
        assert_eq!(m.selected().unwrap().0, "api");
        m.set_items(vec![Row("zed", 0.0), Row("api", 2.0)]);
        assert_eq!(m.selected().unwrap().0, "api");
        m.set_items(vec![Row("zed", 0.0)]);
        assert_eq!(m.selected().unwrap().0, "zed");
        m.set_items(vec![]);
        assert!(m.selected().is_none());
    }

    #[test]
    fn filter_regex_inverse_and_substring_fallback() {
        let mut m = model();
        m.set_filter("^(web|db)");
        assert_eq!(names(&m), ["web", "db"]);
        m.set_filter("!^(web|db)");
        assert_eq!(names(&m), ["api"]);
        m.set_filter("10(");
        assert!(m.is_empty());
        m.set_filter("1.5");
        assert_eq!(names(&m), ["db"]);
        m.set_filter("");
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn marks_are_targets_and_survive_only_for_existing_items() {
        let mut m = model();
        assert_eq!(m.targets().len(), 1);
        m.toggle_mark();
        m.move_by(2, 10);
        m.toggle_mark();
        let t: Vec<_> = m.targets().iter().map(|r| r.0).collect();
        assert_eq!(t, ["web", "db"]);
        m.set_items(vec![Row("web", 1.0), Row("api", 1.0)]);
        assert_eq!(m.marked_count(), 1);
        m.toggle_mark_all();
        assert_eq!(m.marked_count(), 2);
        m.toggle_mark_all();
        assert_eq!(m.marked_count(), 0);
    }

    #[test]
    fn scrolling_keeps_cursor_visible() {
        let mut m: TableModel<Row> = TableModel::new(2, None);
        let names: Vec<&'static str> = vec!["a", "b", "c", "d", "e", "f", "g", "h"];
        m.set_items(names.iter().map(|n| Row(n, 0.0)).collect());
        m.move_by(5, 3);
        assert_eq!((m.cursor(), m.offset()), (5, 3));
        m.move_by(-1, 3);
        assert_eq!((m.cursor(), m.offset()), (4, 3));
        m.move_by(-3, 3);
        assert_eq!((m.cursor(), m.offset()), (1, 1));
        m.go_bottom(3);
        assert_eq!((m.cursor(), m.offset()), (7, 5));
        m.move_by(100, 3);
        assert_eq!(m.cursor(), 7);
    }

    #[test]
    fn narrow_terminals_drop_low_priority_columns() {
        let cols = [
            Column::flex("NAME", 20, 9),
            Column::new("IMAGE", 20, 5),
            Column::new("PORTS", 20, 1),
            Column::new("CPU", 6, 5),
        ];
        assert_eq!(fit_columns(&cols, 200), vec![0, 1, 2, 3]);
        assert_eq!(fit_columns(&cols, 60), vec![0, 1, 3]);
        assert_eq!(fit_columns(&cols, 45), vec![0, 1]);
        assert_eq!(fit_columns(&cols, 5), vec![0]);
    }
}
