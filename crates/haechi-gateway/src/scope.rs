//! Everything known about one request while the gateway handles it: where it goes (route,
//! path), who sent it (identity, profile), the slot it holds in `limits.maxInFlight`, and how
//! audit events and protect calls name it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};

use http::Method;

use haechi_core::audit::AuditIdentity;
use haechi_core::protect::ProtectContext;
use haechi_core::vocab::{Direction, Mode};

use crate::adapters::Route;
use crate::audit::{CallerRef, RouteRef};
use crate::auth::GatewayIdentity;
use crate::error::GatewayError;
use crate::gateway::Gateway;

static TARGET_BASE: LazyLock<Option<url::Url>> =
    LazyLock::new(|| url::Url::parse("http://haechi.local/").ok());

/// One admitted request in `limits.maxInFlight`: released when dropped, which for a streamed
/// response is when its body ends or the client goes away.
pub(crate) struct InFlight(Arc<Gateway>);

impl InFlight {
    /// Take a slot, or refuse when `limits.maxInFlight` are already taken.
    pub(crate) fn take(gateway: &Arc<Gateway>) -> Result<InFlight, GatewayError> {
        let previous = gateway.in_flight.fetch_add(1, Ordering::AcqRel);
        let slot = InFlight(Arc::clone(gateway));
        let max = gateway.config.limits.max_in_flight;
        if max > 0 && previous >= max {
            let retry_after_secs = gateway
                .config
                .limits
                .shutdown_grace_ms
                .div_ceil(1000)
                .max(1);
            return Err(GatewayError::Overloaded { retry_after_secs });
        }
        Ok(slot)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

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
    /// Held until the answer is complete (a streamed body takes it along).
    pub in_flight: Option<InFlight>,
}

impl Scope {
    /// The scope of a request for `uri`, classified by the gateway's adapter.
    pub(crate) fn open(
        gateway: &Gateway,
        method: &Method,
        uri: &http::Uri,
        version: http::Version,
        in_flight: InFlight,
    ) -> Result<Scope, GatewayError> {
        let (path, path_and_query) = origin_form(uri, version)?;
        Ok(Scope {
            correlation_id: uuid::Uuid::new_v4().to_string(),
            method: method.clone(),
            route: gateway.adapter.classify(&path),
            protocol: gateway.adapter.protocol,
            path,
            path_and_query,
            identity: None,
            audit_identity: None,
            profile: None,
            in_flight: Some(in_flight),
        })
    }

    pub(crate) fn route_ref(&self) -> RouteRef<'_> {
        RouteRef {
            protocol: self.protocol,
            route_id: self.route.id,
            path: &self.path,
        }
    }

    pub(crate) fn caller(&self) -> CallerRef<'_> {
        CallerRef {
            identity: self.audit_identity.as_ref(),
            profile: self.profile.as_deref(),
            correlation_id: &self.correlation_id,
        }
    }

    /// The query of the request target, if any.
    pub(crate) fn query(&self) -> Option<&str> {
        self.path_and_query.split_once('?').map(|(_, query)| query)
    }

    /// The protect context of one direction of this exchange.
    pub(crate) fn protect_context(&self, direction: Direction, mode: Mode) -> ProtectContext {
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

/// The request target as an origin-form path (dot segments resolved as a URL parser does) and
/// the path with its query. HTTP/1 absolute and authority forms are refused: the gateway only
/// ever talks to `target.upstream`. (HTTP/2 always carries `:scheme`/`:authority`; only its
/// `:path` names the target.)
pub(crate) fn origin_form(
    uri: &http::Uri,
    version: http::Version,
) -> Result<(String, String), GatewayError> {
    let raw = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let absolute =
        version < http::Version::HTTP_2 && (uri.scheme().is_some() || uri.authority().is_some());
    if absolute || raw.starts_with("//") {
        return Err(GatewayError::InvalidTarget);
    }
    let resolved = TARGET_BASE
        .as_ref()
        .and_then(|base| base.join(raw).ok())
        .ok_or(GatewayError::InvalidTarget)?;
    let path = resolved.path().to_string();
    let path_and_query = match resolved.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.clone(),
    };
    Ok((path, path_and_query))
}
