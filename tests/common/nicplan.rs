//! Running the `nicplan` binary as a user does: in a temporary folder, against the
//! embedded simulator or through the `kakaocloud` backend against `nicplan sim serve`.

use std::process::{Command, Output};

/// A temporary folder to run `nicplan` in, removed when dropped.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the desired-state file.
    /// What the state records now, as text: the state file and the journal an apply
    /// appends each step to (for waiting until a step is recorded).
    pub fn recorded(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.path(name)).unwrap_or_default();
        read("nicplan.state.json") + &read("nicplan.state.json.journal")
    }

    pub fn write(&self, text: &str) {
        std::fs::write(self.path("nicplan.yaml"), text).expect("write file");
    }

    /// `nicplan` in this folder against the embedded simulator, every simulated change
    /// immediate, with nothing from the caller's environment choosing the state or the
    /// backend.
    pub fn command(&self) -> Command {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("nicplan"));
        command
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("NICPLAN_SIM_BUILD_MS", "0")
            .env_remove("NICPLAN_SIM_DELAYS")
            .env_remove("NICPLAN_STATE")
            .env_remove("NICPLAN_BACKEND");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("runs")
    }

    /// The standard output of a run that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(&format!("nicplan {args:?}"), &self.run(args))
    }

    /// Applies the file and checks the next plan is empty.
    pub fn converge(&self) {
        let out = self.ok(&["apply", "--auto-approve"]);
        assert!(
            out.contains("complete") || out.contains("No changes"),
            "{out}"
        );
        let again = self.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(
            again.status.code(),
            Some(0),
            "not converged:\n{}",
            String::from_utf8_lossy(&again.stdout)
        );
    }

    /// The plan's text and exit code (with --detailed-exitcode).
    pub fn plan(&self) -> (String, Option<i32>) {
        let out = self.run(&["plan", "--detailed-exitcode"]);
        (
            String::from_utf8(out.stdout).expect("UTF-8"),
            out.status.code(),
        )
    }
}

/// The PostgreSQL server the tests may use (`NICPLAN_TEST_POSTGRES`, which
/// `.ci/postgres.sh` sets): `None` outside CI when none is named, so the caller skips.
pub fn postgres_url() -> Option<String> {
    let Ok(url) = std::env::var("NICPLAN_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide NICPLAN_TEST_POSTGRES"
        );
        eprintln!("skipped: NICPLAN_TEST_POSTGRES is not set");
        return None;
    };
    Some(url)
}

/// The standard output of a run (`what`), which must have exited 0.
pub fn succeeded(what: &str, out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

/// `nicplan sim serve` on a free loopback port, killed when dropped.
pub struct Served {
    pub child: std::process::Child,
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nicplan sim serve` in `w` with the `extra` flags, every simulated change immediate,
/// logging to `serve.log`.
pub fn serve(w: &Workdir, extra: &[&str]) -> Served {
    serve_with_build_ms(w, 0, extra)
}

/// As [`serve`], every simulated change taking `build_ms`.
pub fn serve_with_build_ms(w: &Workdir, build_ms: u64, extra: &[&str]) -> Served {
    use std::io::BufRead;
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("nicplan"))
        .current_dir(w.dir.path())
        .env("NICPLAN_SIM_BUILD_MS", build_ms.to_string())
        .env_remove("NICPLAN_SIM_DELAYS")
        .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", "ci-id")
        .env(
            "KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET",
            "ci-secret-value",
        )
        .args(["sim", "serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(w.path("serve.log")).expect("log file"))
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server says where it listens");
    let url = line
        .split_once("KAKAOCLOUD_ENDPOINT=")
        .map(|(_, url)| url.trim().to_string())
        .expect("an endpoint");
    Served { child, url }
}

/// `nicplan` in `w`, pointed at `served` through the `kakaocloud` backend with the
/// credential `ci-id` and `secret`.
pub fn kakaocloud_command(w: &Workdir, served: &Served, secret: &str) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("nicplan"));
    command
        .current_dir(w.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("NICPLAN_STATE")
        .env("NICPLAN_BACKEND", "kakaocloud")
        .env("KAKAOCLOUD_ENDPOINT", &served.url)
        .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", "ci-id")
        .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", secret);
    command
}

pub fn kakaocloud(w: &Workdir, served: &Served, secret: &str, args: &[&str]) -> Output {
    kakaocloud_command(w, served, secret)
        .args(args)
        .output()
        .expect("runs")
}

/// The names of a collection's objects as `GET /api/v1{path}` lists them, read through
/// a platform that may fail, throttle or lose any answer: every read is repeated until
/// it gets a clean answer.
pub fn names_through_the_api(url: &str, path: &str, plural: &str) -> Vec<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .new_agent();
    let token = (0..100)
        .find_map(|_| {
            let body = serde_json::json!({"auth": {"identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": "ci-id", "secret": "ci-secret-value"},
            }}});
            let answer = agent
                .post(format!("{url}/identity/v3/auth/tokens"))
                .send_json(body)
                .ok()?;
            answer
                .headers()
                .get("x-subject-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .expect("a token");
    let answer = (0..100)
        .find_map(|_| {
            let mut answer = agent
                .get(format!("{url}/api/v1{path}?limit=1000"))
                .header("X-Auth-Token", &token)
                .call()
                .ok()?;
            if answer.status().as_u16() != 200 {
                return None;
            }
            let text = answer.body_mut().read_to_string().ok()?;
            serde_json::from_str::<serde_json::Value>(&text).ok()
        })
        .expect("a clean answer in 100 tries");
    let mut names: Vec<String> = answer
        .get(plural)
        .and_then(|v| v.as_array())
        .expect("a list")
        .iter()
        .map(|o| {
            o.get("name")
                .or_else(|| o.get("description"))
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

/// Every object `sim serve` holds, by collection, as the API lists it.
pub fn held(url: &str) -> Vec<(&'static str, Vec<String>)> {
    [
        ("/vpcs", "vpcs"),
        ("/subnets", "subnets"),
        ("/security-groups", "security_groups"),
        ("/network-interfaces", "network_interfaces"),
        ("/instances", "instances"),
        ("/public-ips", "public_ips"),
    ]
    .into_iter()
    .map(|(path, plural)| (plural, names_through_the_api(url, path, plural)))
    .collect()
}
