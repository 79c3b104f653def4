//! Saved plans (`plan --out FILE`, `apply FILE`, `show FILE`): everything needed to
//! re-derive the plan exactly, sealed with a checksum.
//!
//! A plan file is one header line, `nicplan-plan 1 sha256:HEX`, then a JSON body: the
//! desired file's text and hash, the options, the refreshed state the plan starts from
//! (with the state's lineage and serial), the drift, and the plan document itself. The
//! checksum covers the body's exact bytes, so any alteration is refused. Applying
//! re-derives the plan from the body with the pure planner and refuses unless it is the
//! same plan, so exactly the reviewed steps run.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::render::plan_json::JsonDrift;

/// The first word of every plan file.
pub const MAGIC: &str = "nicplan-plan";
/// The plan file format this nicplan writes.
pub const VERSION: u32 = 1;

/// The desired file a plan was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredFile {
    /// Its name as given.
    pub name: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its text.
    pub text: String,
}

/// The body of a plan file. The state and the plan document inside it are kept as the
/// JSON text they are, not as generic values (which take ten times their text): a plan
/// of many thousand instances is read in about the room of its file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// The plan document format ("1").
    pub format_version: String,
    /// The nicplan that wrote it.
    pub nicplan_version: String,
    /// The lineage of the state the plan starts from.
    pub lineage: String,
    /// The serial of the stored state when the plan was made.
    pub serial: u64,
    /// The digest of the stored state the plan was made from
    /// ([`crate::ops::state_digest`]); none when there was no state.
    #[serde(default)]
    pub state_digest: Option<String>,
    /// The desired file.
    pub desired: DesiredFile,
    /// `--target` addresses.
    pub targets: Vec<String>,
    /// Whether it destroys everything (or, with targets, the targets and what depends
    /// on them).
    pub destroy: bool,
    /// `--replace` addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<String>,
    /// The backend named by flag or environment when the plan was made.
    pub backend: Option<String>,
    /// The cloud the plan was made against ([`crate::cloud::Cloud::target`]): it is
    /// applied to that one only.
    #[serde(default)]
    pub cloud: Option<String>,
    /// The refreshed state the plan starts from, as a state document.
    pub state: Box<RawValue>,
    /// What the refresh saw in the cloud outside that state.
    #[serde(default)]
    pub outside: crate::plan::Outside,
    /// What the refresh found changed outside nicplan.
    pub drift: Vec<JsonDrift>,
    /// The plan document, as `--format json` prints it.
    pub plan: Box<RawValue>,
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.format_version == other.format_version
            && self.nicplan_version == other.nicplan_version
            && self.lineage == other.lineage
            && self.serial == other.serial
            && self.state_digest == other.state_digest
            && self.desired == other.desired
            && self.targets == other.targets
            && self.destroy == other.destroy
            && self.replace == other.replace
            && self.backend == other.backend
            && self.cloud == other.cloud
            && same_json(self.state.get(), other.state.get())
            && self.outside == other.outside
            && self.drift == other.drift
            && same_json(self.plan.get(), other.plan.get())
    }
}

/// Whether two texts of well-formed JSON are the same document written with other
/// whitespace: compared byte for byte outside strings' insignificant space, without
/// reading either into values.
pub fn same_json(a: &str, b: &str) -> bool {
    /// The bytes of a JSON text that carry meaning: everything but the whitespace
    /// between tokens.
    fn significant(text: &str) -> impl Iterator<Item = u8> + '_ {
        let mut in_string = false;
        let mut escaped = false;
        text.bytes().filter(move |&b| {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                true
            } else if b == b'"' {
                in_string = true;
                true
            } else {
                !matches!(b, b' ' | b'\n' | b'\r' | b'\t')
            }
        })
    }
    significant(a).eq(significant(b))
}

/// Why a plan file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    /// Not a nicplan plan file at all.
    #[error("{path} is not a nicplan plan file (it does not start with `{MAGIC}`)")]
    NotAPlan {
        /// The file.
        path: String,
    },
    /// Written by another format version.
    #[error("{path} is a plan file of format {found}; this nicplan reads format {VERSION}")]
    Version {
        /// The file.
        path: String,
        /// The version found.
        found: String,
    },
    /// The bytes changed since the plan was written.
    #[error(
        "{path} was altered after it was written (its checksum does not match); nothing was applied. Make a new plan"
    )]
    Altered {
        /// The file.
        path: String,
    },
    /// The body does not parse.
    #[error("{path} is damaged: {reason}; nothing was applied")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// SHA-256 of bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Encodes a body into the bytes of a plan file.
pub fn encode(body: &Body) -> Vec<u8> {
    let mut json = serde_json::to_string_pretty(body).unwrap_or_default();
    json.push('\n');
    let mut out =
        format!("{MAGIC} {VERSION} sha256:{}\n", sha256_hex(json.as_bytes())).into_bytes();
    out.extend_from_slice(json.as_bytes());
    out
}

/// Decodes and verifies the bytes of a plan file.
pub fn decode(path: &str, bytes: &[u8]) -> Result<Body, SavedError> {
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| SavedError::NotAPlan {
            path: path.to_string(),
        })?;
    let header = std::str::from_utf8(&bytes[..newline]).map_err(|_| SavedError::NotAPlan {
        path: path.to_string(),
    })?;
    let mut words = header.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(SavedError::NotAPlan {
            path: path.to_string(),
        });
    }
    let version = words.next().unwrap_or_default();
    if version != VERSION.to_string() {
        return Err(SavedError::Version {
            path: path.to_string(),
            found: version.to_string(),
        });
    }
    let expected = words
        .next()
        .and_then(|w| w.strip_prefix("sha256:"))
        .ok_or_else(|| SavedError::Altered {
            path: path.to_string(),
        })?;
    let body_bytes = &bytes[newline + 1..];
    if sha256_hex(body_bytes) != expected || words.next().is_some() {
        return Err(SavedError::Altered {
            path: path.to_string(),
        });
    }
    serde_json::from_slice(body_bytes).map_err(|e| SavedError::Damaged {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Body {
        Body {
            format_version: "1".into(),
            nicplan_version: "0.1.0".into(),
            lineage: "l".into(),
            serial: 3,
            state_digest: None,
            desired: DesiredFile {
                name: "nicplan.yaml".into(),
                sha256: sha256_hex(b"version: 1\n"),
                text: "version: 1\n".into(),
            },
            targets: Vec::new(),
            destroy: false,
            replace: Vec::new(),
            backend: None,
            cloud: Some("sim (in memory)".into()),
            state: RawValue::from_string("{}".into()).expect("JSON"),
            outside: crate::plan::Outside::unknown(),
            drift: Vec::new(),
            plan: RawValue::from_string(r#"{"steps": []}"#.into()).expect("JSON"),
        }
    }

    #[test]
    fn a_plan_file_round_trips() {
        let bytes = encode(&body());
        assert!(bytes.starts_with(b"nicplan-plan 1 sha256:"));
        assert_eq!(decode("p", &bytes).expect("decodes"), body());
    }

    #[test]
    fn any_altered_byte_is_refused() {
        let bytes = encode(&body());
        for i in [30usize, 80, bytes.len() - 2] {
            let mut altered = bytes.clone();
            altered[i] ^= 1;
            assert!(decode("p", &altered).is_err(), "byte {i}");
        }
        let mut spaced = bytes.clone();
        spaced.push(b' ');
        assert!(matches!(
            decode("p", &spaced),
            Err(SavedError::Altered { .. })
        ));
        assert!(matches!(
            decode("p", b"{}"),
            Err(SavedError::NotAPlan { .. })
        ));
        assert!(matches!(
            decode("p", b"nicplan-plan 9 sha256:00\n{}"),
            Err(SavedError::Version { .. })
        ));
    }

    #[test]
    fn json_texts_compare_by_what_they_say() {
        assert!(same_json(r#"{ "a": [1, 2] }"#, r#"{"a":[1,2]}"#));
        assert!(same_json(
            "{\n  \"a b\": \"x\\\" y\"\n}",
            r#"{"a b":"x\" y"}"#
        ));
        assert!(!same_json(r#"{"a b":1}"#, r#"{"ab":1}"#));
        assert!(!same_json(r#"{"a":1}"#, r#"{"a":12}"#));
        assert!(!same_json(r#"{"a":"x y"}"#, r#"{"a":"xy"}"#));
    }

    #[test]
    fn sha256_matches_a_known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
