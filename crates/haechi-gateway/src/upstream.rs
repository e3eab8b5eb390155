//! The one upstream: a pooled hyper client (HTTP/1.1, HTTP/2 over TLS by ALPN) that only ever
//! contacts the scheme and authority of `target.upstream`, with the request's own path. Each
//! thread has its own pool, so an upstream connection is driven by the thread whose requests
//! use it (a worker never waits on another worker's event loop).

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT_ENCODING};
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Why the upstream gave no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamError {
    /// No response headers within `limits.upstreamTimeoutMs`.
    Timeout,
    /// Connecting or exchanging the request failed.
    Unreachable,
}

/// A `target.upstream` the gateway cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamConfigError {
    #[error("target.upstream {0:?} is not an http(s) URL with a host; set it to e.g. http://127.0.0.1:8000")]
    InvalidUrl(String),
    #[error("target.upstream uses https but no trusted root certificates were found on this machine ({0}); install the system CA certificates (Debian: ca-certificates)")]
    NoRootCertificates(String),
}

type UpstreamClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub(crate) struct Upstream {
    connector: HttpsConnector<HttpConnector>,
    clients: thread_local::ThreadLocal<UpstreamClient>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    timeout: Duration,
}

impl Upstream {
    pub(crate) fn new(upstream: &str, timeout: Duration) -> Result<Upstream, UpstreamConfigError> {
        let invalid = || UpstreamConfigError::InvalidUrl(upstream.to_string());
        let uri: Uri = upstream.parse().map_err(|_| invalid())?;
        let scheme = uri.scheme().cloned().ok_or_else(invalid)?;
        let authority = uri.authority().cloned().ok_or_else(invalid)?;
        if scheme != http::uri::Scheme::HTTP && scheme != http::uri::Scheme::HTTPS {
            return Err(invalid());
        }
        // Requests are written whole; do not let Nagle hold back their last segment.
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let connector = if scheme == http::uri::Scheme::HTTPS {
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_native_roots()
                .map_err(|error| UpstreamConfigError::NoRootCertificates(error.to_string()))?
                .https_only()
                .enable_http1()
                .enable_http2()
                .wrap_connector(tcp)
        } else {
            // Plain http: the TLS half is never used, so it needs no trust roots.
            let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|error| UpstreamConfigError::NoRootCertificates(error.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp)
        };
        Ok(Upstream {
            connector,
            clients: thread_local::ThreadLocal::new(),
            scheme,
            authority,
            timeout,
        })
    }

    /// This thread's pool.
    fn client(&self) -> &UpstreamClient {
        self.clients.get_or(|| {
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(90))
                .build(self.connector.clone())
        })
    }

    /// Send one request to `path_and_query` on the upstream and wait for its response head.
    /// Dropping the returned future (the client went away) abandons the upstream exchange.
    pub(crate) async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|_| UpstreamError::Unreachable)?;
        // Ask for an identity body: a compressed response cannot be inspected.
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        match tokio::time::timeout(self.timeout, self.client().request(request)).await {
            Err(_) => Err(UpstreamError::Timeout),
            Ok(Err(_)) => Err(UpstreamError::Unreachable),
            Ok(Ok(response)) => Ok(response),
        }
    }
}
