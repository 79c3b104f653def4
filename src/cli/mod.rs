//! The command line: clap definitions and, per command, a thin `exec` that resolves the
//! flags into a workspace, calls the library, prints, and returns the exit code.
//!
//! Output rules: a command's result goes to stdout (`--format json`: nothing else
//! does), errors and progress go to stderr, colour only on a terminal and never with
//! `NO_COLOR`.

mod adopt;
mod apply;
mod inspect;
mod review;
mod workspace;

use std::io::{IsTerminal, Write};

use clap::{Parser, Subcommand, ValueEnum};

use crate::catalogue;
use crate::render;
use crate::spec;

pub use workspace::Error;
use workspace::FileArg;

/// Plan and apply KakaoCloud network interfaces as code.
#[derive(Debug, Parser)]
#[command(name = "nicplan", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Show every warning and advice note in text output, not only the first few of
    /// each kind
    #[arg(long, global = true)]
    verbose: bool,
    /// Never colour the output (as `NO_COLOR` does)
    #[arg(long, global = true)]
    no_color: bool,
}

/// `--verbose`, for every text report of the run.
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--no-color`, for every output of the run.
static NO_COLOR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a desired-state file against every rule that needs no cloud.
    Validate(ValidateArgs),
    /// Refresh, diff, order and check: show what apply would do.
    Plan(apply::PlanArgs),
    /// Plan, ask for confirmation, and run the steps.
    Apply(apply::ApplyArgs),
    /// Plan and apply the deletion of everything in state.
    Destroy(apply::DestroyArgs),
    /// Show a saved plan, or the current state.
    Show(inspect::ShowArgs),
    /// Read the backend, report drift, update the state.
    Refresh(inspect::RefreshArgs),
    /// Adopt an existing cloud object into state.
    Import(inspect::ImportArgs),
    /// State surgery: list, show, rm, mv.
    #[command(subcommand)]
    State(inspect::StateCommand),
    /// Release a stuck state lock.
    ForceUnlock(inspect::ForceUnlockArgs),
    /// Print the resource graph, or the plan's step graph, as Graphviz DOT or Mermaid.
    Graph(inspect::GraphArgs),
    /// The simulator: its REST API face and its operator controls.
    #[command(subcommand)]
    Sim(inspect::SimCommand),
    /// List the instance types and how many network interfaces each may hold.
    InstanceTypes(InstanceTypesArgs),
    /// The plan from one version of a file to another, offline (for pull requests).
    Diff(review::DiffArgs),
    /// Print the JSON Schema of the desired-state file, the plan, the validate output or
    /// the shown state.
    Schema(SchemaArgs),
    /// Print a shell completion script.
    Completions(review::CompletionsArgs),
}

#[derive(Debug, clap::Args)]
struct SchemaArgs {
    /// Which document.
    #[arg(value_enum, default_value_t = SchemaKind::File)]
    which: SchemaKind,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SchemaKind {
    /// The desired-state file (schemas/nicplan.schema.json).
    File,
    /// The plan of `--format json` (schemas/plan.schema.json).
    Plan,
    /// The output of `validate --format json` (schemas/validate.schema.json).
    Validate,
    /// The output of `show --format json` without a plan file (schemas/show.schema.json).
    Show,
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    #[command(flatten)]
    file: FileArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Text)]
    format: DiagnosticFormat,
    /// The backend whose capabilities apply (overrides `settings.backend.kind`).
    #[arg(long, env = "NICPLAN_BACKEND", value_enum)]
    backend: Option<workspace::Backend>,
}

#[derive(Debug, clap::Args)]
struct InstanceTypesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    format: TableFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DiagnosticFormat {
    /// Findings drawn under the lines they concern.
    Text,
    /// The validate document (schemas/validate.schema.json).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub workflow commands, one annotation per finding.
    Github,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TableFormat {
    Text,
    Json,
}

/// The command line with Terraform's spellings of long options made nicplan's:
/// `-auto-approve`, `-out=p.plan`, `-target=ADDR`, `-refresh=false`, `-destroy` and every other
/// long option of a nicplan command written with one dash become `--auto-approve`,
/// `--out=p.plan`... Short options (`-f`), values (`-` for standard input) and
/// everything after `--` are left alone.
pub fn terraform_spellings(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    fn longs(command: &clap::Command, into: &mut std::collections::BTreeSet<String>) {
        for arg in command.get_arguments() {
            if let Some(long) = arg.get_long() {
                into.insert(long.to_string());
            }
        }
        for sub in command.get_subcommands() {
            longs(sub, into);
        }
    }
    let mut known = std::collections::BTreeSet::new();
    longs(&Cli::command(), &mut known);
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for (i, arg) in args.into_iter().enumerate() {
        let rewritten = match arg.to_str() {
            Some("--") => {
                rest = true;
                None
            }
            Some(text) if i > 0 && !rest && !text.starts_with("--") => text
                .strip_prefix('-')
                .filter(|name| {
                    let name = name.split_once('=').map_or(*name, |(n, _)| n);
                    name.len() > 1 && known.contains(name)
                })
                .map(|long| std::ffi::OsString::from(format!("--{long}"))),
            _ => None,
        };
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

/// Runs the parsed command line and returns the process exit code. A file that breaks
/// a rule stops a command before it opens anything: its findings are printed, and the
/// command exits 1.
pub fn run(cli: Cli) -> Result<u8, Error> {
    VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
    NO_COLOR.store(cli.no_color, std::sync::atomic::Ordering::Relaxed);
    match dispatch(cli) {
        Err(Error::Invalid(validation)) => {
            print(&render::text::diagnostics(
                &validation.source,
                &validation.diagnostics,
                stdout_style(),
            ))?;
            Ok(1)
        }
        other => other,
    }
}

fn dispatch(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Validate(args) => exec_validate(args),
        Command::Plan(args) => apply::exec_plan(args),
        Command::Apply(args) => apply::exec_apply(args),
        Command::Destroy(args) => apply::exec_destroy(args),
        Command::Show(args) => inspect::exec_show(args),
        Command::Refresh(args) => inspect::exec_refresh(args),
        Command::Import(args) => inspect::exec_import(args),
        Command::State(command) => inspect::exec_state(command),
        Command::ForceUnlock(args) => inspect::exec_force_unlock(args),
        Command::Graph(args) => inspect::exec_graph(args),
        Command::Sim(command) => inspect::exec_sim(command),
        Command::InstanceTypes(args) => exec_instance_types(args),
        Command::Diff(args) => review::exec_diff(args),
        Command::Completions(args) => review::exec_completions(args),
        Command::Schema(args) => {
            let schema = match args.which {
                SchemaKind::File => spec::json_schema(),
                SchemaKind::Plan => render::plan_json::schema(),
                SchemaKind::Validate => render::plan_json::validate_schema(),
                SchemaKind::Show => render::state_view::schema(),
            };
            let schema =
                serde_json::to_string_pretty(&schema).map_err(|e| Error::Write(e.into()))?;
            print(&format!("{schema}\n"))?;
            Ok(0)
        }
    }
}

fn exec_validate(args: ValidateArgs) -> Result<u8, Error> {
    let validation = match args.file.validate(args.backend) {
        Ok(validation) => validation,
        // A machine-read format gets its document even when the file cannot be read,
        // with the reason as its one finding.
        Err(Error::Read { path, source }) if args.format != DiagnosticFormat::Text => {
            let finding = crate::diagnostic::Diagnostic::new(
                crate::diagnostic::Code::Schema,
                format!("cannot read {path}: {source}"),
            )
            .help("-f names the desired-state file (default nicplan.yaml; - reads standard input)");
            crate::validate::Validation {
                source: crate::source::Source::new(&path, ""),
                model: None,
                diagnostics: vec![finding],
            }
        }
        Err(err) => return Err(err),
    };
    let out = match args.format {
        DiagnosticFormat::Text => {
            render::text::diagnostics(&validation.source, &validation.diagnostics, stdout_style())
        }
        DiagnosticFormat::Json => {
            print_buffered(|out| {
                render::json::write_diagnostics(out, &validation.source, &validation.diagnostics)
            })?;
            return Ok(u8::from(validation.has_errors()));
        }
        DiagnosticFormat::Sarif => render::sarif::sarif(
            &[(&validation.source, validation.diagnostics.as_slice())],
            verbose(),
        ),
        DiagnosticFormat::Github => {
            render::github::github(&validation.source, &validation.diagnostics, verbose())
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

/// Whether colour is allowed at all: not with `--no-color`, nor when `NO_COLOR` is set
/// to a value that is not empty (no-color.org: an empty `NO_COLOR` does not count).
fn color_allowed() -> bool {
    color_allowed_by(
        NO_COLOR.load(std::sync::atomic::Ordering::Relaxed),
        std::env::var_os("NO_COLOR"),
    )
}

fn color_allowed_by(no_color_flag: bool, no_color_var: Option<std::ffi::OsString>) -> bool {
    !no_color_flag && no_color_var.is_none_or(|v| v.is_empty())
}

/// Colour only on a terminal, and only when allowed.
fn color_on_stdout() -> bool {
    color_allowed() && std::io::stdout().is_terminal()
}

fn color_on_stderr() -> bool {
    color_allowed() && std::io::stderr().is_terminal()
}

fn print(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Writes to stdout through a buffer as `write` produces the output, so that a large
/// plan is never held whole in memory.
fn print_buffered(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), Error> {
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    write(&mut buffered)?;
    buffered.flush()?;
    Ok(())
}

/// Text for an [`std::io::Write`], for renderers that write `fmt`: the first error is
/// kept and ends the writing.
struct Streamed<'w> {
    inner: &'w mut dyn Write,
    error: Option<std::io::Error>,
}

impl std::fmt::Write for Streamed<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.error.is_some() {
            return Err(std::fmt::Error);
        }
        self.inner.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            std::fmt::Error
        })
    }
}

/// Prints what `write` produces, as it produces it.
fn print_streamed(write: impl FnOnce(&mut Streamed<'_>)) -> Result<(), Error> {
    print_buffered(|inner| {
        let mut out = Streamed { inner, error: None };
        write(&mut out);
        out.error.map_or(Ok(()), Err)
    })
}

/// Whether `--verbose` asks for every finding one by one.
pub(crate) fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

/// The text style for output on stdout.
fn stdout_style() -> render::text::Style {
    render::text::Style {
        color: color_on_stdout(),
        width: 100,
        all: verbose(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<std::ffi::OsString> {
        list.iter().map(std::ffi::OsString::from).collect()
    }

    #[test]
    fn colour_is_off_with_the_flag_or_a_non_empty_no_color() {
        assert!(color_allowed_by(false, None));
        assert!(
            color_allowed_by(false, Some("".into())),
            "an empty NO_COLOR does not count"
        );
        assert!(!color_allowed_by(false, Some("1".into())));
        assert!(!color_allowed_by(true, None));
        let cli = Cli::try_parse_from(["nicplan", "validate", "--no-color"]).expect("parses");
        assert!(cli.no_color);
    }

    #[test]
    fn terraform_spellings_become_nicplan_ones() {
        assert_eq!(
            terraform_spellings(args(&[
                "nicplan",
                "plan",
                "-out=p.plan",
                "-target",
                "instance.web-1",
                "-refresh=false",
                "-detailed-exitcode",
                "-f",
                "-",
            ])),
            args(&[
                "nicplan",
                "plan",
                "--out=p.plan",
                "--target",
                "instance.web-1",
                "--refresh=false",
                "--detailed-exitcode",
                "-f",
                "-",
            ])
        );
        assert_eq!(
            terraform_spellings(args(&["nicplan", "apply", "-auto-approve", "--", "-out"])),
            args(&["nicplan", "apply", "--auto-approve", "--", "-out"])
        );
        // `terraform plan -destroy` is `nicplan plan --destroy`; the command `destroy` is
        // no option and stays.
        assert_eq!(
            terraform_spellings(args(&["nicplan", "plan", "-destroy", "-out", "d.plan"])),
            args(&["nicplan", "plan", "--destroy", "--out", "d.plan"])
        );
        assert_eq!(
            terraform_spellings(args(&["nicplan", "destroy", "-auto-approve"])),
            args(&["nicplan", "destroy", "--auto-approve"])
        );
        let cli = Cli::try_parse_from(terraform_spellings(args(&["nicplan", "plan", "-destroy"])))
            .expect("parses");
        assert!(matches!(cli.command, Command::Plan(_)));
        // Not an option of nicplan: left for clap to refuse.
        assert_eq!(
            terraform_spellings(args(&["nicplan", "plan", "-compact-warnings"])),
            args(&["nicplan", "plan", "-compact-warnings"])
        );
    }
}
