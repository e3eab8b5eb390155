//! Named profiles and their binding to identities: scope → label → default, first match wins.
//! Resolution is a pure function the gateway calls per request.

use std::sync::Arc;

use indexmap::IndexMap;

use super::{CompiledPolicy, PolicyError, PolicySource};
use crate::config::{PolicyConfig, ProfileBinding, RateConfig};

/// What an authenticated caller carries that profile binding looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub scopes: Vec<String>,
    /// Labels in the order the identity lists them; bound as `"key=value"`.
    pub labels: Vec<(String, String)>,
}

/// The policy and per-client limits that govern one request.
#[derive(Debug, Clone)]
pub struct ResolvedProfile {
    /// `None` for the base policy (no profiles configured).
    pub name: Option<String>,
    pub policy: Arc<CompiledPolicy>,
    pub model_allowlist: Option<Vec<String>>,
    pub rate: Option<RateConfig>,
}

/// The base policy plus every named profile, compiled once at load.
#[derive(Debug, Clone)]
pub struct PolicySet {
    base: ResolvedProfile,
    profiles: IndexMap<String, ResolvedProfile>,
    binding: Option<ProfileBinding>,
}

impl PolicySet {
    /// Compile `policy` (and its profiles) with the optional privacy profile applied to each.
    pub fn compile(
        policy: &PolicyConfig,
        privacy_profile: Option<&str>,
    ) -> Result<PolicySet, PolicyError> {
        let base_policy = CompiledPolicy::build(PolicySource {
            presets: &policy.presets,
            default_action: policy.default_action,
            actions: &policy.actions,
            allow_unsafe_overrides: policy.allow_unsafe_overrides,
            privacy_profile,
        })?;
        let base = ResolvedProfile {
            name: None,
            policy: Arc::new(base_policy),
            model_allowlist: non_empty(policy.model_allowlist.clone()),
            rate: policy.rate.clone(),
        };

        let mut profiles = IndexMap::new();
        for (name, profile) in &policy.profiles {
            // A profile inherits the base and overrides what it states: presets replace,
            // actions merge over the base's actions (then strengthen-only against presets).
            let mut actions = policy.actions.clone();
            if let Some(overrides) = &profile.actions {
                for (detection_type, action) in overrides {
                    actions.insert(detection_type.clone(), *action);
                }
            }
            let presets = profile.presets.as_ref().unwrap_or(&policy.presets);
            let compiled = CompiledPolicy::build(PolicySource {
                presets,
                default_action: policy.default_action,
                actions: &actions,
                allow_unsafe_overrides: policy.allow_unsafe_overrides,
                privacy_profile,
            })
            .map_err(|error| PolicyError::Binding(format!("policy.profiles.{name}: {error}")))?;
            profiles.insert(
                name.clone(),
                ResolvedProfile {
                    name: Some(name.clone()),
                    policy: Arc::new(compiled),
                    model_allowlist: non_empty(
                        profile
                            .model_allowlist
                            .clone()
                            .or_else(|| policy.model_allowlist.clone()),
                    ),
                    rate: profile.rate.clone().or_else(|| policy.rate.clone()),
                },
            );
        }

        match &policy.profile_binding {
            Some(binding) => {
                if !profiles.contains_key(&binding.default) {
                    return Err(PolicyError::Binding(format!(
                        "policy.profileBinding.default names {:?}, which is not a declared profile; \
                         declare it under policy.profiles (it should be the strictest one)",
                        binding.default
                    )));
                }
                for (map_name, map) in [
                    ("byScope", &binding.by_scope),
                    ("byLabel", &binding.by_label),
                ] {
                    for (key, target) in map {
                        if !profiles.contains_key(target) {
                            return Err(PolicyError::Binding(format!(
                                "policy.profileBinding.{map_name}.{key} names {target:?}, which is not \
                                 a declared profile; declare it under policy.profiles"
                            )));
                        }
                    }
                }
            }
            None if !profiles.is_empty() => {
                return Err(PolicyError::Binding(
                    "policy.profiles is set but policy.profileBinding is missing; add \
                     policy.profileBinding with a default profile (the strictest one)"
                        .to_string(),
                ));
            }
            None => {}
        }

        Ok(PolicySet {
            base,
            profiles,
            binding: policy.profile_binding.clone(),
        })
    }

    /// The base policy (no profile), used when no binding is configured.
    pub fn base(&self) -> &ResolvedProfile {
        &self.base
    }

    pub fn has_profiles(&self) -> bool {
        !self.profiles.is_empty()
    }

    /// Resolve the profile for a caller: the first scope bound in `byScope`, else the first label
    /// bound in `byLabel`, else the binding's default. Without a binding, the base policy.
    pub fn resolve(&self, identity: Option<&Identity>) -> &ResolvedProfile {
        let Some(binding) = &self.binding else {
            return &self.base;
        };
        let bound = identity.and_then(|identity| {
            identity
                .scopes
                .iter()
                .find_map(|scope| binding.by_scope.get(scope))
                .or_else(|| {
                    identity.labels.iter().find_map(|(key, value)| {
                        binding.by_label.get(format!("{key}={value}").as_str())
                    })
                })
        });
        let name = bound.unwrap_or(&binding.default);
        // Every bound name was checked at compile time; fall back to base defensively.
        self.profiles.get(name).unwrap_or(&self.base)
    }
}

fn non_empty(list: Option<Vec<String>>) -> Option<Vec<String>> {
    list.filter(|list| !list.is_empty())
}
