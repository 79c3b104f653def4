//! From flags, environment and the file's `settings` to the things a command works on:
//! the validated file, the state store, the cloud. Precedence: flag, environment
//! variable, file, default.

use std::io::Read;
use std::path::PathBuf;

use clap::ValueEnum;

use crate::cloud::Cloud;
use crate::cloud::sim::Sim;
use crate::model::Model;
use crate::spec::{self, BackendKind, StateKind};
use crate::state::local::LocalStore;
use crate::state::{StateError, StateStore};
use crate::validate::{self, Validation};

/// The default desired-state file.
pub const DEFAULT_FILE: &str = "nicplan.yaml";
/// The default local state file.
pub const DEFAULT_STATE: &str = "nicplan.state.json";
/// The default simulator file.
pub const DEFAULT_SIM: &str = ".nicplan/sim.json";

/// A command's failure that is not a finding. Printed on stderr as `error: ...`.
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
    /// The state store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// An operation failed.
    #[error(transparent)]
    Op(#[from] crate::ops::OpError),
    /// The cloud failed.
    #[error("the {backend} backend failed: {message}")]
    Cloud {
        /// Which backend.
        backend: &'static str,
        /// What it said.
        message: String,
    },
    /// The command cannot run as asked.
    #[error("{0}")]
    Usage(String),
    /// The desired-state file breaks a rule: nothing it names (a state URL, a
    /// simulator file) was opened. [`crate::cli::run`] prints its findings.
    #[error(
        "{} is not valid; nothing was read from the state or the cloud",
        .0.source.name()
    )]
    Invalid(Box<Validation>),
}

/// `--backend`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Backend {
    /// The embedded simulator.
    Sim,
    /// The KakaoCloud REST API.
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

/// `-f/--file`.
#[derive(Debug, Clone, clap::Args)]
pub struct FileArg {
    /// The desired-state file (`-` reads standard input) [default: nicplan.yaml]
    #[arg(short, long)]
    file: Option<PathBuf>,
}

impl FileArg {
    /// Whether `-f` was given.
    pub fn given(&self) -> bool {
        self.file.is_some()
    }

    /// The file's path: as given, or the default.
    pub fn path(&self) -> PathBuf {
        self.file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE))
    }

    /// Reads and validates the file, which must exist.
    pub fn validate(&self, backend: Option<Backend>) -> Result<Validation, Error> {
        let path = self
            .file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
        let (name, bytes) = read_file(&path)?;
        Ok(validate::validate(&name, bytes, backend.map(Into::into)))
    }

    /// Like `validate`, but a missing default file is no file at all (commands that
    /// only need its settings).
    pub fn validate_optional(&self, backend: Option<Backend>) -> Result<Option<Validation>, Error> {
        if self.file.is_none() && !std::path::Path::new(DEFAULT_FILE).exists() {
            return Ok(None);
        }
        self.validate(backend).map(Some)
    }
}

/// A desired-state file (`-`: standard input) and the name to show it by, read no
/// further than one byte past the size limit.
pub(crate) fn read_file(path: &std::path::Path) -> Result<(String, Vec<u8>), Error> {
    let name = path.display().to_string();
    let read_error = |source| Error::Read {
        path: name.clone(),
        source,
    };
    let limit = spec::MAX_FILE_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    if name == "-" {
        // One byte past the limit is enough to know the input is too large.
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        return Ok(("<stdin>".to_string(), bytes));
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    // Room for the whole file at once, which its text keeps to the end of the run (a
    // buffer grown by doubling would keep up to as much again, unused).
    let size = file.metadata().map_or(0, |m| m.len().min(limit));
    bytes.reserve_exact(usize::try_from(size).unwrap_or(0));
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok((name, bytes))
}

/// The flags every command that reads state or the cloud takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    #[command(flatten)]
    pub file: FileArg,
    /// The state: a file path, or postgres://... [default: the file's settings.state, else
    /// nicplan.state.json]
    #[arg(long, env = "NICPLAN_STATE")]
    pub state: Option<String>,
    /// The cloud backend [default: the file's settings.backend, else sim]
    #[arg(long, env = "NICPLAN_BACKEND", value_enum)]
    pub backend: Option<Backend>,
    /// How long a command that writes the state waits for a lock another one holds,
    /// such as 30s or 5m [default: 0s]
    #[arg(long, value_name = "DURATION", value_parser = lock_timeout)]
    pub lock_timeout: Option<std::time::Duration>,
}

fn lock_timeout(text: &str) -> Result<std::time::Duration, String> {
    crate::model::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration such as 0s, 500ms, 30s, 5m or 1h"))
}

/// What a command works on.
pub struct Workspace {
    /// The validated file, when there is one: it has no error, and its diagnostics
    /// are not kept (a plan finds them again).
    pub validation: Option<Validation>,
    /// The state store.
    pub store: Box<dyn StateStore>,
    /// The cloud.
    pub cloud: Box<dyn Cloud>,
    /// How long to wait for the state's lock.
    pub lock_timeout: std::time::Duration,
}

impl Workspace {
    /// Takes the state's lock for `command`, waiting `--lock-timeout` for a holder, and
    /// says so when it takes over the lock of a holder that is gone.
    pub fn lock(&self, command: &str) -> Result<crate::state::LockGuard<'_>, Error> {
        let guard =
            crate::state::LockGuard::acquire_within(&*self.store, command, self.lock_timeout)?;
        if let Some(stale) = &guard.info().took_over {
            eprintln!(
                "note: took over the lock of {}: that process is gone, and its lock with it",
                stale
            );
        }
        Ok(guard)
    }

    /// The file's source (an empty one without a file).
    pub fn source(&self) -> std::borrow::Cow<'_, crate::source::Source> {
        match self.validation.as_ref() {
            Some(v) => std::borrow::Cow::Borrowed(&v.source),
            None => std::borrow::Cow::Owned(crate::source::Source::new("(no file)", "")),
        }
    }

    /// The desired-state file as a state records it ([`crate::state::State::applied_from`]):
    /// its path as given, cleaned of `.` and `dir/..`; `None` without a file or for
    /// standard input, which names no file to compare with.
    pub fn desired_file(&self) -> Option<String> {
        let name = self.validation.as_ref()?.source.name().to_string();
        (name != "<stdin>").then(|| clean_path(&name))
    }

    /// The file's model (an empty one without a file).
    pub fn model(&self) -> std::borrow::Cow<'_, Model> {
        match self.validation.as_ref().and_then(|v| v.model.as_ref()) {
            Some(model) => std::borrow::Cow::Borrowed(model),
            None => std::borrow::Cow::Owned(Model::default()),
        }
    }
}

impl Common {
    /// Opens the workspace. With `need_file`, the file must exist.
    pub fn open(&self, need_file: bool) -> Result<Workspace, Error> {
        let validation = if need_file {
            Some(self.file.validate(self.backend)?)
        } else {
            self.file.validate_optional(self.backend)?
        };
        self.open_with(validation)
    }

    /// Opens the workspace around an already validated file. A file with an error is
    /// [`Error::Invalid`]: the state and the cloud its settings name are not opened.
    pub fn open_with(&self, validation: Option<Validation>) -> Result<Workspace, Error> {
        let validation = match validation {
            Some(v) if v.has_errors() => return Err(Error::Invalid(Box::new(v))),
            // Its warnings and advice are found again by whatever plans it, with the
            // state in view; they need not be held meanwhile.
            Some(mut v) => {
                v.diagnostics = Vec::new();
                Some(v)
            }
            None => None,
        };
        let settings = validation
            .as_ref()
            .and_then(|v| v.model.as_ref())
            .map(|m| m.settings.clone())
            .unwrap_or_default();
        let store = open_store(self.state.as_deref(), &settings)?;
        let multiple_ips = validation
            .as_ref()
            .and_then(|v| v.model.as_ref())
            .is_none_or(|m| m.capabilities.multiple_ips);
        let kind = self
            .backend
            .map(BackendKind::from)
            .or(settings.backend)
            .unwrap_or(BackendKind::Sim);
        let cloud = open_cloud(kind, &settings, multiple_ips)?;
        Ok(Workspace {
            validation,
            store,
            cloud,
            lock_timeout: self.lock_timeout.unwrap_or_default(),
        })
    }
}

/// `path` without `.` components and with each `dir/..` folded away, by its text alone:
/// `./envs/../envs/prod.yaml` is `envs/prod.yaml`. Relative paths stay relative, so a
/// state shared between checkouts in different folders records the same name.
pub fn clean_path(path: &str) -> String {
    use std::path::Component;
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in std::path::Path::new(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            Component::ParentDir if matches!(parts.last(), Some(Component::RootDir)) => {}
            other => parts.push(other),
        }
    }
    let cleaned: std::path::PathBuf = parts.iter().collect();
    match cleaned.to_string_lossy().into_owned() {
        empty if empty.is_empty() => ".".to_string(),
        text => text,
    }
}

fn open_store(
    flag: Option<&str>,
    settings: &crate::model::Settings,
) -> Result<Box<dyn StateStore>, Error> {
    let chosen = flag.map(str::to_string).or_else(|| match settings.state {
        Some(StateKind::Postgres) => Some(
            settings
                .state_url
                .clone()
                .unwrap_or_else(|| "postgres://".to_string()),
        ),
        _ => settings.state_path.clone(),
    });
    let location = chosen.unwrap_or_else(|| DEFAULT_STATE.to_string());
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        // One database holds many states: `#name` on the URL, else `settings.state.name`,
        // else "default".
        // The name is what follows the last `#`, when it is a name: a `#` followed by
        // `@`, `/` or `:` is part of a password, never a name.
        let (url, fragment) = match location.rsplit_once('#') {
            Some((url, name)) if !name.contains(['@', '/', ':']) => {
                (url.to_string(), Some(name.to_string()))
            }
            _ => (location.clone(), None),
        };
        let name = fragment
            .or_else(|| settings.state_name.clone())
            .unwrap_or_else(|| "default".to_string());
        let store = crate::state::postgres::PostgresStore::connect(&url, &name)?;
        return Ok(Box::new(store));
    }
    // Refused before anything is read or touched: a mistyped folder would otherwise
    // plan as if from nothing, a whole second copy of the network.
    let path = std::path::Path::new(&location);
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(Error::Usage(format!(
            "the folder {} does not exist, so the state {location} cannot be there; nothing was read or changed. nicplan makes no folder for a state: create it, or correct the state's path",
            folder.display()
        )));
    }
    Ok(Box::new(LocalStore::new(location)))
}

/// Opens the backend of `kind`.
pub fn open_cloud(
    kind: BackendKind,
    settings: &crate::model::Settings,
    multiple_ips: bool,
) -> Result<Box<dyn Cloud>, Error> {
    let sim_path = settings.sim_path.as_deref();
    let region = settings.region.as_deref();
    match kind {
        BackendKind::Sim => {
            let path = sim_path.unwrap_or(DEFAULT_SIM);
            let sim = Sim::open(path, multiple_ips).map_err(|e| Error::Cloud {
                backend: "sim",
                message: e.to_string(),
            })?;
            Ok(Box::new(sim))
        }
        BackendKind::Kakaocloud => {
            let config =
                crate::cloud::kakaocloud::KakaoConfig::from_env(region, &settings.endpoints)
                    .map_err(|e| Error::Cloud {
                        backend: "kakaocloud",
                        message: e.to_string(),
                    })?;
            Ok(Box::new(crate::cloud::kakaocloud::KakaoCloud::new(config)))
        }
    }
}
