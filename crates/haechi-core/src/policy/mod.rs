//! Policy: which action each detected type gets.
//!
//! A [`CompiledPolicy`] is built once from presets, `defaultAction` and per-type actions, merged
//! strengthen-only (a later source may not weaken an earlier one unless
//! `policy.allowUnsafeOverrides`), then optionally raised by a privacy profile. Named profiles
//! and their binding to identities live in [`profiles`].

pub mod presets;
pub mod privacy;
pub mod profiles;

use indexmap::IndexMap;

use crate::vocab::Action;

pub use presets::{preset, Preset, PRESET_NAMES};
pub use privacy::{privacy_profile, PrivacyProfile, PRIVACY_PROFILE_NAMES};
pub use profiles::{Identity, PolicySet, ResolvedProfile};

/// A policy that cannot be built. Messages name the config key and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy.presets: unknown preset {name:?}; allowed: {allowed}")]
    UnknownPreset { name: String, allowed: String },
    #[error("privacy.profile: unknown profile {name:?}; allowed: {allowed}")]
    UnknownPrivacyProfile { name: String, allowed: String },
    #[error(
        "{source_name} cannot weaken the action for {detection_type} from {existing} to {attempted}; \
         use an action at least as strong, or set policy.allowUnsafeOverrides to true to permit weakening"
    )]
    Weakening {
        source_name: String,
        detection_type: String,
        existing: &'static str,
        attempted: &'static str,
    },
    #[error("{0}")]
    Binding(String),
}

/// The inputs of one policy build: what the config (or a profile) says.
#[derive(Debug, Clone, Copy)]
pub struct PolicySource<'a> {
    pub presets: &'a [String],
    pub default_action: crate::vocab::Action,
    pub actions: &'a IndexMap<String, Action>,
    pub allow_unsafe_overrides: bool,
    pub privacy_profile: Option<&'a str>,
}

/// A ready decision table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledPolicy {
    default_action: Action,
    actions: IndexMap<String, Action>,
    /// Metadata from the `local-only` preset: transfer to external services is not intended.
    allow_external_transfer: bool,
    privacy_profile: Option<&'static str>,
}

impl CompiledPolicy {
    /// Merge presets (in order), then `actions`, strengthen-only; `injection` defaults to `allow`
    /// (report-only) unless something set it; finally the privacy profile may only strengthen.
    pub fn build(source: PolicySource<'_>) -> Result<CompiledPolicy, PolicyError> {
        let mut default_action = source.default_action;
        let mut actions: IndexMap<String, Action> = IndexMap::new();
        let mut allow_external_transfer = true;

        for name in source.presets {
            let preset = preset(name).ok_or_else(|| PolicyError::UnknownPreset {
                name: name.clone(),
                allowed: PRESET_NAMES.join(", "),
            })?;
            if let Some(action) = preset.default_action {
                default_action = action;
            }
            if preset.local_only {
                allow_external_transfer = false;
            }
            for (detection_type, action) in preset.actions {
                merge_action(
                    &mut actions,
                    detection_type,
                    *action,
                    &format!("preset {name}"),
                    source.allow_unsafe_overrides,
                )?;
            }
        }
        for (detection_type, action) in source.actions {
            merge_action(
                &mut actions,
                detection_type,
                *action,
                "policy.actions",
                source.allow_unsafe_overrides,
            )?;
        }
        // Injection heuristics are report-only unless configured: this bypasses defaultAction.
        actions
            .entry("injection".to_string())
            .or_insert(Action::Allow);

        let mut privacy_profile_id = None;
        if let Some(name) = source.privacy_profile {
            let profile =
                privacy_profile(name).ok_or_else(|| PolicyError::UnknownPrivacyProfile {
                    name: name.to_string(),
                    allowed: PRIVACY_PROFILE_NAMES.join(", "),
                })?;
            privacy_profile_id = Some(profile.id);
            for (detection_type, action) in profile.actions {
                let slot = actions
                    .entry((*detection_type).to_string())
                    .or_insert(*action);
                if action.strength() > slot.strength() {
                    *slot = *action;
                }
            }
        }

        Ok(CompiledPolicy {
            default_action,
            actions,
            allow_external_transfer,
            privacy_profile: privacy_profile_id,
        })
    }

    /// The action for a detected type.
    pub fn decide(&self, detection_type: &str) -> Action {
        self.actions
            .get(detection_type)
            .copied()
            .unwrap_or(self.default_action)
    }

    pub fn default_action(&self) -> Action {
        self.default_action
    }

    /// The explicit per-type table after merging (presets, actions, privacy profile).
    pub fn actions(&self) -> &IndexMap<String, Action> {
        &self.actions
    }

    pub fn allows_external_transfer(&self) -> bool {
        self.allow_external_transfer
    }

    pub fn privacy_profile(&self) -> Option<&'static str> {
        self.privacy_profile
    }
}

fn merge_action(
    actions: &mut IndexMap<String, Action>,
    detection_type: &str,
    action: Action,
    source_name: &str,
    allow_unsafe_overrides: bool,
) -> Result<(), PolicyError> {
    match actions.get_mut(detection_type) {
        None => {
            actions.insert(detection_type.to_string(), action);
        }
        // Documented contract: with allowUnsafeOverrides a weaker action really overrides.
        // (The reference 1.7 silently keeps the stronger one; we follow its documentation.)
        Some(existing) if action.strength() >= existing.strength() || allow_unsafe_overrides => {
            *existing = action
        }
        Some(existing) => {
            return Err(PolicyError::Weakening {
                source_name: source_name.to_string(),
                detection_type: detection_type.to_string(),
                existing: existing.as_str(),
                attempted: action.as_str(),
            })
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
