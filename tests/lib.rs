//! Test helpers: each test gets its own table, bucket and schedule group (created from
//! template.yaml) on the one emulator that `make test` starts, and its own HTTP listener, so tests
//! run in parallel without seeing each other's data.

// The test helpers: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

pub use accolade::entry::FunctionName;
use accolade::{app::App, domain::ids::IssuerId};
use axum::{body::Body, http::Request, Router};
use http_body_util::BodyExt;
use infra::{
    gateway,
    lambda::{LocalLambda, Stack},
    operator, provision, sam,
};
use serde_json::Value;
use std::sync::OnceLock;
use tower::ServiceExt;

pub use axum::http::{HeaderMap, Method, StatusCode};

pub struct TestApp {
    /// The administrator's view of the stack (setup and inspection; not a function's principal).
    pub app: App,
    /// The functions, each as its own principal, reached through their Lambda entry points.
    pub lambda: LocalLambda,
    /// The local API Gateway in front of the HTTP functions.
    pub router: Router,
    pub base_url: String,
    pub endpoint: String,
    /// The emulator's administrator (what the runner, acting as AWS's services, uses).
    pub sdk: aws_config::SdkConfig,
    pub names: provision::Names,
    /// Every AWS request the functions made, by operation.
    pub requests: infra::metering::RequestCounter,
    /// The stream's event source mapping, where it has read to (see [`TestApp::roll_up`]).
    stream: tokio::sync::Mutex<infra::runner::Runner>,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the answer is an API error of this status and code.
    #[track_caller]
    pub fn assert_refused(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.json()["error"]["code"], code, "{}", self.text());
    }
}

fn endpoint() -> String {
    std::env::var("ACCOLADE_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!("ACCOLADE_TEST_ENDPOINT is not set: run the tests with `make test`, which starts the emulator")
    })
}

pub fn spec() -> &'static sam::StackSpec {
    static SPEC: OnceLock<sam::StackSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        sam::load(&infra::repo_root().join("template.yaml"), "test").expect("template.yaml parses")
    })
}

pub const SENDER: &str = "badges@accolade.test";

/// A fresh, isolated stack: own table/bucket/group, own functions (own IAM principals), own
/// listener; requests go through the local API Gateway to the functions' entry points.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(spec().clone()).await
}

/// template.yaml with `from` replaced by `to` (which must occur): a stack whose functions have
/// the policies (or triggers) of that edited template.
pub fn edited_template(from: &str, to: &str) -> sam::StackSpec {
    let text = std::fs::read_to_string(infra::repo_root().join("template.yaml")).unwrap();
    assert!(text.contains(from), "template.yaml has no `{from}`");
    sam::parse(&text.replacen(from, to, 1), "test").expect("the edited template parses")
}

/// template.yaml as a deploy of an upgrade from before 2026-12-08 sets it: `CountSentEmailsBy`
/// `send-event` (the first: SES's Send events count each email sent, as before) or `both` (the
/// second: marks count, Send events are still published).
pub fn sent_counted_by(value: &str) -> sam::StackSpec {
    edited_template(
        "    Default: mark\n    AllowedValues: [mark, both, send-event]\n",
        &format!("    Default: {value}\n    AllowedValues: [mark, both, send-event]\n"),
    )
}

/// template.yaml without notify's `dynamodb:BatchWriteItem`: notify cannot queue follow-ups, so
/// every attempt at a day-1 stream batch fails and Lambda gives it up to the failure queue.
pub fn notify_without_batch_write() -> sam::StackSpec {
    edited_template(
        "                - dynamodb:BatchWriteItem\n                - dynamodb:DeleteItem\n",
        "                - dynamodb:DeleteItem\n",
    )
}

/// template.yaml without notify's `dynamodb:UpdateItem` on the day items: the rollup's
/// transaction is refused, so every attempt at a counting stream batch fails.
pub fn notify_without_rollup_update() -> sam::StackSpec {
    edited_template(
        "            - Effect: Allow\n              Action: dynamodb:UpdateItem\n              Resource: !GetAtt Table.Arn\n              Condition:\n                ForAllValues:StringLike:\n                  dynamodb:LeadingKeys: [\"TEMPLATE#tpl_??????????????????????\", \"BATCH#bat_??????????????????????\", \"ISSUER#iss_??????????????????????#COHORT#*\"]\n",
        "",
    )
}

/// template.yaml without analytics's writes of awards' items: every attempt at counting an SES
/// event is refused, so EventBridge's asynchronous invocation is given up to the failure queue.
pub fn analytics_without_award_writes() -> sam::StackSpec {
    edited_template(
        r#"dynamodb:LeadingKeys: ["AWARD#*", "ISSUER#iss_??????????????????????#DIGEST", "SUPPRESS#*", "EVENT#*"]"#,
        r#"dynamodb:LeadingKeys: ["ISSUER#iss_??????????????????????#DIGEST", "SUPPRESS#*", "EVENT#*"]"#,
    )
}

/// A stack from this (possibly edited) template.
pub async fn spawn_app_with(template: sam::StackSpec) -> TestApp {
    // The functions' and the local services' warnings, in the failing test's output.
    static LOGS: OnceLock<()> = OnceLock::new();
    LOGS.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,accolade=info".into()),
            )
            .with_test_writer()
            .try_init();
    });
    let endpoint = endpoint();
    let sdk = infra::moto::admin_sdk_config(&endpoint);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut names = provision::Names::derived(&id);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    provision::create_all(&sdk, spec(), &mut names, Some(SENDER), &base_url)
        .await
        .expect("resources created in the emulator");
    let stack = Stack {
        endpoint: endpoint.clone(),
        spec: std::sync::Arc::new(template),
        names: names.clone(),
        stage: "test".into(),
        sender: SENDER.into(),
        public_base_url: base_url.clone(),
    };
    let instruments = infra::lambda::Instruments::default();
    let requests = instruments.requests.clone();
    let lambda = LocalLambda::deploy(stack.clone(), instruments)
        .await
        .expect("functions deployed with their template.yaml policies");
    let app = infra::lambda::admin_app(&stack, &sdk);
    let router = gateway::router(
        lambda.clone(),
        infra::outbox::routes(endpoint.clone(), lambda.clone()),
    );
    let served = router.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, served).await;
    });
    let stream = tokio::sync::Mutex::new(infra::runner::Runner::new(lambda.clone(), sdk.clone()));
    TestApp {
        app,
        lambda,
        router,
        base_url,
        endpoint,
        sdk,
        names,
        requests,
        stream,
    }
}

impl TestApp {
    /// Faults to inject into the functions' AWS calls (unarmed until a test arms them).
    pub fn faults(&self) -> &infra::metering::ThrottleAfterSend {
        &self.lambda.instruments.faults
    }

    /// DynamoDB operations whose requests wait until the test releases them.
    pub fn holds(&self) -> &infra::holds::Holds {
        &self.lambda.instruments.holds
    }

    /// The S3 notification S3 would send for an object of this stack's bucket.
    pub fn s3_event(&self, key: &str, size: u64) -> Value {
        infra::runner::s3_event(&self.names.bucket, key, size, "")
    }

    /// The ingest function with other options (a short time budget, a simulated crash),
    /// invoked through its entry point as its principal.
    pub async fn ingest_with(
        &self,
        event: Value,
        options: accolade::ingest::IngestOptions,
    ) -> Result<Value, Value> {
        let f = self
            .lambda
            .function(FunctionName::Ingest)
            .clone()
            .with_ingest_options(options);
        self.lambda
            .clone()
            .with_function(f)
            .invoke(FunctionName::Ingest, event)
            .await
    }

    /// A batch created with `batch`, `file` uploaded and ingested (one invocation with the
    /// default options, through the entry point): the batch's JSON.
    pub async fn ingested_batch(&self, key: &str, batch: Value, file: &[u8]) -> Value {
        let (id, source) = self.uploaded_batch(key, batch, file).await;
        let event = self.s3_event(&source, file.len() as u64);
        let out = self
            .ingest_with(event, accolade::ingest::IngestOptions::default())
            .await;
        assert!(out.is_ok(), "{out:?}");
        self.batch(key, &id).await
    }

    /// A function's state (its clients act as its principal): for the few tests that call a
    /// library function directly rather than through the entry point.
    pub fn app_of(&self, function: FunctionName) -> &App {
        self.lambda.function(function).app()
    }

    /// The analytics function's answer to one SES event (EventBridge), as its `outcome`.
    pub async fn ses_event(&self, event: &Value) -> String {
        let out = self
            .invoke(FunctionName::Analytics, event.clone())
            .await
            .unwrap_or_else(|e| panic!("analytics failed on an SES event: {e}"));
        out["outcome"].as_str().unwrap_or_default().to_owned()
    }

    /// One invocation of a function through its entry point, as its principal (synchronous,
    /// one attempt): its answer, or its error as Lambda reports it.
    pub async fn invoke(&self, function: FunctionName, event: Value) -> Result<Value, Value> {
        self.lambda.invoke(function, event).await
    }
}

impl TestApp {
    /// A new issuer and its API key (through the operator code path).
    pub async fn issuer(&self, name: &str) -> (IssuerId, String) {
        let (issuer, key) = operator::create_issuer(
            &self.app.store,
            &operator::NewIssuer {
                name,
                url: "https://univ.example.ac.kr",
                email: "badges@univ.example.ac.kr",
                locale: Some("ko"),
                time_zone: Some("Asia/Seoul"),
            },
        )
        .await
        .expect("issuer created");
        (issuer.id, key.expose().to_owned())
    }

    pub async fn send(&self, req: Request<Body>) -> Response {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Response {
            status,
            headers,
            body,
        }
    }

    /// A request with an optional bearer key and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.call_with(method, path, key, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            b = b.header("authorization", format!("Bearer {k}"));
        }
        for (h, v) in headers {
            b = b.header(*h, *v);
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    /// A public GET as a person's browser would send it.
    pub async fn browse(&self, path: &str) -> Response {
        self.call_with(
            "GET",
            path,
            None,
            None,
            &[("user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15")],
        )
        .await
    }

    /// A public page, asked again until `ready` holds. Public pages are served by another
    /// Lambda (verify) than the one that changed the data (api); it sees a change once its
    /// cache entry expires (`PAGE_DATA_TTL`), as in AWS. Gives up after the TTL plus a minute.
    pub async fn browse_until(&self, path: &str, ready: impl Fn(&Response) -> bool) -> Response {
        let deadline = std::time::Instant::now()
            + accolade::app::PAGE_DATA_TTL
            + std::time::Duration::from_secs(60);
        loop {
            let r = self.browse(path).await;
            if ready(&r) || std::time::Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    pub async fn create_template(&self, key: &str, body: Value) -> Value {
        let r = self
            .call("POST", "/v1/templates", Some(key), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    pub async fn issue(&self, key: &str, body: Value) -> Value {
        let r = self.call("POST", "/v1/awards", Some(key), Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// A fresh issuer ("한빛대학교") with one template ("데이터 분석 기초"): its API key and the
    /// template's JSON.
    pub async fn issuer_with_template(&self) -> (String, Value) {
        let (_, key) = self.issuer("한빛대학교").await;
        let tpl = self
            .create_template(&key, template_body("데이터 분석 기초"))
            .await;
        (key, tpl)
    }

    /// A fresh issuer named `issuer` with one template named `template` that allows one active
    /// award per recipient: its API key and the template's JSON.
    pub async fn one_active_template(&self, issuer: &str, template: &str) -> (String, Value) {
        let (_, key) = self.issuer(issuer).await;
        let mut body = template_body(template);
        body["reissue_policy"] = serde_json::json!("one_active_per_recipient");
        let tpl = self.create_template(&key, body).await;
        (key, tpl)
    }

    /// [`TestApp::issuer_with_template`] and one award of it to a fresh address: the key, the
    /// template's JSON and the award's JSON.
    /// [`Self::one_award`], its page viewed once and the stream rolled up.
    pub async fn one_award_viewed_and_rolled_up(&self) -> (String, Value, Value) {
        let (key, tpl, award) = self.one_award().await;
        self.browse(&format!("/b/{}", award["id"].as_str().unwrap()))
            .await;
        self.roll_up().await;
        (key, tpl, award)
    }

    pub async fn one_award(&self) -> (String, Value, Value) {
        let (key, tpl) = self.issuer_with_template().await;
        let to = unique_email("learner");
        let award = self
            .issue(
                &key,
                serde_json::json!({"template_id": tpl["id"], "recipient": {"email": to, "name": "김민수"}}),
            )
            .await;
        (key, tpl, award)
    }

    /// The path of an award's unsubscribe link with its token, as the recipient's mail has it.
    pub async fn unsubscribe_path(&self, award_id: &str) -> String {
        let id = accolade::domain::ids::AwardId::parse(award_id).unwrap();
        let a = self.app.store.get_award(&id).await.unwrap().unwrap();
        let token = a
            .unsubscribe_token
            .expect("new awards have an unsubscribe token");
        format!("/b/{award_id}/unsubscribe?t={token}")
    }

    /// Switches KakaoTalk on for the key's issuer with `settings` (see [`kakao_settings`]).
    pub async fn kakao_on(&self, key: &str, settings: Value) {
        let r = self
            .call("PUT", "/v1/issuer/kakao", Some(key), Some(settings))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }

    /// The KakaoTalk/SMS provider's stand-in: the messages and requests it received.
    pub fn sens(&self) -> &infra::sens::StandIn {
        &self.lambda.sens
    }

    /// Number of templates the key's issuer has (to show bad input wrote nothing).
    pub async fn template_count(&self, key: &str) -> usize {
        let list = self.call("GET", "/v1/templates", Some(key), None).await;
        list.json()["data"].as_array().map_or(0, Vec::len)
    }

    /// Path part of a public URL this app made (its base is the test listener).
    pub fn path_of(&self, url: &str) -> String {
        url.strip_prefix(&self.base_url)
            .unwrap_or_else(|| panic!("{url} is not under {}", self.base_url))
            .to_owned()
    }
}

impl TestApp {
    /// The first of `buckets` that holds due items. Work done around a full hour may have
    /// queued its items in the hour after the one the test started in: a test names each hour
    /// bucket they may be due in, never the one of "now" alone.
    pub async fn bucket_holding(&self, buckets: impl IntoIterator<Item = String>) -> String {
        let mut tried = Vec::new();
        for bucket in buckets {
            if !self.app.store.due_in(&bucket).await.unwrap().is_empty() {
                return bucket;
            }
            tried.push(bucket);
        }
        panic!("no due items in {tried:?}");
    }

    /// The local runner over this app (delivers S3, stream and schedule events like AWS).
    pub fn runner(&self) -> infra::runner::Runner {
        infra::runner::Runner::new(self.lambda.clone(), self.sdk.clone())
    }

    /// With `on`, from now on an eventually consistent GetItem of this test's table misses the
    /// items written after this call, as a lagging DynamoDB replica may (strongly consistent
    /// reads see them): what moto, with one copy of each item, never does. `false` ends it.
    pub async fn lagging_reads(&self, on: bool) {
        infra::moto::lagging_reads(&self.endpoint, &self.names.table, on)
            .await
            .expect("the emulator's lagging reads");
    }

    /// The DynamoDB request units this test's table was billed (as DynamoDB bills them; see
    /// `infra/scripts/capacity.py`) since the last call, by operation: `{"GetItem": {"requests",
    /// "rru", "wru", "index_wru"}, …}`. Starts the count again.
    pub async fn request_units(&self) -> Value {
        let units = infra::moto::capacity(&self.endpoint, Some(&self.names.table), false)
            .await
            .expect("the emulator's capacity meter");
        infra::moto::capacity(&self.endpoint, Some(&self.names.table), true)
            .await
            .expect("the emulator's capacity meter");
        units
    }

    /// Delivers the table's new stream records to notify, as its event source mapping would (one
    /// reader that remembers where it is): afterwards the daily counter items have every event
    /// counted so far, rolled up from the awards' counters. Answers how many records it delivered.
    pub async fn roll_up(&self) -> usize {
        self.stream.lock().await.deliver_stream().await.unwrap()
    }

    /// Hands the webhook queue's messages to the webhooks function, as its SQS event source
    /// mapping would, until the queue is empty: answers how many.
    pub async fn deliver_webhooks(&self) -> usize {
        self.runner().deliver_queue().await.unwrap()
    }

    /// Fires every schedule due at `at` (a test clock: Scheduler's `scheduled-time` is `at`).
    pub async fn fire_schedules(&self, at: chrono::DateTime<chrono::Utc>) -> usize {
        self.runner().fire_due_schedules(at).await.unwrap()
    }

    /// Creates a batch through the API; answers its JSON (with `upload_url`).
    pub async fn create_batch(&self, key: &str, body: Value) -> Value {
        let r = self
            .call("POST", "/v1/batches", Some(key), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// A batch of `tpl` with `file` uploaded (not yet ingested): the batch id and the S3 key of
    /// its source, as its S3 event names it.
    pub async fn uploaded_batch(&self, key: &str, batch: Value, file: &[u8]) -> (String, String) {
        let b = self.create_batch(key, batch).await;
        let id = b["id"].as_str().unwrap().to_owned();
        self.upload(&id, file.to_vec()).await;
        let parsed = accolade::domain::ids::BatchId::parse(&id).unwrap();
        let stored = self.app.store.get_batch(&parsed).await.unwrap().unwrap();
        (id, stored.source_key)
    }

    /// Puts the file where the batch's upload URL points (as the browser would).
    pub async fn upload(&self, batch_id: &str, bytes: Vec<u8>) {
        let id = accolade::domain::ids::BatchId::parse(batch_id).unwrap();
        let b = self.app.store.get_batch(&id).await.unwrap().unwrap();
        self.app
            .blobs
            .put(&b.source_key, bytes, "text/csv")
            .await
            .unwrap();
    }

    pub async fn batch(&self, key: &str, batch_id: &str) -> Value {
        let r = self
            .call("GET", &format!("/v1/batches/{batch_id}"), Some(key), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Every award of a batch, through the paginated API.
    pub async fn batch_awards(&self, key: &str, batch_id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/awards?batch={batch_id}&limit=200&cursor={c}"),
                None => format!("/v1/awards?batch={batch_id}&limit=200"),
            };
            let page = self.call("GET", &path, Some(key), None).await.json();
            out.extend(page["data"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// The batch's error report as (row, column, value, message) rows.
    pub async fn report(&self, batch_id: &str) -> Option<Vec<Vec<String>>> {
        let id = accolade::domain::ids::BatchId::parse(batch_id).unwrap();
        let b = self.app.store.get_batch(&id).await.unwrap().unwrap();
        let blob = self
            .app
            .blobs
            .get(b.report_key.as_deref()?)
            .await
            .unwrap()?;
        assert!(
            blob.bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
            "report starts with a UTF-8 BOM for Excel"
        );
        let mut r = csv::ReaderBuilder::new().from_reader(&blob.bytes[3..]);
        Some(
            r.records()
                .map(|x| x.unwrap().iter().map(str::to_owned).collect())
                .collect(),
        )
    }
}

/// A raw email the emulator received, split into headers and decoded parts.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
    pub text: String,
    pub html: String,
    parsed: accolade::email::mime::Parsed,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        self.parsed.header(name).map(str::to_owned)
    }

    /// The subject, RFC 2047 words decoded.
    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }
}

impl TestApp {
    /// Every raw message the emulator's SES accepted for `to`.
    pub async fn mail_to(&self, to: &str) -> Vec<Mail> {
        let url = format!("{}/moto-api/data.json?service=ses", self.endpoint);
        let v: Value = serde_json::from_slice(&curl(&[url]).await).unwrap();
        v["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| {
                m["destinations"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|x| x == to))
            })
            .map(|m| {
                let raw = m["raw_data"].as_str().unwrap_or_default().to_owned();
                let parsed = accolade::email::mime::parse(&raw);
                Mail {
                    text: parsed.text.clone(),
                    html: parsed.html.clone(),
                    raw,
                    parsed,
                }
            })
            .collect()
    }
}

/// A CSV of `n` valid rows (UTF-8).
/// Runs `curl -sS -f` with `args` (a real HTTP client, outside the SDK); answers the body and
/// fails the test on an HTTP error.
pub async fn curl(args: &[String]) -> Vec<u8> {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "-f"])
        .args(args)
        .output()
        .await
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An address no other test uses: `{prefix}.{uuid}@example.com`.
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}.{}@example.com", uuid::Uuid::new_v4().simple())
}

pub fn csv_rows(n: usize, prefix: &str) -> Vec<u8> {
    let mut s = String::from("email,name,cohort\n");
    for i in 0..n {
        s.push_str(&format!("{prefix}{i}@example.com,학습자 {i},2026-봄\n"));
    }
    s.into_bytes()
}

/// KakaoTalk settings for the local provider stand-in's account (`infra::sens`).
pub fn kakao_settings() -> Value {
    use infra::sens;
    serde_json::json!({
        "channel_id": sens::CHANNEL,
        "alimtalk_service_id": sens::ALIMTALK_SERVICE,
        "sms_service_id": sens::SMS_SERVICE,
        "day1_template_code": sens::TEMPLATE_CODE,
        "sms_sender": sens::SENDER,
        "opt_out_number": "080-123-4567",
        "access_key": sens::ACCESS_KEY,
        "secret_key": sens::SECRET_KEY,
    })
}

/// A minimal valid template body.
pub fn template_body(name: &str) -> Value {
    serde_json::json!({
        "name": name,
        "description": "Completed the eight-week course.",
        "criteria": { "narrative": "Attend 80% and pass the final project." },
        "skills": ["SQL", "Python"],
    })
}
