//! The `nicplan` binary: parse the command line, run, map the outcome to an exit code.
//! A closed pipe (`nicplan schema | head`) is success, not an error. Running out of
//! memory is an error with a message and exit code 1, not an abort.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;

use clap::Parser;
use nicplan::cli::{Cli, Error, run};

/// The system allocator, with a clear message instead of an abort when it refuses.
struct Allocator;

/// Says that memory ran out and exits 1. Allocates nothing: the message goes to file
/// descriptor 2 with one `write` call.
fn out_of_memory(size: usize) -> ! {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    const MESSAGE: &[u8] =
        b"error: nicplan ran out of memory (the system refused an allocation of ";
    const ADVICE: &[u8] = b" bytes).\nNothing more was done; a state being written is complete or untouched, and an apply in progress is picked up by the next apply.\nhelp: allow nicplan more memory (ulimit -v, the container's limit), or split the file into several states\n";
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // SAFETY: descriptor 2 stays open for the life of the process; ManuallyDrop keeps
    // it from being closed here.
    let mut stderr = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(2) });
    let _ = stderr.write_all(MESSAGE);
    let _ = stderr.write_all(&digits[at..]);
    let _ = stderr.write_all(ADVICE);
    std::process::exit(1)
}

// SAFETY: every call is passed to the system allocator unchanged; only a refusal (a
// null pointer) is handled, by leaving the process.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are System's.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            out_of_memory(new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Allocator = Allocator;

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(nicplan::cli::terraform_spellings(
        std::env::args_os().collect(),
    )) {
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
