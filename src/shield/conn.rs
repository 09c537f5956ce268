//! Connections per client address: counted when actix-web accepts a connection (its
//! `on_connect` hook) and released when the connection's state is dropped; past
//! `max_connections_per_ip` the new socket is shut down at once, before a byte of it is read.
//!
//! The count is by socket address: behind a proxy every connection is the proxy's, so give a
//! proxy's address room (or rely on its own limits) — `X-Forwarded-For` cannot be known at accept.

use std::any::Any;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;

/// Open connections per address (shared by all workers).
pub struct ConnTracker {
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_ip: usize,
}

/// The connection's state, in its extensions (`HttpRequest::conn_data`): released on drop.
pub struct ConnState {
    ip: IpAddr,
    per_ip: Option<Arc<Mutex<HashMap<IpAddr, usize>>>>,
    /// Requests served on this connection so far.
    pub requests: AtomicU64,
    /// The connection was over the per-IP limit (and shut down).
    pub refused: bool,
    gauge: prometheus::IntGauge,
}

impl Drop for ConnState {
    fn drop(&mut self) {
        if let Some(m) = &self.per_ip {
            let mut m = match m.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if let Some(n) = m.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.ip);
                }
            }
            self.gauge.dec();
        }
    }
}

impl ConnTracker {
    /// At most `max_per_ip` connections per address (0: no limit).
    pub fn new(max_per_ip: usize) -> Self {
        Self {
            per_ip: Arc::new(Mutex::new(HashMap::new())),
            max_per_ip,
        }
    }

    /// Open connections of `ip` now.
    pub fn open(&self, ip: IpAddr) -> usize {
        match self.per_ip.lock() {
            Ok(g) => g.get(&ip).copied().unwrap_or(0),
            Err(p) => p.into_inner().get(&ip).copied().unwrap_or(0),
        }
    }

    fn admit(&self, ip: IpAddr, gauge: &prometheus::IntGauge) -> ConnState {
        let mut m = match self.per_ip.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let n = m.entry(ip).or_insert(0);
        let refused = self.max_per_ip > 0 && *n >= self.max_per_ip;
        if !refused {
            *n += 1;
            gauge.inc();
        } else if *n == 0 {
            m.remove(&ip);
        }
        ConnState {
            ip,
            per_ip: (!refused).then(|| self.per_ip.clone()),
            requests: AtomicU64::new(0),
            refused,
            gauge: gauge.clone(),
        }
    }
}

fn tcp(conn: &dyn Any) -> Option<&TcpStream> {
    if let Some(s) = conn.downcast_ref::<TcpStream>() {
        return Some(s);
    }
    conn.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>()
        .map(|s| s.get_ref().0)
}

/// The `on_connect` hook (module docs).
pub fn on_connect(shield: &super::Shield, conn: &dyn Any, ext: &mut Extensions) {
    let Some(stream) = tcp(conn) else { return };
    let Ok(peer) = stream.peer_addr() else { return };
    let state = shield.conns.admit(peer.ip(), &shield.metrics.connections);
    if state.refused {
        shield
            .metrics
            .refused
            .with_label_values(&["connection_per_ip"])
            .inc();
        shield.metrics.blocked.inc();
        // Nothing is read from it: the client sees the connection closed.
        let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Both);
        tracing::debug!(client = %peer.ip(), "connection over the per-IP limit shut down");
    }
    ext.insert(Arc::new(state));
}
