//! `plan`, `apply`, `destroy`: the commands that change the cloud or say how they would.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};

use super::workspace::{Common, Error, Workspace};
use super::{color_on_stderr, print, stdout_style};
use crate::address::Address;
use crate::apply::{self as executor, Event, Outcome};
use crate::ops::{self, Planned};
use crate::plan;
use crate::render;
use crate::render::context::Context;
use crate::validate::Validation;

/// How a plan is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Like `terraform plan`.
    Text,
    /// The plan document (schemas/plan.schema.json).
    Json,
    /// A pull-request comment.
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    common: Common,
    /// Save the plan to this file, for `nicplan apply FILE`.
    #[arg(long, value_name = "PLANFILE")]
    out: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Read the cloud before planning (`--refresh=false` plans from the state alone).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    refresh: bool,
    /// Plan only this address and what it needs; repeatable. With `--destroy`: destroy
    /// only this address and what depends on it.
    #[arg(long, value_name = "ADDR")]
    target: Vec<Address>,
    /// Plan the deletion of everything in state, as `nicplan destroy` would run it.
    #[arg(long)]
    destroy: bool,
    /// Replace this resource even when nothing forces it (an instance stuck in
    /// `error`); repeatable.
    #[arg(long, value_name = "ADDR", conflicts_with = "destroy")]
    replace: Vec<Address>,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`: applied only if the state has not moved on.
    plan_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    common: Common,
    /// Apply without asking for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// Steps run at once, at most; steps on one instance never run together.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallelism: u16,
    /// Read the cloud before planning.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    refresh: bool,
    /// Apply only this address and what it needs; repeatable.
    #[arg(long, value_name = "ADDR")]
    target: Vec<Address>,
    /// Replace this resource even when nothing forces it (an instance stuck in
    /// `error`); repeatable.
    #[arg(long, value_name = "ADDR")]
    replace: Vec<Address>,
}

#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    common: Common,
    /// Destroy without asking for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// Steps run at once, at most.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallelism: u16,
    /// Destroy only this address and what depends on it; repeatable.
    #[arg(long, value_name = "ADDR")]
    target: Vec<Address>,
}

/// Prints the file's diagnostics and returns true when it has errors.
fn refuse_invalid(validation: &Validation, format: PlanFormat) -> Result<bool, Error> {
    if !validation.has_errors() {
        return Ok(false);
    }
    match format {
        PlanFormat::Text => print(&render::text::diagnostics(
            &validation.source,
            &validation.diagnostics,
            stdout_style(),
        ))?,
        // The same document as any plan, with no step and the file's findings.
        _ => {
            let refused = plan::Plan {
                changes: Vec::new(),
                steps: Vec::new(),
                diagnostics: validation.diagnostics.clone(),
                capacity: Vec::new(),
                outside_checked: false,
            };
            print_rendered(format, &refused, &[], &validation.source, None, None)?;
        }
    }
    Ok(true)
}

/// What a plan made in `ws` shows first: its backend, its state, the file the state
/// was last applied from.
/// With `of_file`, a plan from another file than the state was last applied from is
/// warned of (a destroy deletes what the state holds, whatever the file).
fn context(ws: &Workspace, planned: &Planned, of_file: bool) -> Context {
    let state = ws.store.describe();
    let mut warnings = Vec::new();
    if of_file
        && let (Some(recorded), Some(file)) = (&planned.state.applied_from, ws.desired_file())
        && *recorded != file
    {
        warnings.push(format!(
            "this state was last applied from {recorded}, not {file}: the plan below would change what that file made"
        ));
    }
    for (lineage, count) in &planned.made_by_others {
        let objects = if *count == 1 {
            "1 object".to_string()
        } else {
            format!("{count} objects")
        };
        warnings.push(format!(
            "the state {state} does not exist yet, but the cloud holds {objects} made by another state (lineage {lineage}...): this new state would build a second copy beside them. If that state is the one meant, give it with --state"
        ));
    }
    Context {
        backend: ws.cloud.described(),
        state,
        serial: planned
            .stored_digest
            .is_some()
            .then_some(planned.state.serial),
        last_applied_from: planned.state.applied_from.clone(),
        warnings,
    }
}

fn warn_targets(targets: &[Address]) {
    if !targets.is_empty() {
        eprintln!(
            "warning: --target plans only part of the file; the rest may differ from the cloud. Use it to recover from a mistake, not routinely."
        );
    }
}

fn print_plan(planned: &Planned, ws: &Workspace, command: &str) -> Result<(), Error> {
    print_rendered(
        PlanFormat::Text,
        &planned.plan,
        &planned.drift,
        &ws.source(),
        None,
        Some(&context(ws, planned, command != "destroy")),
    )
}

/// Prints a plan in `format`, writing it out as it is rendered.
pub fn print_rendered(
    format: PlanFormat,
    plan: &plan::Plan,
    drift: &[crate::refresh::Drift],
    source: &crate::source::Source,
    network: Option<&render::mermaid::Network>,
    context: Option<&Context>,
) -> Result<(), Error> {
    match format {
        PlanFormat::Text => super::print_streamed(|out| {
            use std::fmt::Write as _;
            if let Some(context) = context {
                let _ = out.write_str(&render::plan_text::header(context, stdout_style()));
            }
            let _ = out.write_str(&render::plan_text::drift(drift));
            render::plan_text::write(out, plan, source, stdout_style());
        }),
        PlanFormat::Json => {
            super::print_buffered(|out| render::plan_json::write(out, plan, drift, source, context))
        }
        PlanFormat::Markdown => print(&render::plan_markdown::markdown(
            plan, drift, source, network, context,
        )),
    }
}

/// After a refused plan, removes an older plan file where `--out` would have written,
/// so that no one applies it thinking it is this plan.
fn drop_stale_plan(out: Option<&std::path::Path>) {
    let Some(path) = out else { return };
    if path.is_file() && std::fs::remove_file(path).is_ok() {
        eprintln!(
            "note: removed {}, an older plan: this one was refused and is not saved",
            path.display()
        );
    }
}

pub fn exec_plan(args: PlanArgs) -> Result<u8, Error> {
    let validation = args.common.file.validate(args.common.backend)?;
    if refuse_invalid(&validation, args.format)? {
        drop_stale_plan(args.out.as_deref());
        return Ok(1);
    }
    let ws = args.common.open_with(Some(validation))?;
    let Some(validation) = &ws.validation else {
        return Err(Error::Usage("no desired-state file".to_string()));
    };
    warn_targets(&args.target);
    let options = plan::Options {
        targets: args.target.clone(),
        destroy: args.destroy,
        replace: args.replace.clone(),
    };
    let model = ws.model();
    let planned = ops::plan(&model, &*ws.store, &*ws.cloud, args.refresh, &options)?;
    let network = (args.format == PlanFormat::Markdown)
        .then(|| render::mermaid::Network::between(&planned.state, &model));
    print_rendered(
        args.format,
        &planned.plan,
        &planned.drift,
        &validation.source,
        network.as_ref(),
        Some(&context(&ws, &planned, true)),
    )?;
    if planned.plan.has_errors() {
        drop_stale_plan(args.out.as_deref());
        return Ok(1);
    }
    if let Some(out) = &args.out {
        let body = ops::save(
            &planned,
            &validation.source,
            &options,
            args.common.backend.map(Into::into),
            &*ws.cloud,
        );
        write_plan_file(out, &crate::saved::encode(&body))?;
        if args.format == PlanFormat::Text {
            print(&format!(
                "\nSaved the plan to {}. Apply exactly these steps with `nicplan apply {}`.\n",
                out.display(),
                out.display()
            ))?;
        }
    }
    let changes = !planned.plan.steps.is_empty() || !planned.plan.summary().is_empty();
    Ok(if args.detailed_exitcode && changes {
        2
    } else {
        0
    })
}

/// Writes a plan file atomically: a temporary file beside it, then a rename.
fn write_plan_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let failed = |e: std::io::Error| Error::Usage(format!("cannot write {}: {e}", path.display()));
    let mut temp = tempfile::NamedTempFile::new_in(&folder).map_err(failed)?;
    temp.write_all(bytes).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

pub fn exec_apply(args: ApplyArgs) -> Result<u8, Error> {
    if let Some(plan_file) = &args.plan_file {
        return apply_saved(plan_file, &args);
    }
    let ws = args.common.open(true)?;
    warn_targets(&args.target);
    let options = plan::Options {
        targets: args.target.clone(),
        destroy: false,
        replace: args.replace.clone(),
    };
    run(
        &ws,
        "apply",
        args.refresh,
        &options,
        args.auto_approve,
        args.parallelism,
    )
}

/// The largest plan file read: the desired file's limit and the largest state, with
/// room for the plan itself.
const MAX_PLAN_BYTES: u64 = 512 * 1024 * 1024;

/// Reads, verifies and re-derives a plan file.
pub fn load_saved(path: &std::path::Path) -> Result<(crate::saved::Body, ops::Rederived), Error> {
    let name = path.display().to_string();
    let failed = |source| Error::Read {
        path: name.clone(),
        source,
    };
    // A plan file is a regular file of bounded size: never a device or a pipe that
    // could block or never end, never read past the limit.
    let file = std::fs::File::open(path).map_err(failed)?;
    let metadata = file.metadata().map_err(failed)?;
    if !metadata.is_file() {
        return Err(Error::Usage(format!(
            "{name} is not a plan file: not a regular file"
        )));
    }
    if metadata.len() > MAX_PLAN_BYTES {
        return Err(Error::Usage(format!(
            "{name} is larger than any plan file ({MAX_PLAN_BYTES} bytes); nothing was read from it"
        )));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_PLAN_BYTES + 1),
        &mut bytes,
    )
    .map_err(failed)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(Error::Usage(format!(
            "{name} is larger than any plan file ({MAX_PLAN_BYTES} bytes); nothing was read from it"
        )));
    }
    let body = crate::saved::decode(&name, &bytes).map_err(|e| Error::Usage(e.to_string()))?;
    let rederived = ops::rederive(&name, &body).map_err(|e| Error::Usage(e.to_string()))?;
    Ok((body, rederived))
}

fn apply_saved(path: &std::path::Path, args: &ApplyArgs) -> Result<u8, Error> {
    if args.common.file.given() || !args.target.is_empty() || !args.replace.is_empty() {
        return Err(Error::Usage(
            "a saved plan carries its own file, targets and replacements; give either -f/--target/--replace or a plan file"
                .to_string(),
        ));
    }
    let (body, rederived) = load_saved(path)?;
    let name = path.display();
    let Some(made_for) = body.cloud.clone() else {
        return Err(Error::Usage(format!(
            "{name} does not say which cloud it was made against (an older nicplan wrote it); nothing was applied. Make a new plan"
        )));
    };
    // The plan's backend unless the command line names one, which must then be the
    // same cloud.
    let mut common = args.common.clone();
    if common.backend.is_none() {
        common.backend = match body.backend.as_deref() {
            Some("kakaocloud") => Some(super::workspace::Backend::Kakaocloud),
            Some("sim") => Some(super::workspace::Backend::Sim),
            _ => None,
        };
    }
    let ws = common.open_with(Some(rederived.validation))?;
    let here = ws.cloud.target();
    if here != made_for {
        return Err(Error::Usage(format!(
            "{name} was made against {made_for}, but this command would apply it to {here}; nothing was applied. Apply it with the backend it was made for, or make a new plan"
        )));
    }
    let _lock = ws.lock("apply")?;
    let interrupts = Interrupts::register()?;
    let current = ws.store.read()?;
    match &current {
        Some(state) if state.lineage != body.lineage && body.serial > 0 => {
            return Err(Error::Usage(format!(
                "{name} was made for another state (lineage {}), not {} (lineage {}); nothing was applied",
                body.lineage,
                ws.store.describe(),
                state.lineage
            )));
        }
        Some(state) if state.serial != body.serial || state.lineage != body.lineage => {
            return Err(Error::Usage(format!(
                "{name} is stale: the state {} moved on since it was made (serial {} then, {} now); nothing was applied. Make a new plan",
                ws.store.describe(),
                body.serial,
                state.serial
            )));
        }
        None if body.serial > 0 => {
            return Err(Error::Usage(format!(
                "{name} was made for state {} at serial {}, which no longer exists; nothing was applied",
                body.lineage, body.serial
            )));
        }
        _ => {}
    }
    // The same serial is not enough: the state must be the very one the plan was made
    // from, byte for byte as a document (an edited state file keeps its serial).
    let digest = current.as_ref().map(ops::state_digest);
    if digest != body.state_digest {
        return Err(Error::Usage(format!(
            "{name} was made from another state than {} holds now (its digest differs); nothing was applied. Make a new plan",
            ws.store.describe()
        )));
    }
    // The steps come from the current state and cloud, never from the copy in the plan
    // file: planned again from them, they must be the reviewed ones.
    let planned = ops::plan(
        &ws.model(),
        &*ws.store,
        &*ws.cloud,
        true,
        &rederived.options,
    )?;
    if let Some(why) = differs(&rederived.planned, &planned) {
        return Err(Error::Usage(format!(
            "{name} no longer holds: {why}; nothing was applied. Make a new plan"
        )));
    }
    print_rendered(
        PlanFormat::Text,
        &planned.plan,
        &planned.drift,
        &ws.source(),
        None,
        Some(&context(&ws, &planned, true)),
    )?;
    if planned.plan.has_errors() {
        return Ok(1);
    }
    if planned.plan.steps.is_empty() {
        return Ok(0);
    }
    if interrupts.seen() {
        return Ok(cancelled("apply"));
    }
    let mut planned = planned;
    record_file(&ws, &mut planned);
    // A saved plan was reviewed already: applying it is the approval.
    execute(&ws, planned, "apply", args.parallelism, &interrupts)
}

/// How a plan made again now differs from the saved one, in words; `None` when they
/// are the same steps with the same findings (statuses aside, which change by
/// themselves while the platform works).
fn differs(saved: &Planned, now: &Planned) -> Option<String> {
    let steps = |p: &Planned| {
        let mut steps = p.plan.steps.clone();
        for step in &mut steps {
            for attributes in [&mut step.before, &mut step.after].into_iter().flatten() {
                if let crate::resource::Attributes::Instance(i) = attributes.as_ref()
                    && i.status.is_some()
                {
                    let mut i = i.clone();
                    i.status = None;
                    *attributes = std::sync::Arc::new(crate::resource::Attributes::Instance(i));
                }
            }
        }
        steps
    };
    let (was, is) = (steps(saved), steps(now));
    if let Some((a, b)) = was.iter().zip(&is).find(|(a, b)| a != b) {
        return Some(format!(
            "the state or the cloud changed since it was made: step {} was `{}` and would now be `{}`",
            a.index,
            a.describe(),
            b.describe()
        ));
    }
    if was.len() != is.len() {
        return Some(format!(
            "the state or the cloud changed since it was made: it had {} and would now have {}",
            crate::render::counted(was.len(), "step", "steps"),
            is.len()
        ));
    }
    let errors = |p: &Planned| {
        p.plan
            .diagnostics
            .iter()
            .filter(|d| d.severity() == crate::Severity::Error)
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
    };
    let (was, is) = (errors(saved), errors(now));
    is.iter()
        .find(|m| !was.contains(m))
        .map(|new| format!("planned again against the cloud now, it breaks a rule: {new}"))
}

pub fn exec_destroy(args: DestroyArgs) -> Result<u8, Error> {
    let ws = args.common.open(false)?;
    let options = plan::Options {
        targets: args.target.clone(),
        destroy: true,
        replace: Vec::new(),
    };
    run(
        &ws,
        "destroy",
        true,
        &options,
        args.auto_approve,
        args.parallelism,
    )
}

fn run(
    ws: &Workspace,
    command: &str,
    refresh: bool,
    options: &plan::Options,
    auto_approve: bool,
    parallelism: u16,
) -> Result<u8, Error> {
    let lock = ws.lock(command)?;
    // From here to the end an interrupt lets go of the lock on the way out: before the
    // first step it cancels the command, during the apply it stops it cleanly.
    let interrupts = Interrupts::register()?;
    let mut planned = ops::plan(&ws.model(), &*ws.store, &*ws.cloud, refresh, options)?;
    if interrupts.seen() {
        return Ok(cancelled(command));
    }
    print_plan(&planned, ws, command)?;
    if planned.plan.has_errors() {
        return Ok(1);
    }
    // An apply records its file, with its first write; a destroy keeps the file that
    // made what it deletes.
    let file_moved = command == "apply" && record_file(ws, &mut planned);
    if planned.plan.steps.is_empty() {
        // Record what the refresh found (drift, statuses), as `nicplan refresh` would,
        // and the file applied, which the next plan compares with its own.
        if planned.refreshed_differs || (file_moved && planned.stored_digest.is_some()) {
            let mut state = planned.state;
            ws.store.write(&mut state)?;
        }
        return Ok(0);
    }
    if !auto_approve {
        let question = prompt(command, &ws.cloud.described(), !options.targets.is_empty());
        match confirm(command, &question, &interrupts)? {
            Answer::Yes => {}
            Answer::No => {
                eprintln!("{command} cancelled; nothing was changed.");
                return Ok(1);
            }
            Answer::Interrupted => return Ok(cancelled(command)),
        }
    }
    let code = execute(ws, planned, command, parallelism, &interrupts);
    drop(lock);
    code
}

/// Sets the file `ws` applies as the one the state was last applied from; whether that
/// changes what the state records.
fn record_file(ws: &Workspace, planned: &mut Planned) -> bool {
    match ws.desired_file() {
        Some(file) if planned.state.applied_from.as_deref() != Some(file.as_str()) => {
            planned.state.applied_from = Some(file);
            true
        }
        _ => false,
    }
}

/// Says that an interrupt cancelled `command` before its first step; the exit code.
fn cancelled(command: &str) -> u8 {
    eprintln!("\n{command} cancelled by an interrupt; nothing was changed.");
    1
}

/// SIGINT and SIGTERM while a command holds the state: the first sets a flag the
/// command watches, a second ends the process at once (exit 130; the state is replaced
/// atomically, so it stays readable, and the OS lock dies with the process).
struct Interrupts {
    flag: Arc<AtomicBool>,
    handlers: Vec<signal_hook::SigId>,
}

impl Interrupts {
    fn register() -> Result<Interrupts, Error> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut handlers = Vec::new();
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            handlers.push(signal_hook::flag::register_conditional_shutdown(
                signal,
                130,
                Arc::clone(&flag),
            )?);
            handlers.push(signal_hook::flag::register(signal, Arc::clone(&flag))?);
        }
        Ok(Interrupts { flag, handlers })
    }

    fn seen(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        for handler in self.handlers.drain(..) {
            signal_hook::low_level::unregister(handler);
        }
    }
}

fn execute(
    ws: &Workspace,
    planned: Planned,
    command: &str,
    parallelism: u16,
    interrupts: &Interrupts,
) -> Result<u8, Error> {
    let total = planned.plan.steps.len();
    let progress = Arc::new(Progress::new(total as u64));
    let on_event = |event: Event<'_>| progress.event(&event, total);
    let notices = Arc::clone(&progress);
    ws.cloud
        .set_notices(Arc::new(move |line: &str| notices.line(line)));
    let executor_options = executor::Options {
        parallelism: usize::from(parallelism),
        timeouts: executor::Timeouts::from_settings(&ws.model().settings.timeouts),
        interrupt: Some(Arc::clone(&interrupts.flag)),
        ..executor::Options::default()
    };
    let steps = planned.plan.steps.clone();
    let (_, outcome) = ops::apply(
        planned,
        &*ws.store,
        &*ws.cloud,
        &executor_options,
        &on_event,
    )?;
    progress.finish();
    report(&outcome, &steps, command, &ws.cloud.described())
}

/// The question before `command` changes `cloud`: a destroy says what it destroys (all
/// of the state, or the targets and what depends on them) and that there is no undo,
/// as Terraform's does.
fn prompt(command: &str, cloud: &str, targeted: bool) -> String {
    if command == "destroy" && targeted {
        format!(
            "Do you really want to destroy the targeted resources, and what depends on them, in {cloud}, as shown above? There is no undo. Only 'yes' will be accepted: "
        )
    } else if command == "destroy" {
        format!(
            "Do you really want to destroy every resource of this state in {cloud}, as shown above? There is no undo. Only 'yes' will be accepted: "
        )
    } else {
        format!("Do you want to perform these actions in {cloud}? Only 'yes' will be accepted: ")
    }
}

/// What the prompt got.
enum Answer {
    Yes,
    No,
    Interrupted,
}

/// Asks for `yes`. The answer is read on a thread of its own, so that an interrupt at
/// the prompt is seen at once and the command lets go of the state's lock.
fn confirm(command: &str, question: &str, interrupts: &Interrupts) -> Result<Answer, Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "{command} needs --auto-approve when standard input is not a terminal; nothing was changed"
        )));
    }
    eprint!("{question}");
    std::io::stderr().flush()?;
    let (send, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line).map(|_| line);
        let _ = send.send(read);
    });
    loop {
        if interrupts.seen() {
            return Ok(Answer::Interrupted);
        }
        match answer.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(line) => {
                return Ok(if line?.trim() == "yes" {
                    Answer::Yes
                } else {
                    Answer::No
                });
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(Answer::No),
        }
    }
}

/// Progress on stderr: a bar on a terminal, plain lines otherwise. Each line opens with
/// `[n/N]`: n of the plan's N steps have settled (done, failed or not run).
struct Progress {
    bar: Option<ProgressBar>,
    lines: Mutex<()>,
    settled: AtomicUsize,
    finished: AtomicBool,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let template = if color_on_stderr() {
                "{bar:30.green} {pos}/{len} {msg}"
            } else {
                "{bar:30} {pos}/{len} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            lines: Mutex::new(()),
            settled: AtomicUsize::new(0),
            finished: AtomicBool::new(false),
        }
    }

    /// One line above the bar, or on its own once the bar is gone or without one.
    fn line(&self, text: &str) {
        let _guard = self.lines.lock();
        self.print(text);
    }

    fn print(&self, text: &str) {
        match &self.bar {
            Some(bar) if !self.finished.load(Ordering::SeqCst) => bar.println(text),
            _ => eprintln!("{text}"),
        }
    }

    /// Counts one more step settled and prints its line, made from the count: under one
    /// lock, so that the counts of a log go up line by line.
    fn settle(&self, text: impl FnOnce(usize) -> String) {
        let _guard = self.lines.lock();
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        let settled = self.settled.fetch_add(1, Ordering::SeqCst) + 1;
        self.print(&text(settled));
    }

    fn event(&self, event: &Event<'_>, total: usize) {
        match event {
            Event::Started(step) => {
                if let Some(bar) = &self.bar {
                    bar.set_message(step.describe());
                }
            }
            Event::Waiting(step, what, elapsed) => {
                let secs = elapsed.as_secs();
                let when = if secs == 0 {
                    "waiting".to_string()
                } else {
                    format!("still waiting after {secs} s")
                };
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{}: {when} for {what}", step.describe()));
                }
                let settled = self.settled.load(Ordering::SeqCst);
                self.line(&format!(
                    "[{settled}/{total}] {}: {when} for {what}",
                    step.describe()
                ));
            }
            Event::Done(step, detail) => self.settle(|settled| {
                format!("[{settled}/{total}] {}: done ({detail})", step.describe())
            }),
            Event::Failed(step, error) => self.settle(|settled| {
                format!(
                    "[{settled}/{total}] {} (step {}): FAILED: {error}",
                    step.describe(),
                    step.index
                )
            }),
            Event::Skipped(step, dep) => self.settle(|settled| {
                format!(
                    "[{settled}/{total}] {}: not run, step {dep} failed",
                    step.describe()
                )
            }),
            Event::Interrupted(running) => {
                self.line(&format!(
                    "Interrupted: no new step starts; waiting for the {running} in flight to finish and writing the state (interrupt again to stop at once)."
                ));
            }
        }
    }

    fn finish(&self) {
        let _guard = self.lines.lock();
        self.finished.store(true, Ordering::SeqCst);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn report(
    outcome: &Outcome,
    steps: &[crate::plan::Step],
    command: &str,
    cloud: &str,
) -> Result<u8, Error> {
    let describe = |i: usize| {
        crate::plan::step_at(steps, i)
            .map(|s| s.describe())
            .unwrap_or_default()
    };
    if outcome.succeeded() {
        let done = outcome.done.len();
        print(&format!(
            "{}{} complete: {} done on {cloud}.\n",
            command[..1].to_uppercase(),
            &command[1..],
            crate::render::counted(done, "step", "steps")
        ))?;
        return Ok(0);
    }
    let mut text = format!(
        "{} {}: {} of {} done; the state records every completed step.\n",
        command,
        if outcome.interrupted {
            "interrupted"
        } else {
            "stopped"
        },
        outcome.done.len(),
        crate::render::counted(steps.len(), "step", "steps")
    );
    for (i, error) in &outcome.failed {
        text.push_str(&format!("  failed:  {i}. {}: {error}\n", describe(*i)));
    }
    if let Some(error) = outcome
        .state_error
        .as_ref()
        .filter(|_| outcome.failed.is_empty())
    {
        text.push_str(&format!("  state:   {error}\n"));
    }
    for (i, dep) in &outcome.skipped {
        let why = if *dep == 0 {
            "stopped".to_string()
        } else {
            format!("waits for step {dep}")
        };
        text.push_str(&format!("  not run: {i}. {} ({why})\n", describe(*i)));
    }
    text.push_str(if outcome.interrupted {
        "Run the command again to finish: it plans from what was done.\n"
    } else {
        "Fix the cause and run the command again: it plans from what was done.\n"
    });
    eprint!("{text}");
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::prompt;

    #[test]
    fn the_destroy_prompt_says_there_is_no_undo_and_both_name_the_cloud() {
        let cloud = "the embedded simulator (.nicplan/sim.json), which touches nothing real";
        let destroy = prompt("destroy", cloud, false);
        assert!(destroy.contains("destroy every resource"), "{destroy}");
        assert!(destroy.contains("There is no undo."), "{destroy}");
        assert!(destroy.contains(cloud), "{destroy}");
        let targeted = prompt("destroy", cloud, true);
        assert!(targeted.contains("the targeted resources"), "{targeted}");
        assert!(targeted.contains("There is no undo."), "{targeted}");
        let apply = prompt("apply", "kakaocloud https://example.test", false);
        assert!(!apply.contains("undo"), "{apply}");
        assert!(
            apply.contains("in kakaocloud https://example.test?"),
            "{apply}"
        );
        assert!(apply.ends_with("Only 'yes' will be accepted: "));
    }
}
