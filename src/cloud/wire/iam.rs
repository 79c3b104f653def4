//! IAM: the token call (`POST https://iam.kakaocloud.com/identity/v3/auth/tokens`).
//! The token itself comes back in the `X-Subject-Token` header; the body says when it
//! expires.

use serde::{Deserialize, Serialize};

/// The application credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationCredential {
    /// Its ID.
    pub id: String,
    /// Its secret.
    pub secret: String,
}

impl std::fmt::Debug for ApplicationCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApplicationCredential([redacted])")
    }
}

/// How the caller proves who it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// `["application_credential"]`.
    pub methods: Vec<String>,
    /// The credential.
    pub application_credential: ApplicationCredential,
}

/// The `auth` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Who.
    pub identity: Identity,
}

/// The token request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The credential.
    pub auth: Auth,
}

impl TokenRequest {
    /// The request for an application credential.
    pub fn application_credential(id: &str, secret: &str) -> TokenRequest {
        TokenRequest {
            auth: Auth {
                identity: Identity {
                    methods: vec!["application_credential".to_string()],
                    application_credential: ApplicationCredential {
                        id: id.to_string(),
                        secret: secret.to_string(),
                    },
                },
            },
        }
    }
}

/// What the token answer says about the token; every field may be missing. The parts
/// nicplan does not read (user, project, roles, catalog...) stay opaque.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// `["application_credential"]`.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// The user.
    #[serde(default)]
    pub user: Option<serde_json::Value>,
    /// Audit IDs.
    #[serde(default)]
    pub audit_ids: Option<Vec<String>>,
    /// When it expires, RFC 3339.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// When it was issued, RFC 3339.
    #[serde(default)]
    pub issued_at: Option<String>,
    /// Its project.
    #[serde(default)]
    pub project: Option<serde_json::Value>,
    /// A domain token.
    #[serde(default)]
    pub is_domain: Option<bool>,
    /// Roles.
    #[serde(default)]
    pub roles: Option<Vec<serde_json::Value>>,
    /// The service catalog.
    #[serde(default)]
    pub catalog: Option<Vec<serde_json::Value>>,
    /// The credential it came from.
    #[serde(default)]
    pub application_credential: Option<serde_json::Value>,
}

/// The token answer body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenAnswer {
    /// The token's details.
    #[serde(default)]
    pub token: Token,
}
