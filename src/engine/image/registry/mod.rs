//! Registries: pull, push and login against OCI distribution (Docker Registry v2) APIs.
//!
//! Blocking HTTP (ureq over rustls) on plain threads: layer downloads run in parallel
//! worker threads that also unpack each layer as soon as its blob is verified. Nothing
//! here runs in the single-threaded monitor/exec helpers.

pub mod client;
pub mod creds;
pub mod errors;
pub mod fetch;
pub mod manifest;
pub mod progress;
pub mod pull;
pub mod push;
pub mod settings;
pub mod upload;
pub mod workers;

/// A user name and password (or identity token) for one registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// "os/arch[/variant]"; None: this machine's (linux/<arch>).
    pub platform: Option<String>,
    /// Every tag of the repository.
    pub all_tags: bool,
    /// Overrides the credentials stored by `login`.
    pub credentials: Option<Credentials>,
}

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Every local tag of the repository.
    pub all_tags: bool,
    /// Overrides the credentials stored by `login`.
    pub credentials: Option<Credentials>,
}

/// `login`: verifies the credentials against the registry before storing them.
pub fn login(server: &str, user: &str, password: &str) -> crate::engine::Result<()> {
    let settings = settings::Settings::load()?;
    let host = creds::server_host(server);
    let c = Credentials {
        username: user.to_string(),
        password: password.to_string(),
    };
    let client = client::Client::connect(&settings, &host, Some(c.clone()))?;
    client.verify_login()?;
    creds::store(&settings.docker_config, &host, &c)
}

/// `logout`: removes stored credentials; false when there were none.
pub fn logout(server: &str) -> crate::engine::Result<bool> {
    let settings = settings::Settings::load()?;
    let host = creds::server_host(server);
    creds::remove(&settings.docker_config, &host)
}
