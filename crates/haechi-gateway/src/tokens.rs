//! Storing the token records of a protected payload before any of its tokens leave: a token
//! forwarded without its record could never be revealed. The records were built on the
//! request's thread; the vault writer stores many requests' records in one transaction, and
//! the request awaits that commit without holding a thread.

use haechi_core::protect::{DeferredOutcome, ProtectOutcome};
use haechi_core::seams::{commit_abandoned, PendingTokens, ProviderError};

use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::scope::Scope;

/// Commit `pending` and wait for the outcome (`Ok` at once when nothing waits).
pub(crate) async fn commit(pending: Option<Box<dyn PendingTokens>>) -> Result<(), ProviderError> {
    let Some(pending) = pending else {
        return Ok(());
    };
    let (done, outcome) = tokio::sync::oneshot::channel();
    pending.commit(Box::new(move |result| {
        let _ = done.send(result);
    }));
    outcome.await.unwrap_or_else(|_| Err(commit_abandoned()))
}

impl Gateway {
    /// Settle a protected payload before anything of it is sent: store its token records and
    /// audit its decision (both at once); either failing refuses it. Returns the outcome.
    pub(crate) async fn settle(
        &self,
        deferred: DeferredOutcome,
        scope: &Scope,
    ) -> Result<ProtectOutcome, GatewayError> {
        let (stored, recorded) = tokio::join!(
            self.store_tokens(deferred.pending_tokens, scope),
            self.record(deferred.event, scope)
        );
        stored.and(recorded)?;
        Ok(deferred.outcome)
    }

    /// Store a payload's token records; a payload whose records are not stored is not sent.
    async fn store_tokens(
        &self,
        pending: Option<Box<dyn PendingTokens>>,
        scope: &Scope,
    ) -> Result<(), GatewayError> {
        commit(pending).await.map_err(|error| {
            tracing::error!(
                event = "token_vault_write_failed",
                correlation_id = %scope.correlation_id,
                code = error.code,
            );
            GatewayError::Internal
        })
    }
}
