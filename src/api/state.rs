//! What the server remembers between requests: attach streams waiting for their
//! container to start, the last exit seen per container (to wake `wait`), and exec
//! sessions (Docker's exec ids live in the daemon's memory; so do berth's).

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::exec::ExecSession;
use crate::engine::runtime::standby::Standby;
use crate::engine::Engine;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Monitor ends of attach socket pairs, handed to the next start of the container,
    /// with a token so a client that leaves takes back only its own.
    pending_attach: Mutex<HashMap<String, (u64, OwnedFd)>>,
    next_token: std::sync::atomic::AtomicU64,
    /// Per container: (exits seen, last exit code). `wait` subscribes before looking.
    exits: Mutex<HashMap<String, watch::Sender<(u64, i64)>>>,
    execs: Mutex<HashMap<String, ExecSession>>,
    /// Standby monitors of created containers, for their coming start.
    standbys: Mutex<HashMap<String, Standby>>,
}

/// A poisoned lock only means another request panicked mid-update of a map of
/// independent entries: keep serving.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn new(engine: Arc<Engine>) -> Self {
        AppState {
            engine,
            inner: Arc::new(Inner::default()),
        }
    }

    /// Returns the token that [`AppState::drop_pending_attach`] needs.
    pub fn set_pending_attach(&self, id: &str, fd: OwnedFd) -> u64 {
        let token = self
            .inner
            .next_token
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        lock(&self.inner.pending_attach).insert(id.to_string(), (token, fd));
        token
    }

    pub fn take_pending_attach(&self, id: &str) -> Option<OwnedFd> {
        lock(&self.inner.pending_attach)
            .remove(id)
            .map(|(_, fd)| fd)
    }

    /// The client of a pending attach left before the start: forget its stream.
    pub fn drop_pending_attach(&self, id: &str, token: u64) {
        let mut map = lock(&self.inner.pending_attach);
        if map.get(id).is_some_and(|(t, _)| *t == token) {
            map.remove(id);
        }
    }

    pub fn subscribe_exit(&self, id: &str) -> watch::Receiver<(u64, i64)> {
        let mut map = lock(&self.inner.exits);
        map.entry(id.to_string())
            .or_insert_with(|| watch::channel((0, 0)).0)
            .subscribe()
    }

    pub fn exited(&self, id: &str, code: i64) {
        let mut map = lock(&self.inner.exits);
        let tx = map
            .entry(id.to_string())
            .or_insert_with(|| watch::channel((0, 0)).0);
        tx.send_modify(|(n, c)| {
            *n += 1;
            *c = code;
        });
        // Nobody waits and nobody will ask about this run again: keep the map small.
        if tx.receiver_count() == 0 {
            map.remove(id);
        }
    }

    /// Drops the exit channel of `id` once nobody waits on it (keeps the map small).
    pub fn release_exit(&self, id: &str) {
        let mut map = lock(&self.inner.exits);
        if map.get(id).is_some_and(|tx| tx.receiver_count() == 0) {
            map.remove(id);
        }
    }

    /// Keeps the standby monitor of created container `id` (and lets go of those too
    /// old to take a start: they exit by themselves).
    pub fn put_standby(&self, id: &str, standby: Standby) {
        let mut map = lock(&self.inner.standbys);
        map.retain(|_, s| s.usable());
        map.insert(id.to_string(), standby);
    }

    /// The standby monitor for the start of `id`, if any. Also lets go of those too old
    /// to take a start (one registered after its container's start or removal).
    pub fn take_standby(&self, id: &str) -> Option<Standby> {
        let mut map = lock(&self.inner.standbys);
        let taken = map.remove(id);
        map.retain(|_, s| s.usable());
        taken
    }

    pub fn execs(&self) -> MutexGuard<'_, HashMap<String, ExecSession>> {
        lock(&self.inner.execs)
    }
}
