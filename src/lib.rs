//! nicplan: a declarative planner for KakaoCloud VPC network interfaces.
//!
//! The data flows one way: a file is read into `spec` (the YAML as written, with spans),
//! resolved into a `model`, checked by the `rules`, and rendered by `render`. The
//! instance `catalogue` holds the platform's NIC limits.

pub mod address;
pub mod adopt;
pub mod apply;
pub mod catalogue;
pub mod cli;
pub mod cloud;
pub mod diagnostic;
pub mod ident;
pub mod model;
pub mod ops;
pub mod plan;
pub mod refresh;
pub mod render;
pub mod resource;
pub mod rules;
pub mod saved;
pub mod source;
pub mod spec;
pub mod state;
pub mod suggest;
pub mod validate;

pub use diagnostic::{Code, Diagnostic, Severity};
pub use ident::Ident;
pub use source::{Source, Span};
pub use validate::{Validation, validate};
