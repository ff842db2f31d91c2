//! Images: references, the blob store, layers and overlay snapshots, archives,
//! import, and the records that tie them together.

pub mod archive;
pub mod blobs;
pub mod changes;
pub mod compress;
pub mod config;
pub mod digest;
pub mod import;
pub mod inspect;
pub mod layer;
pub mod records;
pub mod reference;
pub mod registry;
pub mod snapshot;
pub mod unpack;
