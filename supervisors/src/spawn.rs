//! Where the runtime's tasks run.
//!
//! Inside an actix system (an actix-web node, `actix_rt::System`), children, supervisors and probes
//! are spawned on the current arbiter's `LocalSet`, as actix spawns its own actors: they share the
//! arbiter's thread and queue with the HTTP API. Elsewhere (a plain tokio runtime, the tests) they
//! are ordinary tokio tasks.

use std::future::Future;

use tokio::task::JoinHandle;

/// Spawns `fut` on the current actix arbiter if there is one, else on the current tokio runtime.
///
/// # Panics
/// Outside any tokio runtime (as `tokio::spawn` does).
pub(crate) fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if actix_rt::Arbiter::try_current().is_some() {
        actix_rt::spawn(fut)
    } else {
        tokio::spawn(fut)
    }
}
