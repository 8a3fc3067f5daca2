//! Benchmarks on a private emulator: `infra bench-ingest` (CSV ingest end to end) and
//! `infra bench-cold-start` (each built function binary started as Lambda starts it).

use infra::{
    lambda::{LocalLambda, Stack},
    metering::RequestCounter,
    moto::Moto,
    operator, provision, sam,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A provisioned emulator with the functions deployed as their principals.
pub(crate) struct BenchStack {
    pub(crate) moto: Moto,
    pub(crate) stack: Stack,
    pub(crate) names: provision::Names,
    pub(crate) lambda: LocalLambda,
    pub(crate) app: accolade::app::App,
    pub(crate) counter: RequestCounter,
}

impl BenchStack {
    pub(crate) async fn start() -> Result<Self, BoxError> {
        let moto =
            Moto::start(None, &infra::repo_root().join("test-output/bench-moto.log")).await?;
        let spec = sam::load(&infra::repo_root().join("template.yaml"), "bench")?;
        let names = provision::Names::of_stage("bench", &spec);
        let mut stack = Stack {
            endpoint: moto.endpoint.clone(),
            spec: std::sync::Arc::new(spec),
            names: names.clone(),
            stage: "bench".into(),
            sender: "badges@bench.example".into(),
            public_base_url: "http://127.0.0.1".into(),
        };
        let admin = infra::moto::admin_sdk_config(&moto.endpoint);
        stack.provision(&admin).await?;
        let counter = RequestCounter::default();
        let lambda = LocalLambda::deploy(
            stack.clone(),
            infra::lambda::Instruments {
                requests: counter.clone(),
                ..Default::default()
            },
        )
        .await?;
        let app = infra::lambda::admin_app(&stack, &admin);
        Ok(Self {
            moto,
            stack,
            names,
            lambda,
            app,
            counter,
        })
    }
}

/// Peak resident set size of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

pub async fn ingest(rows: usize, validate_only: bool, shape: &str) -> Result<(), BoxError> {
    use accolade::domain::batch::{Batch, BatchMode};
    let b = BenchStack::start().await?;
    let (issuer, template) = plain_template(&b.app).await?;
    let mode = if validate_only {
        BatchMode::AllOrNothing
    } else {
        BatchMode::SkipInvalid
    };
    let batch = Batch::new(
        issuer,
        Some(template),
        "bench.csv".into(),
        false,
        mode,
        chrono::Utc::now(),
    );
    b.app.store.create_batch(&batch, None).await?;
    let csv = bench_file(rows, validate_only, shape)?;
    let size = csv.len() as u64;
    b.app
        .blobs
        .put(&batch.source_key, csv.into_bytes(), "text/csv")
        .await?;
    b.counter.reset();
    // Reset the high-water mark (Linux ≥ 4.0), so the peak is ingest's, not the file generator's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = peak_rss_mib();
    let started = std::time::Instant::now();
    let event = infra::runner::s3_event(&b.names.bucket, &batch.source_key, size, "");
    let out = b
        .lambda
        .invoke(accolade::entry::FunctionName::Ingest, event)
        .await
        .map_err(|e| e.to_string())?;
    let wall = started.elapsed();
    let done = b
        .app
        .store
        .get_batch(&batch.id)
        .await?
        .ok_or("batch vanished")?;
    let ddb_total = dynamodb_requests(&b.counter);
    println!("outcome: {out}");
    println!(
        "| {rows} rows, {shape}{} | {:?} | {:.1} s | {:.0} rows/s | {} issued | {} DynamoDB requests ({:.1} per 1,000 issued) | {:?} | peak RSS {:.1} MiB (before ingest {:.1} MiB) | file {:.1} MiB |",
        if validate_only { ", validation pass only" } else { "" },
        done.status,
        wall.as_secs_f64(),
        rows as f64 / wall.as_secs_f64(),
        done.counts.issued,
        ddb_total,
        if done.counts.issued > 0 { ddb_total as f64 * 1000.0 / done.counts.issued as f64 } else { f64::NAN },
        b.counter.snapshot(),
        peak_rss_mib(),
        rss_before,
        size as f64 / 1048576.0,
    );
    b.moto.stop().await;
    Ok(())
}

/// DynamoDB requests counted so far.
fn dynamodb_requests(counter: &RequestCounter) -> u64 {
    counter
        .snapshot()
        .iter()
        .filter(|(k, _)| k.starts_with("dynamodb."))
        .map(|(_, v)| v)
        .sum()
}

/// An issuer and a template without rules (no one-active slot: two items a row).
async fn plain_template(
    app: &accolade::app::App,
) -> Result<
    (
        accolade::domain::ids::IssuerId,
        accolade::domain::ids::TemplateId,
    ),
    BoxError,
> {
    use accolade::domain::template::Template;
    let new = operator::NewIssuer {
        name: "Bench",
        url: "https://bench.example",
        email: "b@bench.example",
        locale: None,
        time_zone: None,
    };
    let (issuer, _) = operator::create_issuer(&app.store, &new).await?;
    let template = Template::new(
        issuer.id.clone(),
        bench_spec("Bench".into(), "Bench".into()),
        chrono::Utc::now(),
    );
    app.store.create_template(&template, None).await?;
    Ok((issuer.id, template.id))
}

/// A template without rules, images or recommendations.
fn bench_spec(name: String, description: String) -> accolade::domain::template::TemplateSpec {
    use accolade::domain::template::{Criteria, TemplateSpec};
    TemplateSpec {
        name,
        description,
        criteria: Criteria {
            narrative: Some("n".into()),
            url: None,
        },
        skills: vec![],
        image: Default::default(),
        validity: Default::default(),
        reissue_policy: Default::default(),
        related: vec![],
        banner: None,
        enrolment: None,
        follow_ups: Default::default(),
    }
}

/// `count` more templates of the demo issuer, each with a Korean description of about `kb` KB
/// (3 bytes a character; at most the 5,000 characters an admin may write): a catalogue of a
/// deployment with many templates, for the cold badge page.
async fn grow_catalogue(
    app: &accolade::app::App,
    issuer: &accolade::domain::ids::IssuerId,
    count: usize,
    kb: usize,
) -> Result<(), BoxError> {
    use accolade::domain::template::Template;
    let description = "가".repeat((kb * 1024 / 3).min(5_000));
    for i in 0..count {
        let spec = bench_spec(format!("과정 {i}"), description.clone());
        let template = Template::new(issuer.clone(), spec, chrono::Utc::now());
        app.store.create_template(&template, None).await?;
    }
    Ok(())
}

/// The CSV file of a benchmark run (see `BenchIngest`).
pub(crate) fn bench_file(
    rows: usize,
    validate_only: bool,
    shape: &str,
) -> Result<String, BoxError> {
    let (header, row): (&str, fn(usize) -> String) = match shape {
        "roster" => ("email,name,issued_on,cohort", |i| {
            format!("learner{i}@example.ac.kr,학습자 {i},2026-03-01,2026-봄")
        }),
        "short" => ("email,name", |i| format!("{i}@a.kr,{i}")),
        "invalid" => (
            "email,name,template_id,issued_on,expires_on,evidence_url,locale",
            |_| "x,,x,x,x,x,x".into(),
        ),
        "long-cells" => ("email,name,narrative", |i| {
            format!("l{i}@example.ac.kr,학습자 {i},{}", "가".repeat(9_990))
        }),
        other => return Err(format!("unknown shape {other}").into()),
    };
    let mut csv = format!("{header}\n");
    for i in 0..rows {
        if validate_only && i + 1 == rows {
            csv.push_str("not-an-email,Last\n");
        } else {
            csv.push_str(&row(i));
            csv.push('\n');
        }
    }
    Ok(csv)
}

/// What `infra bench-cold-start` runs.
#[derive(clap::Args)]
pub struct ColdOptions {
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Where the binaries are.
    #[arg(long, default_value = "target/release")]
    pub dir: std::path::PathBuf,
    /// Templates added to the demo issuer first: a large catalogue for the cold badge page.
    #[arg(long, default_value_t = 0)]
    pub catalogue: usize,
    /// The size of each added template, in KB (its description; at most ~15).
    #[arg(long, default_value_t = 4)]
    pub template_kb: usize,
    /// Only these binaries (comma-separated, e.g. `verify`) beside the empty function.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
}

/// One binary of the cold-start benchmark: what it is given and what it must answer.
struct ColdCase {
    label: &'static str,
    binary: &'static str,
    env: Vec<(String, String)>,
    event: serde_json::Value,
}

/// `infra bench-cold-start`: every function binary of `dir` (a release build) and the empty
/// `hello` function, each started `runs` times as Lambda starts it (a Runtime API on 127.0.0.1,
/// the environment template.yaml gives it, **no** `AWS_ENDPOINT_URL`: the SDK's default
/// configuration path runs; only the service endpoints point at the emulator, through the SDK's
/// own `AWS_ENDPOINT_URL_DYNAMODB`/`…_S3` variables), given one event cold and the same event
/// warm. Prints a Markdown table of medians.
pub async fn cold_start(o: &ColdOptions) -> Result<(), BoxError> {
    let (runs, dir) = (o.runs, o.dir.as_path());
    let b = BenchStack::start().await?;
    let demo = infra::seed::seed(&b.app).await?;
    grow_catalogue(&b.app, &demo.issuer_id, o.catalogue, o.template_kb).await?;
    let mut cases = cold_cases(&b, &demo)?;
    // The empty function (the baseline) always runs.
    let baseline = cases.first().map(|c| c.binary);
    cases.retain(|c| {
        o.only.is_empty() || Some(c.binary) == baseline || o.only.iter().any(|f| f == c.binary)
    });
    let mut sizes = Vec::new();
    for case in &cases {
        let binary = dir.join(case.binary);
        let size = std::fs::metadata(&binary).map_err(|e| {
            format!(
                "{}: {e} (build it: cargo build --release --workspace --bins)",
                binary.display()
            )
        })?;
        sizes.push(size.len());
    }
    let samples = cold_rounds(&cases, runs, dir).await?;
    print_cold_table(&cases, &sizes, &samples);
    // What "a moto round trip" is on this machine now: a GetItem of the demo award.
    let mut trips = Vec::new();
    for _ in 0..runs {
        let t0 = std::time::Instant::now();
        b.app.store.get_award(&demo.award_id).await?;
        trips.push(t0.elapsed());
    }
    println!(
        "\nOne moto round trip (GetItem of the demo award, median of {runs}): {:.2} ms",
        median_ms(&mut trips)
    );
    catalogue_round_trip(&b.app, runs).await?;
    b.moto.stop().await;
    Ok(())
}

/// The catalogue Query a cold verify starts beside the award's read: on the serial emulator the
/// award's GetItem waits behind it, so a cold page takes about this long whatever the wait.
async fn catalogue_round_trip(app: &accolade::app::App, runs: usize) -> Result<(), BoxError> {
    let mut trips = Vec::new();
    let mut items = 0;
    for _ in 0..runs {
        let t0 = std::time::Instant::now();
        let found = app
            .store
            .get_catalogue(accolade::app::CATALOGUE_PAGE)
            .await?;
        trips.push(t0.elapsed());
        items = found.issuers.len() + found.templates.len();
    }
    println!(
        "One catalogue Query ({items} items, median of {runs}): {:.2} ms",
        median_ms(&mut trips)
    );
    Ok(())
}

/// What verify logs when a cold page stopped waiting for the catalogue and read by key.
const READ_BY_KEY: &str = "page data read by key";

/// `runs` rounds; round r starts every case once, so a change in the machine's load moves all of
/// them alike, and each ratio is taken within one round (the empty function is case 0).
async fn cold_rounds(
    cases: &[ColdCase],
    runs: usize,
    dir: &std::path::Path,
) -> Result<Vec<Vec<ColdSample>>, BoxError> {
    let log = infra::repo_root().join("test-output/bench-cold-start.log");
    let mut samples: Vec<Vec<ColdSample>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (case, out) in cases.iter().zip(samples.iter_mut()) {
            let events = vec![case.event.clone(), case.event.clone()];
            let (outs, t) = infra::runtime_api::run_binary(
                &dir.join(case.binary),
                case.binary,
                &case.env,
                events,
                &log,
            )
            .await?;
            let mut sample = ColdSample::of(answer_of(&outs), &t);
            sample.by_key = std::fs::read_to_string(&log)?.contains(READ_BY_KEY);
            out.push(sample);
        }
    }
    Ok(samples)
}

/// One start of one binary: init, first (cold) response, second (warm) response.
struct ColdSample {
    init: std::time::Duration,
    first: std::time::Duration,
    warm: std::time::Duration,
    answer: String,
    /// The log says the page read its page data by key (it stopped waiting for the catalogue).
    by_key: bool,
}

impl ColdSample {
    fn of(answer: String, t: &infra::runtime_api::Timings) -> Self {
        Self {
            init: t.init.unwrap_or_default(),
            first: t.answered.first().copied().unwrap_or_default(),
            warm: t
                .answered
                .get(1)
                .zip(t.handed.get(1))
                .map(|(a, h)| a.saturating_sub(*h))
                .unwrap_or_default(),
            answer,
            by_key: false,
        }
    }
}

/// Medians per case; "× empty" is the median over rounds of init ÷ the empty function's init in
/// the same round.
fn print_cold_table(cases: &[ColdCase], sizes: &[u64], samples: &[Vec<ColdSample>]) {
    println!("| Function | Binary | Init (start → first `next`) | × empty (paired) | Cold first response | Warm response | Cold − warm | Answer |");
    println!("|---|---|---|---|---|---|---|---|");
    let empty = &samples[0];
    for ((case, size), s) in cases.iter().zip(sizes).zip(samples) {
        let mut ratios: Vec<f64> = s
            .iter()
            .zip(empty)
            .map(|(x, e)| x.init.as_secs_f64() / e.init.as_secs_f64().max(1e-9))
            .collect();
        ratios.sort_by(f64::total_cmp);
        let pick = |f: fn(&ColdSample) -> std::time::Duration| {
            median_ms(&mut s.iter().map(f).collect::<Vec<_>>())
        };
        let (first, warm) = (pick(|x| x.first), pick(|x| x.warm));
        println!(
            "| {} | {:.1} MB | {:.2} ms | {:.2} | {first:.2} ms | {warm:.2} ms | {:.2} ms | {} |",
            case.label,
            *size as f64 / 1e6,
            pick(|x| x.init),
            ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN),
            first - warm,
            s.last().map_or("", |x| x.answer.as_str()),
        );
    }
    for (case, s) in cases.iter().zip(samples) {
        if case.binary == "verify" {
            let by_key = s.iter().filter(|x| x.by_key).count();
            println!(
                "\n{}: {by_key} of {} cold pages stopped waiting for the catalogue and read by key",
                case.label,
                s.len()
            );
        }
    }
}

fn median_ms(xs: &mut [std::time::Duration]) -> f64 {
    xs.sort_unstable();
    xs.get(xs.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

/// What the function answered, shortly: the HTTP status or the outcome.
fn answer_of(outs: &[infra::runtime_api::Outcome]) -> String {
    use infra::runtime_api::Outcome;
    match outs.first() {
        Some(Outcome::Response(v)) => v
            .get("statusCode")
            .map(|s| format!("HTTP {s}"))
            .or_else(|| v.get("outcome").map(ToString::to_string))
            .unwrap_or_else(|| "answered".into()),
        Some(other) => format!("{other:?}").chars().take(80).collect(),
        None => "nothing".into(),
    }
}

/// The empty function first (the baseline), then the functions with real events: a badge page,
/// an API read with a key, an empty stream batch, an SES event, an S3 event for a foreign key.
fn cold_cases(b: &BenchStack, demo: &infra::seed::Demo) -> Result<Vec<ColdCase>, BoxError> {
    use accolade::entry::FunctionName as F;
    let http =
        |method: &str, path: &str, key: Option<&str>| -> Result<serde_json::Value, BoxError> {
            http_event(&b.lambda, method, path, key)
        };
    let env = |f: F| cold_env(b, f);
    let key = demo.api_key.expose().to_owned();
    Ok(vec![
        ColdCase {
            label: "empty `lambda_runtime` function",
            binary: "hello",
            env: env(F::Notify)?,
            event: serde_json::json!({"hello": "world"}),
        },
        ColdCase {
            label: "verify (badge page)",
            binary: "verify",
            env: env(F::Verify)?,
            event: http("GET", &format!("/b/{}", demo.award_id), None)?,
        },
        ColdCase {
            label: "verify, the system's roots (`SDK_TRUST_STORE=system`)",
            binary: "verify",
            env: with_var(env(F::Verify)?, "SDK_TRUST_STORE", "system"),
            event: http("GET", &format!("/b/{}", demo.award_id), None)?,
        },
        ColdCase {
            label: "api (`GET /v1/templates`)",
            binary: "api",
            env: env(F::Api)?,
            event: http("GET", "/v1/templates", Some(&key))?,
        },
        ColdCase {
            label: "notify (empty stream batch)",
            binary: "notify",
            env: env(F::Notify)?,
            event: serde_json::json!({"Records": []}),
        },
        ColdCase {
            label: "analytics (SES event, unknown award)",
            binary: "analytics",
            env: env(F::Analytics)?,
            event: ses_sample()?,
        },
        ColdCase {
            label: "webhooks (SQS message, unknown delivery)",
            binary: "webhooks",
            env: env(F::Webhooks)?,
            event: sqs_sample()?,
        },
        ColdCase {
            label: "ingest (S3 event, not an upload)",
            binary: "ingest",
            env: env(F::Ingest)?,
            event: infra::runner::s3_event(&b.names.bucket, "elsewhere/x.csv", 1, ""),
        },
    ])
}

/// What template.yaml gives function `f`, without `AWS_ENDPOINT_URL` (the SDK's default
/// configuration path runs): each service's own endpoint variable points it at the emulator.
fn cold_env(
    b: &BenchStack,
    f: accolade::entry::FunctionName,
) -> Result<Vec<(String, String)>, BoxError> {
    let mut env: Vec<(String, String)> = b
        .lambda
        .environment(f)?
        .into_iter()
        .filter(|(k, _)| k != "AWS_ENDPOINT_URL")
        .collect();
    // Lambda's image has the bundle template.yaml names; this machine may keep it elsewhere.
    for (k, v) in &mut env {
        if k == "SSL_CERT_FILE" && !std::path::Path::new(v.as_str()).is_file() {
            *v = "/etc/ssl/certs/ca-certificates.crt".into();
        }
    }
    for service in ["DYNAMODB", "S3", "SESV2", "SCHEDULER", "SQS"] {
        env.push((
            format!("AWS_ENDPOINT_URL_{service}"),
            b.stack.endpoint.clone(),
        ));
    }
    Ok(env)
}

/// `env` with `name` set to `value`.
fn with_var(mut env: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    env.retain(|(k, _)| k != name);
    env.push((name.to_owned(), value.to_owned()));
    env
}

/// The payload 2.0 event API Gateway sends for a request.
pub(crate) fn http_event(
    lambda: &LocalLambda,
    method: &str,
    path: &str,
    key: Option<&str>,
) -> Result<serde_json::Value, BoxError> {
    http_event_with(lambda, method, path, key, None)
}

/// [`http_event`] with a JSON body.
pub(crate) fn http_event_with(
    lambda: &LocalLambda,
    method: &str,
    path: &str,
    key: Option<&str>,
    json: Option<&serde_json::Value>,
) -> Result<serde_json::Value, BoxError> {
    let routes = infra::gateway::routes(lambda);
    let matched = infra::gateway::route(&routes, method, path).ok_or("no route")?;
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        // A browser's (a request without one is counted as a bot's: not counted).
        .header(
            "user-agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        );
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let body = json.map(ToString::to_string).unwrap_or_default();
    let (parts, ()) = req.body(())?.into_parts();
    Ok(infra::gateway::request_event(
        &parts,
        body.as_bytes(),
        &matched,
        "127.0.0.1",
        "203.0.113.7",
    ))
}

/// `infra bench-ingest --via-upload`: the whole path an admin's file takes — `POST /v1/batches`
/// through the api function, a `PUT` of the file to the presigned URL (curl), and the S3 events
/// (the upload's, then each continuation marker's) delivered by the local runner until the batch
/// is finished; with `then_notify`, then the day-1 path ([`day_one`]).
pub async fn ingest_via_upload(rows: usize, then_notify: bool) -> Result<(), BoxError> {
    let b = BenchStack::start().await?;
    let demo = infra::seed::seed(&b.app).await?;
    let admin = infra::moto::admin_sdk_config(&b.stack.endpoint);
    let mut runner = infra::runner::Runner::new(b.lambda.clone(), admin);
    runner.deliver_stream().await?; // the demo's own badges, before the file's
    let file = bench_file(rows, false, "roster")?.into_bytes();
    let batch_id = create_and_upload(&b, &demo, &file).await?;
    b.counter.reset();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = std::time::Instant::now();
    let mut events = 0;
    let done = loop {
        events += runner.deliver_uploads().await?;
        let found = b.app.store.get_batch(&batch_id).await?;
        let batch = found.ok_or("batch vanished")?;
        if batch.status.is_final() {
            break batch;
        }
    };
    print_via_upload(rows, &done, events, started.elapsed(), &b.counter);
    if then_notify {
        day_one(&b, &mut runner, done.counts.issued).await?;
    }
    b.moto.stop().await;
    Ok(())
}

/// The day-1 path of `issued` new badges as AWS runs it: the table's stream delivered to notify
/// (its filters, batches of 100, retries) until a read finds no more records. Prints one Markdown
/// row: wall time, records delivered, emails sent, the follow-up schedules in the group and the
/// due items they will read, the AWS requests, the process's peak RSS.
async fn day_one(
    b: &BenchStack,
    runner: &mut infra::runner::Runner,
    issued: u64,
) -> Result<(), BoxError> {
    b.counter.reset();
    b.lambda.instruments.invocations.reset();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = std::time::Instant::now();
    let delivered = runner.deliver_stream().await?;
    let wall = started.elapsed();
    let emails = b.counter.get("sesv2.SendEmail");
    let schedules = schedule_names(b).await?;
    let ddb = dynamodb_requests(&b.counter);
    let notify = b.lambda.instruments.invocations.snapshot();
    println!(
        "| day-1 of {issued} badges | {:.1} s | {delivered} stream records to notify ({:?} invocations) | {emails} emails ({:.1} a second) | {} follow-up schedules: {schedules:?} | {ddb} DynamoDB requests ({:.2} a badge) | {:?} | peak RSS {:.1} MiB |",
        wall.as_secs_f64(),
        notify.get("notify").map(|(n, _)| *n),
        emails as f64 / wall.as_secs_f64(),
        schedules.len(),
        ddb as f64 / issued.max(1) as f64,
        b.counter.snapshot(),
        peak_rss_mib(),
    );
    if emails != issued {
        return Err(format!("{emails} day-1 emails for {issued} badges").into());
    }
    Ok(())
}

/// The names of the schedules in the stack's group (every page).
async fn schedule_names(b: &BenchStack) -> Result<Vec<String>, BoxError> {
    let admin = infra::moto::admin_sdk_config(&b.stack.endpoint);
    let client = aws_sdk_scheduler::Client::new(&admin);
    let mut pages = client
        .list_schedules()
        .group_name(&b.names.schedule_group)
        .into_paginator()
        .send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        names.extend(
            page?
                .schedules()
                .iter()
                .filter_map(|s| s.name().map(str::to_owned)),
        );
    }
    Ok(names)
}

/// What the console does with an admin's file: `POST /v1/batches` (with its size) through the api
/// function, then a `PUT` of the file to the presigned URL (curl). Answers the batch's id.
pub(crate) async fn create_and_upload(
    b: &BenchStack,
    demo: &infra::seed::Demo,
    file: &[u8],
) -> Result<accolade::domain::ids::BatchId, BoxError> {
    let body = serde_json::json!({"filename": "bench.csv", "template_id": demo.template_id,
        "size": file.len(), "notify": true});
    let key = demo.api_key.expose().to_owned();
    let event = http_event_with(&b.lambda, "POST", "/v1/batches", Some(&key), Some(&body))?;
    let answer = b
        .lambda
        .invoke(accolade::entry::FunctionName::Api, event)
        .await
        .map_err(|e| e.to_string())?;
    let created: serde_json::Value =
        serde_json::from_str(answer["body"].as_str().ok_or("no body")?)?;
    let url = created["upload_url"].as_str().ok_or("no upload_url")?;
    let batch_id =
        accolade::domain::ids::BatchId::parse(created["batch_id"].as_str().unwrap_or_default())?;
    let path = infra::repo_root().join("test-output/bench-upload.csv");
    std::fs::write(&path, file)?;
    let put = tokio::process::Command::new("curl")
        .args([
            "-sSf",
            "-X",
            "PUT",
            "-H",
            "Content-Type: text/csv",
            "--data-binary",
        ])
        .arg(format!("@{}", path.display()))
        .arg(url)
        .status()
        .await?;
    if !put.success() {
        return Err("the presigned PUT failed".into());
    }
    Ok(batch_id)
}

fn print_via_upload(
    rows: usize,
    done: &accolade::domain::batch::Batch,
    events: usize,
    wall: std::time::Duration,
    counter: &RequestCounter,
) {
    let snapshot = counter.snapshot();
    let ddb = dynamodb_requests(counter);
    println!(
        "| {rows} rows via upload | {:?} | {} issued | {:.1} s | {events} S3 events | {ddb} DynamoDB requests ({:.1} per 1,000 rows) | {snapshot:?} | peak RSS {:.1} MiB |",
        done.status,
        done.counts.issued,
        wall.as_secs_f64(),
        ddb as f64 * 1000.0 / rows as f64,
        peak_rss_mib(),
    );
}

fn ses_sample() -> Result<serde_json::Value, BoxError> {
    let path = infra::repo_root().join("tests/events/eventbridge-ses-delivery.json");
    let mut event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    event["id"] = serde_json::json!(uuid::Uuid::new_v4().to_string());
    Ok(event)
}

/// The SQS sample (a message for a delivery that does not exist: one read, no request out).
fn sqs_sample() -> Result<serde_json::Value, BoxError> {
    let path = infra::repo_root().join("tests/events/sqs-webhook-attempts.json");
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}
