//! The floor under `nicplan validate`: reads a YAML file and parses it into a generic
//! value, nothing more, so `scripts/bench` can time it as a whole process beside the
//! commands.
//!
//! ```sh
//! cargo run --release --example parse_floor -- serde_yaml FILE
//! cargo run --release --example parse_floor -- saphyr FILE
//! ```
//!
//! `serde_yaml` parses into `serde_yaml::Value`, the reference the targets are stated
//! against; `saphyr` parses with serde-saphyr, the parser nicplan reads files with, into
//! a `serde_json::Value`, with a budget grown with the input as nicplan's loader grows
//! it (serde-saphyr's default budget refuses large files). It prints only the number of
//! top-level keys.

use serde_saphyr::{Budget, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [parser, path] = args.as_slice() else {
        eprintln!("usage: parse_floor serde_yaml|saphyr FILE");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {path}: {e}");
            std::process::exit(1);
        }
    };
    let keys = match parser.as_str() {
        "serde_yaml" => match serde_yaml::from_str::<serde_yaml::Value>(&text) {
            Ok(value) => value.as_mapping().map_or(0, serde_yaml::Mapping::len),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        },
        "saphyr" => {
            let mut budget = Budget::default();
            budget.max_nodes = budget.max_nodes.max(text.len() / 2 + 1);
            budget.max_events = budget.max_events.max(text.len() + 1);
            let mut options = Options::default();
            options.budget = Some(budget);
            options.with_snippet = false;
            match serde_saphyr::from_str_with_options::<serde_json::Value>(&text, options) {
                Ok(value) => value.as_object().map_or(0, serde_json::Map::len),
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            }
        }
        other => {
            eprintln!("error: unknown parser {other}; use serde_yaml or saphyr");
            std::process::exit(2);
        }
    };
    println!("{keys}");
}
