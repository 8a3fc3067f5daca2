//! The local Lambda service: every function of template.yaml, each as its own principal (an IAM
//! user in the emulator whose permissions are that function's policy, plus [`PolicyCheck`]),
//! invoked only through its real entry point ([`Function::invoke`]) with the event JSON AWS sends,
//! under Lambda's rules: the function's timeout from template.yaml; asynchronous invocations (S3,
//! Scheduler, EventBridge) tried 1 + `MaximumRetryAttempts` times (default 2), then handed to the
//! on-failure destination; stream batches retried, bisected and finally handed on as their
//! event source mapping says. What reached the on-failure destination is kept in
//! [`LocalLambda::failures`] (`/_local/failures` in `make dev`).

use crate::{
    iam::{self, PolicyCheck},
    metering::{RequestCounter, ThrottleAfterSend},
    provision::Names,
    sam::{FunctionSpec, StackSpec, StreamTrigger},
    ses_events::SesOutbox,
};
use accolade::{
    app::App,
    config::Config,
    entry::{Context, Function, FunctionName},
};
use serde_json::{json, Value};
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

/// The local stack a set of functions runs against.
#[derive(Debug, Clone)]
pub struct Stack {
    pub endpoint: String,
    pub spec: Arc<StackSpec>,
    pub names: Names,
    pub stage: String,
    pub sender: String,
    pub public_base_url: String,
}

impl Stack {
    /// Creates the stack's resources (template.yaml's) in the emulator, and records the names
    /// the emulator chose (the KMS key's ARN).
    pub async fn provision(
        &mut self,
        admin: &aws_config::SdkConfig,
    ) -> Result<(), crate::provision::ProvisionError> {
        let spec = self.spec.clone();
        let (sender, url) = (self.sender.clone(), self.public_base_url.clone());
        crate::provision::create_all(admin, &spec, &mut self.names, Some(&sender), &url).await
    }

    /// The configuration a function of this stack reads (what template.yaml's environment gives it).
    pub fn config(&self) -> Config {
        let mut c = Config::local(
            &self.endpoint,
            &self.names.table,
            &self.names.bucket,
            &self.public_base_url,
        );
        c.sender_email = Some(self.sender.clone());
        c.schedule_group = Some(self.names.schedule_group.clone());
        c.signing_key_arn = Some(self.names.credential_key.clone());
        c.webhook_queue_url = Some(self.names.webhook_queue_url.clone());
        c.webhook_allowed_hosts =
            accolade::domain::webhook::AllowedHosts::parse(LOCAL_WEBHOOK_HOSTS);
        c
    }
}

/// Locally, webhooks may go to `http://localhost:{any port}` (and only there: `127.0.0.1` and
/// every other private address are refused as in AWS, which the tests check).
pub const LOCAL_WEBHOOK_HOSTS: &str = "localhost";

/// What is installed on every function's clients besides its policy: a request counter and
/// (unarmed) fault injection.
#[derive(Debug, Clone, Default)]
pub struct Instruments {
    pub requests: RequestCounter,
    pub faults: ThrottleAfterSend,
    /// DynamoDB operations whose requests wait until released (none unless a test holds one).
    pub holds: crate::holds::Holds,
    /// Every invocation and its duration, by function.
    pub invocations: crate::metering::InvocationLog,
}

#[derive(Clone)]
pub struct LocalLambda {
    functions: Arc<HashMap<FunctionName, Function>>,
    specs: Arc<HashMap<FunctionName, FunctionSpec>>,
    failures: Arc<Mutex<Vec<Value>>>,
    credentials: Arc<HashMap<FunctionName, aws_credential_types::Credentials>>,
    /// Each function's template.yaml policy (what its role may do, event source mappings included).
    policies: Arc<HashMap<FunctionName, Arc<iam::Policy>>>,
    /// Every AWS request the functions made, by operation; faults to inject.
    pub instruments: Instruments,
    /// What the functions sent through SES, for the SES events the runner publishes.
    pub outbox: SesOutbox,
    /// The KakaoTalk/SMS provider's stand-in (`/_local/sens`), and what it received.
    pub sens: crate::sens::StandIn,
    pub stack: Stack,
}

/// What checks function `name`'s requests against its `policy` (as its principal).
fn policy_check(stack: &Stack, name: FunctionName, policy: Arc<iam::Policy>) -> PolicyCheck {
    PolicyCheck {
        principal: format!("accolade-{}-{}", stack.stage, name.as_str()),
        policy,
        spec: stack.spec.clone(),
        deny_url: format!("{}/_accolade/deny", stack.endpoint),
    }
}

/// A function's clients: its own credentials, its policy checked, its requests counted.
fn function_app(
    config: Config,
    sdk: &aws_config::SdkConfig,
    check: PolicyCheck,
    tools: &Instruments,
    outbox: &SesOutbox,
) -> App {
    let (counter, faults) = (tools.requests.clone(), tools.faults.clone());
    let mut ddb = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(http) = sdk.http_client() {
        let holding = crate::holds::HoldingClient::wrap(http, tools.holds.clone());
        ddb = ddb.http_client(holding);
    }
    let ddb = ddb
        .interceptor(counter.clone())
        .interceptor(check.clone())
        .interceptor(faults.clone())
        .build();
    let s3 = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(true)
        .interceptor(counter.clone())
        .interceptor(check.clone())
        .interceptor(faults.clone())
        .build();
    let ses = aws_sdk_sesv2::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .interceptor(check.clone())
        .interceptor(faults.clone())
        .interceptor(outbox.clone())
        .build();
    let scheduler = aws_sdk_scheduler::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .interceptor(check.clone())
        .interceptor(faults.clone())
        .build();
    let kms = aws_sdk_kms::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .interceptor(check.clone())
        .interceptor(faults.clone())
        .build();
    let sqs = aws_sdk_sqs::config::Builder::from(sdk)
        .interceptor(counter)
        .interceptor(check)
        .interceptor(faults)
        .build();
    App::from_clients(
        config,
        accolade::app::Clients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(ddb),
            s3: accolade::aws::Lazy::ready(aws_sdk_s3::Client::from_conf(s3)),
            ses: accolade::aws::Lazy::ready(aws_sdk_sesv2::Client::from_conf(ses)),
            scheduler: accolade::aws::Lazy::ready(aws_sdk_scheduler::Client::from_conf(scheduler)),
            kms: accolade::aws::Lazy::ready(aws_sdk_kms::Client::from_conf(kms)),
            sqs: accolade::aws::Lazy::ready(aws_sdk_sqs::Client::from_conf(sqs)),
        },
    )
}

/// The environment Lambda gives a deployed function: template.yaml's variables (Globals and the
/// function's own), the region and the function's credentials — plus, locally only,
/// `AWS_ENDPOINT_URL` (the emulator).
pub fn environment(
    stack: &Stack,
    spec: &FunctionSpec,
    creds: &aws_credential_types::Credentials,
) -> Result<Vec<(String, String)>, String> {
    let mut values = iam::local_values(&stack.spec, &stack.names, &stack.stage, &stack.sender);
    let host = stack
        .public_base_url
        .split("://")
        .nth(1)
        .unwrap_or("localhost");
    values.insert("PublicDomainName".into(), host.trim_end_matches('/').into());
    values.insert("MaxSendRatePerSecond".into(), "50".into());
    values.insert("SdkTrustStore".into(), "amazon".into()); // template.yaml's default
    values.insert(
        "KakaoApiUrl".into(),
        crate::sens::local_url(&stack.public_base_url),
    );
    let mut env = Vec::new();
    for (k, v) in &spec.environment {
        env.push((
            k.clone(),
            iam::resolve(v, &values, &stack.spec, &stack.names)?,
        ));
    }
    env.extend([
        ("AWS_REGION".to_owned(), iam::REGION.to_owned()),
        ("AWS_DEFAULT_REGION".to_owned(), iam::REGION.to_owned()),
        (
            "AWS_ACCESS_KEY_ID".to_owned(),
            creds.access_key_id().to_owned(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            creds.secret_access_key().to_owned(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
            spec.memory_mb.to_string(),
        ),
        ("AWS_ENDPOINT_URL".to_owned(), stack.endpoint.clone()),
    ]);
    Ok(env)
}

/// The function's configuration, read from that environment as its `main` reads it — except
/// `PUBLIC_BASE_URL`, which is the local server's (`http://127.0.0.1:PORT`, where the template
/// says `https://{PublicDomainName}`), `WEBHOOK_ALLOWED_HOSTS`, [`LOCAL_WEBHOOK_HOSTS`]
/// (receivers on this machine; in AWS none is allowed), and `CATALOGUE_WAIT_MS`, 30 s unless the
/// template sets it (see [`Config::catalogue_wait`]).
fn function_config(stack: &Stack, env: &[(String, String)]) -> Result<Config, String> {
    let lookup = |name: &str| {
        if name == "PUBLIC_BASE_URL" {
            return Some(stack.public_base_url.clone());
        }
        if name == "WEBHOOK_ALLOWED_HOSTS" {
            return Some(LOCAL_WEBHOOK_HOSTS.to_owned());
        }
        let set = env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if name == "CATALOGUE_WAIT_MS" && set.is_none() {
            let wait = accolade::config::LOCAL_CATALOGUE_WAIT.as_millis();
            return Some(wait.to_string());
        }
        set
    };
    Config::from_vars(&lookup).map_err(|e| e.to_string())
}

/// The state the administrator sees (provisioning, seeding, tests that look inside): the same
/// configuration, the emulator's administrator credentials, no policy check.
pub fn admin_app(stack: &Stack, admin: &aws_config::SdkConfig) -> App {
    App::new(stack.config(), admin)
}

impl LocalLambda {
    /// "Deploys" every function: one IAM user each with its template.yaml policy, then its state.
    pub async fn deploy(stack: Stack, instruments: Instruments) -> Result<Self, String> {
        let outbox = SesOutbox::default();
        let mut functions = HashMap::new();
        let mut specs = HashMap::new();
        let mut credentials = HashMap::new();
        let mut policies = HashMap::new();
        for name in FunctionName::ALL {
            let spec = stack
                .spec
                .function(name.as_str())
                .ok_or_else(|| format!("template.yaml has no {} function", name.as_str()))?
                .clone();
            let policy = iam::policy_of(
                &stack.spec,
                &stack.names,
                &stack.stage,
                &stack.sender,
                name.as_str(),
            )?;
            let principal = format!("{}-{}", name.as_str(), stack.names.table);
            let creds =
                crate::moto::create_principal(&stack.endpoint, &principal, &policy.for_moto())
                    .await?;
            let config = function_config(&stack, &environment(&stack, &spec, &creds)?)?;
            credentials.insert(name, creds.clone());
            let sdk = accolade::aws::local_sdk_config(&stack.endpoint, creds);
            let policy = policies.entry(name).or_insert(Arc::new(policy)).clone();
            let check = policy_check(&stack, name, policy);
            let app = function_app(config, &sdk, check, &instruments, &outbox);
            functions.insert(name, Function::new(name, app));
            specs.insert(name, spec);
        }
        Ok(Self {
            functions: Arc::new(functions),
            specs: Arc::new(specs),
            failures: Arc::default(),
            credentials: Arc::new(credentials),
            policies: Arc::new(policies),
            instruments,
            outbox,
            sens: crate::sens::StandIn::default(),
            stack,
        })
    }

    pub fn function(&self, name: FunctionName) -> &Function {
        &self.functions[&name]
    }

    /// Replaces one function (tests: an ingest with a short time budget, a crash, …).
    pub fn with_function(mut self, function: Function) -> Self {
        let mut all = (*self.functions).clone();
        all.insert(function.name(), function);
        self.functions = Arc::new(all);
        self
    }

    /// The environment Lambda gives the deployed function (see [`environment`]).
    pub fn environment(&self, name: FunctionName) -> Result<Vec<(String, String)>, String> {
        environment(&self.stack, self.spec(name), &self.credentials[&name])
    }

    /// The function's policy, as its role has it.
    pub fn policy(&self, name: FunctionName) -> &iam::Policy {
        &self.policies[&name]
    }

    /// The deployed function's ARN (`…:function:accolade-{stage}-{binary}`).
    pub fn function_arn(&self, name: FunctionName) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:accolade-{}-{}",
            iam::REGION,
            iam::ACCOUNT,
            self.stack.stage,
            name.as_str()
        )
    }

    pub fn spec(&self, name: FunctionName) -> &FunctionSpec {
        &self.specs[&name]
    }

    /// One synchronous invocation (API Gateway's, or one attempt of an asynchronous one): the
    /// function's answer, or its error as Lambda reports it (`errorType`, `errorMessage`). The
    /// function runs in its own task, so a panic is an error. Its context carries the deadline of
    /// its template `Timeout`, which the handlers work to (continuations, remainders). The task is
    /// stopped at [`LOCAL_TIME_FACTOR`] times that: the code here is a debug build on a shared
    /// machine, several times slower than a release build in Lambda; a run past the template's
    /// timeout is logged, as it would have been stopped in AWS.
    pub async fn invoke(&self, name: FunctionName, event: Value) -> Result<Value, Value> {
        let function = self.function(name).clone();
        let timeout = Duration::from_secs(self.spec(name).timeout_secs);
        let deadline = chrono::Utc::now() + chrono::Duration::from_std(timeout).unwrap_or_default();
        let mut context = Context::default();
        context.request_id = uuid::Uuid::new_v4().to_string();
        context.deadline = deadline.timestamp_millis().max(0) as u64;
        context.invoked_function_arn = self.function_arn(name);
        let started = std::time::Instant::now();
        let result = self
            .run(function, event, context, timeout * LOCAL_TIME_FACTOR)
            .await;
        self.instruments
            .invocations
            .record(name.as_str(), started.elapsed());
        if started.elapsed() > timeout {
            tracing::warn!(
                function = name.as_str(),
                seconds = started.elapsed().as_secs_f64(),
                "ran past its template timeout ({} s): AWS would have stopped it",
                timeout.as_secs()
            );
        }
        result
    }

    async fn run(
        &self,
        function: Function,
        event: Value,
        context: Context,
        timeout: Duration,
    ) -> Result<Value, Value> {
        let mut task = tokio::spawn(async move {
            function
                .invoke(event, context)
                .await
                .map_err(|e| e.to_string())
        });
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(message))) => {
                Err(json!({ "errorType": "Unhandled", "errorMessage": message }))
            }
            Ok(Err(panic)) => {
                Err(json!({ "errorType": "Runtime.ExitError", "errorMessage": panic.to_string() }))
            }
            Err(_) => {
                // Lambda stops the sandbox: nothing of this invocation runs on beside a retry.
                task.abort();
                Err(json!({
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": format!("Task timed out after {:.2} seconds", timeout.as_secs_f64())
                }))
            }
        }
    }

    /// An asynchronous invocation (S3, Scheduler, EventBridge): 1 + `MaximumRetryAttempts`
    /// attempts, then the on-failure destination. Answers the last attempt's result.
    pub async fn invoke_async(&self, name: FunctionName, event: Value) -> Result<Value, Value> {
        let attempts = 1 + self.spec(name).async_retries;
        let mut last = Value::Null;
        for attempt in 1..=attempts {
            match self.invoke(name, event.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    tracing::warn!(function = name.as_str(), attempt, error = %e, "asynchronous invocation failed");
                    last = e;
                }
            }
        }
        let record = json!({
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "requestContext": {
                "requestId": uuid::Uuid::new_v4().to_string(),
                "functionArn": format!("{}:$LATEST", self.function_arn(name)),
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "responsePayload": last,
        });
        self.hand_on(name, self.spec(name).async_on_failure, record)
            .await;
        Err(last)
    }

    /// A message SQS moved to the dead-letter queue (its redrive policy's `maxReceiveCount`):
    /// its body, as SQS moves it.
    pub async fn dead_letter(&self, queue: &str, body: &str) {
        let message = json!({ "queue": queue, "body": body });
        tracing::error!(message = %message, "message moved to the queue's dead-letter queue");
        // SQS moves it itself: no function's role is involved.
        let admin = crate::moto::admin_sdk_config(&self.stack.endpoint);
        self.to_failure_queue(aws_sdk_sqs::Client::new(&admin), message, body.to_owned())
            .await;
    }

    async fn hand_on(&self, name: FunctionName, has_destination: bool, record: Value) {
        if has_destination {
            tracing::error!(
                function = name.as_str(),
                "event sent to the on-failure destination"
            );
            let body = record.to_string();
            self.to_failure_queue(self.sqs_as(name), record, body).await;
        } else {
            tracing::error!(function = name.as_str(), record = %record, "event dropped: no on-failure destination in template.yaml");
        }
    }

    /// An SQS client as function `name`, its policy checked: Lambda sends to an on-failure
    /// destination with the function's role (SAM grants it `sqs:SendMessage` on the queue).
    fn sqs_as(&self, name: FunctionName) -> aws_sdk_sqs::Client {
        let sdk =
            accolade::aws::local_sdk_config(&self.stack.endpoint, self.credentials[&name].clone());
        let check = policy_check(&self.stack, name, self.policies[&name].clone());
        let config = aws_sdk_sqs::config::Builder::from(&sdk)
            .interceptor(check)
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    /// Keeps `record` in [`Self::failures`] and sends `body` to the stack's failure queue with
    /// `sqs` (a send that fails is logged: the record is kept here regardless).
    async fn to_failure_queue(&self, sqs: aws_sdk_sqs::Client, record: Value, body: String) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(record);
        let url = &self.stack.names.failure_queue_url;
        if url.is_empty() {
            return;
        }
        let sent = sqs.send_message().queue_url(url).message_body(body).send();
        if let Err(e) = sent.await {
            let e = aws_sdk_sqs::error::DisplayErrorContext(e);
            tracing::error!(error = %e, "could not send to the failure queue");
        }
    }

    /// What reached the on-failure destinations, oldest first.
    pub fn failures(&self) -> Vec<Value> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stream records of one shard (already through the mapping's filter, in order) in batches
    /// of the mapping's size, retried as its settings say. Answers how many batches were handed
    /// on.
    pub async fn deliver_stream(
        &self,
        name: FunctionName,
        shard: &str,
        records: Vec<Value>,
    ) -> usize {
        let Some(trigger) = self.spec(name).stream.clone() else {
            return 0;
        };
        let mut pending: VecDeque<(Vec<Value>, i64)> = records
            .chunks(trigger.batch_size.max(1))
            .map(|c| (c.to_vec(), 0))
            .collect();
        let mut handed_on = 0;
        while let Some((batch, tries)) = pending.pop_front() {
            let result = self
                .invoke(name, stream_event(&trigger, shard, &batch))
                .await;
            let Some(from) = retry_from(&trigger, &batch, &result) else {
                continue;
            };
            let rest = batch[from..].to_vec();
            if exhausted(&trigger, tries) {
                handed_on += 1;
                let record = stream_failure(&self.function_arn(name), shard, &rest, tries + 1);
                self.hand_on(name, trigger.on_failure, record).await;
                continue;
            }
            if result.is_err() && trigger.bisect && rest.len() > 1 {
                let (a, b) = rest.split_at(rest.len() / 2);
                pending.push_front((b.to_vec(), tries + 1));
                pending.push_front((a.to_vec(), tries + 1));
            } else {
                pending.push_front((rest, tries + 1));
            }
        }
        handed_on
    }
}

/// How much longer than its template `Timeout` a local invocation may run before it is stopped.
pub const LOCAL_TIME_FACTOR: u32 = 3;

/// Locally, "retry until the record expires" (-1) stops after this many attempts.
const LOCAL_RETRY_CAP: i64 = 20;

fn exhausted(trigger: &StreamTrigger, tries: i64) -> bool {
    let max = if trigger.max_retries < 0 {
        LOCAL_RETRY_CAP
    } else {
        trigger.max_retries
    };
    tries >= max
}

/// Where a failed batch resumes: from its first record on an error; from the lowest sequence
/// number the function reported with `ReportBatchItemFailures` (the whole batch if it named an
/// unknown or empty identifier); `None` when the batch succeeded.
fn retry_from(
    trigger: &StreamTrigger,
    batch: &[Value],
    result: &Result<Value, Value>,
) -> Option<usize> {
    let response = match result {
        Err(_) => return Some(0),
        Ok(r) if trigger.tumbling_window_secs > 0 && !r["state"].is_object() => return Some(0),
        Ok(r) if trigger.report_item_failures => r,
        Ok(_) => return None,
    };
    let failures = response
        .get("batchItemFailures")
        .and_then(Value::as_array)?;
    let mut lowest: Option<usize> = None;
    for f in failures {
        let id = f
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let at = batch.iter().position(|r| {
            r.pointer("/dynamodb/SequenceNumber")
                .and_then(Value::as_str)
                == Some(id)
        });
        let at = at.unwrap_or(0);
        lowest = Some(lowest.map_or(at, |l| l.min(at)));
    }
    lowest
}

/// The event Lambda invokes a stream mapping's function with: the batch's records, and with a
/// tumbling window (`DynamodbTimeWindowEvent`, `tests/events/dynamodb-stream-window.json`) the
/// shard, the stream's ARN, the window the first record falls in and the `state` the function
/// answered last (always empty here: the functions keep none). Locally a window never ends
/// while records remain, so no invocation is the window's final one.
pub fn stream_event(trigger: &StreamTrigger, shard: &str, batch: &[Value]) -> Value {
    if trigger.tumbling_window_secs == 0 {
        return json!({ "Records": batch });
    }
    let secs = i64::try_from(trigger.tumbling_window_secs).unwrap_or(i64::MAX);
    let arrived = batch
        .first()
        .and_then(|r| r.pointer("/dynamodb/ApproximateCreationDateTime"))
        .and_then(Value::as_f64)
        .map_or_else(|| chrono::Utc::now().timestamp(), |s| s as i64);
    let start = arrived - arrived.rem_euclid(secs);
    let at = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    json!({
        "Records": batch,
        "window": { "start": at(start), "end": at(start + secs) },
        "state": {},
        "shardId": shard,
        "eventSourceARN": batch.first().and_then(|r| r.get("eventSourceARN")).cloned(),
        "isFinalInvokeForWindow": false,
        "isWindowTerminatedEarly": false,
    })
}

/// What Lambda sends the on-failure destination of a stream mapping when it gives up on a
/// batch (`tests/events/dynamodb-stream-on-failure.json` is AWS's sample): where the records
/// are, not the records.
fn stream_failure(function_arn: &str, shard: &str, batch: &[Value], invokes: i64) -> Value {
    let seq = |r: Option<&Value>| {
        r.and_then(|r| r.pointer("/dynamodb/SequenceNumber"))
            .cloned()
    };
    let arrived = |r: Option<&Value>| {
        let secs = r.and_then(|r| r.pointer("/dynamodb/ApproximateCreationDateTime"));
        let at = secs
            .and_then(Value::as_f64)
            .and_then(|s| chrono::DateTime::from_timestamp(s as i64, 0));
        at.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    json!({
        "version": "1.0",
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invokes,
        },
        "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "batchSize": batch.len(),
            "startSequenceNumber": seq(batch.first()),
            "endSequenceNumber": seq(batch.last()),
            "approximateArrivalOfFirstRecord": arrived(batch.first()),
            "approximateArrivalOfLastRecord": arrived(batch.last()),
            "streamArn": batch.first().and_then(|r| r.get("eventSourceARN")).cloned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: &str) -> Value {
        json!({ "dynamodb": { "SequenceNumber": seq } })
    }

    #[test]
    fn partial_batch_responses() {
        let t = StreamTrigger {
            batch_size: 100,
            max_retries: 10,
            bisect: true,
            report_item_failures: true,
            filters: vec![],
            on_failure: true,
            tumbling_window_secs: 0,
        };
        let batch = vec![record("1"), record("2"), record("3")];
        let ok = Ok(json!({ "batchItemFailures": [] }));
        assert_eq!(retry_from(&t, &batch, &ok), None);
        let some = Ok(
            json!({ "batchItemFailures": [{ "itemIdentifier": "3" }, { "itemIdentifier": "2" }] }),
        );
        assert_eq!(retry_from(&t, &batch, &some), Some(1));
        let unknown = Ok(json!({ "batchItemFailures": [{ "itemIdentifier": "" }] }));
        assert_eq!(retry_from(&t, &batch, &unknown), Some(0));
        assert_eq!(retry_from(&t, &batch, &Err(json!({}))), Some(0));
        assert!(!exhausted(&t, 9));
        assert!(exhausted(&t, 10));
    }
}
