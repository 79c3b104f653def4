//! The annotation formats for CI: SARIF 2.1.0 logs and GitHub workflow commands.
//!
//! The SARIF log is checked against the parts of the SARIF 2.1.0 schema it uses (required
//! properties, allowed property names, value ranges) by hand: the official schema cannot
//! be fetched here, so this is a structural check, not a schema validation.

use std::collections::BTreeSet;

use nicplan::diagnostic::Diagnostic;
use nicplan::render::{github, json, sarif};
use nicplan::{Code, Severity, Source, Span, Validation};
use serde_json::Value;

fn mistakes() -> Validation {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mistakes.yaml");
    let bytes = std::fs::read(path).expect("examples/mistakes.yaml is readable");
    nicplan::validate("examples/mistakes.yaml", bytes, None)
}

/// The SARIF log of every finding one by one (`--verbose`).
fn sarif_of(source: &Source, diagnostics: &[Diagnostic]) -> Value {
    sarif_log(source, diagnostics, true)
}

fn sarif_log(source: &Source, diagnostics: &[Diagnostic], all: bool) -> Value {
    let text = sarif::sarif(&[(source, diagnostics)], all);
    assert!(text.ends_with("}\n"), "ends in one newline: {text:?}");
    serde_json::from_str(&text).expect("the SARIF log is JSON")
}

fn span_of(text: &str, needle: &str) -> Span {
    let offset = text.find(needle).expect("needle is in the text");
    Span::new(offset, needle.len())
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// Asserts an object has `required` and nothing outside `allowed` (the schema's
/// `additionalProperties: false`).
fn assert_object(value: &Value, what: &str, required: &[&str], allowed: &[&str]) {
    let keys = keys(value);
    for key in required {
        assert!(keys.contains(key), "{what} lacks `{key}`: {value}");
    }
    for key in &keys {
        assert!(
            allowed.contains(key) || required.contains(key),
            "{what} has `{key}`, which SARIF 2.1.0 does not define there"
        );
    }
}

fn uint(value: &Value, what: &str) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{what} is a non-negative integer: {value}"))
}

fn assert_message(value: &Value, what: &str) {
    assert_object(
        value,
        what,
        &["text"],
        &["markdown", "id", "arguments", "properties"],
    );
    assert!(value["text"].is_string(), "{what}.text is a string");
}

fn assert_uri_reference(uri: &str) {
    assert!(!uri.is_empty(), "uri is not empty");
    for c in uri.chars() {
        assert!(
            c.is_ascii_alphanumeric() || "-._~/%".contains(c),
            "uri {uri:?} has {c:?}, not allowed unencoded here"
        );
    }
    assert!(!uri.starts_with("./"), "uri {uri:?} keeps ./");
}

fn assert_location(value: &Value, what: &str) {
    assert_object(
        value,
        what,
        &["physicalLocation"],
        &[
            "id",
            "message",
            "logicalLocations",
            "annotations",
            "relationships",
            "properties",
        ],
    );
    if let Some(id) = value.get("id") {
        uint(id, &format!("{what}.id"));
    }
    let physical = &value["physicalLocation"];
    assert_object(
        physical,
        "physicalLocation",
        &["artifactLocation", "region"],
        &["address", "contextRegion", "properties"],
    );
    let artifact = &physical["artifactLocation"];
    assert_object(
        artifact,
        "artifactLocation",
        &["uri"],
        &["uriBaseId", "index", "description", "properties"],
    );
    assert_uri_reference(artifact["uri"].as_str().expect("uri is a string"));
    let region = &physical["region"];
    assert_object(
        region,
        "region",
        &["startLine"],
        &["startColumn", "endLine", "endColumn"],
    );
    let start_line = uint(&region["startLine"], "startLine");
    assert!(start_line >= 1, "startLine is 1-based");
    if let Some(end_line) = region.get("endLine") {
        let start_column = uint(&region["startColumn"], "startColumn");
        let end_line = uint(end_line, "endLine");
        let end_column = uint(&region["endColumn"], "endColumn");
        assert!(start_column >= 1 && end_column >= 1, "columns are 1-based");
        assert!(end_line >= start_line, "region ends after it starts");
        if end_line == start_line {
            assert!(end_column >= start_column, "region ends after it starts");
        }
    }
}

/// The SARIF 2.1.0 requirements a nicplan log touches: what each object must hold, what
/// it may hold, and the ranges of its values.
fn assert_sarif_structure(log: &Value) {
    assert_object(
        log,
        "sarifLog",
        &["version", "runs"],
        &["$schema", "inlineExternalProperties", "properties"],
    );
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(
        log["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let runs = log["runs"].as_array().expect("runs is an array");
    assert_eq!(runs.len(), 1, "one run");
    let run = &runs[0];
    assert_object(run, "run", &["tool"], &["results", "columnKind"]);
    assert!(
        ["utf16CodeUnits", "unicodeCodePoints"].contains(&run["columnKind"].as_str().unwrap_or("")),
        "columnKind is one of SARIF's: {}",
        run["columnKind"]
    );
    assert_object(
        &run["tool"],
        "tool",
        &["driver"],
        &["extensions", "properties"],
    );
    let driver = &run["tool"]["driver"];
    assert_object(
        driver,
        "toolComponent",
        &["name"],
        &["version", "rules", "informationUri", "semanticVersion"],
    );
    let rules = driver["rules"].as_array().expect("rules is an array");
    let mut ids = BTreeSet::new();
    for rule in rules {
        assert_object(
            rule,
            "reportingDescriptor",
            &["id"],
            &[
                "shortDescription",
                "defaultConfiguration",
                "name",
                "fullDescription",
                "help",
            ],
        );
        assert!(ids.insert(rule["id"].as_str().expect("id is a string")));
        assert_object(
            &rule["shortDescription"],
            "multiformatMessageString",
            &["text"],
            &["markdown", "properties"],
        );
        assert_object(
            &rule["defaultConfiguration"],
            "reportingConfiguration",
            &[],
            &["enabled", "level", "rank", "parameters", "properties"],
        );
        assert!(
            ["none", "note", "warning", "error"]
                .contains(&rule["defaultConfiguration"]["level"].as_str().unwrap_or(""))
        );
    }
    for result in run["results"].as_array().expect("results is an array") {
        assert_object(
            result,
            "result",
            &["message"],
            &[
                "ruleId",
                "ruleIndex",
                "level",
                "locations",
                "relatedLocations",
            ],
        );
        assert_message(&result["message"], "result.message");
        assert!(
            ["none", "note", "warning", "error"].contains(&result["level"].as_str().unwrap_or(""))
        );
        let index = uint(&result["ruleIndex"], "ruleIndex") as usize;
        assert_eq!(
            rules[index]["id"], result["ruleId"],
            "ruleIndex points at its rule"
        );
        let locations = result["locations"]
            .as_array()
            .expect("locations is an array");
        assert_eq!(locations.len(), 1, "one location per result");
        assert_location(&locations[0], "location");
        let mut related_ids = BTreeSet::new();
        for related in result
            .get("relatedLocations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert_location(related, "relatedLocation");
            assert_message(&related["message"], "relatedLocation.message");
            assert!(
                related_ids.insert(uint(&related["id"], "id")),
                "ids are unique"
            );
        }
    }
}

#[test]
fn mistakes_trigger_every_severity() {
    let validation = mistakes();
    let severities: BTreeSet<Severity> = validation
        .diagnostics
        .iter()
        .map(|d| d.severity())
        .collect();
    assert_eq!(
        severities.len(),
        3,
        "the fixture covers error, warning and advice"
    );
}

#[test]
fn sarif_log_has_the_version_a_rule_per_code_and_a_result_per_diagnostic() {
    let validation = mistakes();
    let log = sarif_of(&validation.source, &validation.diagnostics);
    assert_sarif_structure(&log);
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "nicplan");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver.get("informationUri").is_none());
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), Code::ALL.len());
    for (rule, code) in rules.iter().zip(Code::ALL) {
        assert_eq!(rule["id"], code.as_str());
        assert_eq!(rule["shortDescription"]["text"], code.summary());
        let level = match code.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "note",
        };
        assert_eq!(rule["defaultConfiguration"]["level"], level, "{code}");
    }
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), validation.diagnostics.len());
}

#[test]
fn sarif_results_agree_with_the_json_report() {
    let validation = mistakes();
    let log = sarif_of(&validation.source, &validation.diagnostics);
    let report: Value = serde_json::from_str(&json::diagnostics(
        &validation.source,
        &validation.diagnostics,
    ))
    .expect("the JSON report is JSON");
    let expected = report["diagnostics"].as_array().expect("diagnostics");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), expected.len());
    for ((result, json), d) in results.iter().zip(expected).zip(&validation.diagnostics) {
        assert_eq!(result["ruleId"], json["code"]);
        let level = match json["severity"].as_str() {
            Some("error") => "error",
            Some("warning") => "warning",
            Some("advice") => "note",
            other => panic!("unknown severity {other:?}"),
        };
        assert_eq!(result["level"], level);
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"]["uri"],
            "examples/mistakes.yaml"
        );
        let region = &location["region"];
        match json.get("line") {
            Some(line) => {
                assert_eq!(&region["startLine"], line, "{}", d.message);
                assert_eq!(&region["startColumn"], &json["column"], "{}", d.message);
                // No span here ends in a newline, so both formats end after the span.
                let primary = &json["labels"][0];
                assert_eq!(region["endLine"], primary["end_line"], "{}", d.message);
                assert_eq!(region["endColumn"], primary["end_column"], "{}", d.message);
                assert_eq!(
                    result["locations"][0]["message"]["text"], primary["text"],
                    "{}",
                    d.message
                );
            }
            None => assert_eq!(region["startLine"], 1),
        }
        let mut text = d.message.to_string();
        if let Some(help) = &d.help {
            text.push_str(" Help: ");
            text.push_str(help);
        }
        assert_eq!(result["message"]["text"], text.as_str());
        let related = result
            .get("relatedLocations")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        assert_eq!(related, d.labels.len().saturating_sub(1));
        for (related, label) in result
            .get("relatedLocations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .zip(json["labels"].as_array().expect("labels").iter().skip(1))
        {
            assert_eq!(related["message"]["text"], label["text"]);
            let region = &related["physicalLocation"]["region"];
            assert_eq!(region["startLine"], label["line"]);
            assert_eq!(region["startColumn"], label["column"]);
        }
    }
}

#[test]
fn sarif_regions_end_after_their_last_character() {
    let text = "a: héllo\nb: [x,\n  y]\n";
    let source = Source::new("f.yaml", text);
    let value = span_of(text, "héllo");
    let list = span_of(text, "[x,\n  y]");
    let with_newline = span_of(text, "héllo\n");
    let d = Diagnostic::new(Code::Schema, "bad")
        .label(value, "here")
        .label(list, "spans two lines")
        .label(with_newline, "ends in a newline")
        .label(Span::new(text.len(), 0), "empty, at the end")
        .label(Span::new(text.len() - 1, 50), "runs past the end");
    let log = sarif_of(&source, std::slice::from_ref(&d));
    assert_sarif_structure(&log);
    let result = &log["runs"][0]["results"][0];
    let region = |i: usize| -> Value {
        let location = if i == 0 {
            &result["locations"][0]
        } else {
            &result["relatedLocations"][i - 1]
        };
        location["physicalLocation"]["region"].clone()
    };
    let expect = |a, b, c, d| serde_json::json!({"startLine": a, "startColumn": b, "endLine": c, "endColumn": d});
    // "héllo" is 5 characters from column 4: the end column is the one after 'o'.
    assert_eq!(region(0), expect(1, 4, 1, 9));
    assert_eq!(region(1), expect(2, 4, 3, 5));
    // The newline is the last character of line 1, at column 9.
    assert_eq!(region(2), expect(1, 4, 1, 10));
    assert_eq!(region(3), expect(4, 1, 4, 1));
    assert_eq!(region(4), expect(3, 5, 3, 6));
    assert_eq!(result["locations"][0]["message"]["text"], "here");
    assert!(result["locations"][0].get("id").is_none());
    assert_eq!(result["relatedLocations"][0]["id"], 1);
    assert_eq!(result["relatedLocations"][3]["id"], 4);
    assert_eq!(
        result["relatedLocations"][0]["message"]["text"],
        "spans two lines"
    );
}

#[test]
fn sarif_finding_without_labels_points_at_the_first_line_of_its_file() {
    let source = Source::new("nicplan.yaml", "version: 1\n");
    let d = Diagnostic::new(Code::Schema, "The file is empty.").help("Add `version: 1`.");
    let log = sarif_of(&source, &[d]);
    assert_sarif_structure(&log);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "nicplan::schema");
    assert_eq!(result["ruleIndex"], 0);
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["message"]["text"],
        "The file is empty. Help: Add `version: 1`."
    );
    assert_eq!(
        result["locations"][0],
        serde_json::json!({
            "physicalLocation": {
                "artifactLocation": { "uri": "nicplan.yaml" },
                "region": { "startLine": 1 }
            }
        })
    );
    assert!(result.get("relatedLocations").is_none());
}

#[test]
fn sarif_puts_every_source_in_one_run() {
    let old = Source::new("old.yaml", "a: 1\n");
    let new = Source::new("new.yaml", "b: 2\n");
    let on_old = [Diagnostic::new(Code::Bandwidth, "one").label(Span::new(0, 1), "a")];
    let on_new = [
        Diagnostic::new(Code::SameSubnet, "two").label(Span::new(3, 1), "2"),
        Diagnostic::new(Code::Zone, "three"),
    ];
    let text = sarif::sarif(&[(&old, &on_old), (&new, &on_new)], false);
    let log: Value = serde_json::from_str(&text).expect("JSON");
    assert_sarif_structure(&log);
    let results = log["runs"][0]["results"].as_array().expect("results");
    let summary: Vec<(String, String, String)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or("").to_owned(),
                r["level"].as_str().unwrap_or("").to_owned(),
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    let owned = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        summary,
        [
            owned("nicplan::bandwidth", "note", "old.yaml"),
            owned("nicplan::same_subnet", "warning", "new.yaml"),
            owned("nicplan::zone", "error", "new.yaml"),
        ]
    );
    let empty = sarif::sarif(&[], false);
    let log: Value = serde_json::from_str(&empty).expect("JSON");
    assert_sarif_structure(&log);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn renders_are_deterministic() {
    let validation = mistakes();
    let runs = [(&validation.source, validation.diagnostics.as_slice())];
    assert_eq!(sarif::sarif(&runs, false), sarif::sarif(&runs, false));
    let again = mistakes();
    assert_eq!(
        sarif::sarif(&runs, false),
        sarif::sarif(&[(&again.source, again.diagnostics.as_slice())], false)
    );
    assert_eq!(
        github::github(&validation.source, &validation.diagnostics, false),
        github::github(&again.source, &again.diagnostics, false)
    );
}

#[test]
fn file_names_become_repository_paths() {
    let text = "a: 1\n";
    let d = [Diagnostic::new(Code::Schema, "bad").label(Span::new(3, 1), "here")];
    let windows = Source::new(".\\examples\\my file.yaml", text);
    let log = sarif_of(&windows, &d);
    assert_sarif_structure(&log);
    let uri = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"];
    assert_eq!(uri, "examples/my%20file.yaml");
    assert_eq!(
        github::github(&windows, &d, false),
        "::error file=examples/my file.yaml,line=1,col=4,endLine=1,endColumn=5,\
         title=nicplan%3A%3Aschema::bad\n"
    );
    let dotted = Source::new("./examples\\mistakes.yaml", text);
    let log = sarif_of(&dotted, &d);
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "examples/mistakes.yaml"
    );
    assert!(github::github(&dotted, &d, false).starts_with("::error file=examples/mistakes.yaml,"));
    assert_eq!(sarif::artifact_path("././a/./b.yaml"), "a/./b.yaml");
    assert_eq!(
        sarif::artifact_uri("C:\\nets\\50%#1.yaml"),
        "C%3A/nets/50%25%231.yaml"
    );
}

#[test]
fn github_writes_one_annotation_per_diagnostic_where_json_places_it() {
    let validation = mistakes();
    let out = github::github(&validation.source, &validation.diagnostics, true);
    assert!(out.ends_with('\n'));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), validation.diagnostics.len());
    let report: Value = serde_json::from_str(&json::diagnostics(
        &validation.source,
        &validation.diagnostics,
    ))
    .expect("JSON");
    for ((line, d), json) in lines
        .iter()
        .zip(&validation.diagnostics)
        .zip(report["diagnostics"].as_array().expect("diagnostics"))
    {
        let command = match d.severity() {
            Severity::Error => "::error ",
            Severity::Warning => "::warning ",
            Severity::Advice => "::notice ",
        };
        assert!(line.starts_with(command), "{line}");
        let title = format!(",title={}::", d.code.as_str().replace(':', "%3A"));
        assert!(line.contains(&title), "{line}");
        let position = match json.get("line") {
            Some(line) => format!(
                "::{} file=examples/mistakes.yaml,line={line},",
                github::command(d.severity()),
            ),
            None => format!(
                "::{} file=examples/mistakes.yaml,title=",
                github::command(d.severity()),
            ),
        };
        assert!(line.starts_with(&position), "{line} vs {position}");
        if let Some(column) = json["column"].as_u64() {
            let single_line = json["labels"][0]["line"] == json["labels"][0]["end_line"];
            assert_eq!(
                line.contains(&format!(",col={column},")),
                single_line,
                "{line}"
            );
        }
        assert!(!line.contains('\r'));
    }
}

#[test]
fn github_escapes_data_and_properties_exactly() {
    let text = "name: a,b\n";
    let source = Source::new("dir:1/x,y%.yaml", text);
    let d = Diagnostic::new(Code::IpConflict, "100% sure: a,b\r\nsecond line")
        .label(span_of(text, "a,b"), "here")
        .help("use 10.0.1.5: it is free");
    assert_eq!(
        github::github(&source, &[d], false),
        "::error file=dir%3A1/x%2Cy%25.yaml,line=1,col=7,endLine=1,endColumn=10,\
         title=nicplan%3A%3Aip_conflict::100%25 sure: a,b%0D%0Asecond line%0A\
         use 10.0.1.5: it is free\n"
    );
    assert_eq!(github::escape_data("%0A:,\n"), "%250A:,%0A");
    assert_eq!(github::escape_property("%0A:,\n"), "%250A%3A%2C%0A");
}

#[test]
fn github_maps_severities_to_commands() {
    let text = "a: 1\nb: 2\nc: 3\n";
    let source = Source::new("f.yaml", text);
    let diagnostics = [
        Diagnostic::new(Code::Capacity, "full").label(Span::new(3, 1), "1"),
        Diagnostic::new(Code::SameSubnet, "same").label(Span::new(8, 1), "2"),
        Diagnostic::new(Code::StaticRouting, "routes").label(Span::new(13, 1), "3"),
    ];
    assert_eq!(
        github::github(&source, &diagnostics, false),
        "::error file=f.yaml,line=1,col=4,endLine=1,endColumn=5,title=nicplan%3A%3Acapacity::full\n\
         ::warning file=f.yaml,line=2,col=4,endLine=2,endColumn=5,title=nicplan%3A%3Asame_subnet::same\n\
         ::notice file=f.yaml,line=3,col=4,endLine=3,endColumn=5,title=nicplan%3A%3Astatic_routing::routes\n"
    );
}

#[test]
fn github_annotates_the_file_when_there_is_no_label_and_drops_columns_across_lines() {
    let text = "list: [a,\n  b]\n";
    let source = Source::new("./net.yaml", text);
    let diagnostics = [
        Diagnostic::new(Code::Schema, "not a desired-state file"),
        Diagnostic::new(Code::Bandwidth, "wide").label(span_of(text, "[a,\n  b]"), "list"),
    ];
    assert_eq!(
        github::github(&source, &diagnostics, false),
        "::error file=net.yaml,title=nicplan%3A%3Aschema::not a desired-state file\n\
         ::notice file=net.yaml,line=1,endLine=2,title=nicplan%3A%3Abandwidth::wide\n"
    );
    assert_eq!(github::github(&source, &[], false), "");
}

/// Ten capacity errors and ten static-routing notes, one per line of a ten-line file.
fn repeated() -> (Source, Vec<Diagnostic>) {
    let text: String = (0..10).map(|i| format!("n{i}: x\n")).collect();
    let source = Source::new("f.yaml", text.clone());
    let mut diagnostics = Vec::new();
    for i in 0..10 {
        let at = span_of(&text, &format!("n{i}"));
        diagnostics.push(Diagnostic::new(Code::Capacity, format!("full {i}")).label(at, ""));
        diagnostics.push(Diagnostic::new(Code::StaticRouting, format!("routes {i}")).label(at, ""));
    }
    (source, diagnostics)
}

#[test]
fn sarif_keeps_every_error_and_sums_up_repeated_advice_in_one_result_listing_each() {
    let (source, diagnostics) = repeated();
    let log = sarif_log(&source, &diagnostics, false);
    assert_sarif_structure(&log);
    let results = log["runs"][0]["results"].as_array().expect("results");
    let of =
        |code: &str| -> Vec<&Value> { results.iter().filter(|r| r["ruleId"] == code).collect() };
    assert_eq!(of("nicplan::capacity").len(), 10, "every error is a result");
    let advice = of("nicplan::static_routing");
    assert_eq!(advice.len(), 2, "one shown and one summing up");
    let rest = advice[1];
    assert_eq!(rest["level"], "note");
    let message = rest["message"]["text"].as_str().expect("text");
    assert!(
        message.starts_with("9 more advice notes of nicplan::static_routing"),
        "{message}"
    );
    let related = rest["relatedLocations"].as_array().expect("related");
    let lines: Vec<u64> = related
        .iter()
        .map(|l| {
            l["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .expect("line")
        })
        .collect();
    assert_eq!(
        lines,
        vec![2, 3, 4, 5, 6, 7, 8, 9, 10],
        "each summed-up finding is listed"
    );
    assert_eq!(related[0]["message"]["text"], "routes 1");
    assert_eq!(
        rest["locations"][0]["physicalLocation"]["region"]["startLine"], 2,
        "the result sits on the first finding it sums up"
    );
    // `--verbose`: a result per finding.
    let all: Value =
        serde_json::from_str(&sarif::sarif(&[(&source, diagnostics.as_slice())], true))
            .expect("sarif");
    assert_eq!(all["runs"][0]["results"].as_array().map(Vec::len), Some(20));
}

#[test]
fn github_annotates_every_error_and_sums_up_repeated_advice_unless_verbose() {
    let (source, diagnostics) = repeated();
    let out = github::github(&source, &diagnostics, false);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("::error ")).count(),
        10
    );
    let notices: Vec<&str> = out.lines().filter(|l| l.starts_with("::notice ")).collect();
    assert_eq!(notices.len(), 2, "{out}");
    assert!(
        notices[1].contains("title=nicplan%3A%3Astatic_routing (9 more)"),
        "{out}"
    );
    assert!(notices[1].contains("(lines 2, 3, 4, 5, 6, ...)"), "{out}");
    let all = github::github(&source, &diagnostics, true);
    assert_eq!(all.lines().count(), 20, "{all}");
}
