//! KakaoCloud's REST wire, written down once: every request body and every answer of
//! the calls nicplan makes, call by call, as the platform's Go SDK models them
//! (`kc-sdk-go`, `services/{vpc,network,bcs,iam}/docs`). The `kakaocloud` backend
//! encodes requests and decodes answers with these types, and `sim serve` decodes
//! requests and encodes answers with the same ones, so the two cannot drift apart
//! without a test seeing it (`tests/fixtures/kakaocloud/` holds one answer per call).
//!
//! Conventions:
//! - A request or an answer about one object wraps it in one key (`{"vpc": {...}}`);
//!   a list answers `{"<plural>": [...], "pagination": {...}}`.
//! - The answer to a write is its own model, often thinner than a read's: the answers
//!   to a NIC create or update carry `security_groups` as ID strings and no
//!   `subnet_id`, a public IP's writes no `related_resource`, an instance create only
//!   its ID. Such types are named `...Written` / `...Created`.
//! - Fields the SDK marks required are plain types; decoding an answer without one
//!   fails with the call named. Optional and nullable fields are `Option`s, decoded
//!   when missing and encoded as `null`, so an encoded answer has exactly the model's
//!   fields. Unknown fields are ignored when decoding an answer (the platform may add
//!   some); a request model refuses them, so `sim serve` answers a misspelt or
//!   invented field with the 422 a strict platform would give, rather than ignoring
//!   it as the real one may, silently.
//! - Times are RFC 3339 strings; IDs, addresses and CIDR blocks are strings, parsed by
//!   the backend.

pub mod bcs;
pub mod iam;
pub mod network;
pub mod vpc;

use serde::{Deserialize, Serialize};

/// Wraps a model in the one key of its call; `strict` (request bodies) refuses any
/// other key when decoding, as `sim serve` decodes requests.
macro_rules! wrapped {
    (strict $(#[$doc:meta])* $name:ident, $key:literal, $inner:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The object.
            #[serde(rename = $key)]
            pub inner: $inner,
        }
    };
    ($(#[$doc:meta])* $name:ident, $key:literal, $inner:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// The object.
            #[serde(rename = $key)]
            pub inner: $inner,
        }
    };
}

/// A list answer: the items under their plural, and the page.
macro_rules! listed {
    ($(#[$doc:meta])* $name:ident, $key:literal, $item:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// The items of this page.
            #[serde(rename = $key)]
            pub items: Vec<$item>,
            /// Where the page stands in the whole list.
            pub pagination: $crate::cloud::wire::Pagination,
        }
    };
}

pub(crate) use {listed, wrapped};

/// The page of a list answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    /// Items in the whole list.
    #[serde(default)]
    pub total: Option<i64>,
    /// Where this page starts.
    #[serde(default)]
    pub offset: Option<i64>,
    /// Items per page asked for.
    #[serde(default)]
    pub limit: Option<i64>,
}

/// The body of an error answer (`4xx`, `5xx`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// An error: the platform's code and message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A code such as `NotFound`.
    pub code: String,
    /// What happened, in words.
    pub message: String,
}

/// The body of a `422`: a request body the service could not validate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationErrors {
    /// One entry per field it could not take.
    #[serde(default)]
    pub detail: Option<Vec<ValidationError>>,
}

/// One field a service could not validate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationError {
    /// Where: `["body", "network_interface", "subnet_id"]` (names and list indexes).
    pub loc: Vec<serde_json::Value>,
    /// Why, in words.
    pub msg: String,
    /// The kind of error, such as `value_error.missing`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ValidationError {
    /// `network_interface.subnet_id: field required` (the leading `body` left out).
    pub fn words(&self) -> String {
        let path: Vec<String> = self
            .loc
            .iter()
            .filter(|l| l.as_str() != Some("body"))
            .map(|l| match l {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        if path.is_empty() {
            self.msg.clone()
        } else {
            format!("{}: {}", path.join("."), self.msg)
        }
    }
}
