//! The `nicplan` binary: parse the command line, run, map the outcome to an exit code.
//! A closed pipe (`nicplan schema | head`) is success, not an error.

use std::process::ExitCode;

use clap::Parser;
use nicplan::cli::{Cli, Error, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors exit 1 like every other error: 2 means "changes" to
            // `--detailed-exitcode` users. Help and version exit 0.
            let _ = e.print();
            return ExitCode::from(u8::from(e.use_stderr()));
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Error::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            // Messages quote names, IDs and files as found, which must not reach the
            // terminal as control sequences.
            eprintln!(
                "error: {}",
                nicplan::render::text::escape_controls(&e.to_string())
            );
            ExitCode::from(1)
        }
    }
}
