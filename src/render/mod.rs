//! Renderers: functions from typed results to text. Nothing here decides anything.

pub mod github;
pub mod json;
pub mod plan_json;
pub mod plan_markdown;
pub mod plan_text;
pub mod sarif;
pub mod text;
