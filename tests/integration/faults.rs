//! Issue #14, the standing fault suite: for each path (issuing by API, CSV ingest, the day-1
//! email, a day-3 follow-up, an SES bounce, the weekly digest) a clean run counts its AWS calls
//! N; then, for each fault kind and each call k < N, fresh state, the fault at call k
//! ([`infra::metering::ThrottleAfterSend::arm_at`]), delivery with AWS's retries, and the
//! invariants: every award exactly once, every email at most once (and at least once where it
//! should), counters equal to their per-award sums, no batch left `validating`/`issuing`.
//!
//! Each path prints its figures (`faults/{path}: …`, run with `--nocapture`).

use accolade::{
    domain::{
        award::Award,
        batch::BatchStatus,
        followup::Stage,
        ids::{AwardId, BatchId, IssuerId, TemplateId},
        tally::{Segment, Tally},
    },
    ingest::IngestOptions,
    store::{awards::AwardsBy, followups::Due},
};
use accolade_tests::{spawn_app, template_body, unique_email, FunctionName, StatusCode, TestApp};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use infra::metering::Fault;
use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    future::Future,
    sync::atomic::{AtomicI64, Ordering},
};

/// One run of a path: the calls it made, where the fault went, and what was wrong after it.
#[derive(Debug, Default)]
struct Run {
    calls: Vec<String>,
    fired: Option<String>,
    problems: Vec<String>,
    /// An email not sent because the invocation died after claiming it and before SES accepted
    /// it: at most once wins over at least once (SES has no idempotent send).
    lost_in_window: bool,
}

/// Arms `fault` (or only starts counting calls).
fn arm(t: &TestApp, fault: Option<(usize, Fault)>) {
    match fault {
        Some((k, f)) => t.faults().arm_at(k, Some(f)),
        None => t.faults().arm_at(0, None),
    }
}

/// Stops injecting; the calls made since [`arm`] and where the fault went.
fn disarm(t: &TestApp) -> Run {
    let run = Run {
        calls: t.faults().calls(),
        fired: t.faults().fired(),
        ..Run::default()
    };
    t.faults().arm_at(0, None);
    run
}

/// Which calls of the clean run get a fault kind: every `step`-th from the `first`, of the calls
/// left once each run of `collapse` (an operation sent many times at once, such as the 16 shard
/// queries of a follow-up bucket) is cut down to its first and last call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Calls {
    collapse: Option<&'static str>,
    step: usize,
    first: usize,
}

const EVERY: Calls = Calls {
    collapse: None,
    step: 1,
    first: 0,
};

impl Calls {
    fn pick(self, calls: &[String]) -> Vec<usize> {
        let inside = |k: usize| {
            let same = |j: Option<usize>| j.and_then(|j| calls.get(j)) == Some(&calls[k]);
            self.collapse == Some(calls[k].as_str()) && same(k.checked_sub(1)) && same(Some(k + 1))
        };
        let left = (0..calls.len()).filter(|&k| !inside(k));
        left.skip(self.first).step_by(self.step).collect()
    }

    fn describe(self) -> String {
        let mut d = match (self.step, self.first) {
            (1, _) => "every call".to_owned(),
            (2, 0) => "every second call from the 1st".to_owned(),
            (2, 1) => "every second call from the 2nd".to_owned(),
            (n, f) => format!("every {n}th call from #{f}"),
        };
        if let Some(op) = self.collapse {
            d.push_str(&format!(" (of a run of {op} only the first and last)"));
        }
        d
    }
}

/// Every kind at every call.
const EVERY_CALL: [(Fault, Calls); 3] = [
    (Fault::Throttle, EVERY),
    (Fault::Timeout, EVERY),
    (Fault::Crash, EVERY),
];

/// For the longer paths: an answer lost after the request landed at every call, as a throttle
/// at every other call and a timeout at the others (the SDK retries both alike); a crash at
/// every call.
fn lost_answer_halves(collapse: Option<&'static str>) -> [(Fault, Calls); 3] {
    let half = |first| Calls {
        collapse,
        step: 2,
        first,
    };
    [
        (Fault::Throttle, half(0)),
        (Fault::Timeout, half(1)),
        (Fault::Crash, Calls { collapse, ..EVERY }),
    ]
}

/// The (call, fault) pairs of a plan. SES refuses a throttled send before accepting it, so a
/// throttle after SES accepted does not happen: at `SendEmail` the lost answer is a timeout.
fn jobs(plan: &[(Fault, Calls)], clean: &[String]) -> Vec<(usize, Fault)> {
    let mut jobs: Vec<(usize, Fault)> = plan
        .iter()
        .flat_map(|&(fault, which)| which.pick(clean).into_iter().map(move |k| (k, fault)))
        .map(|(k, f)| match f {
            Fault::Throttle if clean[k] == SEND => (k, Fault::Timeout),
            _ => (k, f),
        })
        .collect();
    jobs.sort_by_key(|&(k, f)| (f, k));
    jobs.dedup();
    jobs
}

/// Runs `run` clean (N = its calls), then with each fault of `plan` at each planned call below
/// N; prints the figures and fails with every broken invariant.
async fn sweep<F, Fut>(path: &str, plan: &[(Fault, Calls)], run: F)
where
    F: Fn(Option<(usize, Fault)>) -> Fut,
    Fut: Future<Output = Run>,
{
    let started = std::time::Instant::now();
    let clean = run(None).await;
    assert!(
        clean.problems.is_empty(),
        "{path}, clean run: {:?}",
        clean.problems
    );
    // Per kind: injected, survived, emails not sent (a crash between claim and SES).
    let mut figures: BTreeMap<Fault, (usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (k, fault) in jobs(plan, &clean.calls) {
        let r = run(Some((k, fault))).await;
        let Some(op) = r.fired else { continue };
        if fault == Fault::Throttle && op == SEND {
            continue; // (the run's calls differed from the clean run's: see `jobs`)
        }
        let f = figures.entry(fault).or_default();
        f.0 += 1;
        f.2 += usize::from(r.lost_in_window);
        if r.problems.is_empty() {
            f.1 += 1;
        } else {
            failures.push(format!(
                "{fault:?} at call {k} ({op}): {}",
                r.problems.join("; ")
            ));
        }
    }
    report(path, plan, &clean.calls, &figures, started.elapsed());
    assert!(
        failures.is_empty(),
        "{path}: {} faults broke an invariant:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `faults/{path}: …`, the figures of a sweep.
fn report(
    path: &str,
    plan: &[(Fault, Calls)],
    calls: &[String],
    figures: &BTreeMap<Fault, (usize, usize, usize)>,
    took: std::time::Duration,
) {
    let sum = |f: fn(&(usize, usize, usize)) -> usize| figures.values().map(f).sum::<usize>();
    let kinds: Vec<String> = plan
        .iter()
        .map(|(f, w)| {
            let (i, s, l) = figures.get(f).copied().unwrap_or_default();
            format!(
                "{f:?} at {}: {i} injected, {s} survived, {l} emails not sent",
                w.describe()
            )
        })
        .collect();
    eprintln!(
        "faults/{path}: calls N = {}; faults injected {}, survived {}; {:.0} s\n  {}\n  calls: {}",
        calls.len(),
        sum(|f| f.0),
        sum(|f| f.1),
        took.as_secs_f64(),
        kinds.join("\n  "),
        calls.join(" "),
    );
}

const SEND: &str = "sesv2.SendEmail";
const PUT: &str = "dynamodb.PutItem";

// ---------------------------------------------------------------------------------------------
// Invariants.

async fn awards_of(t: &TestApp, by: AwardsBy<'_>) -> Vec<Award> {
    t.app
        .store
        .list_awards(by, 1_000, None, |_| true)
        .await
        .unwrap()
        .0
}

/// Exactly one award per expected address, and none for anybody else.
fn exactly_once(awards: &[Award], expected: &[String], problems: &mut Vec<String>) {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for a in awards {
        *by.entry(a.recipient.email.as_str().to_owned()).or_default() += 1;
    }
    for e in expected {
        match by.remove(e).unwrap_or(0) {
            1 => {}
            n => problems.push(format!("{n} awards for {e}")),
        }
    }
    if !by.is_empty() {
        problems.push(format!("unexpected awards: {by:?}"));
    }
}

/// Counters of the segments that are not sums of the awards' own (not moved on these paths).
const SEGMENT_ONLY: [&str; 3] = ["revoked", "awards_viewed", "awards_shared"];

/// The segment's day counters against its awards: `issued` and `expires` count them, and every
/// other counter is the sum of the awards' own.
async fn counters_agree(t: &TestApp, seg: Segment, awards: &[Award], problems: &mut Vec<String>) {
    let from = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2200, 1, 1).unwrap();
    let mut daily: BTreeMap<String, i64> = BTreeMap::new();
    for (_, day) in t.app.store.segment_days(&seg, from, to).await.unwrap() {
        for (k, v) in day {
            *daily.entry(k).or_default() += v;
        }
    }
    let ids: Vec<AwardId> = awards.iter().map(|a| a.id.clone()).collect();
    let mut summed: BTreeMap<String, i64> = BTreeMap::new();
    summed.insert("issued".into(), awards.len() as i64);
    let expiring = awards.iter().filter(|a| a.expires_on.is_some()).count();
    summed.insert("expires".into(), expiring as i64);
    for c in t
        .app
        .store
        .award_counters_many(&ids)
        .await
        .unwrap()
        .values()
    {
        for (k, v) in c {
            *summed.entry(k.clone()).or_default() += v;
        }
    }
    let attrs: std::collections::BTreeSet<&String> = daily.keys().chain(summed.keys()).collect();
    for attr in attrs {
        if SEGMENT_ONLY.contains(&attr.as_str()) {
            continue;
        }
        let (d, s) = (
            daily.get(attr).copied().unwrap_or(0),
            summed.get(attr).copied().unwrap_or(0),
        );
        if d != s {
            problems.push(format!("{seg:?} counter {attr}: daily {d}, awards {s}"));
        }
    }
}

/// Whether the fault is a crash in an email's at-most-once window: at its claim (a `PutItem`
/// that the clean run follows with `SendEmail`) or at the send. `Some(true)` at the send (SES
/// has the message), `Some(false)` at the claim. The faulted call is found in the clean run by
/// its operation and its place among the calls of that operation.
fn in_window(clean: &[String], run: &Run, fault: Option<(usize, Fault)>) -> Option<bool> {
    let Some((k, Fault::Crash)) = fault else {
        return None;
    };
    let op = run.fired.as_deref()?;
    let nth = run.calls[..k].iter().filter(|c| *c == op).count();
    let at = clean
        .iter()
        .enumerate()
        .filter(|(_, c)| *c == op)
        .nth(nth)?
        .0;
    if op == SEND {
        return Some(true);
    }
    (op == PUT && clean.get(at + 1).is_some_and(|c| c == SEND)).then_some(false)
}

/// One email of `stage` to `to`, its stage recorded `sent`; or, after a crash in its window
/// ([`in_window`]), its claim left to run out, and the email sent only if SES had it.
async fn one_email(
    t: &TestApp,
    to: &str,
    aid: &AwardId,
    stage: &str,
    window: Option<bool>,
    run: &mut Run,
) {
    let got = sent_to(t, &[to]).await[0];
    if window == Some(false) && got == 0 {
        run.lost_in_window = true;
    } else if got != 1 {
        run.problems.push(format!("{got} {stage} emails to {to}"));
    }
    let record = t
        .app
        .store
        .email_record(aid, stage)
        .await
        .unwrap()
        .map(|r| r.state);
    // A claim a crash left behind; a send whose answer was lost, recorded as such.
    let claimed = window.is_some() && record.as_deref() == Some("sending");
    let unknown =
        run.fired.as_deref() == Some("sesv2.SendEmail") && record.as_deref() == Some("unknown");
    if !claimed && !unknown && record.as_deref() != Some("sent") {
        run.problems.push(format!("{stage} record {record:?}"));
    }
}

/// How many messages the emulator's SES accepted for each address (one read of its state).
async fn sent_to(t: &TestApp, to: &[&str]) -> Vec<usize> {
    let url = format!("{}/moto-api/data.json?service=ses", t.endpoint);
    let v: Value = serde_json::from_slice(&accolade_tests::curl(&[url]).await).unwrap();
    let all = v["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let to_one = |a: &str| {
        all.iter()
            .filter(|m| {
                m["destinations"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|x| x == a))
            })
            .count()
    };
    to.iter().map(|a| to_one(a)).collect()
}

/// Whether the award's follow-up of `stage` is queued in `bucket` (its item in the bucket's
/// partition, read consistently).
async fn queued(t: &TestApp, aid: &AwardId, stage: Stage, bucket: &str) -> bool {
    let due = t.app.store.due_in(bucket).await.unwrap();
    due.iter().any(|d| &d.award == aid && d.stage == stage)
}

// ---------------------------------------------------------------------------------------------
// The paths.

/// An integrator issuing one award, retrying a failed request with the same `Idempotency-Key`.
async fn api_once(t: &TestApp, fault: Option<(usize, Fault)>) -> Run {
    let (key, tpl) = t.one_active_template("결함대학", "API 발급").await;
    let to = unique_email("api");
    let req = json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "K"}});
    let idem = uuid::Uuid::new_v4().to_string();
    arm(t, fault);
    let mut answer = None;
    for _ in 0..5 {
        let r = t
            .call_with(
                "POST",
                "/v1/awards",
                Some(&key),
                Some(req.clone()),
                &[("idempotency-key", &idem)],
            )
            .await;
        let again = r.status.is_server_error() || r.status == StatusCode::TOO_MANY_REQUESTS;
        answer = Some((r.status, r.text()));
        if !again {
            break;
        }
    }
    let mut run = disarm(t);
    let (status, text) = answer.unwrap();
    if status != StatusCode::CREATED && status != StatusCode::OK {
        run.problems
            .push(format!("the integrator's last answer: {status} {text}"));
    }
    let tid = TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let awards = awards_of(t, AwardsBy::Template(&tid)).await;
    exactly_once(&awards, &[to], &mut run.problems);
    let answered = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned));
    if status.is_success() && awards.first().map(|a| a.id.to_string()) != answered {
        run.problems.push(format!(
            "answered award {answered:?}, stored {:?}",
            awards.first().map(|a| &a.id)
        ));
    }
    counters_agree(t, Segment::Template(tid), &awards, &mut run.problems).await;
    run
}

#[tokio::test]
async fn issuing_by_api_survives_a_fault_at_every_call() {
    let t = spawn_app().await;
    sweep("issue-by-api", &EVERY_CALL, |f| api_once(&t, f)).await;
}

/// A 20-row file: 18 rows to issue, an invalid address, and a repeat of the first row.
fn roster(prefix: &str) -> (Vec<u8>, Vec<String>) {
    let mut s = String::from("email,name,cohort\n");
    let emails: Vec<String> = (0..18)
        .map(|i| format!("{prefix}.{i}@example.com"))
        .collect();
    for (i, e) in emails.iter().enumerate() {
        s.push_str(&format!("{e},학습자 {i},2026-봄\n"));
        if i == 9 {
            s.push_str("not-an-email,잘못된 주소,2026-봄\n");
        }
    }
    s.push_str(&format!("{},학습자 0,2026-봄\n", emails[0]));
    (s.into_bytes(), emails)
}

/// The upload's S3 event to ingest (asynchronous: 1 + 2 attempts). A dead run's batch lease is
/// 1 s here (90 s deployed), so its retry resumes without a long wait.
async fn csv_once(t: &TestApp, fault: Option<(usize, Fault)>) -> Run {
    let (iid, key) = t.issuer("결함대학").await;
    let key = key.as_str();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let tpl = t
        .create_template(key, template_body(&format!("CSV {tag}")))
        .await;
    let (file, emails) = roster(&tag);
    let batch = json!({"filename": "roster.csv", "template_id": tpl["id"], "notify": false});
    let (id, source) = t.uploaded_batch(key, batch, &file).await;
    let options = IngestOptions {
        lease: std::time::Duration::from_secs(1),
        ..IngestOptions::default()
    };
    let ingest = t
        .lambda
        .function(FunctionName::Ingest)
        .clone()
        .with_ingest_options(options);
    let lambda = t.lambda.clone().with_function(ingest);
    let event = t.s3_event(&source, file.len() as u64);
    arm(t, fault);
    let _ = lambda.invoke_async(FunctionName::Ingest, event).await;
    let mut run = disarm(t);
    let bid = BatchId::parse(&id).unwrap();
    let b = t.app.store.get_batch(&bid).await.unwrap().unwrap();
    let c = b.counts;
    if b.status != BatchStatus::Completed
        || (c.rows, c.issued, c.invalid, c.duplicates) != (20, 18, 1, 1)
    {
        run.problems.push(format!(
            "batch {:?}, counts {c:?}, {:?}",
            b.status, b.failure_reason
        ));
    }
    let awards = awards_of(t, AwardsBy::Batch(&bid)).await;
    exactly_once(&awards, &emails, &mut run.problems);
    let tid = TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    counters_agree(t, Segment::Template(tid), &awards, &mut run.problems).await;
    counters_agree(t, Segment::Batch(bid), &awards, &mut run.problems).await;
    let cohort = Segment::Cohort(iid, "2026-봄".into());
    counters_agree(t, cohort, &awards, &mut run.problems).await;
    run
}

#[tokio::test]
async fn csv_ingest_survives_a_fault_at_every_call() {
    let t = spawn_app().await;
    sweep("csv-ingest", &lost_answer_halves(None), |f| csv_once(&t, f)).await;
}

/// A new award's stream record to notify (batches retried and bisected as the mapping says):
/// one day-1 email, its follow-ups queued.
async fn day1_once(
    t: &TestApp,
    runner: &tokio::sync::Mutex<infra::runner::Runner>,
    clean: &std::sync::Mutex<Vec<String>>,
    fault: Option<(usize, Fault)>,
) -> Run {
    let (_, key) = t.issuer("결함대학").await;
    let key = key.as_str();
    let tpl = t.create_template(key, template_body("1일차")).await;
    let to = unique_email("day1");
    let a = t
        .issue(
            key,
            json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "K"}}),
        )
        .await;
    let aid = AwardId::parse(a["id"].as_str().unwrap()).unwrap();
    let mut runner = runner.lock().await;
    arm(t, fault);
    runner.deliver_stream().await.unwrap();
    let mut run = disarm(t);
    let window = in_window(&clean.lock().unwrap(), &run, fault);
    one_email(t, &to, &aid, "day1", window, &mut run).await;
    let created = t
        .app
        .store
        .get_award(&aid)
        .await
        .unwrap()
        .unwrap()
        .created_at;
    let day3 = accolade::domain::followup::bucket_of(created + Duration::days(3));
    if !queued(t, &aid, Stage::Day3, &day3).await {
        run.problems.push("day-3 follow-up not queued".into());
    }
    if fault.is_none() {
        *clean.lock().unwrap() = run.calls.clone();
    }
    run
}

#[tokio::test]
async fn the_day1_email_survives_a_fault_at_every_call() {
    let t = spawn_app().await;
    let runner = tokio::sync::Mutex::new(t.runner());
    // A first award makes the bucket's schedule exist: N is what a warm function does.
    let clean = std::sync::Mutex::new(Vec::new());
    day1_once(&t, &runner, &clean, None).await;
    sweep("day1-email", &EVERY_CALL, |f| {
        day1_once(&t, &runner, &clean, f)
    })
    .await;
    assert!(t.lambda.failures().is_empty(), "{:?}", t.lambda.failures());
}

/// A template recommending another (so day 3 has something to say), two awards, and their day-3
/// follow-ups queued together (one item holds both) in an hour bucket of its own; the bucket's
/// schedule fires notify (asynchronous: 1 + 2 attempts). A retry after one was handled walks
/// the item again: the handled one must not go twice, the other must go, and the item must go.
async fn day3_once(
    t: &TestApp,
    hour: &AtomicI64,
    clean: &std::sync::Mutex<Vec<String>>,
    fault: Option<(usize, Fault)>,
) -> Run {
    let (_, key) = t.issuer("결함대학").await;
    let key = key.as_str();
    let next = t.create_template(key, template_body("심화")).await;
    let mut body = template_body("기초");
    body["related"] = json!([{"template_id": next["id"], "label": "다음 단계"}]);
    let tpl = t.create_template(key, body).await;
    let mut awards = Vec::new();
    for _ in 0..2 {
        let to = unique_email("day3");
        let body = json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "K"}});
        let a = t.issue(key, body).await;
        awards.push((to, AwardId::parse(a["id"].as_str().unwrap()).unwrap()));
    }
    let at = Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap()
        + Duration::hours(hour.fetch_add(1, Ordering::SeqCst));
    let bucket = accolade::domain::followup::bucket_of(at);
    let due = |aid: &AwardId| (Due::new(aid.clone(), Stage::Day3, bucket.clone()), at);
    let planned: Vec<_> = awards.iter().map(|(_, aid)| due(aid)).collect();
    t.app.store.put_followups(&planned).await.unwrap();
    let held = t.app.store.due_in(&bucket).await.unwrap();
    assert!(held.iter().all(|d| d.group.is_some()), "one item: {held:?}");
    let now = Utc::now() + Duration::days(3) + Duration::hours(1);
    let event = json!({"kind": "due", "bucket": bucket, "now": now.to_rfc3339()});
    arm(t, fault);
    let _ = t.lambda.invoke_async(FunctionName::Notify, event).await;
    let mut run = disarm(t);
    let window = in_window(&clean.lock().unwrap(), &run, fault);
    let crashed = matches!(fault, Some((_, Fault::Crash)));
    for (to, aid) in &awards {
        // The two are handled at once: a crash anywhere may find the other's claim taken and
        // its email not yet sent. That claim is left to run out (at most once), as for one.
        let record = t.app.store.email_record(aid, "day3").await.unwrap();
        let held = record.is_some_and(|r| r.state == "sending");
        let window = if crashed && held { Some(false) } else { window };
        one_email(t, to, aid, "day3", window, &mut run).await;
        if queued(t, aid, Stage::Day3, &bucket).await {
            run.problems.push("a day-3 follow-up is still due".into());
        }
    }
    if fault.is_none() {
        *clean.lock().unwrap() = run.calls.clone();
    }
    run
}

#[tokio::test]
async fn a_day3_follow_up_survives_a_fault_at_every_call() {
    let t = spawn_app().await;
    let (hour, clean) = (AtomicI64::new(0), std::sync::Mutex::new(Vec::new()));
    // The bucket's 16 shard queries go out at once: faults at the first and the last of them.
    let plan = lost_answer_halves(Some("dynamodb.Query"));
    sweep("day3-follow-up", &plan, |f| day3_once(&t, &hour, &clean, f)).await;
}

/// A permanent bounce of an award's day-1 email, as EventBridge delivers it (asynchronous:
/// 1 + 2 attempts): the address suppressed, the bounce counted once.
async fn bounce_once(t: &TestApp, fault: Option<(usize, Fault)>) -> Run {
    let (_, key) = t.issuer("결함대학").await;
    let key = key.as_str();
    let tpl = t.create_template(key, template_body("반송")).await;
    let to = unique_email("bounce");
    let a = t
        .issue(
            key,
            json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "K"}}),
        )
        .await;
    let id = a["id"].as_str().unwrap();
    let bounce =
        json!({"bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": to}]}});
    let event = crate::emails::ses_event("Bounce", id, "day1", &to, bounce);
    arm(t, fault);
    let _ = t.lambda.invoke_async(FunctionName::Analytics, event).await;
    let mut run = disarm(t);
    let lookup = accolade::domain::email::Email::parse(&to)
        .unwrap()
        .lookup_key();
    if !t.app.store.is_suppressed(&lookup).await.unwrap() {
        run.problems.push("the address is not suppressed".into());
    }
    let aid = AwardId::parse(id).unwrap();
    let counted = t
        .app
        .store
        .award_counters(&aid)
        .await
        .unwrap()
        .get("email:day1:bounced")
        .copied();
    if counted != Some(1) {
        run.problems.push(format!("bounce counted {counted:?}"));
    }
    let tid = TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let awards = awards_of(t, AwardsBy::Template(&tid)).await;
    // Day items are rolled up from the stream (notify), as in AWS: deliver it first.
    t.roll_up().await;
    counters_agree(t, Segment::Template(tid), &awards, &mut run.problems).await;
    run
}

#[tokio::test]
async fn an_ses_bounce_survives_a_fault_at_every_call() {
    let t = spawn_app().await;
    sweep("ses-bounce", &EVERY_CALL, |f| bounce_once(&t, f)).await;
}

/// 08:05 in Seoul on the `week`-th Monday after this week.
fn monday_morning(week: i64) -> DateTime<Utc> {
    let seoul = chrono_tz::Asia::Seoul;
    let today = Utc::now().with_timezone(&seoul).date_naive();
    let ahead = 7 - i64::from(today.weekday().num_days_from_monday());
    let monday = today + Duration::days(ahead + 7 * week);
    let at = monday.and_hms_opt(8, 5, 0).unwrap();
    seoul.from_local_datetime(&at).unwrap().with_timezone(&Utc)
}

/// What an hour passing does to a digest claim whose run died: it runs out.
async fn expire_digest_claim(t: &TestApp, issuer: &IssuerId, monday: NaiveDate) {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let (pk, sk) = accolade::store::keys::digest(issuer, monday);
    let past = accolade::store::keys::sortable(Utc::now() - Duration::minutes(1));
    let _ = aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.names.table)
        .key("PK", Av::S(pk))
        .key("SK", Av::S(sk))
        .update_expression("SET #u = :past")
        .condition_expression("#st = :sending")
        .expression_attribute_names("#u", "until")
        .expression_attribute_names("#st", "state")
        .expression_attribute_values(":past", Av::S(past))
        .expression_attribute_values(":sending", Av::S("sending".into()))
        .send()
        .await;
}

/// A week with something in it (an award on its Thursday) and two fresh admins to get its digest:
/// the admins, the issuer, the week's Monday and its Monday 08:05 run.
async fn busy_week(
    t: &TestApp,
    key: &str,
    tid: &TemplateId,
    week: &AtomicI64,
) -> ([String; 2], IssuerId, NaiveDate, DateTime<Utc>) {
    let admins = [unique_email("dean"), unique_email("office")];
    let r = t
        .call(
            "PATCH",
            "/v1/issuer",
            Some(key),
            Some(json!({"digest_recipients": admins})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let at = monday_morning(week.fetch_add(1, Ordering::SeqCst));
    let issuer = t
        .app
        .store
        .list_issuers(10, None)
        .await
        .unwrap()
        .0
        .remove(0);
    let (from, _) = accolade::digest::last_week(&issuer, at);
    let busy = Tally {
        segment: Segment::Template(tid.clone()),
        day: from + Duration::days(3),
        attr: "issued".into(),
        delta: 1,
    };
    // Written as the rollup writes day items (one chunk, no span recorded).
    let chunk = accolade::domain::rollup::Chunk {
        consumed: 0,
        span: None,
        adds: accolade::domain::tally::group(&[busy]),
    };
    t.app
        .store
        .write_rollup(
            &accolade::domain::rollup::Shard::Stream {
                stream: "test".into(),
                id: "shard".into(),
            },
            &chunk,
        )
        .await
        .unwrap();
    (admins, issuer.id, from, at)
}

/// The analytics function's event for the digest run of hour `at`.
fn digest_run_at(at: DateTime<Utc>) -> Value {
    json!({"kind": "weekly_digest", "scheduled_time": at.to_rfc3339()})
}

/// One week's digest to two fresh admins: the 08:00 run (asynchronous: 1 + 2 attempts), then,
/// an hour later, the 09:00 run, which picks up a digest whose run died.
async fn digest_once(
    t: &TestApp,
    key: &str,
    tid: &TemplateId,
    week: &AtomicI64,
    clean: &std::sync::Mutex<Vec<String>>,
    fault: Option<(usize, Fault)>,
) -> Run {
    let (admins, issuer, from, at) = busy_week(t, key, tid, week).await;
    arm(t, fault);
    let _ = t
        .lambda
        .invoke_async(FunctionName::Analytics, digest_run_at(at))
        .await;
    expire_digest_claim(t, &issuer, from).await;
    let _ = t
        .lambda
        .invoke_async(
            FunctionName::Analytics,
            digest_run_at(at + Duration::hours(1)),
        )
        .await;
    let mut run = disarm(t);
    // A crash at an admin's claim leaves that admin without the digest (at most once).
    let window = in_window(&clean.lock().unwrap(), &run, fault);
    let sent = sent_to(t, &[&admins[0], &admins[1]]).await;
    for (admin, got) in admins.iter().zip(sent) {
        if got == 0 && window == Some(false) && !run.lost_in_window {
            run.lost_in_window = true;
        } else if got != 1 {
            run.problems.push(format!("{got} digests to {admin}"));
        }
    }
    if fault.is_none() {
        *clean.lock().unwrap() = run.calls.clone();
    }
    run
}

/// SES refuses every digest copy for now (the account's sending paused): the copies are given
/// back and the week left unfinished, and the next hourly run sends each admin theirs, once.
#[tokio::test]
async fn a_digest_ses_refused_for_now_is_sent_by_the_next_run() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("일시중지대학").await;
    let tpl = t.create_template(&key, template_body("주간")).await;
    let tid = TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let (admins, issuer, from, at) = busy_week(&t, &key, &tid, &AtomicI64::new(0)).await;
    t.faults().arm_at_nth(SEND, 0, 100, Fault::SendingPaused);
    let out = t
        .invoke(FunctionName::Analytics, digest_run_at(at))
        .await
        .unwrap();
    assert!(out.to_string().contains("Unfinished"), "{out}");
    assert_eq!(t.faults().fired().as_deref(), Some(SEND));
    t.faults().arm_at(0, None);
    assert_eq!(sent_to(&t, &[&admins[0], &admins[1]]).await, [0, 0]);
    // An hour on, the week's claim has lapsed: the 09:00 run sends both.
    expire_digest_claim(&t, &issuer, from).await;
    let out = t
        .invoke(
            FunctionName::Analytics,
            digest_run_at(at + Duration::hours(1)),
        )
        .await
        .unwrap();
    assert!(out.to_string().contains("Sent"), "{out}");
    assert_eq!(sent_to(&t, &[&admins[0], &admins[1]]).await, [1, 1]);
    // Finished: the 10:00 run sends nothing more.
    expire_digest_claim(&t, &issuer, from).await;
    t.invoke(
        FunctionName::Analytics,
        digest_run_at(at + Duration::hours(2)),
    )
    .await
    .unwrap();
    assert_eq!(sent_to(&t, &[&admins[0], &admins[1]]).await, [1, 1]);
}

#[tokio::test]
async fn the_weekly_digest_survives_a_fault_at_every_call() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("결함대학").await;
    let tpl = t.create_template(&key, template_body("주간")).await;
    let tid = TemplateId::parse(tpl["id"].as_str().unwrap()).unwrap();
    let (week, clean) = (AtomicI64::new(0), std::sync::Mutex::new(Vec::new()));
    sweep("weekly-digest", &lost_answer_halves(None), |f| {
        digest_once(&t, &key, &tid, &week, &clean, f)
    })
    .await;
}
