//! The command line: clap definitions and, per command, a thin `exec` that resolves the
//! flags, calls the library, prints, and returns the exit code.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::catalogue;
use crate::render;
use crate::spec::{self, BackendKind};
use crate::validate;

/// Plan and apply KakaoCloud network interfaces as code.
#[derive(Debug, Parser)]
#[command(name = "nicplan", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a desired-state file against every rule that needs no cloud.
    Validate(ValidateArgs),
    /// List the instance types and how many network interfaces each may hold.
    InstanceTypes(InstanceTypesArgs),
    /// Print the JSON Schema of the desired-state file.
    Schema,
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// The desired-state file (`-` reads standard input).
    #[arg(short, long, default_value = "nicplan.yaml")]
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Text)]
    format: DiagnosticFormat,
    /// The backend whose capabilities apply (overrides `settings.backend.kind`).
    #[arg(long, env = "NICPLAN_BACKEND", value_enum)]
    backend: Option<Backend>,
}

#[derive(Debug, clap::Args)]
struct InstanceTypesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    format: TableFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DiagnosticFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TableFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Backend {
    Sim,
    Kakaocloud,
}

impl From<Backend> for BackendKind {
    fn from(backend: Backend) -> BackendKind {
        match backend {
            Backend::Sim => BackendKind::Sim,
            Backend::Kakaocloud => BackendKind::Kakaocloud,
        }
    }
}

/// A command's failure that is not a finding: a file that cannot be read, a pipe that
/// closed. Printed on stderr as `error: ...`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The desired-state file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Standard output failed.
    #[error("cannot write output: {0}")]
    Write(#[from] std::io::Error),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Validate(args) => exec_validate(args),
        Command::InstanceTypes(args) => exec_instance_types(args),
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&spec::json_schema())
                .map_err(|e| Error::Write(e.into()))?;
            print(&format!("{schema}\n"))?;
            Ok(0)
        }
    }
}

fn read_file(path: &PathBuf) -> Result<(String, Vec<u8>), Error> {
    let name = path.display().to_string();
    let read_error = |source| Error::Read {
        path: name.clone(),
        source,
    };
    if name == "-" {
        let mut bytes = Vec::new();
        // One byte past the limit is enough to know the input is too large.
        std::io::stdin()
            .take(spec::MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        return Ok(("<stdin>".to_string(), bytes));
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(spec::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok((name, bytes))
}

fn exec_validate(args: ValidateArgs) -> Result<u8, Error> {
    let (name, bytes) = read_file(&args.file)?;
    let validation = validate::validate(&name, bytes, args.backend.map(Into::into));
    let out = match args.format {
        DiagnosticFormat::Text => render::text::diagnostics(
            &validation.source,
            &validation.diagnostics,
            render::text::Style {
                color: color_on_stdout(),
                width: 100,
            },
        ),
        DiagnosticFormat::Json => {
            render::json::diagnostics(&validation.source, &validation.diagnostics)
        }
    };
    print(&out)?;
    Ok(u8::from(validation.has_errors()))
}

fn exec_instance_types(args: InstanceTypesArgs) -> Result<u8, Error> {
    let out = match args.format {
        TableFormat::Text => render_types_table(),
        TableFormat::Json => {
            let rows: Vec<serde_json::Value> = catalogue::CATALOGUE
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "name": t.name(),
                        "family": t.family,
                        "size": t.size,
                        "group": t.group.as_str(),
                        "max_network_interfaces": t.max_network_interfaces,
                        "bare_metal": t.is_bare_metal(),
                    })
                })
                .collect();
            let mut s =
                serde_json::to_string_pretty(&serde_json::json!({ "instance_types": rows }))
                    .map_err(|e| Error::Write(e.into()))?;
            s.push('\n');
            s
        }
    };
    print(&out)?;
    Ok(0)
}

fn render_types_table() -> String {
    let mut out = format!(
        "{:<16} {:<12} {:>8}  {}\n",
        "TYPE", "GROUP", "MAX NICS", "BARE METAL"
    );
    for t in catalogue::CATALOGUE {
        out.push_str(&format!(
            "{:<16} {:<12} {:>8}  {}\n",
            t.name(),
            t.group.as_str(),
            t.max_network_interfaces,
            if t.is_bare_metal() { "yes" } else { "no" }
        ));
    }
    out
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to anything.
fn color_on_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

fn print(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}
