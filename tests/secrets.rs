//! Credentials never show: with marker credentials (the application credential's
//! secret, the tokens the platform issues, a PostgreSQL password), every command a user
//! runs and every way it can fail is run, with `NICPLAN_LOG=debug` logging every
//! request and answer, and the markers must appear nowhere: not on standard output or
//! error, not in any file left in the folder (state, journal, backup, lock record, saved
//! plan), not in the simulator's own log.

mod common;

use std::process::Output;

use common::nicplan::{Workdir, kakaocloud_command, serve};

/// The secret `serve` gives the simulator and `kakaocloud_command` sends.
const SECRET: &str = "ci-secret-value";
/// How every token `sim serve` issues begins.
const TOKEN_PREFIX: &str = "gAAAA";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_hidden(what: &str, text: &str, markers: &[&str]) {
    for marker in markers {
        assert!(!text.contains(marker), "{what} shows {marker:?}:\n{text}");
    }
}

#[test]
fn the_credential_and_tokens_never_show_through_the_kakaocloud_backend() {
    let w = Workdir::new();
    w.write(&std::fs::read_to_string("tests/e2e/base.yaml").expect("base file"));
    let served = serve(&w, &[]);
    let markers = [SECRET, TOKEN_PREFIX];
    let run = |args: &[&str], secret: &str| -> Output {
        kakaocloud_command(&w, &served, secret)
            .env("NICPLAN_LOG", "debug")
            .args(args)
            .output()
            .expect("runs")
    };
    let mut logged = 0;
    for (args, code) in [
        (&["plan"][..], 0),
        (&["apply", "--auto-approve"][..], 0),
        (&["refresh"][..], 0),
        (&["plan", "--out", "p.plan"][..], 0),
        (&["show", "p.plan"][..], 0),
        (&["state", "list"][..], 0),
        (&["show"][..], 0),
        (&["destroy", "--auto-approve"][..], 0),
    ] {
        let out = run(args, SECRET);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {all}");
        assert_hidden(&format!("{args:?}"), &all, &markers);
        logged += all.matches("debug: kakaocloud #").count();
    }
    // The log was on, and shows where a credential and a token went.
    assert!(logged > 50, "{logged} debug lines");
    let out = run(&["plan"], SECRET);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("/identity/v3/auth/tokens") && log.contains("\"secret\":\"[redacted]\""),
        "{log}"
    );
    assert!(log.contains("(X-Subject-Token: [redacted])"), "{log}");
    assert!(log.contains("(X-Auth-Token: [redacted])"), "{log}");
    // Failures: a wrong secret, an endpoint where nothing listens, a bad log level.
    let wrong = "wrong-secret-marker";
    let out = run(&["plan"], wrong);
    assert_eq!(out.status.code(), Some(1));
    assert_hidden(
        "a wrong secret",
        &text(&out),
        &[wrong, SECRET, TOKEN_PREFIX],
    );
    assert!(text(&out).contains("401"), "{}", text(&out));
    let out = kakaocloud_command(&w, &served, SECRET)
        .env("NICPLAN_LOG", "debug")
        .env("KAKAOCLOUD_ENDPOINT", "http://127.0.0.1:9")
        .env("KAKAOCLOUD_MAX_RETRIES", "0")
        .args(["plan"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_hidden("a dead endpoint", &text(&out), &markers);
    assert!(text(&out).contains("cannot reach"), "{}", text(&out));
    let out = kakaocloud_command(&w, &served, SECRET)
        .env("NICPLAN_LOG", "loud")
        .args(["plan"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("NICPLAN_LOG must be debug"),
        "{}",
        text(&out)
    );
    for (path, content) in common::tree(w.dir.path()) {
        let content = String::from_utf8_lossy(content.as_deref().unwrap_or_default());
        assert_hidden(&path.display().to_string(), &content, &markers);
    }
}

#[test]
fn a_postgresql_password_never_shows() {
    let Some(url) = common::nicplan::postgres_url() else {
        return;
    };
    // The test server trusts loopback, so any password is taken, and never asked for.
    let password = "pg-pass-MARKER#x@y";
    let encoded = "pg-pass-MARKER%23x%40y";
    let Some((scheme, rest)) = url.split_once("://") else {
        panic!("{url} is not a URL");
    };
    let (user, host) = rest.split_once('@').expect("a user in the URL");
    let name = format!("secrets-{}", std::process::id());
    let w = Workdir::new();
    w.write(&std::fs::read_to_string("tests/e2e/base.yaml").expect("base file"));
    let markers = ["pg-pass", "MARKER"];
    let states = [
        format!("{scheme}://{user}:{encoded}@{host}#{name}"),
        format!("{scheme}://{user}:{encoded}@{host}?password={encoded}#{name}"),
    ];
    for state in &states {
        for (args, code) in [
            (&["plan"][..], 0),
            (&["apply", "--auto-approve"][..], 0),
            (&["refresh"][..], 0),
            (&["state", "list"][..], 0),
            (&["plan", "--out", "p.plan"][..], 0),
            (&["show", "p.plan"][..], 0),
            (&["apply", "p.plan"][..], 0),
            (&["destroy", "--auto-approve"][..], 0),
            (&["force-unlock", "no-such-lock"][..], 1),
        ] {
            let mut all_args = args.to_vec();
            all_args.extend(["--state", state.as_str()]);
            let out = w.run(&all_args);
            let all = text(&out);
            assert_eq!(out.status.code(), Some(code), "{args:?}: {all}");
            assert_hidden(&format!("{args:?}"), &all, &markers);
        }
    }
    // Failures: nothing listens, a raw `#` and `@` in the password, no such database.
    let dead = host.rsplit_once(':').map_or(host, |(h, _)| h);
    for state in [
        format!("{scheme}://{user}:{password}@{dead}:9/db"),
        format!("{scheme}://{user}:{encoded}@{dead}:9/db#{name}"),
        format!(
            "{scheme}://{user}:{encoded}@{}/no_such_db_here",
            host.split_once('/').map_or(host, |(h, _)| h)
        ),
    ] {
        let out = w.run(&["apply", "--auto-approve", "--state", &state]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{state}: {all}");
        assert!(all.contains("error:"), "{all}");
        assert_hidden(&state, &all, &markers);
    }
    for (path, content) in common::tree(w.dir.path()) {
        let content = String::from_utf8_lossy(content.as_deref().unwrap_or_default());
        assert_hidden(&path.display().to_string(), &content, &markers);
    }
}

/// `nicplan sim serve` in `w` on a free port with the credential variables as `vars`
/// give them (the others removed), standard error piped.
fn serve_with(w: &Workdir, vars: &[(&str, &str)]) -> std::process::Child {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("nicplan"));
    command
        .current_dir(w.dir.path())
        .env("NICPLAN_SIM_BUILD_MS", "0")
        .env_remove("NICPLAN_SIM_DELAYS")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET")
        .env_remove("KAKAOCLOUD_ENDPOINT")
        .args(["sim", "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.spawn().expect("spawn")
}

#[test]
fn sim_serve_without_a_credential_makes_one_and_says_how_to_use_it() {
    use std::io::BufRead;
    let w = Workdir::new();
    w.write(&std::fs::read_to_string("tests/e2e/base.yaml").expect("base file"));
    let mut child = serve_with(&w, &[]);
    let stderr = child.stderr.take().expect("stderr");
    let (lines, told) = std::sync::mpsc::channel();
    // Drained to the end, so the server's request log never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let export = loop {
        let line = told
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("sim serve says how to use its credential");
        if let Some(rest) = line.strip_prefix("export ") {
            break rest.to_string();
        }
    };
    let vars: std::collections::BTreeMap<&str, &str> = export
        .split(' ')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let names: Vec<&str> = vars.keys().copied().collect();
    assert_eq!(
        names,
        [
            "KAKAOCLOUD_APPLICATION_CREDENTIAL_ID",
            "KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET",
            "KAKAOCLOUD_ENDPOINT"
        ],
        "{export}"
    );
    assert!(vars["KAKAOCLOUD_ENDPOINT"].starts_with("http://127.0.0.1:"));
    assert!(vars["KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET"].len() >= 32);
    let plan = |secret: &str| {
        w.command()
            .env("NICPLAN_BACKEND", "kakaocloud")
            .envs(vars.iter().filter(|(k, _)| !k.ends_with("_SECRET")))
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", secret)
            .env("KAKAOCLOUD_MAX_RETRIES", "0")
            .args(["plan", "--detailed-exitcode"])
            .output()
            .expect("runs")
    };
    let planned = plan(vars["KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET"]);
    assert_eq!(planned.status.code(), Some(2), "{}", text(&planned));
    assert!(
        String::from_utf8_lossy(&planned.stdout).contains(" to create"),
        "{}",
        text(&planned)
    );
    // The credential made is the only one accepted.
    let refused = plan("not-the-secret");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sim_serve_refuses_half_a_credential_without_showing_it() {
    let w = Workdir::new();
    for (given, missing) in [
        (
            "KAKAOCLOUD_APPLICATION_CREDENTIAL_ID",
            "KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET",
        ),
        (
            "KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET",
            "KAKAOCLOUD_APPLICATION_CREDENTIAL_ID",
        ),
    ] {
        let child = serve_with(&w, &[(given, "half-marker-7731")]);
        let out = child.wait_with_output().expect("exits");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("{given} is set but {missing} is not")),
            "{err}"
        );
        assert_hidden("the refusal", &err, &["half-marker-7731"]);
    }
}
