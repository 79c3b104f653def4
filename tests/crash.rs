//! Killed applies: `nicplan apply` is killed (SIGKILL) at seeded moments, again and
//! again, and each time the next plain `nicplan apply --auto-approve` starts at once,
//! with no unlock and no other step in between. After each kill the state must still
//! read, and no command may be refused for a lock; the apply that is finally left to
//! finish must succeed, the next plan must be empty, and the cloud must hold exactly the
//! desired objects, each once: none twice, none left over.
//!
//! Two clouds: the embedded simulator (`.nicplan/sim.json` and its journal, read directly) and the
//! `kakaocloud` backend against `nicplan sim serve` with latency (read through the API).
//! The desired file alternates between two versions of a network of six instances, so
//! the kills land in creates, attaches, associates, detaches, moves, resizes and
//! deletes.
//!
//! `NICPLAN_CRASH_KILLS` sets the number of kills per cloud (default 16) and
//! `NICPLAN_CRASH_SEED` the seed that chooses their moments (default 1); both are printed,
//! so a failure can be repeated: for a long run,
//! `NICPLAN_CRASH_KILLS=300 NICPLAN_CRASH_SEED=7 cargo test --release --test crash -- --nocapture`.

mod common;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::nicplan::{Workdir, held, kakaocloud_command, serve_with_build_ms, succeeded};

/// Kills per cloud unless `NICPLAN_CRASH_KILLS` says otherwise.
const DEFAULT_KILLS: u64 = 16;

/// Kills before a version of the file is left to apply to the end.
const KILLS_PER_ROUND: u64 = 4;

/// SplitMix64: a small, seeded, well-mixed sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number from `low` to `high`, both included.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}=`{v}` is not a whole number")),
        Err(_) => default,
    }
}

/// When to kill an apply.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// This many milliseconds after it starts: while it reads the state, takes the
    /// lock, reads the cloud or runs its first steps.
    AfterStart(u64),
    /// This many milliseconds after its `n`th progress line: mid-step.
    AfterLine(u64, u64),
}

impl Moment {
    fn draw(rng: &mut Rng) -> Moment {
        if rng.between(0, 3) == 0 {
            Moment::AfterStart(rng.between(0, 80))
        } else {
            Moment::AfterLine(rng.between(1, 30), rng.between(0, 12))
        }
    }
}

/// How an apply ended.
enum Ended {
    /// Killed; what it had said on standard error.
    Killed(String),
    /// Finished by itself before the kill: its exit code and standard error.
    Finished(Option<i32>, String),
}

/// Runs `apply`, killing it at `moment` unless it finishes first.
fn apply_killed_at(mut apply: Command, moment: Moment) -> Ended {
    let mut child = apply
        .args(["apply", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = String::new();
    match moment {
        Moment::AfterStart(ms) => {
            let wait = Duration::from_millis(ms);
            std::thread::sleep(wait.saturating_sub(started.elapsed()));
        }
        Moment::AfterLine(n, ms) => {
            // Up to its nth line, unless it ends (or stalls) before.
            for _ in 0..n {
                let Ok(line) = lines.recv_timeout(Duration::from_secs(60)) else {
                    break;
                };
                said.push_str(&line);
                said.push('\n');
            }
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
    // A child that has exited and not yet been waited for takes the signal harmlessly;
    // its status tells which it was.
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    reader.join().expect("reader");
    for line in lines.try_iter() {
        said.push_str(&line);
        said.push('\n');
    }
    match status.code() {
        None => Ended::Killed(said),
        code => Ended::Finished(code, said),
    }
}

/// Fails if a command was refused because of a lock.
fn assert_not_refused_for_a_lock(what: &str, err: &str) {
    for words in ["is locked by", "force-unlock", "lock file"] {
        assert!(
            !err.contains(words),
            "{what} was refused for a lock:\n{err}"
        );
    }
}

/// The two versions of the desired file, and what the cloud holds once each is
/// applied: the names of the objects of each kind, sorted.
fn desired(version: u64) -> (String, BTreeMap<&'static str, Vec<String>>) {
    let first = version.is_multiple_of(2);
    let mut text =
        String::from("version: 1\n\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\n\nsubnets:\n");
    let subnets = ["app-a", "db-a", "mgmt-a"];
    for (i, name) in subnets.iter().enumerate() {
        text.push_str(&format!(
            "  {name}:\n    vpc: main\n    cidr_block: 10.0.{}.0/24\n    availability_zone: kr-central-2-a\n",
            i + 1
        ));
    }
    let web_sg = if first { "web tier" } else { "public web tier" };
    text.push_str(&format!(
        "\nsecurity_groups:\n  web-sg: {{ description: {web_sg} }}\n  db-sg: {{}}\n\ninstances:\n"
    ));
    // The second version drops web-6 for web-7 and grows web-3.
    let instances: Vec<u32> = if first {
        vec![1, 2, 3, 4, 5, 6]
    } else {
        vec![1, 2, 3, 4, 5, 7]
    };
    for &n in &instances {
        let size = if n == 3 && !first {
            "2xlarge"
        } else {
            "xlarge"
        };
        text.push_str(&format!(
            "  web-{n}:\n    type: m2a.{size}\n    image: ubuntu-22.04\n    primary_interface: web-{n}-eth0\n    lifecycle: {{ allow_stop: true }}\n"
        ));
    }
    text.push_str("\nnetwork_interfaces:\n");
    let mut nics = Vec::new();
    for &n in &instances {
        text.push_str(&format!(
            "  web-{n}-eth0:\n    subnet: app-a\n    private_ip: 10.0.1.{}\n    security_groups: [web-sg]\n",
            10 + n
        ));
        text.push_str(&format!(
            "  web-{n}-eth1:\n    subnet: db-a\n    security_groups: [db-sg]\n    attach_to: web-{n}\n"
        ));
        // The second version detaches web-2-eth2 and keeps it.
        let eth2_attach = if n == 2 && !first {
            String::new()
        } else {
            format!("    attach_to: web-{n}\n")
        };
        text.push_str(&format!(
            "  web-{n}-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n{eth2_attach}"
        ));
        nics.extend([
            format!("web-{n}-eth0"),
            format!("web-{n}-eth1"),
            format!("web-{n}-eth2"),
        ]);
    }
    // spare-1 is attached to web-1 in the second version, spare-2 deleted and extra
    // made in its place.
    if first {
        text.push_str("  spare-1:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n");
        text.push_str("  spare-2:\n    subnet: db-a\n    security_groups: [db-sg]\n");
        nics.extend(["spare-1".to_string(), "spare-2".to_string()]);
    } else {
        text.push_str(
            "  spare-1:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1\n",
        );
        text.push_str(
            "  extra:\n    subnet: app-a\n    private_ip: 10.0.1.40\n    security_groups: [web-sg]\n",
        );
        nics.extend(["spare-1".to_string(), "extra".to_string()]);
    }
    // pub-1 moves from web-1 to web-4; pub-3 on web-3 gives way to pub-4 on web-5.
    let public_ips: Vec<(&str, u32)> = if first {
        vec![("pub-1", 1), ("pub-2", 2), ("pub-3", 3)]
    } else {
        vec![("pub-1", 4), ("pub-2", 2), ("pub-4", 5)]
    };
    text.push_str("\npublic_ips:\n");
    for (name, n) in &public_ips {
        text.push_str(&format!("  {name}:\n    network_interface: web-{n}-eth0\n"));
    }
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names
    };
    let strings = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let want = BTreeMap::from([
        ("vpcs", strings(&["main"])),
        ("subnets", strings(&subnets)),
        ("security_groups", strings(&["db-sg", "web-sg"])),
        (
            "instances",
            sorted(instances.iter().map(|n| format!("web-{n}")).collect()),
        ),
        ("network_interfaces", sorted(nics)),
        (
            "public_ips",
            sorted(
                public_ips
                    .iter()
                    .map(|(name, _)| name.to_string())
                    .collect(),
            ),
        ),
    ]);
    (text, want)
}

/// The name of an object: the address in its nicplan marker
/// (`[nicplan:LINEAGE/KIND.NAME]`) when its description has one, else its name.
fn label(name: Option<&str>, description: Option<&str>) -> String {
    let marked = description.and_then(|d| {
        let (_, rest) = d.split_once("[nicplan:")?;
        let (marker, _) = rest.split_once(']')?;
        let (_, address) = marker.split_once('/')?;
        address.split_once('.').map(|(_, name)| name.to_string())
    });
    marked
        .or_else(|| name.filter(|n| !n.is_empty()).map(str::to_string))
        .unwrap_or_default()
}

/// What the embedded simulator holds, by kind, read from its files (the snapshot with
/// its journal folded in) as any call sees it: a delete whose time has passed is done,
/// though no change since has stored it.
fn held_in_the_sim_file(w: &Workdir) -> BTreeMap<&'static str, Vec<String>> {
    let sim = nicplan::cloud::sim::Sim::open(w.path(".nicplan/sim.json"), true)
        .and_then(|sim| sim.world())
        .expect("the simulator's files load");
    let sim = serde_json::to_value(sim).expect("json");
    [
        ("vpcs", "vpcs"),
        ("subnets", "subnets"),
        ("security_groups", "security_groups"),
        ("instances", "instances"),
        ("nics", "network_interfaces"),
        ("public_ips", "public_ips"),
    ]
    .into_iter()
    .map(|(key, kind)| {
        let mut names: Vec<String> = sim[key]
            .as_object()
            .map(|objects| {
                objects
                    .values()
                    .map(|o| label(o["name"].as_str(), o["description"].as_str()))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        (kind, names)
    })
    .collect()
}

/// What `sim serve` holds, by kind, read through the API.
fn held_through_the_api(url: &str) -> BTreeMap<&'static str, Vec<String>> {
    held(url)
        .into_iter()
        .map(|(kind, names)| {
            // A list names an object by its name, else by its description.
            let mut names: Vec<String> = names.iter().map(|n| label(Some(n), Some(n))).collect();
            names.sort();
            (kind, names)
        })
        .collect()
}

/// One cloud to kill applies against.
struct Cloud<'a> {
    name: &'static str,
    w: &'a Workdir,
    /// `nicplan` in `w`, against this cloud.
    nicplan: &'a dyn Fn() -> Command,
    /// What the cloud holds.
    held: &'a dyn Fn() -> BTreeMap<&'static str, Vec<String>>,
}

impl Cloud<'_> {
    /// The standard output of `nicplan ARGS`, which must succeed, and not for a lock.
    fn ok(&self, context: &str, args: &[&str]) -> String {
        let what = format!("{context}: nicplan {args:?}");
        let out = (self.nicplan)().args(args).output().expect("runs");
        assert_not_refused_for_a_lock(&what, &String::from_utf8_lossy(&out.stderr));
        succeeded(&what, &out)
    }

    /// Kills `kills` applies at moments drawn from `seed`, each version of the desired
    /// file in turn, and checks the cloud once each version is left to apply to the
    /// end.
    fn kill_applies(&self, seed: u64, kills: u64) {
        let started = Instant::now();
        let mut rng = Rng(seed);
        let (mut killed, mut rounds, mut finished_first, mut taken_over) = (0, 0, 0, 0);
        eprintln!("{}: {kills} kills, NICPLAN_CRASH_SEED={seed}", self.name);
        while killed < kills {
            assert!(
                rounds <= 10 + kills,
                "{}: only {killed} of {kills} kills landed in {rounds} rounds",
                self.name
            );
            let (text, want) = desired(rounds);
            self.w.write(&text);
            let context = |killed| {
                format!(
                    "{}: seed {seed}, round {rounds}, after {killed} kills",
                    self.name
                )
            };
            let mut in_round = 0;
            while in_round < KILLS_PER_ROUND && killed < kills {
                let moment = Moment::draw(&mut rng);
                let ended = apply_killed_at((self.nicplan)(), moment);
                let (Ended::Killed(err) | Ended::Finished(_, err)) = &ended;
                if err.contains("note: took over the lock of") {
                    taken_over += 1;
                }
                match ended {
                    Ended::Killed(err) => {
                        killed += 1;
                        in_round += 1;
                        assert_not_refused_for_a_lock(&context(killed), &err);
                        // What the kill left reads as a state.
                        self.ok(&context(killed), &["state", "list"]);
                    }
                    Ended::Finished(code, err) => {
                        let context =
                            format!("{}: an apply to kill at {moment:?}", context(killed));
                        assert_not_refused_for_a_lock(&context, &err);
                        assert_eq!(code, Some(0), "{context} failed:\n{err}");
                        finished_first += 1;
                        break;
                    }
                }
            }
            let context = context(killed);
            let out = self.ok(&context, &["apply", "--auto-approve"]);
            assert!(
                out.contains("Apply complete") || out.contains("No changes"),
                "{context}:\n{out}"
            );
            // Converged: nothing left to change.
            self.ok(&context, &["plan", "--detailed-exitcode"]);
            assert_eq!((self.held)(), want, "{context}: the cloud holds otherwise");
            let listed = self.ok(&context, &["state", "list"]);
            let objects: usize = want.values().map(Vec::len).sum();
            assert_eq!(listed.lines().count(), objects, "{context}:\n{listed}");
            rounds += 1;
        }
        eprintln!(
            "{}: {killed} kills in {rounds} rounds ({finished_first} applies finished before their kill, {taken_over} took over a killed one's lock), NICPLAN_CRASH_SEED={seed}, {:.1} s",
            self.name,
            started.elapsed().as_secs_f64()
        );
    }
}

fn seed_and_kills() -> (u64, u64) {
    (
        env_number("NICPLAN_CRASH_SEED", 1),
        env_number("NICPLAN_CRASH_KILLS", DEFAULT_KILLS),
    )
}

#[test]
fn killed_applies_against_the_embedded_simulator_converge_with_nothing_twice_or_left_over() {
    let (seed, kills) = seed_and_kills();
    let w = Workdir::new();
    // Every change takes a moment, instances longest: kills land while steps wait.
    let nicplan = || {
        let mut command = w.command();
        command
            .env("NICPLAN_SIM_BUILD_MS", "15")
            .env("NICPLAN_SIM_DELAYS", "build=60,power=30");
        command
    };
    let held = || held_in_the_sim_file(&w);
    Cloud {
        name: "sim",
        w: &w,
        nicplan: &nicplan,
        held: &held,
    }
    .kill_applies(seed, kills);
}

#[test]
fn killed_applies_through_the_kakaocloud_backend_converge_with_nothing_twice_or_left_over() {
    let (seed, kills) = seed_and_kills();
    let w = Workdir::new();
    // Each call takes a few milliseconds, and each change on the platform a moment
    // more: a kill often lands between a call and its answer.
    let served = serve_with_build_ms(&w, 15, &["--latency-ms", "4"]);
    let nicplan = || kakaocloud_command(&w, &served, "ci-secret-value");
    let held = || held_through_the_api(&served.url);
    Cloud {
        name: "kakaocloud",
        w: &w,
        nicplan: &nicplan,
        held: &held,
    }
    .kill_applies(seed, kills);
}
