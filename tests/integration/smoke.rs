//! Issue #12: each built function binary starts as Lambda starts it — only the environment
//! template.yaml (and Lambda) give it, a Runtime API on 127.0.0.1 — takes one event and answers.
//! `make test` builds the binaries first (`cargo build --workspace --bins`).

use accolade_tests::{spawn_app, FunctionName};
use infra::runtime_api::{invoke_binary, Outcome};
use serde_json::{json, Value};

fn binary(name: &str) -> std::path::PathBuf {
    // target/{profile}/deps/integration-… → target/{profile}/{name}
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|d| d.parent()).unwrap().join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` (make test does)",
        path.display()
    );
    path
}

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(infra::repo_root().join("tests/events").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn every_function_binary_starts_and_answers_one_event() {
    let t = spawn_app().await;
    let mut unknown_ses = sample("eventbridge-ses-delivery.json");
    unknown_ses["id"] = json!(uuid::Uuid::new_v4().to_string());
    let cases = [
        (
            FunctionName::Api,
            sample("apigw-v2-request.json"),
            "statusCode",
            json!(401),
        ),
        (
            FunctionName::Verify,
            sample("apigw-v2-public-get.json"),
            "statusCode",
            json!(404),
        ),
        (
            FunctionName::Notify,
            json!({"Records": []}),
            "batchItemFailures",
            json!([]),
        ),
        (
            FunctionName::Analytics,
            unknown_ses,
            "outcome",
            json!("ignored: unknown award"),
        ),
        (
            FunctionName::Webhooks,
            sample("sqs-webhook-attempts.json"),
            "batchItemFailures",
            json!([]),
        ),
    ];
    let dir = infra::repo_root().join("test-output");
    std::fs::create_dir_all(&dir).unwrap();
    for (function, event, field, want) in cases {
        let env = t.lambda.environment(function).unwrap();
        let name = format!("accolade-test-{}", function.as_str());
        let log = dir.join(format!("smoke-{}.log", function.as_str()));
        let out = invoke_binary(&binary(function.as_str()), &name, &env, event, &log)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}; see {}", function.as_str(), log.display()));
        match out {
            Outcome::Response(v) => assert_eq!(v[field], want, "{}: {v}", function.as_str()),
            other => panic!("{}: {other:?}; see {}", function.as_str(), log.display()),
        }
    }
    // Ingest: the sample's key names no batch of this stack — read, and rejected.
    let env = t.lambda.environment(FunctionName::Ingest).unwrap();
    let log = dir.join("smoke-ingest.log");
    let out = invoke_binary(
        &binary("ingest"),
        "accolade-test-ingest",
        &env,
        sample("s3-object-created.json"),
        &log,
    )
    .await
    .unwrap();
    let Outcome::Response(v) = out else {
        panic!("ingest: {out:?}")
    };
    assert!(
        v["outcomes"][0].as_str().unwrap().contains("Rejected"),
        "{v}"
    );
}

#[tokio::test]
async fn a_function_without_its_configuration_reports_an_init_error() {
    let t = spawn_app().await;
    let env: Vec<(String, String)> = t
        .lambda
        .environment(FunctionName::Verify)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k != "TABLE_NAME")
        .collect();
    let log = infra::repo_root().join("test-output/smoke-verify-no-table.log");
    let out = invoke_binary(
        &binary("verify"),
        "accolade-test-verify",
        &env,
        json!({}),
        &log,
    )
    .await;
    // The runtime reports the failed init (or the process exits); it never serves requests.
    match out {
        Ok(Outcome::InitError(v)) => assert!(v.to_string().contains("TABLE_NAME"), "{v}"),
        Ok(other) => panic!("started without TABLE_NAME: {other:?}"),
        Err(e) => assert!(e.contains("exited"), "{e}"),
    }
}

/// `functions/link.rs`: on Linux every function binary is a position-dependent executable
/// (`ET_EXEC`), so the loader applies no relocations at a cold start; the empty baseline is
/// linked the same way.
#[test]
#[cfg(target_os = "linux")]
fn function_binaries_are_linked_position_dependent() {
    if std::env::var("ACCOLADE_PIE").as_deref() == Ok("1") {
        return; // built as PIE on purpose
    }
    let names = FunctionName::ALL.map(FunctionName::as_str);
    for name in names.into_iter().chain(["hello"]) {
        let bytes = std::fs::read(binary(name)).unwrap();
        assert_eq!(&bytes[..4], b"\x7fELF", "{name}");
        // e_type, little-endian at offset 16: 2 = ET_EXEC, 3 = ET_DYN (PIE)
        assert_eq!(
            u16::from_le_bytes([bytes[16], bytes[17]]),
            2,
            "{name} is a PIE"
        );
    }
}
