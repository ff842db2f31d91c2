//! Reusable widgets with no knowledge of containers: a folding JSON tree, cell
//! sparklines, a one-line input, popups, ANSI colours and the log view.

pub mod ansi;
pub mod input;
pub mod json_tree;
pub mod log_view;
pub mod popup;
pub mod sparkline;
pub mod svg;
