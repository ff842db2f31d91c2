//! The console: a full-screen, keyboard-driven UI over the client layer.
//!
//! Shape: `App` owns all state; `update(Msg) -> Vec<Effect>` changes it; `Tasks` runs
//! effects as tokio tasks whose results come back as messages; `App::draw(&self)`
//! renders. The loop below redraws only when something changed.

mod actions;
pub mod app;
pub mod clipboard;
pub mod config;
mod details;
mod draw;
pub mod filter;
pub mod form;
pub mod harness;
pub mod keymap;
mod keys;
pub mod layers;
pub mod layout;
pub mod logs;
mod mouse;
pub mod msg;
pub mod palette;
pub mod pulls;
mod run;
pub mod table;
pub mod tasks;
mod term_keys;
pub mod terminal;
pub mod theme;
pub mod views;

pub use app::App;
pub use config::Settings;
pub use run::{run, run_switchable};
