//! `infra bench-cost`: what each operation costs in AWS — DynamoDB request units as DynamoDB
//! bills them (the local server meters every request by item size, indexes and transactions:
//! `infra/scripts/capacity.py`), Lambda invocations and GB-seconds, API Gateway requests, S3
//! requests and Scheduler invocations — and the dollars at on-demand prices (issue #15 item 4).
//!
//! Each phase runs a real path through the functions' entry points, as their principals, on a
//! fresh emulator: issuing by API, issuing by CSV (presigned upload → S3 event → ingest), the
//! day-1 emails (the stream batch → notify), the day-3 and day-7 follow-ups (the due schedules →
//! notify), the expiry reminder and `award.expired` two years on (the same), the SES events of
//! those emails (→ analytics, then the rollup), badge views and tracked clicks (verify, then the stream's rollup by notify), and the
//! analytics report. Lambda durations are this machine's (a debug build against moto, whose
//! DynamoDB calls take 6–8 ms against DynamoDB's single-digit ms): an overestimate.

use crate::bench::{self, BenchStack};
use accolade::entry::FunctionName;
use std::{collections::BTreeMap, time::Duration};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// On-demand prices, us-east-1, arm64, in dollars (AWS's pricing pages; DynamoDB's since its
/// November 2024 reduction). Free tiers are left out.
mod price {
    pub const WRU: f64 = 0.625e-6;
    pub const RRU: f64 = 0.125e-6;
    pub const LAMBDA_REQUEST: f64 = 0.20e-6;
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    pub const HTTP_API_REQUEST: f64 = 1.00e-6;
    /// PUT, COPY, POST, LIST (a multipart upload's create, parts and completion each count).
    pub const S3_WRITE: f64 = 0.005e-3;
    pub const S3_READ: f64 = 0.0004e-3;
    pub const SCHEDULER_INVOCATION: f64 = 1.00e-6;
}

/// What one phase used.
#[derive(Debug, Default)]
struct Usage {
    label: &'static str,
    per: &'static str,
    count: usize,
    api_requests: u64,
    rru: f64,
    wru: f64,
    index_wru: f64,
    ddb_requests: u64,
    /// Function → (invocations, total duration, memory in MB).
    lambda: BTreeMap<&'static str, (u64, Duration, u64)>,
    s3_writes: u64,
    s3_reads: u64,
    scheduler_invocations: u64,
    scheduler_calls: u64,
    emails: u64,
}

impl Usage {
    fn dollars(&self) -> [(&'static str, f64); 5] {
        let gb_s: f64 = self
            .lambda
            .values()
            .map(|(_, d, mb)| d.as_secs_f64() * (*mb as f64) / 1024.0)
            .sum();
        let invocations: u64 = self.lambda.values().map(|(n, _, _)| n).sum();
        [
            (
                "DynamoDB",
                (self.wru + self.index_wru) * price::WRU + self.rru * price::RRU,
            ),
            (
                "Lambda",
                invocations as f64 * price::LAMBDA_REQUEST + gb_s * price::LAMBDA_GB_SECOND,
            ),
            (
                "API Gateway",
                self.api_requests as f64 * price::HTTP_API_REQUEST,
            ),
            (
                "S3",
                self.s3_writes as f64 * price::S3_WRITE + self.s3_reads as f64 * price::S3_READ,
            ),
            (
                "Scheduler",
                self.scheduler_invocations as f64 * price::SCHEDULER_INVOCATION,
            ),
        ]
    }

    /// Dollars per 1,000 of `per`, by service, and their total.
    fn per_thousand(&self) -> Vec<(&'static str, f64)> {
        let scale = 1000.0 / self.count.max(1) as f64;
        let mut out: Vec<_> = self
            .dollars()
            .iter()
            .map(|(k, v)| (*k, v * scale))
            .collect();
        let total = out.iter().map(|(_, v)| v).sum();
        out.push(("total", total));
        out
    }
}

/// Resets every meter: the emulator's request units, the request counter, the invocation log.
async fn begin(b: &BenchStack) -> Result<(), BoxError> {
    infra::moto::capacity(&b.stack.endpoint, None, true).await?;
    b.counter.reset();
    b.lambda.instruments.invocations.reset();
    Ok(())
}

/// What the phase since [`begin`] used.
async fn end(
    b: &BenchStack,
    label: &'static str,
    per: &'static str,
    count: usize,
    api_requests: u64,
) -> Result<Usage, BoxError> {
    let units = infra::moto::capacity(&b.stack.endpoint, None, false).await?;
    let sum = |field: &str| -> f64 {
        units
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, t)| t[field].as_f64())
            .sum()
    };
    eprintln!(
        "{label}: request units by operation {units}; requests {:?}",
        b.counter.snapshot()
    );
    if units.get("unmetered").is_some() {
        return Err(format!("{label}: requests the meter could not read: {units}").into());
    }
    let requests = b.counter.snapshot();
    let count_of = |pred: &dyn Fn(&str) -> bool| -> u64 {
        requests
            .iter()
            .filter(|(k, _)| pred(k))
            .map(|(_, n)| n)
            .sum()
    };
    let lambda = invocations(b);
    Ok(Usage {
        label,
        per,
        count,
        api_requests,
        rru: sum("rru"),
        wru: sum("wru"),
        index_wru: sum("index_wru"),
        ddb_requests: count_of(&|k| k.starts_with("dynamodb.")),
        lambda,
        // DELETE requests are free.
        s3_writes: count_of(&|k| {
            k.starts_with("s3.")
                && !["GetObject", "HeadObject", "DeleteObject", "DeleteObjects"]
                    .iter()
                    .any(|op| k.ends_with(op))
        }),
        s3_reads: count_of(&|k| k == "s3.GetObject" || k == "s3.HeadObject"),
        scheduler_invocations: 0,
        scheduler_calls: count_of(&|k| k.starts_with("scheduler.")),
        emails: count_of(&|k| k == "sesv2.SendEmail"),
    })
}

/// The invocations since [`begin`], by function: (count, total duration, memory in MB).
fn invocations(b: &BenchStack) -> BTreeMap<&'static str, (u64, Duration, u64)> {
    b.lambda
        .instruments
        .invocations
        .snapshot()
        .into_iter()
        .map(|(f, (n, d))| {
            let mb = FunctionName::parse(f).map_or(256, |f| b.lambda.spec(f).memory_mb);
            (f, (n, d, mb))
        })
        .collect()
}

/// `infra bench-cost --badges N --views M`: every phase on one fresh emulator, then the table.
pub async fn run(badges: usize, views: usize) -> Result<(), BoxError> {
    let b = BenchStack::start().await?;
    let demo = infra::seed::seed(&b.app).await?;
    email_only(&b, &demo).await?;
    let admin = infra::moto::admin_sdk_config(&b.stack.endpoint);
    let mut runner = infra::runner::Runner::new(b.lambda.clone(), admin);
    runner.deliver_stream().await?;
    let mut phases = vec![issue_by_csv(&b, &demo, &mut runner, badges).await?];
    begin(&b).await?;
    runner.deliver_stream().await?;
    phases.push(end(&b, "day-1 email (stream → notify)", "badge", badges, 0).await?);
    // Both follow-ups of every award so far: the hour buckets due 3 days and then 7 days on.
    let label = "day-3 + day-7 follow-ups (Scheduler → notify)";
    phases.push(scheduled(&b, &mut runner, label, badges + 1, [4, 8]).await?);
    let label = "SES events of those emails (EventBridge → analytics) + rollup";
    phases.push(ses_events(&b, &mut runner, label, badges + 1).await?);
    // The expiry reminder and `award.expired` of every award (the demo template's badges
    // expire 730 days after issue, with a reminder 30 days before): the buckets due then.
    let label = "expiry reminder + `award.expired` (Scheduler → notify, ~2 years later)";
    phases.push(scheduled(&b, &mut runner, label, badges, [701, 731]).await?);
    let label = "SES events of the reminders (EventBridge → analytics) + rollup";
    phases.push(ses_events(&b, &mut runner, label, badges).await?);
    let (usage, awards) = issue_by_api(&b, &demo, 100).await?;
    phases.push(usage);
    runner.deliver_stream().await?;
    phases.push(visits(&b, &mut runner, &awards, views, None, 1).await?);
    phases.push(visits(&b, &mut runner, &awards, views, Some("enrol"), 1).await?);
    phases.push(visits(&b, &mut runner, &awards, views, None, 5).await?);
    phases.push(reports(&b, &demo, 20).await?);
    phases.push(one_browser(&b, &mut runner, &awards, views).await?);
    print(&phases);
    b.moto.stop().await;
    Ok(())
}

/// A file of `rows` learners issued today (so their follow-ups are due in 3 and 7 days).
fn roster(rows: usize) -> Vec<u8> {
    let mut csv = String::from("email,name\n");
    for i in 0..rows {
        csv.push_str(&format!("learner{i}@example.ac.kr,학습자 {i}\n"));
    }
    csv.into_bytes()
}

async fn issue_by_csv(
    b: &BenchStack,
    demo: &infra::seed::Demo,
    runner: &mut infra::runner::Runner,
    rows: usize,
) -> Result<Usage, BoxError> {
    let file = roster(rows);
    begin(b).await?;
    let batch_id = bench::create_and_upload(b, demo, &file).await?;
    let batch = loop {
        runner.deliver_uploads().await?;
        let batch = b.app.store.get_batch(&batch_id).await?.ok_or("no batch")?;
        if batch.status.is_final() {
            break batch;
        }
    };
    if batch.counts.issued != rows as u64 {
        return Err(format!("the file issued {} of {rows}", batch.counts.issued).into());
    }
    let mut usage = end(
        b,
        "issue by CSV (upload → S3 event → ingest)",
        "badge",
        rows,
        1,
    )
    .await?;
    usage.s3_writes += 1; // the browser's PUT to the presigned URL
    Ok(usage)
}

/// The schedules due `days` days from now, for each in turn, fired (each again while a run
/// continues the rest of its bucket in a new schedule, out of time) as one phase.
async fn scheduled(
    b: &BenchStack,
    runner: &mut infra::runner::Runner,
    label: &'static str,
    awards: usize,
    days: [i64; 2],
) -> Result<Usage, BoxError> {
    begin(b).await?;
    let now = chrono::Utc::now();
    let mut fired = 0;
    for d in days {
        let at = now + chrono::Duration::days(d);
        loop {
            let n = runner.fire_due_schedules(at).await?;
            fired += n;
            if n == 0 {
                break;
            }
        }
    }
    let mut usage = end(b, label, "badge", awards, 0).await?;
    usage.scheduler_invocations = fired as u64;
    Ok(usage)
}

/// The SES events of the emails sent so far (→ analytics), then their rollup.
async fn ses_events(
    b: &BenchStack,
    runner: &mut infra::runner::Runner,
    label: &'static str,
    awards: usize,
) -> Result<Usage, BoxError> {
    begin(b).await?;
    runner.deliver_ses_events().await?;
    runner.deliver_stream().await?;
    end(b, label, "badge", awards, 0).await
}

async fn issue_by_api(
    b: &BenchStack,
    demo: &infra::seed::Demo,
    n: usize,
) -> Result<(Usage, Vec<String>), BoxError> {
    let key = demo.api_key.expose().to_owned();
    let mut ids = Vec::with_capacity(n);
    begin(b).await?;
    for i in 0..n {
        let body = serde_json::json!({"template_id": demo.template_id,
            "recipient": {"email": format!("api{i}@example.ac.kr"), "name": "김민수"}});
        let event =
            bench::http_event_with(&b.lambda, "POST", "/v1/awards", Some(&key), Some(&body))?;
        let answer = invoke_http(b, FunctionName::Api, event, 201).await?;
        ids.push(answer["id"].as_str().ok_or("no award id")?.to_owned());
    }
    let usage = end(b, "issue by API (`POST /v1/awards`)", "badge", n, n as u64).await?;
    Ok((usage, ids))
}

/// `n` badge pages (or clicks on `slot`) over `awards`, `run` in a row on each badge, then the
/// stream's rollup of their counters.
async fn visits(
    b: &BenchStack,
    runner: &mut infra::runner::Runner,
    awards: &[String],
    n: usize,
    slot: Option<&str>,
    run: usize,
) -> Result<Usage, BoxError> {
    begin(b).await?;
    for i in 0..n {
        let id = &awards[(i / run) % awards.len()];
        let (path, status) = match slot {
            Some(s) => (format!("/b/{id}/go/{s}"), 302),
            None => (format!("/b/{id}"), 200),
        };
        let event = bench::http_event(&b.lambda, "GET", &path, None)?;
        invoke_http(b, FunctionName::Verify, event, status).await?;
    }
    runner.deliver_stream().await?;
    let (label, per) = match (slot, run) {
        (Some(_), _) => ("tracked click (`/b/{id}/go/enrol`) + its rollup", "click"),
        (None, 1) => ("badge view (`GET /b/{id}`) + its rollup", "view"),
        (None, _) => ("badge view, 5 in a row per badge, + its rollup", "view"),
    };
    end(b, label, per, n, n as u64).await
}

/// KakaoTalk off for the demo issuer: its cost is measured apart (docs/performance.md,
/// "KakaoTalk and SMS"), and with no SENS stand-in here the demo badge's texts would wait for an
/// unreachable provider, tried again every 15 minutes for 14 days, each try a notify run that
/// the scheduled rows would count as the badges' (since 2026-12-07 03:51, 6db6f6a).
async fn email_only(b: &BenchStack, demo: &infra::seed::Demo) -> Result<(), BoxError> {
    if let Some((mut settings, sealed)) = b.app.store.get_kakao(&demo.issuer_id).await? {
        settings.enabled = false;
        b.app
            .store
            .put_kakao(&demo.issuer_id, &settings, sealed.as_deref())
            .await?;
    }
    Ok(())
}

/// `n` badge pages over `awards`, 5 in a row on each from one browser: the first counted, the
/// next four bringing back its `seen` cookie (the day in the demo issuer's zone, Seoul).
async fn one_browser(
    b: &BenchStack,
    runner: &mut infra::runner::Runner,
    awards: &[String],
    n: usize,
) -> Result<Usage, BoxError> {
    let day = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .format("%Y-%m-%d");
    begin(b).await?;
    for i in 0..n {
        let id = &awards[(i / 5) % awards.len()];
        let mut event = bench::http_event(&b.lambda, "GET", &format!("/b/{id}"), None)?;
        if i % 5 != 0 {
            event["cookies"] = serde_json::json!([format!("seen={day}")]);
        }
        invoke_http(b, FunctionName::Verify, event, 200).await?;
    }
    runner.deliver_stream().await?;
    let label =
        "badge view, 5 in a row per badge from one browser (its `seen` cookie), + its rollup";
    end(b, label, "view", n, n as u64).await
}

async fn reports(b: &BenchStack, demo: &infra::seed::Demo, n: usize) -> Result<Usage, BoxError> {
    let key = demo.api_key.expose().to_owned();
    begin(b).await?;
    for _ in 0..n {
        let event = bench::http_event(&b.lambda, "GET", "/v1/analytics", Some(&key))?;
        invoke_http(b, FunctionName::Analytics, event, 200).await?;
    }
    end(
        b,
        "analytics report (`GET /v1/analytics`, 12 weeks)",
        "report",
        n,
        n as u64,
    )
    .await
}

/// One API Gateway event through `function`; its JSON body, if the status is `expected`.
async fn invoke_http(
    b: &BenchStack,
    function: FunctionName,
    event: serde_json::Value,
    expected: u64,
) -> Result<serde_json::Value, BoxError> {
    let answer = b
        .lambda
        .invoke(function, event)
        .await
        .map_err(|e| e.to_string())?;
    if answer["statusCode"].as_u64() != Some(expected) {
        return Err(format!("expected {expected}: {answer}").into());
    }
    let body = answer["body"].as_str().unwrap_or_default();
    Ok(serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

fn print(phases: &[Usage]) {
    println!("| Operation | DynamoDB requests | RRU | WRU (table + indexes) | Lambda invocations (GB-s) | API GW | S3 | Scheduler | $ per 1,000: DynamoDB | Lambda | API GW | S3 + Scheduler | **total** |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for u in phases {
        let per = |x: f64| x / u.count.max(1) as f64;
        let lambda: Vec<String> = u
            .lambda
            .iter()
            .map(|(f, (n, d, mb))| {
                format!(
                    "{f} {:.3} ({:.4})",
                    per(*n as f64),
                    per(d.as_secs_f64() * *mb as f64 / 1024.0)
                )
            })
            .collect();
        let d = u.per_thousand();
        println!(
            "| {} (per {}, n = {}) | {:.2} | {:.2} | {:.2} + {:.2} | {} | {:.2} | {:.3} | {:.3} inv., {:.2} calls | {:.5} | {:.5} | {:.5} | {:.5} | **{:.5}** |",
            u.label, u.per, u.count,
            per(u.ddb_requests as f64), per(u.rru), per(u.wru), per(u.index_wru),
            lambda.join(", "),
            per(u.api_requests as f64),
            per((u.s3_writes + u.s3_reads) as f64),
            per(u.scheduler_invocations as f64), per(u.scheduler_calls as f64),
            d[0].1, d[1].1, d[2].1, d[3].1 + d[4].1, d[5].1,
        );
        if u.emails > 0 {
            println!(
                "|   … and {:.2} emails per {} (SES, not counted above) | | | | | | | | | | | | |",
                per(u.emails as f64),
                u.per
            );
        }
    }
    let total =
        |labels: &[usize]| -> f64 { labels.iter().map(|i| phases[*i].per_thousand()[5].1).sum() };
    println!();
    println!("$ per 1,000 badges excluding SES (CSV issue + day-1 + follow-ups + their SES events): **{:.4}**", total(&[0, 1, 2, 3]));
    println!("$ per 1,000 badges excluding SES (API issue + day-1 + follow-ups + their SES events): **{:.4}**", total(&[6, 1, 2, 3]));
    println!("… with the expiry reminder and `award.expired` (CSV issue + every stage + their SES events): **{:.4}**", total(&[0, 1, 2, 3, 4, 5]));
    println!(
        "$ per 1,000 views: **{:.4}** (5 in a row per badge: {:.4}; 5 in a row from one browser: {:.4}); per 1,000 clicks: **{:.4}**",
        total(&[7]),
        total(&[9]),
        total(&[11]),
        total(&[8])
    );
}
