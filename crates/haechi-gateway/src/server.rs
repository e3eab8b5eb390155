//! The listener: the bind guard (loopback unless `--allow-remote-bind`, and then only with TLS
//! or a trusted TLS terminator), plain or rustls connections served by hyper (HTTP/1.1
//! keep-alive, HTTP/2 by ALPN or prior knowledge), slow-header cut-off, and graceful drain.
//!
//! With several workers ([`ListenOptions::workers`]) each worker is a thread with a
//! single-threaded runtime and a listening socket of its own on the same address
//! (`SO_REUSEPORT`: the kernel spreads connections across them), as nginx runs its workers. A
//! connection stays on one thread from accept to close, so a request is never handed between
//! threads: on a machine where wake-ups across cores cost more than the work, this serves more
//! requests per core than one work-stealing runtime.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::gateway::Gateway;
use crate::tls::{is_loopback_host, load_server_config, TlsError};

/// Node's default, which the reference keeps when `limits.headersTimeoutMs` is `null`.
const DEFAULT_HEADERS_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and how to listen (the CLI's `--host`, `--port`, `--allow-remote-bind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenOptions {
    pub host: String,
    pub port: u16,
    /// Only ever from the command line: config alone never exposes the gateway.
    pub allow_remote_bind: bool,
    /// Threads that accept and serve connections, each with its own runtime and socket; `1`
    /// serves on the caller's runtime only.
    pub workers: usize,
}

impl ListenOptions {
    /// `proxy.host` and `proxy.port` of the config, loopback only.
    pub fn from_config(config: &haechi_core::config::Config) -> Self {
        ListenOptions {
            host: config.proxy.host.clone(),
            port: config.proxy.port,
            allow_remote_bind: false,
            workers: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("refusing to bind the Haechi proxy to non-loopback host {0}; pass --allow-remote-bind only in an explicitly secured environment")]
    RemoteBindRefused(String),
    #[error("refusing to bind the Haechi proxy to non-loopback host {0} without TLS: bearer tokens and payloads would cross the network in plaintext; set proxy.tls (keyFile + certFile, or pfxFile) so Haechi terminates TLS, or proxy.trustForwardedProto: true only when a trusted reverse proxy terminates TLS in front of it")]
    PlaintextRemoteBind(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(
        "cannot resolve proxy host {host:?}: {reason}; use an IP address or a resolvable name"
    )]
    Resolve { host: String, reason: String },
    #[error("cannot listen on {address}: {source}; pick a free port with --port or stop what is using it")]
    Listen {
        address: String,
        source: std::io::Error,
    },
}

/// A gateway bound to its sockets, ready to serve.
pub struct BoundGateway {
    /// One per worker, all on `local_addr`.
    listeners: Vec<std::net::TcpListener>,
    tls: Option<TlsAcceptor>,
    gateway: Arc<Gateway>,
    local_addr: SocketAddr,
}

/// How serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every in-flight request finished within `limits.shutdownGraceMs`.
    Clean,
    /// The grace period ran out; the remaining connections were closed.
    Forced,
}

/// Apply the bind guard, load TLS material and bind the socket.
pub async fn bind(
    mut gateway: Gateway,
    options: &ListenOptions,
) -> Result<BoundGateway, ServeError> {
    let host = options.host.trim();
    let loopback = is_loopback_host(host);
    if !loopback && !options.allow_remote_bind {
        return Err(ServeError::RemoteBindRefused(host.to_string()));
    }
    let tls = match &gateway.config.proxy.tls {
        Some(settings) => Some(TlsAcceptor::from(load_server_config(settings)?)),
        None => None,
    };
    let trust_forwarded = gateway.config.proxy.trust_forwarded_proto;
    if !loopback && tls.is_none() && !trust_forwarded {
        return Err(ServeError::PlaintextRemoteBind(host.to_string()));
    }
    gateway.require_forwarded_https = !loopback && tls.is_none() && trust_forwarded;

    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let address = tokio::net::lookup_host((bare_host, options.port))
        .await
        .map_err(|error| ServeError::Resolve {
            host: host.to_string(),
            reason: error.to_string(),
        })?
        .next()
        .ok_or_else(|| ServeError::Resolve {
            host: host.to_string(),
            reason: "no address found".into(),
        })?;
    let listen_error = |source| ServeError::Listen {
        address: address.to_string(),
        source,
    };
    let workers = options.workers.max(1);
    let first = listen_socket(address, workers > 1).map_err(listen_error)?;
    let local_addr = first.local_addr().map_err(listen_error)?;
    let mut listeners = vec![first];
    for _ in 1..workers {
        listeners.push(listen_socket(local_addr, true).map_err(listen_error)?);
    }
    Ok(BoundGateway {
        listeners,
        tls,
        gateway: Arc::new(gateway),
        local_addr,
    })
}

/// A listening socket as tokio would make one (`SO_REUSEADDR`), with `SO_REUSEPORT` when
/// several workers share the address.
fn listen_socket(address: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

impl BoundGateway {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether this listener terminates TLS itself.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }

    /// Serve until `shutdown` resolves, then stop accepting, let in-flight requests finish
    /// and close idle keep-alive connections, forcing the rest closed after
    /// `limits.shutdownGraceMs`. The first worker runs on the caller's runtime, the others on
    /// threads of their own; all of them drain before this returns.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Drain {
        let BoundGateway {
            mut listeners,
            tls,
            gateway,
            ..
        } = self;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let others: Vec<_> = listeners
            .drain(1..)
            .enumerate()
            .filter_map(|(index, listener)| {
                let worker = Worker {
                    gateway: Arc::clone(&gateway),
                    tls: tls.clone(),
                };
                let name = format!("haechi-worker-{}", index + 1);
                worker.spawn_thread(name, listener, stopped.clone())
            })
            .collect();
        let first = Worker { gateway, tls };
        let stop_all = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        let mut drain = match listeners.pop().map(TcpListener::from_std) {
            Some(Ok(listener)) => first.accept_until(listener, stop_all).await,
            _ => {
                tracing::error!(event = "listen_failed", worker = 0);
                stop_all.await;
                Drain::Clean
            }
        };
        let joined = tokio::task::spawn_blocking(move || {
            others
                .into_iter()
                .map(|thread| thread.join().unwrap_or(Drain::Forced))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        if joined.contains(&Drain::Forced) {
            drain = Drain::Forced;
        }
        drain
    }
}

/// One accept loop and the connections it serves.
struct Worker {
    gateway: Arc<Gateway>,
    tls: Option<TlsAcceptor>,
}

impl Worker {
    /// Run on a thread of its own with a single-threaded runtime until `stopped` says stop.
    /// `None` when the thread cannot start (its socket closes with it, so the kernel sends its
    /// connections to the other workers).
    fn spawn_thread(
        self,
        name: String,
        listener: std::net::TcpListener,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) -> Option<std::thread::JoinHandle<Drain>> {
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(event = "worker_start_failed", error = %error);
                    return Drain::Clean;
                }
            };
            runtime.block_on(async move {
                let stop = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                match TcpListener::from_std(listener) {
                    Ok(listener) => self.accept_until(listener, stop).await,
                    Err(error) => {
                        tracing::error!(event = "worker_start_failed", error = %error);
                        Drain::Clean
                    }
                }
            })
        });
        match spawned {
            Ok(thread) => Some(thread),
            Err(error) => {
                tracing::error!(event = "worker_start_failed", error = %error);
                None
            }
        }
    }

    /// Accept and serve until `shutdown`, then drain.
    async fn accept_until(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Drain {
        let limits = &self.gateway.config.limits;
        let headers_timeout = match limits.headers_timeout_ms {
            Some(0) => None,
            Some(ms) => Some(Duration::from_millis(ms)),
            None => Some(DEFAULT_HEADERS_TIMEOUT),
        };
        let grace = Duration::from_millis(limits.shutdown_grace_ms);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .keep_alive(true)
            .header_read_timeout(headers_timeout);
        builder.http2().timer(TokioTimer::new());
        let handshake_timeout = headers_timeout.unwrap_or(DEFAULT_HEADERS_TIMEOUT);
        let graceful = GracefulShutdown::new();
        // Every connection task, so the ones still running when the grace period ends can be
        // aborted (finished ones are reaped as the loop goes).
        let mut connections = JoinSet::new();

        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            // Out of descriptors and the like: back off instead of spinning.
                            tracing::warn!(event = "accept_failed", error = %error);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    };
                    self.spawn_connection(stream, &builder, &graceful, handshake_timeout, &mut connections);
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        let drained = tokio::time::timeout(grace, graceful.shutdown()).await;
        // Connections still being set up (TLS handshakes) are not watched by `graceful`.
        connections.abort_all();
        while connections.join_next().await.is_some() {}
        match drained {
            Ok(()) => Drain::Clean,
            Err(_) => Drain::Forced,
        }
    }

    fn spawn_connection(
        &self,
        stream: TcpStream,
        builder: &auto::Builder<TokioExecutor>,
        graceful: &GracefulShutdown,
        handshake_timeout: Duration,
        connections: &mut JoinSet<()>,
    ) {
        let _ = stream.set_nodelay(true);
        let gateway = Arc::clone(&self.gateway);
        let service = service_fn(move |request| {
            let gateway = Arc::clone(&gateway);
            async move { Ok::<_, Infallible>(gateway.handle(request).await) }
        });
        match &self.tls {
            None => {
                let connection = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                connections.spawn(async move {
                    let _ = connection.await;
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                connections.spawn(async move {
                    let handshake =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(stream));
                    let Ok(Ok(stream)) = handshake.await else {
                        return; // failed or too slow handshakes just close
                    };
                    let connection = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned();
                    let _ = watcher.watch(connection).await;
                });
            }
        }
    }
}
