//! Hostile and oversized input: every case ends in a `nicplan::schema` diagnostic (or a
//! clean load, for honest large files), never a panic or a hang.

use nicplan::{Code, validate};

fn schema_errors(bytes: Vec<u8>) -> Vec<String> {
    let validation = validate("hostile.yaml", bytes, None);
    assert!(validation.model.is_none(), "hostile input must not load");
    validation
        .diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.code, Code::Schema, "{d:?}");
            d.message.to_string()
        })
        .collect()
}

#[test]
fn alias_replay_is_bounded() {
    // One anchored list of 2,000 addresses replayed 1,000 times is two million events
    // from a file of 60 KB.
    let ips: Vec<String> = (0..2000)
        .map(|i| format!("\"10.0.{}.{}\"", i / 250, i % 250 + 2))
        .collect();
    let mut doc = format!(
        "version: 1\nnetwork_interfaces:\n  n0:\n    subnet: s\n    secondary_private_ips: &ips [{}]\n",
        ips.join(",")
    );
    for i in 1..1000 {
        doc.push_str(&format!(
            "  n{i}:\n    subnet: s\n    secondary_private_ips: *ips\n"
        ));
    }
    let errors = schema_errors(doc.into_bytes());
    assert_eq!(errors.len(), 1);
}

#[test]
fn billion_laughs_fails_fast() {
    let mut doc = String::from(
        "version: 1\nsecurity_groups:\n  web:\n    description: &l0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n",
    );
    for i in 1..10 {
        doc.push_str(&format!(
            "  g{i}:\n    description: &l{i} [{}]\n",
            vec![format!("*l{}", i - 1); 9].join(",")
        ));
    }
    assert_eq!(schema_errors(doc.into_bytes()).len(), 1);
}

#[test]
fn deep_nesting_is_refused() {
    for open in ["[", "{a: "] {
        let doc = format!("version: 1\nvpcs: {}\n", open.repeat(100_000));
        assert_eq!(schema_errors(doc.into_bytes()).len(), 1);
    }
    let mut block = String::from("version: 1\nvpcs:\n");
    for depth in 1..5_000 {
        block.push_str(&" ".repeat(depth));
        block.push_str("a:\n");
    }
    assert_eq!(schema_errors(block.into_bytes()).len(), 1);
}

#[test]
fn non_utf8_bytes_are_located() {
    let mut bytes = b"version: 1\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16 # ".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    let validation = validate("latin1.yaml", bytes, None);
    let d = &validation.diagnostics[0];
    assert_eq!(d.code, Code::Schema);
    assert_eq!(&*d.message, "the file is not valid UTF-8 text");
    let span = d.primary_span().expect("points at the byte");
    assert_eq!(validation.source.line_column(span.offset()), (4, 31));
}

#[test]
fn files_past_the_size_limit_are_refused_unparsed() {
    let mut bytes = b"version: 1\n".to_vec();
    bytes.resize(nicplan::spec::MAX_FILE_BYTES + 1, b'#');
    let errors = schema_errors(bytes);
    assert!(errors[0].contains("more than"), "{errors:?}");
}

#[test]
fn garbage_never_panics() {
    let samples: &[&[u8]] = &[
        b"",
        b"\0\0\0",
        b"version: 1\n---\nversion: 1\n",
        b"version: 1\nvpcs: !!binary aGVsbG8=\n",
        b"version: 99999999999999999999999\n",
        b"version: 1\ninstances: {a: {type: , image: , primary_interface: }}\n",
        b"version: 1\nsubnets:\n  s:\n    vpc: v\n    cidr_block: 10.0.0.0/33\n    availability_zone: z\n",
        b"version: 1\nnetwork_interfaces:\n  n:\n    subnet: s\n    private_ip: 10.0.0.1/24\n",
        b"version: 1\npublic_ips: {p: }\nsecurity_groups: {g: }\n",
        b"\xef\xbb\xbfversion: 1\n",
        b"version: 1\nvpcs:\n  main:\n    cidr_block: *missing\n",
        b"{{{{",
        b"version: 1\n\t- tab\n",
    ];
    for sample in samples {
        let validation = validate("garbage.yaml", sample.to_vec(), None);
        for d in &validation.diagnostics {
            if let Some(span) = d.primary_span() {
                assert!(span.offset() <= validation.source.text().len(), "{d:?}");
            }
        }
    }
}

#[test]
fn a_large_honest_file_loads() {
    // 10,000 instances with two interfaces each: about 360,000 YAML nodes, past the
    // parser's default budget of 250,000.
    let mut doc = String::from(
        "version: 1\nsettings:\n  quotas: { instances: 10000 }\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\nsubnets:\n  app:\n    vpc: main\n    cidr_block: 10.0.0.0/18\n    availability_zone: kr-central-2-a\n  db:\n    vpc: main\n    cidr_block: 10.0.64.0/18\n    availability_zone: kr-central-2-a\nsecurity_groups:\n  web-sg: {}\n  db-sg: {}\ninstances:\n",
    );
    let n = 10_000;
    for i in 0..n {
        doc.push_str(&format!(
            "  vm-{i}:\n    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: vm-{i}-eth0\n"
        ));
    }
    doc.push_str("network_interfaces:\n");
    for i in 0..n {
        doc.push_str(&format!(
            "  vm-{i}-eth0:\n    subnet: app\n    private_ip: 10.0.{}.{}\n    security_groups: [web-sg]\n  vm-{i}-eth1:\n    subnet: db\n    security_groups: [db-sg]\n    source_dest_check: true\n    attach_to: vm-{i}\n",
            i / 250,
            i % 250 + 2
        ));
    }
    let validation = validate("large.yaml", doc.into_bytes(), None);
    let errors: Vec<_> = validation.diagnostics.iter().take(3).collect();
    assert!(!validation.has_errors(), "{errors:?}");
    let model = validation.model.expect("loads");
    assert_eq!(model.instances.len(), n);
    assert_eq!(model.network_interfaces.len(), 2 * n);
}

mod arbitrary_bytes {
    //! Arbitrary bytes, and valid documents with a few bytes changed, fed to the three
    //! readers of untrusted input: the desired-state loader, the state decoder and the
    //! plan file reader. None may panic; what they refuse comes back as an error or a
    //! diagnostic, and what they accept is what an honest document would give.

    use nicplan::state::State;
    use proptest::prelude::*;

    const DESIRED: &str = include_str!("hostile-workspace/nicplan.yaml");
    const STATE: &str = include_str!("hostile-workspace/state.json");
    /// A sealed plan of the workspace; its body is what gets mutated.
    const PLAN: &str = include_str!("hostile/plans/stale-serial.plan");

    fn plan_body() -> &'static str {
        PLAN.split_once('\n').map_or(PLAN, |(_, body)| body)
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// A document with one to seven bytes overwritten, inserted or removed.
    fn mutated(doc: &'static str) -> impl Strategy<Value = Vec<u8>> {
        let edits =
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8);
        edits.prop_map(move |edits| {
            let mut bytes = doc.as_bytes().to_vec();
            for (at, byte, how) in edits {
                let i = at.index(bytes.len().max(1));
                match how {
                    0 if !bytes.is_empty() => bytes[i] = byte,
                    1 => bytes.insert(i.min(bytes.len()), byte),
                    _ if !bytes.is_empty() => {
                        bytes.remove(i);
                    }
                    _ => {}
                }
            }
            bytes
        })
    }

    fn sealed(body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "nicplan-plan 1 sha256:{}\n",
            nicplan::saved::sha256_hex(body)
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn load(bytes: Vec<u8>) {
        let validation = nicplan::validate("fuzz.yaml", bytes, None);
        if validation.model.is_none() {
            assert!(validation.has_errors(), "{:?}", validation.diagnostics);
        }
        for d in &validation.diagnostics {
            if let Some(span) = d.primary_span() {
                assert!(span.offset() <= validation.source.text().len(), "{d:?}");
            }
        }
    }

    fn decode_state(bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        if let Ok(state) = State::from_json("fuzz.json", &text) {
            // What it accepts it writes back the same.
            assert_eq!(
                State::from_json("again.json", &state.to_json()).expect("reads"),
                state
            );
            assert!(!state.lineage.trim().is_empty());
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn the_loader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            load(bytes);
        }

        #[test]
        fn the_loader_never_panics_on_a_mutated_file(bytes in mutated(DESIRED)) {
            load(bytes);
        }

        #[test]
        fn the_state_decoder_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            prop_assert!(State::from_json("fuzz.json", &text).is_err());
        }

        #[test]
        fn the_state_decoder_never_panics_on_a_mutated_state(bytes in mutated(STATE)) {
            decode_state(&bytes);
        }

        #[test]
        fn the_plan_reader_refuses_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert!(nicplan::saved::decode("fuzz.plan", &bytes).is_err());
        }

        #[test]
        fn the_plan_reader_refuses_a_mutated_seal(bytes in mutated("nicplan-plan 1 sha256:0000\n{\"format_version\": \"1\"}\n")) {
            prop_assert!(nicplan::saved::decode("fuzz.plan", &bytes).is_err());
        }

        #[test]
        fn the_plan_reader_never_panics_on_a_sealed_body(body in mutated(plan_body())) {
            // Sealed, so that the checksum passes and the body reaches the JSON reader
            // and, where it decodes, the re-derivation.
            if let Ok(body) = nicplan::saved::decode("fuzz.plan", &sealed(&body)) {
                let _ = nicplan::ops::rederive("fuzz.plan", &body);
            }
        }
    }
}
