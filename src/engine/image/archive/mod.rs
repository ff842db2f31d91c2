//! Image archives: `load` (docker-archive classic and 25+, OCI archive and layout)
//! and `save` (Docker 25+ layout).

pub mod files;
pub mod load;
pub mod save;
