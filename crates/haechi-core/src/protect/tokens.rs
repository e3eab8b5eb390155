//! The payload's one vault batch: every tokenize span becomes a [`TokenRequest`], and the vault
//! issues all their ids together (one transaction, however many values the payload holds).

use std::ops::Range;

use serde_json::Value;

use super::{Decided, HitLeaf, Piece, ProtectError, Protector};
use crate::seams::{IssuedTokens, ProviderError, TokenRequest};

impl Protector {
    /// Issue the tokens of `requests` (`(leaf, piece)` positions of [`Piece::Token`]s), in order.
    pub(super) fn tokenize(
        &self,
        requests: &[(usize, usize)],
        pieces: &[Vec<(Range<usize>, Piece)>],
        hits: &[HitLeaf<'_>],
        decided: &[Decided],
        context: &Value,
    ) -> Result<IssuedTokens, ProtectError> {
        let tokenizer =
            self.collaborators
                .tokenizer
                .as_ref()
                .ok_or(ProtectError::MissingCollaborator {
                    action: "tokenize",
                    needed: "token vault",
                })?;
        let batch: Vec<TokenRequest<'_>> = requests
            .iter()
            .filter_map(|&(leaf_index, piece_index)| {
                let (span, piece) = &pieces[leaf_index][piece_index];
                let Piece::Token(detection_index) = piece else {
                    return None;
                };
                let detection = &decided[*detection_index];
                Some(TokenRequest {
                    plaintext: &hits[leaf_index].leaf.text[span.clone()],
                    detection_type: &detection.finding.detection_type,
                    context,
                    path: &detection.path,
                    rule_id: &detection.finding.rule_id,
                })
            })
            .collect();
        let issued = tokenizer.issue(&batch)?;
        // A short answer would leave values unreplaced: refuse it (and drop its records).
        if issued.tokens.len() != requests.len() {
            return Err(ProviderError::new(
                "haechi_token_vault_failed",
                "the token vault returned a different number of tokens than requested",
            )
            .into());
        }
        Ok(issued)
    }
}
