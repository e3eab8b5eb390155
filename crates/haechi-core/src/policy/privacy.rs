//! Regional privacy profiles: baseline action sets applied strengthen-only over the policy.
//! Engineering defaults, not legal advice.

use crate::vocab::Action::{self, Block, Mask, Redact, Tokenize};

#[derive(Debug, Clone, Copy)]
pub struct PrivacyProfile {
    pub id: &'static str,
    pub region: &'static str,
    pub regulations: &'static [&'static str],
    pub actions: &'static [(&'static str, Action)],
    pub requires_transfer_assessment: bool,
}

const PROFILES: &[PrivacyProfile] = &[
    PrivacyProfile {
        id: "kr-pipa",
        region: "KR",
        regulations: &["PIPA", "Credit Information Act"],
        actions: &[
            ("kr_rrn", Block),
            ("phone", Mask),
            ("email", Redact),
            ("card", Block),
            ("api_key", Block),
            ("secret", Block),
            ("jp_mynumber", Block),
        ],
        requires_transfer_assessment: true,
    },
    PrivacyProfile {
        id: "eu-gdpr",
        region: "EU",
        regulations: &["GDPR"],
        actions: &[
            ("email", Tokenize),
            ("phone", Mask),
            ("card", Block),
            ("api_key", Block),
            ("secret", Block),
            ("kr_rrn", Block),
            ("fr_nir", Block),
            ("es_dni", Block),
            ("uk_nino", Block),
            ("it_codice_fiscale", Block),
            ("de_steuer_id", Block),
            ("nl_bsn", Block),
            ("jp_mynumber", Block),
        ],
        requires_transfer_assessment: true,
    },
    PrivacyProfile {
        id: "asia-pdpa",
        region: "ASIA",
        regulations: &["Singapore PDPA", "India DPDP Act"],
        actions: &[
            ("sg_nric", Block),
            ("in_aadhaar", Block),
            ("jp_mynumber", Block),
            ("kr_rrn", Block),
            ("fr_nir", Block),
            ("es_dni", Block),
            ("it_codice_fiscale", Block),
            ("de_steuer_id", Block),
            ("nl_bsn", Block),
            ("phone", Mask),
            ("email", Redact),
            ("card", Block),
            ("api_key", Block),
            ("secret", Block),
        ],
        requires_transfer_assessment: true,
    },
    PrivacyProfile {
        id: "us-general",
        region: "US",
        regulations: &[
            "CCPA/CPRA",
            "HIPAA-sensitive deployments require separate controls",
        ],
        actions: &[
            ("email", Redact),
            ("phone", Mask),
            ("card", Block),
            ("api_key", Block),
            ("secret", Block),
            ("jp_mynumber", Block),
        ],
        requires_transfer_assessment: false,
    },
    PrivacyProfile {
        id: "jp-appi",
        region: "JP",
        regulations: &["APPI"],
        actions: &[
            ("jp_mynumber", Block),
            ("phone", Mask),
            ("email", Redact),
            ("card", Block),
            ("api_key", Block),
            ("secret", Block),
            ("kr_rrn", Block),
        ],
        requires_transfer_assessment: true,
    },
];

pub const PRIVACY_PROFILE_NAMES: [&str; 5] =
    ["kr-pipa", "eu-gdpr", "asia-pdpa", "us-general", "jp-appi"];

pub fn privacy_profile(id: &str) -> Option<&'static PrivacyProfile> {
    PROFILES.iter().find(|profile| profile.id == id)
}
