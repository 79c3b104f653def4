//! Renderers: functions from typed results to text. Nothing here decides anything.

pub mod json;
pub mod plan_text;
pub mod text;
