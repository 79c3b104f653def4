//! Waiting for the platform: a probe is asked again, with growing pauses, until it
//! says the change is done, fails, or the bound for that kind of object runs out. The
//! wait says what it waits for when it begins and then every few seconds, so a log
//! without a terminal never goes silent.

use std::time::{Duration, Instant};

use super::step::StepError;
use super::{Event, Options};
use crate::address::Kind;
use crate::plan::Step;

/// What a probe found.
pub(super) enum Probe<T> {
    /// Done, with what the last read gave.
    Done(T),
    /// Not yet: what it still waits for, in words.
    Waiting(String),
}

/// Asks `probe` until it is done. `kind` picks the bound from the options.
pub(super) fn until<T>(
    step: &Step,
    kind: Kind,
    options: &Options,
    on_event: &(dyn Fn(Event<'_>) + Sync),
    mut probe: impl FnMut() -> Result<Probe<T>, StepError>,
) -> Result<T, StepError> {
    let bound = options.timeouts.of(kind);
    let started = Instant::now();
    let mut pause = options.poll_interval.max(Duration::from_millis(1));
    let mut next_report = Duration::ZERO;
    loop {
        let what = match probe()? {
            Probe::Done(found) => return Ok(found),
            Probe::Waiting(what) => what,
        };
        let elapsed = started.elapsed();
        if options.interrupted() {
            return Err(StepError::Cloud(format!(
                "interrupted while waiting for {what}; the next apply finds it and waits again"
            )));
        }
        if elapsed >= bound {
            return Err(StepError::Cloud(format!(
                "timed out after {}: still waiting for {what} (settings.timeouts.{} sets the bound)",
                words(bound),
                kind.as_str()
            )));
        }
        if elapsed >= next_report {
            on_event(Event::Waiting(step, what, elapsed));
            next_report = elapsed + options.progress_every;
        }
        std::thread::sleep(pause.min(bound.saturating_sub(elapsed)));
        pause = (pause * 3 / 2).min(Duration::from_secs(2));
    }
}

/// A duration in words: `90 s`, `250 ms`.
pub(super) fn words(d: Duration) -> String {
    if d.as_secs() == 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs())
    }
}
