//! `import --all` and `import --from-terraform`: a whole network adopted into a new
//! desired-state file and the state, so that the next plan is empty. Nothing in the
//! cloud is changed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::inspect::ImportArgs;
use super::print;
use super::workspace::{DEFAULT_STATE, Error};
use crate::address::Kind;
use crate::adopt::{self, Origin};
use crate::diagnostic::Severity;
use crate::ops;
use crate::refresh::Names;

/// Runs `import --all` or `import --from-terraform`.
pub fn exec(args: ImportArgs) -> Result<u8, Error> {
    let Some(path) = args.write.clone() else {
        return Err(Error::Usage(
            "--all and --from-terraform write a file: name it with --write FILE".to_string(),
        ));
    };
    if args.common.file.given() {
        return Err(Error::Usage(
            "-f names a file to read; import --all and --from-terraform write one, named with --write".to_string(),
        ));
    }
    if path.exists() && !args.force {
        return Err(Error::Usage(format!(
            "{} exists; the import writes a whole new file: name another with --write, or add --force to overwrite it",
            path.display()
        )));
    }
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "{} is a directory; --write names the file to write",
            path.display()
        )));
    }
    let ws = args.common.open_with(None)?;
    let _lock = ws.lock("import")?;
    let mut state = ops::read_state(&*ws.store)?;
    let cloud_error = |e: crate::cloud::CloudError| Error::Cloud {
        backend: ws.cloud.name(),
        message: e.to_string(),
    };
    let (inventory, mut notes, from) = match &args.from_terraform {
        Some(tf) => {
            let text = read_limited(tf)?;
            let converted = crate::adopt::terraform::inventory(&text)
                .map_err(|e| Error::Usage(format!("{}: {e}", tf.display())))?;
            (
                converted.inventory,
                converted.notes,
                format!("the Terraform state {}", tf.display()),
            )
        }
        None => (
            ws.cloud.inventory().map_err(cloud_error)?,
            Vec::new(),
            ws.cloud.described(),
        ),
    };
    let (selection, selected_notes) = adopt::select(&inventory, &args.vpc).map_err(Error::Usage)?;
    notes.extend(selected_notes);
    if selection.is_empty() {
        return Err(Error::Usage(format!(
            "{from} holds nothing to import; nothing was written"
        )));
    }

    // The file declares only what is imported: an object the state manages besides
    // would be deleted by the next plan.
    let outside: Vec<String> = state
        .resources
        .iter()
        .filter(|(a, e)| !selection.contains(a.kind, &e.id))
        .map(|(a, e)| format!("{a} ({})", e.id))
        .collect();
    if !outside.is_empty() {
        return Err(Error::Usage(format!(
            "the state {} also manages {} object{} this import does not cover ({}); the file written would not declare them and the next plan would delete them. Import into a new state (--state PATH), or include their VPCs",
            ws.store.describe(),
            outside.len(),
            if outside.len() == 1 { "" } else { "s" },
            shorten(&outside)
        )));
    }
    if !state.resources.is_empty() && !args.force {
        return Err(Error::Usage(format!(
            "the state {} already manages {} of these objects; add --force to write the file for them and the rest (their addresses are kept)",
            ws.store.describe(),
            state.resources.len()
        )));
    }
    let known: Names = state
        .resources
        .iter()
        .map(|(a, e)| (e.id.clone(), *a))
        .collect();
    let origin = Origin {
        kakaocloud: ws.cloud.name() == "kakaocloud",
        state_path: args
            .common
            .state
            .clone()
            .filter(|s| !s.starts_with("postgres://") && !s.starts_with("postgresql://"))
            .filter(|s| s != DEFAULT_STATE),
        source: match &args.from_terraform {
            Some(tf) => format!("the Terraform state {}", tf.display()),
            None => format!("what the {} backend holds", ws.cloud.name()),
        },
    };
    let adopted = adopt::adopt(
        &inventory,
        &selection,
        &known,
        &state.lineage,
        &origin,
        notes,
    );
    if !adopted.claimed.is_empty() && !args.take_over {
        let claimed: Vec<String> = adopted
            .claimed
            .iter()
            .map(|(id, a)| format!("{id} (there {a})"))
            .collect();
        return Err(Error::Usage(format!(
            "{} object{} carry the marker of another state, which may manage them still: {}. If they really move here, add --take-over (and forget them in that state with `nicplan state rm`)",
            claimed.len(),
            if claimed.len() == 1 { "" } else { "s" },
            shorten(&claimed)
        )));
    }
    // Objects the backend could not have made are another cloud's: a Terraform state
    // of the platform read against the simulator, say.
    let foreign: Vec<(String, String)> = adopted
        .resources
        .iter()
        .filter_map(|(a, e)| {
            Some((
                format!("{a} ({})", e.id),
                ws.cloud.id_problem(a.kind, &e.id)?,
            ))
        })
        .collect();
    if let Some((_, why)) = foreign.first() {
        let named: Vec<String> = foreign.iter().map(|(a, _)| a.clone()).collect();
        return Err(Error::Usage(format!(
            "{from} holds objects the {} backend could not have made ({why}): {}; nothing was written. Import with the backend that holds them (--backend kakaocloud)",
            ws.cloud.name(),
            shorten(&named)
        )));
    }
    // What is written must read back: a file the loader refused would leave a state
    // no plan can use.
    let name = path.display().to_string();
    let check = crate::validate::validate(
        &name,
        adopted.yaml.clone().into_bytes(),
        Some(if origin.kakaocloud {
            crate::spec::BackendKind::Kakaocloud
        } else {
            crate::spec::BackendKind::Sim
        }),
    );
    if check.model.is_none() {
        return Err(Error::Usage(format!(
            "the file made from {from} does not load ({}); nothing was written",
            check
                .diagnostics
                .first()
                .map_or_else(String::new, |d| d.message.to_string())
        )));
    }
    let created = write_new(&path, &adopted.yaml, args.force)?;

    for (id, _) in &adopted.claimed {
        state.taken_over.insert(id.clone());
    }
    for entry in adopted.resources.values() {
        state.forgotten.remove(&entry.id);
    }
    state.resources = adopted.resources.clone();
    if let Err(e) = ws.store.write(&mut state) {
        if created {
            let _ = std::fs::remove_file(&path);
        }
        return Err(e.into());
    }

    let mut out = format!(
        "Imported {} into {} from {from}.\n  {}.\nWrote {name}.\n",
        count(adopted.resources.len(), "object"),
        ws.store.describe(),
        kinds(&adopted.resources)
    );
    for note in &adopted.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if args
        .common
        .state
        .as_deref()
        .is_some_and(|s| s.starts_with("postgres"))
    {
        let _ = writeln!(
            out,
            "note: the state is in PostgreSQL; give later commands the same --state (or NICPLAN_STATE): the file does not hold its URL"
        );
    }
    print(&out)?;
    let mut drifted = false;
    if args.from_terraform.is_some() {
        // The Terraform state says what the cloud held when Terraform last looked;
        // what changed since is drift, as a refresh shows it.
        let (mut refreshed, drift) = ops::refresh(&state, &*ws.cloud)?;
        if refreshed.resources != state.resources {
            ws.store.write(&mut refreshed)?;
        }
        if drift.is_empty() {
            print(&format!(
                "Refreshed against {}: the cloud matches the Terraform state.\n",
                ws.cloud.described()
            ))?;
        } else {
            print(&format!(
                "Refreshed against {}: the cloud differs from the Terraform state.\n",
                ws.cloud.described()
            ))?;
            print(&crate::render::plan_text::drift(&drift))?;
            print(&format!(
                "State updated (serial {}); `nicplan plan -f {name}` shows what brings the cloud back to the file.\n",
                refreshed.serial
            ))?;
            drifted = true;
        }
    }
    print(&findings(&check, &name, !drifted))?;
    Ok(0)
}

/// What `validate` finds in the written file: what the platform already lets the
/// network break.
fn findings(check: &crate::validate::Validation, name: &str, empty_plan: bool) -> String {
    let of = |severity| {
        check
            .diagnostics
            .iter()
            .filter(|d| d.severity() == severity)
            .count()
    };
    let (errors, warnings) = (of(Severity::Error), of(Severity::Warning));
    let plan = if empty_plan {
        format!("`nicplan plan -f {name}` shows no changes")
    } else {
        format!("`nicplan plan -f {name}` shows the changes")
    };
    if errors + warnings == 0 {
        return format!("{plan}.\n");
    }
    let mut out = format!(
        "The network as it is breaks rules: {} and {}. `nicplan validate -f {name}` shows them",
        count(errors, "error"),
        count(warnings, "warning")
    );
    if errors > 0 {
        out.push_str("; plans refuse to run until the errors are fixed in the file.\n");
    } else {
        let _ = writeln!(out, "; {plan}.");
    }
    out
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `1 VPC, 2 subnets, ...` for the kinds present.
fn kinds(
    resources: &std::collections::BTreeMap<crate::address::Address, crate::state::Entry>,
) -> String {
    let mut parts = Vec::new();
    for kind in Kind::ALL {
        let n = resources.keys().filter(|a| a.kind == kind).count();
        if n == 0 {
            continue;
        }
        let noun = match (kind, n) {
            (Kind::Vpc, 1) => "VPC".to_string(),
            (Kind::Vpc, _) => "VPCs".to_string(),
            (_, 1) => kind.noun().to_string(),
            (_, _) => format!("{}s", kind.noun()),
        };
        parts.push(format!("{n} {noun}"));
    }
    parts.join(", ")
}

/// The first few items, and how many more.
fn shorten(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        let _ = write!(text, " and {} more", items.len() - SHOWN);
    }
    text
}

/// Writes `text` to `path`: a new file (never over one that appeared meanwhile), or with
/// `force` over the old one, atomically. Whether the file is new.
fn write_new(path: &Path, text: &str, force: bool) -> Result<bool, Error> {
    let failed =
        |source: std::io::Error| Error::Usage(format!("cannot write {}: {source}", path.display()));
    if !force || !path.exists() {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        return Ok(true);
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = folder.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("nicplan"),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(failed(e));
    }
    Ok(false)
}

/// A file read no further than the size limit of desired-state files.
fn read_limited(path: &Path) -> Result<String, Error> {
    let (_, bytes) = super::workspace::read_file(path)?;
    if bytes.len() > crate::spec::MAX_FILE_BYTES {
        return Err(Error::Usage(format!(
            "{} is larger than {} MiB",
            path.display(),
            crate::spec::MAX_FILE_BYTES >> 20
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::Usage(format!("{} is not UTF-8 text", path.display())))
}
