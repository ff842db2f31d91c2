//! A small pool for per-layer work (downloads, uploads): `n` scoped threads take jobs
//! in order; their progress messages are relayed on the calling thread, because the
//! caller's progress callback need not be Send. After the first failure no new job
//! starts and the running ones see `cancel`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::engine::error::{Error, Result};

/// One job: its index, a progress sender, and the cancel flag.
pub type Work<'a, M, T> = dyn Fn(usize, &dyn Fn(M), &AtomicBool) -> Result<T> + Sync + 'a;

enum Msg<M, T> {
    Progress(M),
    Done(usize, Result<T>),
}

/// Runs `work(job, send, cancel)` for every job; returns (job, result) in completion order.
pub fn run<M: Send, T: Send>(
    n: usize,
    jobs: &[usize],
    work: &Work<'_, M, T>,
    relay: &mut dyn FnMut(M),
) -> Result<Vec<(usize, T)>> {
    if jobs.is_empty() {
        return Ok(vec![]);
    }
    let next = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Msg<M, T>>();
    let mut out = Vec::new();
    let mut first_err: Option<Error> = None;
    std::thread::scope(|scope| {
        for _ in 0..n.clamp(1, jobs.len()) {
            let tx = tx.clone();
            let (next, cancel) = (&next, &cancel);
            scope.spawn(move || loop {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = jobs.get(k) else { break };
                let send = |m: M| {
                    let _ = tx.send(Msg::Progress(m));
                };
                let res = work(i, &send, cancel);
                let _ = tx.send(Msg::Done(i, res));
            });
        }
        drop(tx);
        for msg in rx {
            match msg {
                Msg::Progress(m) if first_err.is_none() => relay(m),
                Msg::Progress(_) => {}
                Msg::Done(i, Ok(t)) => out.push((i, t)),
                Msg::Done(_, Err(e)) => {
                    cancel.store(true, Ordering::Relaxed);
                    first_err.get_or_insert(e);
                }
            }
        }
    });
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_every_job_and_relays_progress() {
        let mut seen = Vec::new();
        let out = run(
            3,
            &[0, 1, 2, 3, 4],
            &|i, send, _| {
                send(i * 10);
                Ok(i + 1)
            },
            &mut |m: usize| seen.push(m),
        )
        .expect("run");
        let mut done = out;
        done.sort();
        assert_eq!(done, vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
        seen.sort();
        assert_eq!(seen, vec![0, 10, 20, 30, 40]);
    }

    #[test]
    fn the_first_error_is_returned() {
        let r = run(
            2,
            &[0, 1, 2],
            &|i, _send: &dyn Fn(()), _| {
                if i == 1 {
                    Err(Error::Other("boom".into()))
                } else {
                    Ok(())
                }
            },
            &mut |_| {},
        );
        assert_eq!(r.unwrap_err().to_string(), "boom");
    }
}
