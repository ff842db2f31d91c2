//! The container runtime: records, the per-container monitor process, lifecycle,
//! OCI spec building, cgroups, logs.

pub mod attach;
pub mod cgroups;
pub mod container;
pub mod copy;
pub mod create;
pub mod exec;
pub mod fsops;
pub mod initlayer;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod lookup;
pub mod monitor;
pub mod mounts;
pub mod names;
pub mod paths;
pub mod relay;
pub mod seccomp;
pub mod spec;
pub mod standby;
pub mod stats;
pub mod top;
