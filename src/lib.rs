//! berth: a keyboard-driven terminal console for containers, with its own in-process,
//! Docker-compatible engine. See README.md for the architecture.

pub mod api;
pub mod cli;
pub mod client;
pub mod demo;
pub mod engine;
pub mod ui;
pub mod widgets;
