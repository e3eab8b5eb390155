//! One request through the gateway, as phases in the reference's order:
//!
//! 1. admission: in-flight ceiling, transport check, request target (before anything else);
//! 2. caller: auth → profile → rate limit (before the body is read);
//! 3. body: the capped, deadline-bound read, checked as UTF-8 once;
//! 4. plan: the skimmed `model` and `stream` decide the allowlist and the streaming mode;
//! 5. request protection: body, path, query and forwarded headers in one decision, settled
//!    (token records stored, decision audited) before anything leaves;
//! 6. upstream exchange, then 7. response protection (`response.rs`).
//!
//! Each phase returns a [`GatewayError`]; [`Gateway::handle`] turns it into the answer and its
//! metrics in one place. A streamed response is the plan's other branch, not a fork of this.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;

use haechi_core::audit::PreparedEvent;
use haechi_core::config::StreamRequestMode;
use haechi_core::policy::ResolvedProfile;
use haechi_core::protect::{request_fields, ProtectError, ProtectedPayload, TopField};
use haechi_core::vocab::Direction;

use crate::adapters::UNKNOWN_ROUTE;
use crate::audit::GatewayDecision;
use crate::auth::{DenyReason, GatewayIdentity};
use crate::body::{declared_length, read_capped, ReadError, RequestBody};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::headers::forwarded_https;
use crate::outside::OutsideValues;
use crate::reply::Body;
use crate::scope::{InFlight, Scope};
use crate::upstream::UpstreamError;
use crate::{observability, response};

/// Node's defaults, which the reference keeps when the limits are `null`.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What reaches the upstream for a protected request.
struct Outbound {
    headers: http::HeaderMap,
    body: Bytes,
    /// Tokens issued for this request, for `tokenVault.detokenizeResponses`.
    issued_tokens: Vec<String>,
}

impl Gateway {
    /// Answer one request. Never fails: every refusal is a JSON response with a `haechi_*` code.
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let is_observability =
            request.method() == Method::GET && request.uri().path().starts_with("/__haechi/");
        if is_observability {
            return observability::answer(&self, request.uri().path());
        }
        let in_flight = match InFlight::take(&self) {
            Ok(slot) => slot,
            Err(error) => return self.refuse(UNKNOWN_ROUTE, error),
        };
        if self.require_forwarded_https && !forwarded_https(request.headers()) {
            return self.refuse(UNKNOWN_ROUTE, GatewayError::ForwardedProtoRequired);
        }

        let started = Instant::now();
        let (head, body) = request.into_parts();
        let opened = Scope::open(&self, &head.method, &head.uri, head.version, in_flight);
        let (route, response) = match opened {
            Err(error) => (UNKNOWN_ROUTE, self.refuse(UNKNOWN_ROUTE, error)),
            Ok(mut scope) => {
                let exchange = match &self.mcp {
                    Some(filter) => {
                        self.mcp_exchange(filter, &mut scope, head, body, started)
                            .await
                    }
                    None => self.proxy(&mut scope, head, body, started).await,
                };
                let response = match exchange {
                    Ok(response) => response,
                    Err(error) => self.refuse(scope.route.id, error),
                };
                (scope.route.id, response)
            }
        };
        self.metrics
            .observe_duration(route, started.elapsed().as_secs_f64());
        response
    }

    /// The answer to a refused request, counted once.
    fn refuse(&self, route: &'static str, error: GatewayError) -> Response<Body> {
        if let Some(decision) = error.decision() {
            self.metrics.request(route, self.request_mode, decision);
        }
        for &counter in error.counters() {
            self.metrics.inc(counter);
        }
        error.into_response()
    }

    async fn proxy(
        &self,
        scope: &mut Scope,
        head: Parts,
        body: Incoming,
        started: Instant,
    ) -> Result<Response<Body>, GatewayError> {
        let profile = self.admit_caller(&head.headers, scope).await?;
        let body = self.read_body(&head.headers, body, started).await?;
        let text = body.json_text()?;
        let fields = request_fields(text, self.config.limits.max_nesting_depth)
            .map_err(|error| self.protect_failed(error, scope))?;
        if let Some(allowlist) = &profile.model_allowlist {
            if let Some(model) = disallowed_model(&fields.model, &scope.path, allowlist) {
                self.decide(scope, "model_not_allowed", format!("model:{model}"), true)
                    .await?;
                return Err(GatewayError::ModelNotAllowed { model });
            }
        }
        let streaming = match fields.stream {
            TopField::Is(stream) => stream,
            _ => scope.route.streaming_default,
        };
        if streaming {
            return self.stream(scope, &head, &body).await;
        }

        let outbound = self
            .protect_request(scope, &head, text, &body, profile)
            .await?;
        let upstream = self
            .send_upstream(scope, &head, outbound.headers, outbound.body)
            .await?;
        let (response, decision) =
            response::protect(self, upstream, scope, profile, &outbound.issued_tokens).await?;
        self.metrics
            .request(scope.route.id, self.request_mode, decision);
        Ok(response)
    }

    /// A streaming request, as `streaming.requestMode` says: refused, or forwarded uninspected
    /// (audited) with its answer relayed as it arrives.
    async fn stream(
        &self,
        scope: &mut Scope,
        head: &Parts,
        body: &RequestBody,
    ) -> Result<Response<Body>, GatewayError> {
        if self.config.streaming.request_mode != StreamRequestMode::PassThrough {
            return Err(GatewayError::StreamingUnsupported);
        }
        let reason = "streaming_request_pass_through";
        self.decide(scope, reason, reason.into(), false).await?;
        self.metrics
            .request(scope.route.id, self.request_mode, "forwarded");
        let headers = self.forward.upstream_headers(&head.headers);
        let upstream = self
            .send_upstream(scope, head, headers, body.unchanged())
            .await?;
        let stream = response::pass_through_stream(self, upstream, scope);
        let in_flight = scope.in_flight.take();
        Ok(stream.map(|body| response::hold_while_streaming(body, in_flight)))
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
    pub(crate) async fn admit_caller(
        &self,
        headers: &http::HeaderMap,
        scope: &mut Scope,
    ) -> Result<&ResolvedProfile, GatewayError> {
        if let Some(provider) = &self.auth {
            let outcome = provider.authenticate(headers).await;
            if let Err(error) = &outcome {
                tracing::warn!(
                    event = "auth_provider_error",
                    correlation_id = %scope.correlation_id,
                    error = %error,
                );
            }
            if let Some(reason) = DenyReason::of(headers, &outcome) {
                self.decide(scope, "auth_denied", reason.as_str().into(), true)
                    .await?;
                return Err(GatewayError::AuthDenied {
                    provider_failed: reason == DenyReason::ProviderError,
                });
            }
            if let Ok(Some(identity)) = outcome {
                scope.audit_identity = Some(identity.audit());
                scope.identity = Some(identity);
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
                return Err(GatewayError::RateLimited);
            }
        }
        Ok(profile)
    }

    /// Read the body under `limits.maxRequestBytes`, the body idle timeout and the
    /// whole-request deadline.
    pub(crate) async fn read_body(
        &self,
        headers: &http::HeaderMap,
        body: Incoming,
        started: Instant,
    ) -> Result<RequestBody, GatewayError> {
        let limits = &self.config.limits;
        let read = read_capped(
            body,
            declared_length(headers),
            limits.max_request_bytes,
            // As nginx's `client_body_timeout`: a client that stops sending is let go, not
            // held until the whole-request deadline.
            match limits.body_idle_timeout_ms {
                0 => None,
                idle => Some(Duration::from_millis(idle)),
            },
        );
        let read = match self.request_deadline() {
            None => read.await,
            Some(limit) => tokio::time::timeout_at((started + limit).into(), read)
                .await
                .map_err(|_| GatewayError::RequestTimeout)?,
        };
        read.map(RequestBody::new).map_err(|error| match error {
            ReadError::TooLarge => GatewayError::BodyTooLarge {
                max_bytes: limits.max_request_bytes,
            },
            ReadError::Body(_) => GatewayError::BodyUnreadable,
            ReadError::Idle => GatewayError::BodyIdle {
                idle_ms: limits.body_idle_timeout_ms,
            },
        })
    }

    /// Protect the body with the path, query and forwarded headers in one decision, and
    /// settle it: nothing is sent before its token records are stored and its decision is
    /// audited.
    async fn protect_request(
        &self,
        scope: &mut Scope,
        head: &Parts,
        text: &str,
        body: &RequestBody,
        profile: &ResolvedProfile,
    ) -> Result<Outbound, GatewayError> {
        let headers = self.forward.upstream_headers(&head.headers);
        let outside = OutsideValues::collect(
            &scope.path,
            scope.query(),
            &headers,
            self.adapter.id == "gemini",
        );
        let context = scope.protect_context(Direction::Request, self.request_mode);
        let deferred = self
            .protector
            .protect_deferred(text, &outside.as_protect_input(), &context, &profile.policy)
            .map_err(|error| self.protect_failed(error, scope))?;
        let outcome = self.settle(deferred, scope).await?;
        if outcome.blocked {
            return Err(GatewayError::PolicyBlocked {
                summary: Box::new(outcome.summary),
                audit_id: outcome.audit_id,
            });
        }
        let rewritten = outside
            .apply(&outcome.outside, &scope.path, scope.query(), &headers)
            .ok_or(GatewayError::Internal)?;
        let headers = match rewritten {
            Some(rewritten) => {
                scope.path_and_query = rewritten.path_and_query;
                rewritten.headers
            }
            None => headers,
        };
        let body = match outcome.payload {
            ProtectedPayload::Unchanged => body.unchanged(),
            ProtectedPayload::Rewritten(rewritten) => Bytes::from(rewritten),
        };
        Ok(Outbound {
            headers,
            body,
            issued_tokens: outcome.issued_tokens,
        })
    }

    /// A protect failure as the client sees it; ours (not the payload's) are logged.
    pub(crate) fn protect_failed(&self, error: ProtectError, scope: &Scope) -> GatewayError {
        let error = GatewayError::Protect(error);
        if error.status().is_server_error() {
            tracing::error!(
                event = "protect_failed",
                correlation_id = %scope.correlation_id,
                code = error.code(),
            );
        }
        error
    }

    /// Record one of the gateway's own decisions (mode = the request policy mode).
    pub(crate) async fn decide(
        &self,
        scope: &Scope,
        decision: &'static str,
        reason: String,
        blocked: bool,
    ) -> Result<(), GatewayError> {
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
    pub(crate) async fn record(
        &self,
        event: PreparedEvent,
        scope: &Scope,
    ) -> Result<(), GatewayError> {
        self.audit.record(event).await.map_err(|error| {
            tracing::error!(
                event = "audit_write_failed",
                correlation_id = %scope.correlation_id,
                code = error.code,
            );
            GatewayError::AuditUnavailable
        })
    }

    pub(crate) async fn send_upstream(
        &self,
        scope: &Scope,
        head: &Parts,
        headers: http::HeaderMap,
        body: Bytes,
    ) -> Result<Response<Incoming>, GatewayError> {
        // The reference sends no body with GET and HEAD, whatever the client sent.
        let body = match head.method {
            Method::GET | Method::HEAD => Bytes::new(),
            _ => body,
        };
        self.upstream
            .send(head.method.clone(), &scope.path_and_query, headers, body)
            .await
            .map_err(|error| {
                let (event, error) = match error {
                    UpstreamError::Timeout => (
                        "upstream_timeout",
                        GatewayError::UpstreamTimeout {
                            timeout_ms: self.config.limits.upstream_timeout_ms,
                        },
                    ),
                    UpstreamError::Unreachable => {
                        ("upstream_unreachable", GatewayError::UpstreamUnreachable)
                    }
                };
                tracing::warn!(
                    event,
                    correlation_id = %scope.correlation_id,
                    route = scope.route.id,
                );
                error
            })
    }
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

#[cfg(test)]
#[path = "tests/handler.rs"]
mod tests;
