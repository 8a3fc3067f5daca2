//! Issue #4: CSV bulk issuance from S3 — the case folder, never twice, never lost.

use accolade::ingest::IngestOptions;
use accolade_tests::{csv_rows, curl, spawn_app, template_body, StatusCode, TestApp};
use serde_json::{json, Value};
use std::path::PathBuf;

fn cases_dir() -> PathBuf {
    infra::repo_root().join("tests/csv-cases")
}

#[tokio::test]
async fn every_case_in_the_folder() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("한빛대학교").await;
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(cases_dir().join("cases.json")).unwrap()).unwrap();
    let mut runner = t.runner();
    for case in &cases {
        let file = case["file"].as_str().unwrap();
        // Each case its own templates: several files name the same people.
        let tpl = t
            .create_template(&key, template_body(&format!("{file} A")))
            .await;
        let tpl2 = t
            .create_template(&key, template_body(&format!("{file} B")))
            .await;
        let mut bytes = std::fs::read(cases_dir().join(file)).unwrap();
        if file == "template_column.csv" {
            let text = String::from_utf8(bytes).unwrap();
            bytes = text
                .replace("{T1}", tpl["id"].as_str().unwrap())
                .replace("{T2}", tpl2["id"].as_str().unwrap())
                .into_bytes();
        }
        let mut body = json!({"filename": file, "notify": false});
        if case["batch_template"] != json!(false) {
            body["template_id"] = tpl["id"].clone();
        }
        if let Some(m) = case["mode"].as_str() {
            body["mode"] = json!(m);
        }
        let created = t.create_batch(&key, body).await;
        let id = created["id"].as_str().unwrap();
        assert_eq!(created["status"], "awaiting_upload");
        t.upload(id, bytes).await;
        runner.deliver_uploads().await.unwrap();
        let b = t.batch(&key, id).await;
        let want = &case["expect"];
        let ctx = format!("{file}: {b:#}");
        assert_eq!(b["status"], want["status"], "{ctx}");
        for (k, field) in [
            ("rows", "rows"),
            ("issued", "issued"),
            ("invalid", "invalid"),
            ("duplicates", "skipped_duplicate"),
        ] {
            if let Some(n) = want.get(k) {
                assert_eq!(&b["counts"][field], n, "{k} — {ctx}");
            }
        }
        if let Some(s) = want["failure_contains"].as_str() {
            assert!(
                b["failure_reason"].as_str().unwrap_or("").contains(s),
                "{ctx}"
            );
            // … and in Korean.
            let ko = b["failure_reason_ko"].as_str().unwrap_or("");
            assert!(ko.chars().any(|c| ('가'..='힣').contains(&c)), "{ctx}");
        }
        if let Some(s) = want["warning_contains"].as_str() {
            assert!(b["warnings"].to_string().contains(s), "{ctx}");
        }
        // Each warning in Korean too, one for one.
        let (en, ko) = (b["warnings"].as_array(), b["warnings_ko"].as_array());
        assert_eq!(en.map(Vec::len), ko.map(Vec::len), "{ctx}");
        for w in ko.into_iter().flatten() {
            let hangul = w
                .as_str()
                .is_some_and(|w| w.chars().any(|c| ('가'..='힣').contains(&c)));
            assert!(hangul, "{w} — {ctx}");
        }
        let awards = t.batch_awards(&key, id).await;
        assert_eq!(
            awards.len() as u64,
            want["issued"].as_u64().unwrap(),
            "awards in the batch — {ctx}"
        );
        if let Some(names) = want["names"].as_array() {
            let mut got: Vec<String> = awards
                .iter()
                .map(|a| a["recipient"]["name"].as_str().unwrap().to_owned())
                .collect();
            let mut names: Vec<String> = names
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect();
            got.sort();
            names.sort();
            assert_eq!(got, names, "{ctx}");
        }
        if let Some(errors) = want["errors"].as_array() {
            let report = t.report(id).await.expect("an error report");
            let got: Vec<(u64, String)> = report
                .iter()
                .map(|r| (r[0].parse().unwrap(), r[1].clone()))
                .collect();
            let want: Vec<(u64, String)> = errors
                .iter()
                .map(|e| (e[0].as_u64().unwrap(), e[1].as_str().unwrap().to_owned()))
                .collect();
            assert_eq!(got, want, "{ctx}");
            // Each refusal in English and Korean (`message`, `message_ko`).
            for line in &report {
                assert!(line.len() == 5 && !line[4].is_empty(), "{line:?} — {ctx}");
                assert!(
                    line[4].chars().any(|c| ('가'..='힣').contains(&c)),
                    "{line:?}"
                );
            }
            assert!(
                b["error_report_url"]
                    .as_str()
                    .unwrap()
                    .contains("X-Amz-Signature"),
                "{ctx}"
            );
        }
    }
}

#[tokio::test]
async fn the_error_report_neutralises_formulas() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let b = t
        .create_batch(&key, json!({"filename": "x.csv", "template_id": tpl["id"]}))
        .await;
    let id = b["id"].as_str().unwrap();
    t.upload(
        id,
        b"email,name\n=1+2,A\n@SUM(A1),B\n-3,C\nok@example.com,+D\n".to_vec(),
    )
    .await;
    t.runner().deliver_uploads().await.unwrap();
    let report = t.report(id).await.unwrap();
    let values: Vec<&str> = report.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(values, vec!["'=1+2", "'@SUM(A1)", "'-3"]);
    // A name starting with + is a fine name: issued, and shown as text on the page.
    assert_eq!(t.batch(&key, id).await["counts"]["issued"], 1);
}

#[tokio::test]
async fn bad_files_fail_with_a_reason_and_issue_nothing() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let mut wide = String::from("email,name\n");
    wide.push_str(&vec!["x"; 10_000].join(","));
    wide.push('\n');
    let mut big_field = String::from("email,name,narrative\n");
    for i in 0..50 {
        big_field.push_str(&format!("ok{i}@example.com,OK,fine\n"));
    }
    big_field.push_str(&format!(
        "late@example.com,Late,\"{}\"\n",
        "가".repeat(1024 * 1024 / 3)
    ));
    let mut huge = csv_rows(10, "h");
    huge.resize(51 * 1024 * 1024, b'\n');
    for (bytes, reason) in [
        (wide.into_bytes(), "10000 cells"),
        (big_field.into_bytes(), "characters; at most 10000"),
        (huge, "larger than 50 MB"),
    ] {
        let b = t
            .create_batch(
                &key,
                json!({"filename": "bad.csv", "template_id": tpl["id"]}),
            )
            .await;
        let id = b["id"].as_str().unwrap();
        t.upload(id, bytes).await;
        t.runner().deliver_uploads().await.unwrap();
        let got = t.batch(&key, id).await;
        assert_eq!(got["status"], "failed", "{got:#}");
        assert!(
            got["failure_reason"].as_str().unwrap().contains(reason),
            "{got:#}"
        );
        assert_eq!(got["counts"]["issued"], 0);
        assert!(
            t.batch_awards(&key, id).await.is_empty(),
            "nothing issued: {reason}"
        );
    }
}

#[tokio::test]
async fn uploads_that_match_no_batch_of_their_issuer_are_rejected() {
    let t = spawn_app().await;
    let (key_a, tpl_a) = t.issuer_with_template().await;
    let (iid_b, key_b) = t.issuer("B").await;
    let tpl_b = t.create_template(&key_b, template_body("B's")).await;
    let batch_a = t
        .create_batch(
            &key_a,
            json!({"filename": "a.csv", "template_id": tpl_a["id"]}),
        )
        .await;
    let bid_a = batch_a["id"].as_str().unwrap();
    let _ = tpl_b;
    // B's issuer prefix with A's batch id, a batch that does not exist, and a stray key.
    for k in [
        format!("uploads/{iid_b}/{bid_a}/source.csv"),
        format!("uploads/{iid_b}/bat_AAAAAAAAAAAAAAAAAAAAAA/source.csv"),
        "uploads/whatever.csv".to_string(),
        format!(
            "uploads/{}/{bid_a}/other-name.csv",
            tpl_a["issuer_id"].as_str().unwrap()
        ),
    ] {
        t.app
            .blobs
            .put(&k, csv_rows(3, "x"), "text/csv")
            .await
            .unwrap();
        let ev = t.s3_event(&k, 100);
        let out = t
            .ingest_with(ev.clone(), IngestOptions::default())
            .await
            .unwrap();
        assert!(out.to_string().contains("Rejected"), "{k}: {out}");
    }
    assert_eq!(t.batch(&key_a, bid_a).await["status"], "awaiting_upload");
    let all = t.call("GET", "/v1/awards", Some(&key_a), None).await.json();
    assert!(all["data"].as_array().unwrap().is_empty());
    let all_b = t.call("GET", "/v1/awards", Some(&key_b), None).await.json();
    assert!(all_b["data"].as_array().unwrap().is_empty());
    // Another issuer cannot even see the batch.
    assert_eq!(
        t.call("GET", &format!("/v1/batches/{bid_a}"), Some(&key_b), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn events_delivered_twice_issue_once_and_reuploads_issue_nothing_new() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = csv_rows(300, "twice");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "cohort.csv", "template_id": tpl["id"], "notify": false}),
            &file,
        )
        .await;
    let id = id.as_str();
    let ev = t.s3_event(&source, file.len() as u64);
    // Two deliveries at the same time, then a late third.
    let opts = IngestOptions::default();
    let (a, b2) = tokio::join!(
        t.ingest_with(ev.clone(), opts.clone()),
        t.ingest_with(ev.clone(), opts.clone())
    );
    let outcomes = format!("{} {}", a.unwrap(), b2.unwrap());
    assert!(outcomes.contains("Completed"), "{outcomes}");
    let third = t
        .ingest_with(ev.clone(), IngestOptions::default())
        .await
        .unwrap();
    assert!(third.to_string().contains("AlreadyFinished"));
    let got = t.batch(&key, id).await;
    assert_eq!(got["counts"]["issued"], 300, "{got:#}");
    assert_eq!(t.batch_awards(&key, id).await.len(), 300);

    // The same file again, as a new batch: nothing new.
    let again = t
        .create_batch(
            &key,
            json!({"filename": "cohort (1).csv", "template_id": tpl["id"]}),
        )
        .await;
    let id2 = again["id"].as_str().unwrap();
    t.upload(id2, file).await;
    t.runner().deliver_uploads().await.unwrap();
    let got2 = t.batch(&key, id2).await;
    assert_eq!(got2["status"], "completed");
    assert_eq!(got2["counts"]["issued"], 0);
    assert_eq!(got2["counts"]["skipped_duplicate"], 300);
    let everyone = t
        .call(
            "GET",
            &format!(
                "/v1/awards?template={}&limit=200",
                tpl["id"].as_str().unwrap()
            ),
            Some(&key),
            None,
        )
        .await
        .json();
    assert!(
        everyone["next_cursor"].is_string(),
        "more than 200 awards: paginated"
    );
}

#[tokio::test]
async fn a_crash_mid_file_resumes_from_the_checkpoint_without_duplicates() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = csv_rows(1_200, "crash");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "big.csv", "template_id": tpl["id"]}),
            &file,
        )
        .await;
    let id = id.as_str();
    let ev = t.s3_event(&source, file.len() as u64);
    let dying = IngestOptions {
        chunk_rows: 100,
        checkpoint_rows: 300,
        lease: std::time::Duration::from_secs(1),
        crash_after_rows: Some(500),
        ..IngestOptions::default()
    };
    let out = t.ingest_with(ev.clone(), dying.clone()).await.unwrap();
    assert!(out.to_string().contains("Crashed"), "{out}");
    let mid = t.batch(&key, id).await;
    assert_eq!(mid["status"], "issuing");
    assert_eq!(
        mid["counts"]["issued"], 300,
        "the checkpoint, not the 500 written: {mid:#}"
    );
    assert_eq!(
        t.batch_awards(&key, id).await.len(),
        500,
        "rows after the checkpoint were written before the crash"
    );
    // The retry (Lambda retries the event) waits out the dead run's lease and resumes.
    let out = t
        .ingest_with(ev.clone(), IngestOptions::default())
        .await
        .unwrap();
    assert!(out.to_string().contains("Completed"), "{out}");
    let done = t.batch(&key, id).await;
    assert_eq!(done["counts"]["issued"], 1_200, "{done:#}");
    assert_eq!(done["counts"]["skipped_duplicate"], 0, "{done:#}");
    let awards = t.batch_awards(&key, id).await;
    assert_eq!(awards.len(), 1_200);
    let mut emails: Vec<&str> = awards
        .iter()
        .map(|a| a["recipient"]["email"].as_str().unwrap())
        .collect();
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), 1_200, "exactly one award per row");
}

/// An invocation that fails after a chunk it issued but before its checkpoint (DynamoDB kept
/// refusing the next chunk's transactions): its failed attempt is recorded on the batch as
/// stored, so the retry, which issues again from the checkpoint, counts those rows once.
#[tokio::test]
async fn a_failed_attempt_after_an_unsaved_chunk_counts_its_rows_once() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = csv_rows(300, "unsaved");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "unsaved.csv", "template_id": tpl["id"]}),
            &file,
        )
        .await;
    let ev = t.s3_event(&source, file.len() as u64);
    let opts = IngestOptions {
        chunk_rows: 100,
        ..IngestOptions::default()
    };
    // The first chunk (100 rows: 2 or 3 transactions, with the day counters) goes through; the
    // second's are refused from the fourth transaction on, until the back-off gives up.
    t.faults().arm_at_nth(
        "dynamodb.TransactWriteItems",
        3,
        100,
        infra::metering::Fault::Conflict,
    );
    let out = t.ingest_with(ev.clone(), opts.clone()).await;
    assert!(out.is_err(), "{out:?}");
    t.faults().arm_at(0, None);
    let mid = t.batch(&key, &id).await;
    assert_eq!(mid["status"], "issuing", "{mid:#}");
    assert_eq!(
        mid["counts"]["issued"], 0,
        "only what was checkpointed: {mid:#}"
    );
    let out = t.ingest_with(ev, opts).await.unwrap();
    assert!(out.to_string().contains("Completed"), "{out}");
    let done = t.batch(&key, &id).await;
    assert_eq!(done["counts"]["issued"], 300, "{done:#}");
    assert_eq!(done["counts"]["valid"], 300, "{done:#}");
    assert_eq!(t.batch_awards(&key, &id).await.len(), 300);
}

#[tokio::test]
async fn a_long_file_continues_in_a_new_invocation() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = csv_rows(450, "long");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "long.csv", "template_id": tpl["id"]}),
            &file,
        )
        .await;
    let id = id.as_str();
    let ev = t.s3_event(&source, file.len() as u64);
    let short = IngestOptions {
        chunk_rows: 200,
        time_budget: std::time::Duration::ZERO,
        ..IngestOptions::default()
    };
    let out = t.ingest_with(ev.clone(), short.clone()).await.unwrap();
    assert!(out.to_string().contains("Continued"), "{out}");
    assert_eq!(t.batch(&key, id).await["counts"]["issued"], 200);
    // The marker object's S3 event starts the next run, through the local runner as in AWS.
    let updates = || t.lambda.instruments.requests.get("dynamodb.UpdateItem");
    let before = updates();
    let mut runner = t.runner();
    runner.deliver_uploads().await.unwrap();
    runner.deliver_uploads().await.unwrap();
    let done = t.batch(&key, id).await;
    assert_eq!(done["status"], "completed", "{done:#}");
    // It took the lease the first run released, at once: one claim, not one every 0.5 s until a
    // 90-second lease ran out.
    assert_eq!(
        updates() - before,
        1,
        "UpdateItem requests of the continuation"
    );
    assert_eq!(done["counts"]["issued"], 450);
    assert_eq!(t.batch_awards(&key, id).await.len(), 450);
}

/// A long pass over a file keeps the batch's lease — renewed once a third of it has passed, here
/// (a zero lease) at every row — so a second delivery of the event cannot take the batch over
/// while a large file is checked on a small Lambda, or read up to a continuation's checkpoint.
#[tokio::test]
async fn the_check_of_a_file_keeps_the_batchs_lease() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = csv_rows(30, "kept");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "k.csv", "template_id": tpl["id"]}),
            &file,
        )
        .await;
    let updates = || t.lambda.instruments.requests.get("dynamodb.UpdateItem");
    let before = updates();
    let zero = IngestOptions {
        lease: std::time::Duration::ZERO,
        ..IngestOptions::default()
    };
    let ev = t.s3_event(&source, file.len() as u64);
    let out = t.ingest_with(ev, zero).await.unwrap();
    assert!(out.to_string().contains("Completed"), "{out}");
    assert_eq!(t.batch(&key, &id).await["counts"]["issued"], 30);
    // The claim, then one renewal per row in each pass: the check, and the issuing pass (which
    // a continuation starts by reading up to its checkpoint).
    let renewals = updates() - before;
    assert!(renewals > 2 * 30, "{renewals} UpdateItem requests");
}

/// A renewal of the batch's lease never takes back a batch another invocation has taken since
/// (that one may have failed or finished it); a claim takes a lapsed lease. As ingest.
#[tokio::test]
async fn a_lease_renewal_does_not_take_back_a_batch_taken_since() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let b = t
        .create_batch(&key, json!({"filename": "r.csv", "template_id": tpl["id"]}))
        .await;
    let id = accolade::domain::ids::BatchId::parse(b["batch_id"].as_str().unwrap()).unwrap();
    let store = &t.app_of(accolade_tests::FunctionName::Ingest).store;
    let now = chrono::Utc::now();
    let later = |s: i64| now + chrono::Duration::seconds(s);
    assert!(store
        .claim_batch(&id, "a", now, now)
        .await
        .unwrap()
        .is_some());
    // a's lease lapses; b takes the batch.
    assert!(store
        .claim_batch(&id, "b", later(90), later(1))
        .await
        .unwrap()
        .is_some());
    assert!(!store.renew_batch(&id, "a", later(90)).await.unwrap());
    assert!(store.renew_batch(&id, "b", later(180)).await.unwrap());
    let got = t.app.store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!(got.lease_owner.as_deref(), Some("b"));
}

#[tokio::test]
async fn throttling_is_retried_and_counts_stay_exact() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = csv_rows(400, "thr");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "t.csv", "template_id": tpl["id"]}),
            &file,
        )
        .await;
    let id = id.as_str();
    // The ingest function's DynamoDB client sees the next 4 TransactWriteItems answered
    // "throttled", although each write reached the table.
    t.faults().arm("TransactWriteItems", 4);
    let ev = t.s3_event(&source, file.len() as u64);
    let out = t.ingest_with(ev, IngestOptions::default()).await.unwrap();
    assert!(out.to_string().contains("Completed"), "{out}");
    assert_eq!(
        t.faults().remaining("TransactWriteItems"),
        0,
        "the throttles were injected"
    );
    let got = t.batch(&key, id).await;
    assert_eq!(got["counts"]["issued"], 400, "{got:#}");
    assert_eq!(got["counts"]["skipped_duplicate"], 0, "{got:#}");
    assert_eq!(t.batch_awards(&key, id).await.len(), 400);
}

#[tokio::test]
async fn dynamodb_requests_per_thousand_rows() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let b = t
        .create_batch(&key, json!({"filename": "k.csv", "template_id": tpl["id"]}))
        .await;
    let id = b["id"].as_str().unwrap();
    t.upload(id, csv_rows(1_000, "req")).await;
    t.requests.reset();
    t.runner().deliver_uploads().await.unwrap();
    let seen = t.requests.snapshot();
    let dynamodb: u64 = seen
        .iter()
        .filter(|(k, _)| k.starts_with("dynamodb."))
        .map(|(_, v)| v)
        .sum();
    println!("DynamoDB requests for 1,000 rows: {dynamodb} {seen:?}");
    assert_eq!(t.batch(&key, id).await["counts"]["issued"], 1_000);
    assert!(
        dynamodb <= 60,
        "{dynamodb} requests for 1,000 rows: {seen:?}"
    );
}

#[tokio::test]
async fn one_active_per_recipient_applies_to_csv_rows() {
    let t = spawn_app().await;
    let (key, tpl) = t.one_active_template("U", "Licence").await;
    t.issue(
        &key,
        json!({"template_id": tpl["id"], "recipient": {"email": "held@example.com", "name": "H"}}),
    )
    .await;
    let b = t
        .create_batch(&key, json!({"filename": "l.csv", "template_id": tpl["id"]}))
        .await;
    let id = b["id"].as_str().unwrap();
    t.upload(id, b"email,name,issued_on\nheld@example.com,H,\nnew@example.com,N,2026-01-01\nnew@example.com,N,2026-02-01\n".to_vec()).await;
    t.runner().deliver_uploads().await.unwrap();
    let got = t.batch(&key, id).await;
    assert_eq!(got["status"], "completed");
    assert_eq!(got["counts"]["issued"], 1, "{got:#}");
    assert_eq!(got["counts"]["invalid"], 2, "{got:#}");
    let report = t.report(id).await.unwrap();
    assert_eq!(report.len(), 2);
    assert!(
        report
            .iter()
            .all(|r| r[3].contains("already holds an active award")),
        "{report:?}"
    );
}

/// The HTTP status of a PUT of `body` to a presigned URL, as a browser sends it.
async fn put_status(url: &str, body: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("accolade-put-{}", uuid::Uuid::new_v4()));
    std::fs::write(&path, body).unwrap();
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT"])
        .args(["-H", "Content-Type: text/csv", "--data-binary"])
        .arg(format!("@{}", path.display()))
        .arg(url)
        .output()
        .await
        .expect("curl");
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A batch created with its file's `size` gets an upload URL for exactly that many bytes: a
/// leaked URL cannot store a larger (or any other) file (#14 item 5).
#[tokio::test]
async fn an_upload_url_takes_exactly_the_declared_size() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = csv_rows(3, "sized");
    let body = json!({"filename": "s.csv", "template_id": tpl["id"], "size": file.len()});
    let b = t.create_batch(&key, body).await;
    assert_eq!(b["upload_size"], file.len(), "{b:#}");
    let url = b["upload_url"].as_str().unwrap();
    let mut bigger = file.clone();
    bigger.extend_from_slice(&csv_rows(1_000, "extra")[11..]);
    assert_eq!(
        put_status(url, &bigger).await,
        "403",
        "a larger file is refused"
    );
    assert_eq!(put_status(url, &file[..file.len() - 1]).await, "403");
    assert_eq!(put_status(url, &file).await, "200");
    for (size, says) in [
        (json!(0), "empty"),
        (json!(50 * 1024 * 1024 + 1), "50 MB"),
        (json!("12"), "number"),
    ] {
        let r = t
            .call(
                "POST",
                "/v1/batches",
                Some(&key),
                Some(json!({"filename": "s.csv", "size": size})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(
            r.text().contains("size") && r.text().contains(says),
            "{}",
            r.text()
        );
    }
}

#[tokio::test]
async fn presigned_upload_url_and_sample_file() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let sample = t
        .call("GET", "/v1/batches/template.csv", Some(&key), None)
        .await;
    assert_eq!(sample.status, StatusCode::OK);
    assert!(sample
        .header("content-type")
        .unwrap()
        .starts_with("text/csv"));
    // "A sample file with every column" (README): each column the reader knows, once.
    let text = String::from_utf8_lossy(&sample.body);
    let mut header: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap()
        .split(',')
        .collect();
    let mut every: Vec<&str> = accolade::csv_import::Column::ALL
        .iter()
        .map(|c| c.header())
        .collect();
    header.sort_unstable();
    every.sort_unstable();
    assert_eq!(header, every);
    let b = t
        .create_batch(
            &key,
            json!({"filename": "sample.csv", "template_id": tpl["id"]}),
        )
        .await;
    let url = b["upload_url"].as_str().unwrap();
    assert!(
        url.contains("X-Amz-Signature") && url.contains("X-Amz-Expires=900"),
        "{url}"
    );
    // Upload the sample file through the presigned URL exactly as a browser would (PUT).
    let dir = std::env::temp_dir().join(format!("accolade-{}", b["id"].as_str().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sample.csv");
    std::fs::write(&path, &sample.body).unwrap();
    let put = ["-X", "PUT", "-H", "Content-Type: text/csv", "--data-binary"];
    let mut args: Vec<String> = put.iter().map(|a| (*a).to_owned()).collect();
    args.extend([format!("@{}", path.display()), url.to_owned()]);
    curl(&args).await;
    t.runner().deliver_uploads().await.unwrap();
    let got = t.batch(&key, b["id"].as_str().unwrap()).await;
    assert_eq!(got["status"], "completed", "{got:#}");
    assert_eq!(got["counts"]["issued"], 2, "the sample's two rows: {got:#}");
    for (body, field) in [
        (json!({"filename": "x.xlsx"}), "filename"),
        (json!({}), "filename"),
        (json!({"filename": "x.csv", "mode": "yolo"}), "mode"),
        (
            json!({"filename": "x.csv", "template_id": "tpl_AAAAAAAAAAAAAAAAAAAAAA"}),
            "template_id",
        ),
    ] {
        let r = t
            .call("POST", "/v1/batches", Some(&key), Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    let list = t.call("GET", "/v1/batches", Some(&key), None).await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

/// A roster imported twice into a one-active-per-recipient template refuses every row of the
/// second import. Refused rows go to the error report through S3, never onto the batch item
/// (a DynamoDB item holds 400 KB: about 1,000 refusals of long addresses filled it, the batch
/// could not be saved, not even as failed, and stayed `issuing`).
#[tokio::test]
async fn a_reimported_roster_is_refused_row_by_row_and_completes() {
    let t = spawn_app().await;
    let (key, tpl) = t
        .one_active_template("한빛대학교", "한 번만 받는 배지")
        .await;
    // Long (valid) addresses: each refusal kept on the item would take ~400 bytes.
    let domain = format!(
        "{}.{}.{}.example.com",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(50)
    );
    let rows = 1_100;
    // The same people again, for another term (another issue date: not the same row twice).
    // The second upload also has an unreadable row every 100 rows: the check's findings and
    // the refusals of issuing end up in one report, in row order.
    let roster = |issued_on: &str| {
        let mut csv = String::from("email,name,issued_on\n");
        for i in 0..rows {
            csv.push_str(&format!("{i:0>64}@{domain},학습자 {i},{issued_on}\n"));
            if issued_on != "2026-03-01" && i % 100 == 50 {
                csv.push_str(&format!("not-an-address-{i},학습자 {i},{issued_on}\n"));
            }
        }
        csv.into_bytes()
    };
    let unreadable = rows / 100;
    let mut ids = Vec::new();
    for (name, issued_on) in [("first.csv", "2026-03-01"), ("again.csv", "2026-09-01")] {
        let file = roster(issued_on);
        let batch = json!({"filename": name, "template_id": tpl["id"], "notify": false});
        let done = t.ingested_batch(&key, batch, &file).await;
        ids.push(done["id"].as_str().unwrap().to_owned());
    }
    let first = t.batch(&key, &ids[0]).await;
    assert_eq!(first["counts"]["issued"], rows, "{first:#}");
    let again = t.batch(&key, &ids[1]).await;
    assert_eq!(again["status"], "completed", "{again:#}");
    assert_eq!(again["counts"]["issued"], 0, "{again:#}");
    assert_eq!(again["counts"]["invalid"], rows + unreadable, "{again:#}");
    let report = t.report(&ids[1]).await.expect("an error report");
    assert_eq!(
        report.len(),
        rows + unreadable,
        "every refused or unreadable row is in the report, once"
    );
    let refusals = report
        .iter()
        .filter(|r| r.iter().any(|c| c.contains("one active award")));
    assert_eq!(refusals.count(), rows);
    let numbers: Vec<u64> = report.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "one line per row, in row order"
    );
}

/// A report larger than one part (8 MiB) is streamed to S3 in parts, whole: memory holds a
/// part, not the report (#14 item 2).
#[tokio::test]
async fn a_report_larger_than_a_part_is_written_whole() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let rows = 40_000;
    let mut csv = String::from("email,name\n");
    for i in 0..rows {
        // ~250 bytes of report per row: 40,000 rows ≈ 10 MB, two parts.
        csv.push_str(&format!("{}-{i:06},학습자 {i}\n", "x".repeat(200)));
    }
    csv.push_str("last@example.com,마지막\n");
    let file = csv.into_bytes();
    let batch = json!({"filename": "big.csv", "template_id": tpl["id"], "notify": false});
    let b = t.ingested_batch(&key, batch, &file).await;
    let id = b["id"].as_str().unwrap();
    assert_eq!(b["status"], "completed", "{b:#}");
    assert_eq!(b["counts"]["issued"], 1, "{b:#}");
    assert_eq!(b["counts"]["invalid"], rows, "{b:#}");
    let report = t.report(id).await.expect("an error report");
    assert_eq!(report.len(), rows, "every invalid row, once");
    // Row numbers as a spreadsheet shows them (the header is row 1).
    assert_eq!(report[0][0], "2");
    assert_eq!(report[rows - 1][0], (rows + 1).to_string());
}

/// DynamoDB refuses a transaction whose items come to more than 4 MB (so does the local
/// DynamoDB): rows with every cell at its longest, in four-byte characters (about 84 KB an
/// award), are packed into transactions by bytes as well as by items, and every one is issued
/// whole. Packed by items alone, 49 of them went into one transaction of 4,055,497 bytes, over
/// 4 MB read as 4,000,000 bytes (the emulator's reading, the stricter one), and ingest failed.
#[tokio::test]
async fn rows_with_every_cell_at_its_longest_are_issued_in_transactions_under_4_mb() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let wide = |n: usize| "𝄞".repeat(n);
    let url = format!("https://e.example/{}", "a".repeat(2048 - 18));
    let rows = 120;
    let mut csv = String::from("email,name,narrative,evidence_url,evidence_narrative,cohort\n");
    for i in 0..rows {
        let cells = [
            wide(200),
            wide(10_000),
            url.clone(),
            wide(10_000),
            wide(100),
        ];
        csv.push_str(&format!("long{i}@example.com,{}\n", cells.join(",")));
    }
    let batch = json!({"filename": "long.csv", "template_id": tpl["id"], "notify": false});
    let b = t.ingested_batch(&key, batch, csv.as_bytes()).await;
    assert_eq!(b["status"], "completed", "{b:#}");
    assert_eq!(b["counts"]["issued"], rows, "{b:#}");
    let awards = t.batch_awards(&key, b["id"].as_str().unwrap()).await;
    assert_eq!(awards.len(), rows);
    for a in &awards {
        assert_eq!(a["narrative"], wide(10_000).as_str(), "stored whole");
        assert_eq!(a["evidence"][0]["narrative"], wide(10_000).as_str());
    }
}

/// A template archived while its batch is issuing: its remaining rows are refused one by one,
/// each once in the report and the counts, beside the rows the check had already refused.
#[tokio::test]
async fn rows_of_a_template_archived_while_issuing_are_refused_once() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let mut csv = String::from("email,name\n");
    for i in 0..300 {
        csv.push_str(&format!("arch{i}@example.com,학습자 {i}\n"));
        if i % 100 == 0 {
            csv.push_str(&format!("broken{i},학습자 {i}\n"));
        }
    }
    let file = csv.into_bytes();
    let batch = json!({"filename": "a.csv", "template_id": tpl["id"], "notify": false});
    let (id, source) = t.uploaded_batch(&key, batch, &file).await;
    let ev = t.s3_event(&source, file.len() as u64);
    let short = IngestOptions {
        chunk_rows: 100,
        time_budget: std::time::Duration::ZERO,
        ..IngestOptions::default()
    };
    let out = t.ingest_with(ev, short).await.unwrap();
    assert!(out.to_string().contains("Continued"), "{out}");
    let tid = tpl["id"].as_str().unwrap();
    t.call("DELETE", &format!("/v1/templates/{tid}"), Some(&key), None)
        .await;
    // The continuation marker's S3 event (and the upload's, again) through the local runner.
    let mut runner = t.runner();
    runner.deliver_uploads().await.unwrap();
    runner.deliver_uploads().await.unwrap();
    let b = t.batch(&key, &id).await;
    assert_eq!(b["status"], "completed", "{b:#}");
    assert_eq!(b["counts"]["issued"], 100, "{b:#}");
    assert_eq!(b["counts"]["invalid"], 3 + 200, "{b:#}");
    let report = t.report(&id).await.expect("an error report");
    assert_eq!(report.len(), 203, "each refused row once");
    let archived = report.iter().filter(|r| r[3].contains("archived")).count();
    assert_eq!(archived, 200);
    let numbers: Vec<u64> = report.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
}

/// One date written two ways is one award: a file uploaded again after a spreadsheet re-saved
/// it with its dates rewritten (`2026. 3. 2.` → `2026-03-02`) issues nothing new; and an award
/// that a release before 2026-12-07 keyed by the date as written is still found.
#[tokio::test]
async fn a_file_saved_again_with_its_dates_rewritten_issues_nothing_new() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = |date: &str| {
        format!(
            "email,name,issued_on
re1@example.com,가,{date}
re2@example.com,나,{date}
"
        )
        .into_bytes()
    };
    let batch = json!({"filename": "a.csv", "template_id": tpl["id"], "notify": false});
    let first = t
        .ingested_batch(&key, batch.clone(), &file("2026. 3. 2."))
        .await;
    assert_eq!(first["counts"]["issued"], 2, "{first:#}");
    let again = t
        .ingested_batch(&key, batch.clone(), &file("2026-03-02"))
        .await;
    assert_eq!(again["counts"]["issued"], 0, "{again:#}");
    assert_eq!(again["counts"]["skipped_duplicate"], 2, "{again:#}");
    // The guards moved to where the earlier release put them: the date as written.
    let tid = accolade::domain::ids::TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let template = t.app.store.get_template(&tid).await.unwrap().unwrap();
    for email in ["re1@example.com", "re2@example.com"] {
        let email = accolade::domain::email::Email::parse(email).unwrap();
        let guard = |date: &str| {
            let row = accolade::issuing::row_key(&template, &email, date, None);
            accolade::store::keys::guard_idempotency(&template.issuer_id, &format!("csv|{row}"))
        };
        move_item(&t, guard("2026-03-02"), guard("2026. 3. 2.")).await;
    }
    let legacy = t.ingested_batch(&key, batch, &file("2026. 3. 2.")).await;
    assert_eq!(legacy["counts"]["issued"], 0, "{legacy:#}");
    assert_eq!(legacy["counts"]["skipped_duplicate"], 2, "{legacy:#}");
    let all = t
        .call(
            "GET",
            &format!("/v1/awards?template={tid}"),
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(all["data"].as_array().unwrap().len(), 2, "{all:#}");
}

/// Moves a table item to another key (its attributes kept).
async fn move_item(t: &TestApp, from: (String, String), to: (String, String)) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let ddb = aws_sdk_dynamodb::Client::new(&t.sdk);
    let table = &t.names.table;
    let got = ddb
        .get_item()
        .table_name(table)
        .key("PK", S(from.0.clone()))
        .key("SK", S(from.1.clone()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let mut item = got.item.expect("the item to move");
    item.insert("PK".into(), S(to.0));
    item.insert("SK".into(), S(to.1));
    ddb.put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    ddb.delete_item()
        .table_name(table)
        .key("PK", S(from.0))
        .key("SK", S(from.1))
        .send()
        .await
        .unwrap();
}

/// A crash after rows written past the checkpoint, under a one-active-per-recipient template:
/// the retry finds each such row's key and its recipient's slot both held by the award it wrote
/// and counts it issued — not refused as "already holds an active award" (its own).
#[tokio::test]
async fn a_crash_under_a_one_active_template_counts_the_rows_it_wrote_as_issued() {
    let t = spawn_app().await;
    let (key, tpl) = t.one_active_template("U", "Licence").await;
    let file = csv_rows(300, "onecrash");
    let batch = json!({"filename": "a.csv", "template_id": tpl["id"], "notify": false});
    let (id, source) = t.uploaded_batch(&key, batch, &file).await;
    let ev = t.s3_event(&source, file.len() as u64);
    let out = t.ingest_with(ev.clone(), dying_after(200)).await.unwrap();
    assert!(out.to_string().contains("Crashed"), "{out}");
    assert_eq!(t.batch_awards(&key, &id).await.len(), 200);
    let out = t.ingest_with(ev, IngestOptions::default()).await.unwrap();
    assert!(out.to_string().contains("Completed"), "{out}");
    let b = t.batch(&key, &id).await;
    assert_eq!(b["counts"]["issued"], 300, "{b:#}");
    assert_eq!(b["counts"]["invalid"], 0, "{b:#}");
    assert_eq!(t.batch_awards(&key, &id).await.len(), 300);
}

/// A run in chunks of 50 rows, a checkpoint every 100 and a 1 s lease, that dies once `rows`
/// rows are written.
fn dying_after(rows: u64) -> IngestOptions {
    IngestOptions {
        chunk_rows: 50,
        checkpoint_rows: 100,
        lease: std::time::Duration::from_secs(1),
        crash_after_rows: Some(rows),
        ..IngestOptions::default()
    }
}

/// A run that wrote rows past its last checkpoint and died, then the template archived before
/// the retry: the rows whose awards exist count as issued (not refused as archived, which the
/// report would say of badges that exist), the rest are refused, each once.
#[tokio::test]
async fn rows_written_before_a_crash_count_as_issued_though_the_template_was_archived_since() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let file = csv_rows(300, "archcrash");
    let batch = json!({"filename": "a.csv", "template_id": tpl["id"], "notify": false});
    let (id, source) = t.uploaded_batch(&key, batch, &file).await;
    let ev = t.s3_event(&source, file.len() as u64);
    let dying = dying_after(200);
    let out = t.ingest_with(ev.clone(), dying).await.unwrap();
    assert!(out.to_string().contains("Crashed"), "{out}");
    assert_eq!(t.batch(&key, &id).await["counts"]["issued"], 100);
    assert_eq!(t.batch_awards(&key, &id).await.len(), 200);
    let tid = tpl["id"].as_str().unwrap();
    let r = t
        .call("DELETE", &format!("/v1/templates/{tid}"), Some(&key), None)
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let out = t.ingest_with(ev, IngestOptions::default()).await.unwrap();
    assert!(out.to_string().contains("Completed"), "{out}");
    let b = t.batch(&key, &id).await;
    assert_eq!(b["counts"]["issued"], 200, "{b:#}");
    assert_eq!(b["counts"]["invalid"], 100, "{b:#}");
    assert_eq!(t.batch_awards(&key, &id).await.len(), 200);
    let report = t.report(&id).await.expect("an error report");
    assert_eq!(report.len(), 100, "each refused row once");
    assert!(
        report.iter().all(|r| r[3].contains("archived")),
        "{report:?}"
    );
}

/// Each template a file names costs a read: a file may name at most 100.
#[tokio::test]
async fn a_file_names_at_most_a_hundred_templates() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let first = tpl["id"].as_str().unwrap();
    let mut csv = format!("email,name,template_id\nfirst@example.com,A,{first}\n");
    for i in 0..105 {
        let other = accolade::domain::ids::TemplateId::generate();
        csv.push_str(&format!("t{i}@example.com,B,{other}\n"));
    }
    let file = csv.into_bytes();
    let batch = json!({"filename": "many.csv", "notify": false});
    let b = t.ingested_batch(&key, batch, &file).await;
    let id = b["id"].as_str().unwrap();
    assert_eq!(b["counts"]["issued"], 1, "{b:#}");
    let report = t.report(id).await.expect("an error report");
    assert_eq!(report.len(), 105);
    let not_found = report.iter().filter(|r| r[3].contains("not found")).count();
    let over = report
        .iter()
        .filter(|r| r[3].contains("at most 100"))
        .count();
    assert_eq!((not_found, over), (99, 6), "{report:?}");
}

/// The event's size is checked, but the object read is the one there when the read starts: a
/// small file replaced at once by one over the 50 MiB limit (an upload link signed without a
/// size takes any length) is refused by the length S3 gives the read, not read to its end.
#[tokio::test]
async fn a_file_replaced_by_one_over_the_limit_before_its_event_is_refused() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let small = csv_rows(3, "small");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "a.csv", "template_id": tpl["id"]}),
            &small,
        )
        .await;
    let ev = t.s3_event(&source, small.len() as u64);
    let mut big = small.clone();
    big.resize(accolade::csv_import::MAX_FILE_BYTES as usize + 1, b'\n');
    t.upload(&id, big).await;
    let out = t.ingest_with(ev, IngestOptions::default()).await;
    assert!(out.is_ok(), "{out:?}");
    let b = t.batch(&key, &id).await;
    assert_eq!(b["status"], "failed", "{b:#}");
    let reason = b["failure_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("52428801"), "{reason}");
    assert_eq!(b["counts"]["issued"], 0, "{b:#}");
}

/// What is issued is what was checked: the upload's ETag is pinned by the validating pass, and
/// a later pass (a retry, a continuation) that finds the object replaced issues nothing from
/// the new bytes and fails the batch, saying why.
#[tokio::test]
async fn a_file_replaced_after_validation_is_not_issued() {
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let checked = csv_rows(300, "checked");
    let (id, source) = t
        .uploaded_batch(
            &key,
            json!({"filename": "a.csv", "template_id": tpl["id"]}),
            &checked,
        )
        .await;
    let ev = t.s3_event(&source, checked.len() as u64);
    let dying = dying_after(100);
    let out = t.ingest_with(ev.clone(), dying).await.unwrap();
    assert!(out.to_string().contains("Crashed"), "{out}");
    // Someone with the upload URL swaps the file for one never checked.
    t.upload(&id, csv_rows(300, "swapped")).await;
    let out = t.ingest_with(ev, IngestOptions::default()).await;
    assert!(out.is_ok(), "{out:?}");
    let b = t.batch(&key, &id).await;
    assert_eq!(b["status"], "failed", "{b:#}");
    assert!(
        b["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("replaced"),
        "{b:#}"
    );
    let awards = t.batch_awards(&key, &id).await;
    assert_eq!(
        awards.len(),
        100,
        "only rows of the checked file, written before the swap"
    );
    assert!(awards.iter().all(|a| a["recipient"]["email"]
        .as_str()
        .unwrap()
        .starts_with("checked")));
}

/// Ingest dying on every try (a timeout, out of memory) leaves a batch `issuing` with nobody at
/// work on it: 15 minutes after the last lease lapsed the API and the console say it stalled.
#[tokio::test]
async fn a_batch_nobody_works_on_is_reported_stalled() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let t = spawn_app().await;
    let (key, tpl) = t.issuer_with_template().await;
    let b = t
        .create_batch(&key, json!({"filename": "a.csv", "template_id": tpl["id"]}))
        .await;
    let id = b["id"].as_str().unwrap();
    assert_eq!(b["stalled_since"], Value::Null, "{b}");
    let set = |status: &str, lapsed: chrono::DateTime<chrono::Utc>| {
        let (pk, sk) =
            accolade::store::keys::batch(&accolade::domain::ids::BatchId::parse(id).unwrap());
        aws_sdk_dynamodb::Client::new(&t.sdk)
            .update_item()
            .table_name(&t.names.table)
            .key("PK", S(pk))
            .key("SK", S(sk))
            .update_expression("SET #s = :s, lease_until = :l, lease_owner = :o")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", S(status.into()))
            .expression_attribute_values(":l", S(lapsed.to_rfc3339()))
            .expression_attribute_values(":o", S("dead".into()))
            .send()
    };
    let now = chrono::Utc::now();
    let path = format!("/v1/batches/{id}");
    // The last invocation let go 10 minutes ago: Lambda may still be retrying.
    set("issuing", now - chrono::Duration::minutes(10))
        .await
        .unwrap();
    let got = t.call("GET", &path, Some(&key), None).await.json();
    assert_eq!(got["stalled_since"], Value::Null, "{got}");
    let lapsed = now - chrono::Duration::minutes(16);
    set("issuing", lapsed).await.unwrap();
    let got = t.call("GET", &path, Some(&key), None).await.json();
    let since = chrono::DateTime::parse_from_rfc3339(got["stalled_since"].as_str().unwrap());
    assert_eq!(since.unwrap().timestamp(), lapsed.timestamp(), "{got}");
    let stalled = |page: &str| {
        page.contains(r#"<span class="status st-failed">멈춤</span>"#)
            || page.contains(r#"<span class="status st-failed">stalled</span>"#)
    };
    let (cookie, _) = crate::console::sign_in(&t, &key).await;
    let page = crate::console::get(&t, "/console/bulk", &cookie)
        .await
        .text();
    assert!(stalled(&page), "{page}");
    set("issuing", now - chrono::Duration::minutes(10))
        .await
        .unwrap();
    let page = crate::console::get(&t, "/console/bulk", &cookie)
        .await
        .text();
    assert!(!stalled(&page), "{page}");
}
