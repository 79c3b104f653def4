//! Where the memory of a plan goes: the heap held after each stage of `nicplan diff`
//! from an empty file, and the peak of each stage above what came before it, in bytes
//! per resource.
//!
//! ```sh
//! cargo run --release --example generate -- --instances 10000 --seed 1 --out net.yaml
//! cargo run --release --example memory -- net.yaml
//! ```
//!
//! The heap is counted by a global allocator that wraps the system's, so the figures
//! are the program's own allocations (no allocator overhead, no code or stack).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only the byte counts are
// kept beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are System's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The heap now, and the peak since the last call (which starts a new one).
fn mark() -> (usize, usize) {
    let live = LIVE.load(Ordering::Relaxed);
    let peak = PEAK.swap(live, Ordering::Relaxed);
    (live, peak)
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: memory FILE.yaml");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let empty = nicplan::validate("empty.yaml", b"version: 1\n".to_vec(), None);
    let Some(empty_model) = empty.model.as_ref() else {
        unreachable!("an empty file loads");
    };
    let (base, _) = mark();
    let file_bytes = bytes.len();
    let mut validation = nicplan::validate(&path, bytes, None);
    let (after_validate, validate_peak) = mark();
    let Some(model) = validation.model.as_ref() else {
        eprintln!("{path} does not load");
        std::process::exit(1);
    };
    if validation.has_errors() {
        eprintln!("{path} has errors; plan a valid file");
        std::process::exit(1);
    }
    let resources = model.vpcs.len()
        + model.subnets.len()
        + model.security_groups.len()
        + model.instances.len()
        + model.network_interfaces.len()
        + model.public_ips.len();
    let findings = validation.diagnostics.len();
    // As `nicplan diff` does: the plan finds the file's findings again.
    validation.diagnostics = Vec::new();
    let (before_plan, _) = mark();
    let plan = nicplan::ops::diff(empty_model, model);
    let (after_plan, plan_peak) = mark();
    // Written as `nicplan diff` writes it, line by line to the terminal: here only
    // counted.
    let mut text = Counted(0);
    nicplan::render::plan_text::write_ending(
        &mut text,
        &plan,
        &validation.source,
        nicplan::render::text::Style::default(),
        "No changes.\n",
    );
    let (_, render_peak) = mark();
    let per = |n: usize| n as f64 / resources.max(1) as f64;
    println!(
        "{path}: {file_bytes} bytes, {resources} resources, {findings} findings, {} steps, a text plan of {} bytes",
        plan.steps.len(),
        text.0
    );
    println!("| what | MiB | bytes per resource |");
    println!("|---|---:|---:|");
    let row = |what: &str, n: usize| {
        println!("| {what} | {:.1} | {:.0} |", n as f64 / 1048576.0, per(n));
    };
    let source_bytes = file_bytes;
    row("the file's text", source_bytes);
    row(
        "held after validate (text, line index, model, findings)",
        after_validate - base,
    );
    row("peak of validate", validate_peak - base);
    row(
        "held before the plan (text, line index, model)",
        before_plan - base,
    );
    row("held by the plan", after_plan - before_plan);
    row(
        "peak of planning, above what was held before",
        plan_peak - before_plan,
    );
    row(
        "peak of writing the text plan, above what was held before",
        render_peak - before_plan,
    );
    row(
        "peak of the whole run",
        validate_peak.max(plan_peak).max(render_peak) - base,
    );
}

/// Text written nowhere, its length counted.
struct Counted(usize);

impl std::fmt::Write for Counted {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}
