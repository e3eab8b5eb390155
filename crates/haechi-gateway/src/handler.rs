//! One request through the gateway, in the reference's order: backpressure, transport check,
//! observability routes, request target, auth → profile → rate limit (all before the body is
//! read), the capped body read, model allowlist, streaming mode, request protection, the
//! upstream exchange, response protection.

use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use haechi_core::audit::{AuditIdentity, PreparedEvent};
use haechi_core::config::StreamRequestMode;
use haechi_core::policy::ResolvedProfile;
use haechi_core::protect::{
    request_fields, ProtectContext, ProtectError, ProtectedPayload, TopField,
};
use haechi_core::vocab::{Direction, Mode};

use crate::adapters::{Route, UNKNOWN_ROUTE};
use crate::audit::{CallerRef, GatewayDecision, RouteRef};
use crate::auth::{has_bearer_header, GatewayIdentity};
use crate::body::{declared_length, read_capped, ReadError};
use crate::gateway::Gateway;
use crate::headers::forwarded_https;
use crate::metrics::Counter;
use crate::outside::OutsideValues;
use crate::reply::{internal_error, json, Body, Refusal};
use crate::upstream::UpstreamError;
use crate::{observability, response};

/// Node's defaults, which the reference keeps when the limits are `null`.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

static TARGET_BASE: LazyLock<Option<url::Url>> =
    LazyLock::new(|| url::Url::parse("http://haechi.local/").ok());

/// Everything known about a request once it is admitted.
pub(crate) struct Scope {
    pub correlation_id: String,
    pub method: Method,
    pub route: Route,
    pub protocol: &'static str,
    /// Normalized path (no query): hashed into audit events, never written as is.
    pub path: String,
    pub path_and_query: String,
    pub identity: Option<GatewayIdentity>,
    pub audit_identity: Option<AuditIdentity>,
    pub profile: Option<String>,
}

impl Scope {
    pub fn route_ref(&self) -> RouteRef<'_> {
        RouteRef {
            protocol: self.protocol,
            route_id: self.route.id,
            path: &self.path,
        }
    }

    pub fn caller(&self) -> CallerRef<'_> {
        CallerRef {
            identity: self.audit_identity.as_ref(),
            profile: self.profile.as_deref(),
            correlation_id: &self.correlation_id,
        }
    }

    /// The protect context of one direction of this exchange.
    pub fn protect_context(&self, direction: Direction, mode: Mode) -> ProtectContext {
        let prefix = match direction {
            Direction::Request => "request",
            Direction::Response => "response",
        };
        let mut context = ProtectContext::new(
            self.protocol,
            format!("{prefix}:{} {}", self.method, self.route.id),
            direction,
            mode,
        );
        context.correlation_id = Some(self.correlation_id.clone());
        context.identity = self.audit_identity.clone();
        context.profile = self.profile.clone();
        context
    }
}

/// One admitted request in `limits.maxInFlight`: released when dropped, which for a streamed
/// response is when its body ends or the client goes away.
pub(crate) struct InFlight(Arc<Gateway>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gateway {
    /// Answer one request. Never fails: every refusal is a JSON response with a `haechi_*` code.
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let is_observability =
            request.method() == Method::GET && request.uri().path().starts_with("/__haechi/");
        if is_observability {
            return observability::answer(&self, request.uri().path());
        }

        let max_in_flight = self.config.limits.max_in_flight;
        let previous = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let mut in_flight = Some(InFlight(Arc::clone(&self)));
        if max_in_flight > 0 && previous >= max_in_flight {
            self.metrics.inc(Counter::Overloaded);
            let retry_after = self.config.limits.shutdown_grace_ms.div_ceil(1000).max(1);
            return Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "haechi_overloaded",
                "Server at max in-flight capacity (limits.maxInFlight); retry later",
            )
            .retry_after(retry_after)
            .into_response();
        }
        if self.require_forwarded_https && !forwarded_https(request.headers()) {
            return Refusal::new(
                StatusCode::FORBIDDEN,
                "haechi_forwarded_proto_required",
                "This gateway serves plain http behind a trusted TLS terminator (proxy.trustForwardedProto); a request without X-Forwarded-Proto: https bypassed it and is refused",
            )
            .into_response();
        }

        let started = Instant::now();
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let mut route_id = UNKNOWN_ROUTE;
        let response = match self
            .proxy(
                request,
                correlation_id,
                started,
                &mut route_id,
                &mut in_flight,
            )
            .await
        {
            Ok(response) => response,
            Err(refusal) => refusal.into_response(),
        };
        self.metrics
            .observe_duration(route_id, started.elapsed().as_secs_f64());
        response
    }

    async fn proxy(
        &self,
        request: Request<Incoming>,
        correlation_id: String,
        started: Instant,
        route_id: &mut &'static str,
        in_flight: &mut Option<InFlight>,
    ) -> Result<Response<Body>, Refusal> {
        let (head, body) = request.into_parts();
        let (path, path_and_query) = origin_form(&head.uri, head.version)?;
        let route = self.adapter.classify(&path);
        *route_id = route.id;
        let mut scope = Scope {
            correlation_id,
            method: head.method.clone(),
            route,
            protocol: self.adapter.protocol,
            path,
            path_and_query,
            identity: None,
            audit_identity: None,
            profile: None,
        };

        // Who is calling, under which profile, and whether they may — before reading the body.
        let profile = self.admit(&head.headers, &mut scope).await?;

        let max_bytes = self.config.limits.max_request_bytes;
        let read = read_capped(
            body,
            declared_length(&head.headers),
            max_bytes,
            // As nginx's `client_body_timeout`: a client that stops sending is let go, not
            // held until the whole-request deadline.
            match self.config.limits.body_idle_timeout_ms {
                0 => None,
                idle => Some(Duration::from_millis(idle)),
            },
        );
        let body = match self.request_deadline() {
            None => read.await,
            Some(limit) => tokio::time::timeout_at((started + limit).into(), read)
                .await
                .map_err(|_| {
                    Refusal::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "haechi_request_timeout",
                        "The request body did not arrive within limits.requestTimeoutMs",
                    )
                    .closing()
                })?,
        };
        let body = body.map_err(|error| match error {
            ReadError::TooLarge => Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "haechi_request_body_too_large",
                format!("Request body exceeds limits.maxRequestBytes ({max_bytes})"),
            )
            .closing(),
            ReadError::Body(_) => Refusal::new(
                StatusCode::BAD_REQUEST,
                "haechi_request_body_unreadable",
                "The request body could not be read (the client connection failed)",
            )
            .closing(),
            ReadError::Idle => Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                "haechi_request_timeout",
                format!(
                    "No request body bytes arrived for limits.bodyIdleTimeoutMs ({} ms); send the body without pauses",
                    self.config.limits.body_idle_timeout_ms
                ),
            )
            .closing(),
        })?;
        // An empty body is the empty object, as the reference parses it.
        let text: &str = if body.is_empty() {
            "{}"
        } else {
            std::str::from_utf8(&body).map_err(|_| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "haechi_request_body_not_utf8",
                    "Request body is not valid UTF-8; send UTF-8 encoded JSON",
                )
            })?
        };
        let fields = request_fields(text, self.config.limits.max_nesting_depth)
            .map_err(|error| protect_refusal(error, &scope))?;

        if let Some(allowlist) = &profile.model_allowlist {
            if let Some(model) = disallowed_model(&fields.model, &scope.path, allowlist) {
                self.decide(&scope, "model_not_allowed", format!("model:{model}"), true)
                    .await?;
                self.metrics
                    .request(scope.route.id, self.request_mode, "model_not_allowed");
                self.metrics.inc(Counter::Blocks);
                return Err(Refusal::new(
                    StatusCode::FORBIDDEN,
                    "haechi_model_not_allowed",
                    format!("Model not allowed: {model}"),
                ));
            }
        }

        let streaming = match fields.stream {
            TopField::Is(true) => true,
            TopField::Is(false) => false,
            _ => scope.route.streaming_default,
        };
        if streaming {
            return match self.config.streaming.request_mode {
                StreamRequestMode::PassThrough => {
                    self.decide(
                        &scope,
                        "streaming_request_pass_through",
                        "streaming_request_pass_through".into(),
                        false,
                    )
                    .await?;
                    self.metrics
                        .request(scope.route.id, self.request_mode, "forwarded");
                    let headers = self.forward.upstream_headers(&head.headers);
                    let upstream = self.send_upstream(&scope, &head, headers, body).await?;
                    let stream = response::pass_through_stream(self, upstream, &scope);
                    Ok(stream.map(|body| response::hold_while_streaming(body, in_flight.take())))
                }
                _ => {
                    self.metrics
                        .request(scope.route.id, self.request_mode, "streaming_blocked");
                    Err(Refusal::new(
                        StatusCode::NOT_IMPLEMENTED,
                        "haechi_streaming_unsupported",
                        "Streaming requests are refused unless streaming.requestMode is \"pass-through\"",
                    ))
                }
            };
        }

        // The path, query and forwarded headers are protected with the body, in one decision.
        let headers = self.forward.upstream_headers(&head.headers);
        let query = scope.path_and_query.split_once('?').map(|(_, query)| query);
        let outside =
            OutsideValues::collect(&scope.path, query, &headers, self.adapter.id == "gemini");
        let context = scope.protect_context(Direction::Request, self.request_mode);
        let deferred = self
            .protector
            .protect_deferred(
                text.as_bytes(),
                &outside.as_protect_input(),
                &context,
                &profile.policy,
            )
            .map_err(|error| protect_refusal(error, &scope))?;
        // Nothing is sent before its token records are stored and its decision is audited.
        let mut outcome = self.settle(deferred, &scope).await?;
        if outcome.blocked {
            self.metrics
                .request(scope.route.id, self.request_mode, "blocked");
            self.metrics.inc(Counter::Blocks);
            return Ok(json(
                StatusCode::FORBIDDEN,
                &json!({
                    "error": "haechi_policy_block",
                    "summary": outcome.summary,
                    "auditId": outcome.audit_id,
                }),
            ));
        }
        let rewritten = outside
            .apply(&outcome.outside, &scope.path, query, &headers)
            .ok_or_else(internal_error)?;
        let headers = match rewritten {
            Some(rewritten) => {
                scope.path_and_query = rewritten.path_and_query;
                rewritten.headers
            }
            None => headers,
        };
        let forwarded = match std::mem::replace(&mut outcome.payload, ProtectedPayload::Unchanged) {
            ProtectedPayload::Unchanged => body,
            ProtectedPayload::Rewritten(rewritten) => Bytes::from(rewritten),
            ProtectedPayload::Blocked => return Err(internal_error()),
        };
        let upstream = self
            .send_upstream(&scope, &head, headers, forwarded)
            .await?;
        let (response, decision) =
            response::protect(self, upstream, &scope, profile, &outcome.issued_tokens).await?;
        self.metrics
            .request(scope.route.id, self.request_mode, decision);
        Ok(response)
    }

    /// The whole-request deadline: `limits.requestTimeoutMs`, Node's 300 s when `null`, none
    /// when `0` (Node semantics).
    fn request_deadline(&self) -> Option<Duration> {
        match self.config.limits.request_timeout_ms {
            Some(0) => None,
            Some(limit) => Some(Duration::from_millis(limit)),
            None => Some(DEFAULT_REQUEST_TIMEOUT),
        }
    }

    /// Authenticate, resolve the profile, apply the rate limit.
    async fn admit(
        &self,
        headers: &http::HeaderMap,
        scope: &mut Scope,
    ) -> Result<&ResolvedProfile, Refusal> {
        if let Some(provider) = &self.auth {
            let denied = match provider.authenticate(headers).await {
                Ok(Some(identity)) => {
                    scope.audit_identity = Some(identity.audit());
                    scope.identity = Some(identity);
                    None
                }
                Ok(None) if has_bearer_header(headers) => Some("invalid_token"),
                Ok(None) => Some("no_token"),
                Err(error) => {
                    tracing::warn!(
                        event = "auth_provider_error",
                        correlation_id = %scope.correlation_id,
                        error = %error,
                    );
                    Some("provider_error")
                }
            };
            if let Some(reason) = denied {
                self.decide(scope, "auth_denied", reason.into(), true)
                    .await?;
                self.metrics
                    .request(scope.route.id, self.request_mode, "auth_denied");
                self.metrics.inc(Counter::AuthDenied);
                let message = if reason == "provider_error" {
                    "Authentication failed"
                } else {
                    "Authentication required: send Authorization: Bearer <token> (see `haechi auth add`)"
                };
                return Err(Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "haechi_auth_denied",
                    message,
                ));
            }
        }
        let profile_identity = scope
            .identity
            .as_ref()
            .map(GatewayIdentity::profile_identity);
        let profile = self.protector.policies().resolve(profile_identity.as_ref());
        scope.profile = profile.name.clone();
        if let Some(rate) = &profile.rate {
            let key = scope
                .identity
                .as_ref()
                .map_or("anonymous", |identity| identity.id.as_str());
            if !self.rate.allow(key, rate.requests_per_minute).await {
                let reason = format!("rate:{}", rate.requests_per_minute);
                self.decide(scope, "rate_limited", reason, true).await?;
                self.metrics
                    .request(scope.route.id, self.request_mode, "rate_limited");
                self.metrics.inc(Counter::RateLimited);
                return Err(Refusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "haechi_rate_limited",
                    "Rate limit exceeded; retry after the current minute",
                ));
            }
        }
        Ok(profile)
    }

    /// Record one of the gateway's own decisions (mode = the request policy mode).
    pub(crate) async fn decide(
        &self,
        scope: &Scope,
        decision: &'static str,
        reason: String,
        blocked: bool,
    ) -> Result<(), Refusal> {
        let event = GatewayDecision {
            route: scope.route_ref(),
            caller: scope.caller(),
            mode: self.request_mode,
            decision,
            reason,
            enforced: blocked,
            blocked,
        }
        .prepare();
        self.record(event, scope).await
    }

    /// Append an event; a decision that cannot be audited is not acted on. The client is told
    /// the audit log is unavailable (503, retry later), and readiness fails until appends work.
    pub(crate) async fn record(&self, event: PreparedEvent, scope: &Scope) -> Result<(), Refusal> {
        self.audit.record(event).await.map_err(|error| {
            tracing::error!(
                event = "audit_write_failed",
                correlation_id = %scope.correlation_id,
                code = error.code,
            );
            self.metrics.inc(Counter::AuditUnavailable);
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "haechi_audit_unavailable",
                "The audit log cannot be written, so the request was not forwarded; retry later (operators: see /__haechi/ready and the gateway log)",
            )
            .retry_after(1)
        })
    }

    async fn send_upstream(
        &self,
        scope: &Scope,
        head: &http::request::Parts,
        headers: http::HeaderMap,
        body: Bytes,
    ) -> Result<Response<Incoming>, Refusal> {
        let body = if matches!(head.method, Method::GET | Method::HEAD) {
            Bytes::new()
        } else if body.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            body
        };
        self.upstream
            .send(head.method.clone(), &scope.path_and_query, headers, body)
            .await
            .map_err(|error| match error {
                UpstreamError::Timeout => {
                    tracing::warn!(
                        event = "upstream_timeout",
                        correlation_id = %scope.correlation_id,
                        route = scope.route.id,
                    );
                    self.metrics.inc(Counter::UpstreamTimeout);
                    Refusal::new(
                        StatusCode::GATEWAY_TIMEOUT,
                        "haechi_upstream_timeout",
                        format!(
                            "Upstream did not respond within limits.upstreamTimeoutMs ({})",
                            self.config.limits.upstream_timeout_ms
                        ),
                    )
                }
                UpstreamError::Unreachable => {
                    tracing::warn!(
                        event = "upstream_unreachable",
                        correlation_id = %scope.correlation_id,
                        route = scope.route.id,
                    );
                    self.metrics.inc(Counter::UpstreamError);
                    Refusal::new(
                        StatusCode::BAD_GATEWAY,
                        "haechi_upstream_unreachable",
                        "Upstream request failed",
                    )
                }
            })
    }
}

/// The request target as an origin-form path (dot segments resolved as a URL parser does) and
/// the path with its query. HTTP/1 absolute and authority forms are refused: the gateway only
/// ever talks to `target.upstream`. (HTTP/2 always carries `:scheme`/`:authority`; only its
/// `:path` names the target.)
fn origin_form(uri: &http::Uri, version: http::Version) -> Result<(String, String), Refusal> {
    let refuse = || {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "haechi_invalid_proxy_target",
            "Proxy request target must be an origin-form path, not an absolute URL",
        )
    };
    let raw = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let absolute =
        version < http::Version::HTTP_2 && (uri.scheme().is_some() || uri.authority().is_some());
    if absolute || raw.starts_with("//") {
        return Err(refuse());
    }
    let resolved = TARGET_BASE
        .as_ref()
        .and_then(|base| base.join(raw).ok())
        .ok_or_else(refuse)?;
    let path = resolved.path().to_string();
    let path_and_query = match resolved.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.clone(),
    };
    Ok((path, path_and_query))
}

/// The model a request names that the allowlist does not allow. The body's `model` and, for
/// model-in-path APIs (Gemini), the `models/<model>:` path segment are both checked; a `model`
/// that is not a string is refused rather than ignored.
fn disallowed_model(
    body_model: &TopField<String>,
    path: &str,
    allowlist: &[String],
) -> Option<String> {
    let allowed = |model: &str| allowlist.iter().any(|entry| entry == model);
    match body_model {
        TopField::Is(model) if !allowed(model) => return Some(model.clone()),
        TopField::Other => return Some("(not a string)".to_string()),
        _ => {}
    }
    let in_path = path
        .rsplit_once("/models/")
        .and_then(|(_, tail)| tail.split_once(':'))
        .map(|(model, _)| model);
    match in_path {
        Some(model) if !allowed(model) => Some(model.to_string()),
        _ => None,
    }
}

/// A protect failure as the client sees it (the reference's codes and statuses).
pub(crate) fn protect_refusal(error: ProtectError, scope: &Scope) -> Refusal {
    match error {
        ProtectError::NotUtf8 { .. } | ProtectError::InvalidJson { .. } => {
            Refusal::new(StatusCode::BAD_REQUEST, error.code(), error.to_string())
        }
        ProtectError::TooDeeplyNested { .. } => Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            error.code(),
            error.to_string(),
        ),
        ProtectError::MissingCollaborator { .. } | ProtectError::Provider(_) => {
            tracing::error!(
                event = "protect_failed",
                correlation_id = %scope.correlation_id,
                code = error.code(),
            );
            internal_error()
        }
    }
}

#[cfg(test)]
#[path = "tests/handler.rs"]
mod tests;
