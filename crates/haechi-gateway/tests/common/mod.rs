//! Shared harness for the gateway integration tests: a recording stub upstream on loopback,
//! a gateway built the way `haechi proxy` builds one (local key file, JSONL audit log behind
//! the group-commit writer, SQLite vault), and small HTTP clients (hyper and raw TCP).
//!
//! Every test gets its own temp dir and ports; nothing is shared between tests.

#![allow(dead_code)] // each test binary uses a different part of the harness
#![allow(clippy::unwrap_used, clippy::expect_used)] // setup failures should fail loudly

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use haechi_core::config::{default_config_json, load_config_str, Config};
use haechi_core::protect::{Collaborators, Protector};
use haechi_core::seams::{AuditSink, Crypto, Tokenizer};
use haechi_crypto::{init_local_key_file, LocalKeyProvider};
use haechi_gateway::auth::{AuthProvider, IssuedToken, Labels, NewToken};
use haechi_gateway::rate::RateLimiter;
use haechi_gateway::{
    bind, BoundGateway, Detokenizer, Drain, Gateway, GatewayConfigError, GatewayParts,
    ListenOptions, OffloadedTokenizer, ReadinessProbe, ServeError,
};
use haechi_store::audit::{AuditWriter, JsonlAuditSink, JsonlOptions, WriterOptions};
use haechi_store::vault::{
    SqliteTokenVault, TokenGovernance, VaultSettings, VaultWriter, VaultWriterOptions,
};

/// An email, phone number and card number that the default presets detect.
pub(crate) const EMAIL: &str = "minji.kim@example.com";
pub(crate) const PHONE: &str = "010-1234-5678";
pub(crate) const CARD: &str = "4111 1111 1111 1111";

/// Generous bound for anything that should happen "promptly".
pub(crate) const PROMPTLY: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Stub upstream
// ---------------------------------------------------------------------------------------------

/// One request as the stub upstream received it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: Method,
    /// Path and query, exactly as sent on the request line.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// How the stub sends its body.
pub(crate) enum StubBody {
    /// All at once, with a `content-length`.
    Full(Bytes),
    /// Chunked: each chunk after its delay.
    Chunks(Vec<(Duration, Bytes)>),
    /// Chunked, driven by the test: each received `Bytes` is sent; the body ends when the
    /// sender is dropped.
    Channel(mpsc::UnboundedReceiver<Bytes>),
    /// Chunked: these bytes, then the body never ends.
    Hang(Bytes),
}

/// The stub's answer to one request.
pub(crate) struct StubReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Wait this long before sending the response head.
    pub delay: Duration,
    /// Never send a response at all.
    pub never: bool,
    pub body: StubBody,
}

impl StubReply {
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Self::raw(status, "application/json", body.to_string())
    }

    pub(crate) fn raw(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        StubReply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            delay: Duration::ZERO,
            never: false,
            body: StubBody::Full(body.into()),
        }
    }

    /// No response head, ever (the exchange hangs until someone gives up).
    pub(crate) fn never() -> Self {
        StubReply {
            never: true,
            ..Self::raw(200, "application/json", "{}")
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub(crate) fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub(crate) fn body(mut self, body: StubBody) -> Self {
        self.body = body;
        self
    }
}

type Responder = Arc<dyn Fn(&Recorded) -> StubReply + Send + Sync>;

#[derive(Default)]
struct StubState {
    requests: Mutex<Vec<Recorded>>,
    opened: AtomicUsize,
    closed: AtomicUsize,
    /// Handler futures dropped before they produced a response (the exchange was abandoned).
    cancelled: AtomicUsize,
    /// Response bodies dropped before they were sent to their end.
    bodies_abandoned: AtomicUsize,
}

/// A recording HTTP/1.1 upstream on 127.0.0.1.
pub(crate) struct Stub {
    pub addr: SocketAddr,
    state: Arc<StubState>,
    task: JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct CancelGuard {
    state: Arc<StubState>,
    done: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.done {
            self.state.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A response body fed from a channel; counts itself abandoned when dropped before its end.
struct ChannelBody {
    receiver: mpsc::UnboundedReceiver<Bytes>,
    finished: bool,
    state: Arc<StubState>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.receiver.poll_recv(cx) {
            Poll::Ready(Some(bytes)) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
            Poll::Ready(None) => {
                self.finished = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ChannelBody {
    fn drop(&mut self) {
        if !self.finished {
            self.state.bodies_abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

type StubResponseBody = Either<Full<Bytes>, ChannelBody>;

impl Stub {
    /// Start a stub that answers every request with `respond(&request)`.
    pub(crate) async fn start(
        respond: impl Fn(&Recorded) -> StubReply + Send + Sync + 'static,
    ) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(StubState::default());
        let responder: Responder = Arc::new(respond);
        let accept_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                accept_state.opened.fetch_add(1, Ordering::SeqCst);
                let state = Arc::clone(&accept_state);
                let responder = Arc::clone(&responder);
                tokio::spawn(async move {
                    let conn_state = Arc::clone(&state);
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        let responder = Arc::clone(&responder);
                        async move { Ok::<_, Infallible>(answer(state, responder, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                    conn_state.closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Stub { addr, state, task }
    }

    /// Always `200 {"ok":true}`.
    pub(crate) async fn ok() -> Stub {
        Stub::start(|_| StubReply::json(200, &json!({"ok": true}))).await
    }

    /// Answers `200` with the request body as its JSON body (`{}` for an empty one).
    pub(crate) async fn echo() -> Stub {
        Stub::start(|request| {
            let body = if request.body.is_empty() {
                Bytes::from_static(b"{}")
            } else {
                request.body.clone()
            };
            StubReply::raw(200, "application/json", body)
        })
        .await
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    pub(crate) fn count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    pub(crate) fn last(&self) -> Recorded {
        self.requests().pop().expect("the stub received no request")
    }

    pub(crate) fn connections_opened(&self) -> usize {
        self.state.opened.load(Ordering::SeqCst)
    }

    pub(crate) fn connections_closed(&self) -> usize {
        self.state.closed.load(Ordering::SeqCst)
    }

    pub(crate) fn handlers_cancelled(&self) -> usize {
        self.state.cancelled.load(Ordering::SeqCst)
    }

    pub(crate) fn bodies_abandoned(&self) -> usize {
        self.state.bodies_abandoned.load(Ordering::SeqCst)
    }

    /// Wait until `n` requests have arrived.
    pub(crate) async fn wait_requests(&self, n: usize) {
        wait_for("stub requests", || self.count() >= n).await;
    }
}

async fn answer(
    state: Arc<StubState>,
    responder: Responder,
    request: Request<Incoming>,
) -> Response<StubResponseBody> {
    let mut guard = CancelGuard {
        state: Arc::clone(&state),
        done: false,
    };
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method,
        target: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_string()),
        headers: parts.headers,
        body,
    };
    state.requests.lock().unwrap().push(recorded.clone());
    let reply = responder(&recorded);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if reply.never {
        std::future::pending::<()>().await;
    }
    let body = match reply.body {
        StubBody::Full(bytes) => Either::Left(Full::new(bytes)),
        StubBody::Chunks(chunks) => {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                for (delay, chunk) in chunks {
                    tokio::time::sleep(delay).await;
                    if sender.send(chunk).is_err() {
                        return;
                    }
                }
            });
            Either::Right(channel_body(receiver, &state))
        }
        StubBody::Channel(receiver) => Either::Right(channel_body(receiver, &state)),
        StubBody::Hang(first) => {
            let (sender, receiver) = mpsc::unbounded_channel();
            let _ = sender.send(first);
            tokio::spawn(async move {
                // Keep the sender alive until the body is dropped: the body never ends.
                sender.closed().await;
            });
            Either::Right(channel_body(receiver, &state))
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = http::StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in reply.headers {
        response.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    guard.done = true;
    response
}

fn channel_body(receiver: mpsc::UnboundedReceiver<Bytes>, state: &Arc<StubState>) -> ChannelBody {
    ChannelBody {
        receiver,
        finished: false,
        state: Arc::clone(state),
    }
}

/// A closed loopback port (bound, then released).
pub(crate) async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// Poll `condition` every 10 ms until it holds, failing after [`PROMPTLY`].
pub(crate) async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PROMPTLY;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

/// Set `value` at a dotted `path` of a JSON document, creating objects on the way.
pub(crate) fn set(doc: &mut Value, path: &str, value: Value) {
    let mut node = doc;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !node.is_object() {
            *node = json!({});
        }
        let map = node.as_object_mut().unwrap();
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        node = map.entry(part.to_string()).or_insert_with(|| json!({}));
    }
}

/// Enforce mode with the default presets (email and phone redacted, card blocked).
pub(crate) fn enforce(doc: &mut Value) {
    set(doc, "mode", json!("enforce"));
    set(doc, "policy.mode", json!("enforce"));
}

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

type Patch = Box<dyn FnOnce(&mut Value)>;

/// A gateway about to start: a temp dir with a fresh key file, the config patches, and the
/// collaborators a test wants to inject.
pub(crate) struct Setup {
    pub dir: TempDir,
    upstream: String,
    patches: Vec<Patch>,
    pub auth: Option<Arc<dyn AuthProvider>>,
    pub rate_limiter: Option<Arc<dyn RateLimiter>>,
    pub readiness: Option<ReadinessProbe>,
    pub host: String,
    pub allow_remote_bind: bool,
}

impl Setup {
    pub(crate) fn new(upstream: impl Into<String>) -> Setup {
        let dir = TempDir::new().unwrap();
        init_local_key_file(dir.path().join("keys.json"), false).unwrap();
        Setup {
            dir,
            upstream: upstream.into(),
            patches: Vec::new(),
            auth: None,
            rate_limiter: None,
            readiness: None,
            host: "127.0.0.1".into(),
            allow_remote_bind: false,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn patch(mut self, patch: impl FnOnce(&mut Value) + 'static) -> Setup {
        self.patches.push(Box::new(patch));
        self
    }

    /// The config document: defaults, the harness's paths, then the patches in order.
    pub(crate) fn config_json(&mut self) -> Value {
        let mut doc: Value = serde_json::from_str(&default_config_json()).unwrap();
        let path = |name: &str| self.dir.path().join(name).to_string_lossy().into_owned();
        set(&mut doc, "target.upstream", json!(self.upstream));
        set(&mut doc, "keys.keyFile", json!(path("keys.json")));
        set(&mut doc, "audit.path", json!(path("audit.jsonl")));
        set(&mut doc, "audit.fsync", json!("never"));
        set(&mut doc, "tokenVault.path", json!(path("token-vault.json")));
        set(&mut doc, "auth.store", json!(path("auth.json")));
        for patch in self.patches.drain(..) {
            patch(&mut doc);
        }
        doc
    }

    pub(crate) fn config(&mut self) -> Config {
        let doc = self.config_json();
        load_config_str(&doc.to_string(), &|_| None).unwrap()
    }

    fn build(&mut self) -> (Result<Gateway, GatewayConfigError>, Parts) {
        let config = self.config();
        let parts = Parts::build(&config);
        let gateway = Gateway::new(GatewayParts {
            config,
            protector: Arc::clone(&parts.protector),
            crypto: parts.keys.clone(),
            auth: self.auth.take(),
            rate_limiter: self.rate_limiter.take(),
            detokenizer: parts.detokenizer.clone(),
            readiness: self.readiness.take(),
        });
        (gateway, parts)
    }

    /// Build the gateway as `haechi proxy` does, without binding it.
    pub(crate) fn try_gateway(mut self) -> Result<Gateway, GatewayConfigError> {
        self.build().0
    }

    /// Build the gateway as `haechi proxy` does and bind it (no serving yet).
    pub(crate) async fn bind(mut self) -> Result<Bound, ServeError> {
        let (gateway, parts) = self.build();
        let gateway = gateway.unwrap();
        // Two workers, as `haechi proxy` runs on a multi-core machine: every test crosses
        // the per-thread sockets, pools and drain.
        let options = ListenOptions {
            host: self.host.clone(),
            port: 0,
            allow_remote_bind: self.allow_remote_bind,
            workers: 2,
        };
        let bound = bind(gateway, &options).await?;
        Ok(Bound {
            setup: self,
            parts,
            bound,
        })
    }

    pub(crate) async fn start(self) -> TestGateway {
        self.bind().await.unwrap().serve()
    }
}

/// What the embedding program builds around the gateway.
struct Parts {
    keys: Arc<LocalKeyProvider>,
    writer: Arc<AuditWriter>,
    protector: Arc<Protector>,
    detokenizer: Option<Arc<dyn Detokenizer>>,
    vault: Arc<SqliteTokenVault>,
}

impl Parts {
    fn build(config: &Config) -> Parts {
        let keys = Arc::new(LocalKeyProvider::open(&config.keys.key_file).unwrap());
        let options = JsonlOptions::from_config(&config.audit).unwrap();
        let sink = Arc::new(JsonlAuditSink::new(&config.audit.path, options).unwrap());
        let writer = Arc::new(
            AuditWriter::spawn(sink as Arc<dyn AuditSink>, WriterOptions::default()).unwrap(),
        );
        let audit: Arc<dyn AuditSink> = writer.clone();
        let (vault, _) = SqliteTokenVault::open_configured(
            Path::new(&config.token_vault.path),
            keys.clone(),
            VaultSettings::from_config(&config.token_vault),
        )
        .unwrap();
        let vault = Arc::new(vault);
        let detokenizer: Option<Arc<dyn Detokenizer>> =
            config.token_vault.detokenize_responses.then(|| {
                Arc::new(TokenGovernance::new(
                    vault.clone(),
                    config.token_vault.reveal_policy,
                    audit.clone(),
                )) as Arc<dyn Detokenizer>
            });
        let writer_vault = VaultWriter::spawn(vault.clone(), VaultWriterOptions::default());
        let tokenizer: Arc<dyn Tokenizer> = Arc::new(writer_vault.unwrap());
        let crypto: Arc<dyn Crypto> = keys.clone();
        let protector = Protector::new(
            config,
            Collaborators {
                audit,
                crypto: Some(crypto),
                tokenizer: Some(Arc::new(OffloadedTokenizer(tokenizer))),
            },
        )
        .unwrap();
        Parts {
            keys,
            writer,
            protector: Arc::new(protector),
            detokenizer,
            vault,
        }
    }
}

/// A bound gateway not yet serving.
pub(crate) struct Bound {
    setup: Setup,
    parts: Parts,
    pub bound: BoundGateway,
}

impl Bound {
    pub(crate) fn serve(self) -> TestGateway {
        let addr = self.bound.local_addr();
        let gateway = Arc::clone(self.bound.gateway());
        let (shutdown, signal) = oneshot::channel::<()>();
        let bound = self.bound;
        let serve = tokio::spawn(async move {
            bound
                .serve(async move {
                    let _ = signal.await;
                })
                .await
        });
        TestGateway {
            addr,
            gateway,
            keys: self.parts.keys,
            writer: self.parts.writer,
            vault: self.parts.vault,
            audit_path: self.setup.dir.path().join("audit.jsonl"),
            store_path: self.setup.dir.path().join("auth.json"),
            shutdown: Some(shutdown),
            serve: Some(serve),
            dir: self.setup.dir,
        }
    }
}

/// A serving gateway on 127.0.0.1.
pub(crate) struct TestGateway {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    pub keys: Arc<LocalKeyProvider>,
    pub writer: Arc<AuditWriter>,
    /// The token vault (written through a group-commit writer, as `haechi proxy` does).
    pub vault: Arc<SqliteTokenVault>,
    pub audit_path: PathBuf,
    pub store_path: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    serve: Option<JoinHandle<Drain>>,
    pub dir: TempDir,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(serve) = self.serve.take() {
            serve.abort();
        }
    }
}

/// Start a gateway in front of `upstream` with the config patched by `patch`.
pub(crate) async fn start_gateway(
    upstream: impl Into<String>,
    patch: impl FnOnce(&mut Value) + 'static,
) -> TestGateway {
    Setup::new(upstream).patch(patch).start().await
}

impl TestGateway {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Fire the shutdown signal without waiting.
    pub(crate) fn signal_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Signal shutdown and wait for serving to end (bounded), then flush the audit log.
    pub(crate) async fn stop(&mut self) -> Drain {
        self.signal_shutdown();
        let serve = self.serve.take().expect("already stopped");
        let drain = tokio::time::timeout(Duration::from_secs(30), serve)
            .await
            .expect("serve did not return")
            .unwrap();
        self.writer.shutdown();
        drain
    }

    /// A handle on the serve task for tests that race it.
    pub(crate) fn take_serve(&mut self) -> JoinHandle<Drain> {
        self.serve.take().expect("already stopped")
    }

    pub(crate) fn audit_text(&self) -> String {
        std::fs::read_to_string(&self.audit_path).unwrap_or_default()
    }

    /// Every audit event so far (each request's events are written before it is answered).
    pub(crate) fn audit_events(&self) -> Vec<Value> {
        self.audit_text()
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The audit events carrying `decision`.
    pub(crate) fn decisions(&self, decision: &str) -> Vec<Value> {
        self.audit_events()
            .into_iter()
            .filter(|event| event["decision"] == decision)
            .collect()
    }

    pub(crate) fn metrics_text(&self) -> String {
        self.gateway.metrics().render()
    }

    pub(crate) fn crypto(&self) -> Arc<dyn Crypto> {
        self.keys.clone()
    }

    /// Issue a bearer token into this gateway's `auth.store`.
    pub(crate) fn add_token(
        &self,
        kind: &str,
        scopes: &[&str],
        labels: &[(&str, &str)],
    ) -> IssuedToken {
        add_token_at(&self.store_path, self.keys.as_ref(), kind, scopes, labels)
    }

    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Reply {
        send(
            self.addr,
            Method::POST,
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    pub(crate) async fn post_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        send(self.addr, Method::POST, path, &all, body.to_string()).await
    }

    /// An empty chat completion sent with `Authorization: <authorization>`.
    pub(crate) async fn chat_as(&self, authorization: &str) -> Reply {
        let headers = [("authorization", authorization)];
        self.post_with("/v1/chat/completions", &headers, &json!({}))
            .await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        send(self.addr, Method::GET, path, &[], Bytes::new()).await
    }
}

/// Issue a bearer token into the store at `path`.
pub(crate) fn add_token_at(
    path: &Path,
    crypto: &dyn Crypto,
    kind: &str,
    scopes: &[&str],
    labels: &[(&str, &str)],
) -> IssuedToken {
    let mut label_set = Labels::new();
    for (key, value) in labels {
        label_set.insert(*key, *value);
    }
    let allowed = haechi_gateway::auth::default_allowed_label_keys();
    haechi_gateway::auth::add_token(
        path,
        crypto,
        &NewToken {
            kind,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            labels: label_set,
            allowed_label_keys: &allowed,
        },
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/// A whole response.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("response body is not JSON: {}", self.text()))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `error` code of a JSON error body.
    pub(crate) fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// One request over a fresh HTTP/1.1 connection (no pooling between calls).
pub(crate) async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<Full<Bytes>>();
    let mut request = Request::new(Full::new(body.into()));
    *request.method_mut() = method;
    *request.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .expect("gateway did not answer")
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(Duration::from_secs(30), body.collect())
        .await
        .expect("gateway body did not end")
        .unwrap()
        .to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// Send `head` (request line and headers, CRLF-terminated by the caller) and then `body`
/// over raw TCP; returns everything the server sent until it closed or `wait` passed.
pub(crate) async fn raw_exchange(addr: SocketAddr, bytes: &[u8], wait: Duration) -> RawOutcome {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_until_close(&mut stream, wait).await
}

/// What a raw connection received.
#[derive(Debug)]
pub(crate) struct RawOutcome {
    pub received: String,
    /// The server closed the connection (EOF or reset) within the wait.
    pub closed: bool,
}

impl RawOutcome {
    /// The status code of the first response, if one arrived.
    pub(crate) fn status(&self) -> Option<u16> {
        self.received
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
    }

    pub(crate) fn body_json(&self) -> Value {
        let body = self
            .received
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default();
        // The gateway answers with a content-length body; take the JSON object.
        let start = body.find('{').unwrap_or(0);
        let end = body.rfind('}').map_or(body.len(), |i| i + 1);
        serde_json::from_str(&body[start..end]).unwrap_or(Value::Null)
    }
}

pub(crate) async fn read_until_close(stream: &mut TcpStream, wait: Duration) -> RawOutcome {
    let deadline = tokio::time::Instant::now() + wait;
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    };
    RawOutcome {
        received: String::from_utf8_lossy(&received).into_owned(),
        closed,
    }
}

/// A chat request body carrying `content`.
pub(crate) fn chat(content: &str) -> Value {
    json!({"model": "gpt-test", "messages": [{"role": "user", "content": content}]})
}

/// Run `future` with a bound, failing the test if it takes longer.
pub(crate) async fn within<T>(bound: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(bound, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {bound:?}"))
}

/// The first audit event whose operation starts with `prefix` (`request:`, `response:`, `proxy:`).
pub(crate) fn event_with_operation<'a>(events: &'a [Value], prefix: &str) -> &'a Value {
    events
        .iter()
        .find(|event| {
            event["operation"]
                .as_str()
                .is_some_and(|operation| operation.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no audit event with operation {prefix}*"))
}
