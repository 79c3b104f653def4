//! `diff`: the plan between two versions of a file, offline, for pull requests; and
//! `completions`.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::apply::{PlanFormat, print_rendered};
use super::workspace::{Backend, Error, FileArg};
use super::{print, print_streamed, stdout_style};
use crate::render;
use crate::validate::{self, Validation};

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Like `terraform plan`.
    Text,
    /// The plan document (schemas/plan.schema.json).
    Json,
    /// A pull-request comment.
    Markdown,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub workflow commands, one annotation per finding.
    Github,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The file as it was (taken as applied).
    #[arg(
        required_unless_present = "base",
        requires = "new",
        conflicts_with = "base"
    )]
    old: Option<PathBuf>,
    /// The file as it is to be.
    new: Option<PathBuf>,
    /// Compare the file with itself as it stood at this git revision (a file absent
    /// there counts as empty).
    #[arg(long, value_name = "GITREV")]
    base: Option<String>,
    #[command(flatten)]
    file: FileArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// The backend whose capabilities apply (overrides `settings.backend.kind`).
    #[arg(long, env = "NICPLAN_BACKEND", value_enum)]
    backend: Option<Backend>,
}

/// A file's bytes, read no further than one byte past the size limit of a file.
fn read(path: &Path) -> Result<Vec<u8>, Error> {
    super::workspace::read_file(path).map(|(_, bytes)| bytes)
}

/// The file's path inside its git repository, and the folder git runs in: the file's
/// own folder, so that an absolute path, `..` or a symbolic link names the same blob
/// as the path from the repository's root does.
fn in_repository(path: &Path) -> Result<(PathBuf, String), Error> {
    let full = std::fs::canonicalize(path)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    let folder = full
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let top = git(&folder, &["rev-parse", "--show-toplevel"])?;
    if !top.status.success() {
        return Err(Error::Usage(format!(
            "--base needs the file in a git repository: {}: {}",
            path.display(),
            String::from_utf8_lossy(&top.stderr).trim()
        )));
    }
    let top = String::from_utf8_lossy(&top.stdout).trim().to_string();
    let top = std::fs::canonicalize(&top).unwrap_or_else(|_| PathBuf::from(&top));
    let inside = full.strip_prefix(&top).map_err(|_| {
        Error::Usage(format!(
            "{} is not inside the git repository at {}",
            path.display(),
            top.display()
        ))
    })?;
    let inside: Vec<String> = inside
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok((folder, inside.join("/")))
}

fn git(folder: &Path, args: &[&str]) -> Result<std::process::Output, Error> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(args)
        .output()
        .map_err(|e| Error::Usage(format!("cannot run git: {e}")))
}

/// The file at a git revision, through `git show`, with the path it has in the
/// repository; `None` when the revision exists but the file does not.
fn git_show(rev: &str, path: &Path) -> Result<(String, Option<Vec<u8>>), Error> {
    let (folder, inside) = in_repository(path)?;
    let verify = git(
        &folder,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )?;
    if !verify.status.success() {
        return Err(Error::Usage(format!("`{rev}` is not a git revision here")));
    }
    let spec = format!("{rev}:{inside}");
    if !git(&folder, &["cat-file", "-e", &spec])?.status.success() {
        return Ok((inside, None));
    }
    // Read no further than one byte past the size limit: a huge blob at the revision
    // is refused by the loader like a huge file, without being held whole.
    let mut child = std::process::Command::new("git")
        .arg("-C")
        .arg(&folder)
        .args(["show", &spec])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot run git: {e}")))?;
    let mut bytes = Vec::new();
    let read = child.stdout.take().map(|out| {
        use std::io::Read;
        out.take(crate::spec::MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
    });
    if bytes.len() > crate::spec::MAX_FILE_BYTES {
        let _ = child.kill();
        let _ = child.wait();
        return Ok((inside, Some(bytes)));
    }
    let status = child
        .wait()
        .map_err(|e| Error::Usage(format!("cannot run git: {e}")))?;
    match read {
        Some(Err(e)) => Err(Error::Usage(format!("cannot read `git show {spec}`: {e}"))),
        _ if status.success() => Ok((inside, Some(bytes))),
        _ => Err(Error::Usage(format!("`git show {spec}` failed"))),
    }
}

pub fn exec_diff(args: DiffArgs) -> Result<u8, Error> {
    let backend = args.backend.map(Into::into);
    let (old, mut new): (Validation, Validation) = match (&args.old, &args.new, &args.base) {
        (Some(old), Some(new), None) => (
            validate::validate(&old.display().to_string(), read(old)?, backend),
            validate::validate(&new.display().to_string(), read(new)?, backend),
        ),
        (None, None, Some(rev)) => {
            let path = args.file.path();
            let name = path.display().to_string();
            let (inside, found) = git_show(rev, &path)?;
            let old_bytes = found.unwrap_or_else(|| {
                eprintln!(
                    "note: {inside} does not exist at {rev}; the diff compares the file with an empty one"
                );
                b"version: 1\n".to_vec()
            });
            (
                validate::validate(&format!("{name}@{rev}"), old_bytes, backend),
                validate::validate(&name, read(&path)?, backend),
            )
        }
        _ => {
            return Err(Error::Usage(
                "give OLD and NEW, or --base GITREV [-f FILE]".to_string(),
            ));
        }
    };
    let Some(old_model) = &old.model else {
        eprint!(
            "{}",
            render::text::diagnostics(&old.source, &old.diagnostics, stdout_style())
        );
        return Err(Error::Usage(format!(
            "the base file {} does not load, so there is nothing to compare with",
            old.source.name()
        )));
    };
    if old.has_errors() {
        eprintln!(
            "warning: the base file {} breaks rules itself; the diff takes it as applied anyway",
            old.source.name()
        );
    }
    let new_errors = new.has_errors();
    if !new_errors {
        // Without an error, the plan finds the file's own warnings and advice again.
        new.diagnostics = Vec::new();
    }
    let plan = match &new.model {
        Some(model) if !new_errors => crate::ops::diff(old_model, model),
        // The new file's own findings are the whole story.
        _ => crate::plan::Plan {
            changes: Vec::new(),
            steps: Vec::new(),
            diagnostics: new.diagnostics.clone(),
            capacity: Vec::new(),
            outside_checked: false,
        },
    };
    let markdown = args.format == DiffFormat::Markdown && !new_errors;
    let network = new
        .model
        .as_ref()
        .filter(|_| markdown)
        .map(|model| render::mermaid::Network {
            old: crate::resource::desired(old_model),
            new: crate::resource::desired(model),
        });
    match args.format {
        DiffFormat::Text => print_streamed(|out| {
            render::plan_text::write_ending(
                out,
                &plan,
                &new.source,
                stdout_style(),
                "No changes between the two files.\n",
            );
        })?,
        DiffFormat::Json => {
            print_rendered(PlanFormat::Json, &plan, &[], &new.source, None, None)?;
        }
        DiffFormat::Markdown => print_rendered(
            PlanFormat::Markdown,
            &plan,
            &[],
            &new.source,
            network.as_ref(),
            None,
        )?,
        DiffFormat::Sarif => print(&render::sarif::sarif(
            &[(&new.source, &plan.diagnostics)],
            super::verbose(),
        ))?,
        DiffFormat::Github => print(&render::github::github(
            &new.source,
            &plan.diagnostics,
            super::verbose(),
        ))?,
    }
    if plan.has_errors() {
        return Ok(1);
    }
    let changes = !plan.steps.is_empty() || !plan.summary().is_empty();
    Ok(if args.detailed_exitcode && changes {
        2
    } else {
        0
    })
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

pub fn exec_completions(args: CompletionsArgs) -> Result<u8, Error> {
    let mut command = <super::Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "nicplan", &mut out);
    print(&String::from_utf8_lossy(&out))?;
    Ok(0)
}
