//! The one accept loop every TCP listener of the relay runs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::warn;

use super::tasks::{Tasks, Tracked};

/// Accepts connections on `listener` until `shutdown` changes, running `handle` for each
/// in its own task (counted in `tasks`, so shutdown can wait for it). Accept errors (out
/// of file descriptors…) are logged and retried after a short pause.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    name: &'static str,
    tasks: Arc<Tasks>,
    mut shutdown: watch::Receiver<bool>,
    handle: F,
) where
    F: Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    let guard = tasks.enter();
                    let fut = handle(sock, peer, shutdown.clone());
                    // Not `async move { fut.await }`: such a block stores the connection's
                    // future twice (as the captured value and as the awaited one), and the
                    // task's size is most of what an idle player costs.
                    tokio::spawn(Tracked::new(fut, guard));
                }
                Err(e) => {
                    warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}
