//! `validate`: load a file, build its model, run every offline rule, and hand back the
//! diagnostics in file order. Pure: the caller reads the file and renders the result.

use crate::diagnostic::{self, Diagnostic, Severity};
use crate::model::{self, Model};
use crate::rules;
use crate::source::Source;
use crate::spec::{self, BackendKind};

/// The outcome of validating one file.
#[derive(Debug)]
pub struct Validation {
    /// The file as read (lossily decoded when it was not UTF-8).
    pub source: Source,
    /// The model, when the file parsed.
    pub model: Option<Model>,
    /// Every finding, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Validation {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity() == Severity::Error)
    }
}

/// Validates the bytes of a file named `name`. `backend` overrides the file's
/// `settings.backend.kind`, as the `--backend` flag does.
pub fn validate(name: &str, bytes: Vec<u8>, backend: Option<BackendKind>) -> Validation {
    let source = match spec::load::decode(name, bytes) {
        Ok(source) => source,
        Err(failure) => {
            let (source, diagnostic) = *failure;
            return Validation {
                source,
                model: None,
                diagnostics: vec![diagnostic],
            };
        }
    };
    let (model, mut diagnostics) = match model::build(&source, backend) {
        Ok(built) => built,
        Err(diagnostics) => {
            return Validation {
                source,
                model: None,
                diagnostics,
            };
        }
    };
    diagnostics.extend(rules::check(&model));
    diagnostic::sort(&mut diagnostics);
    Validation {
        source,
        model: Some(model),
        diagnostics,
    }
}
