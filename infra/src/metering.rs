//! Counting AWS requests by operation, through an SDK interceptor: how tests and benchmarks show
//! what a code path costs (e.g. "a badge page is one GetItem") without timing anything.

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{context::BeforeTransmitInterceptorContextRef, Intercept},
        orchestrator::Metadata,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::ConfigBag;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

/// The guarded value, even if a panicking holder poisoned the lock (a tally is still a tally).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Requests sent, by `Service.Operation` (e.g. `dynamodb.GetItem`). Clones share one tally.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl RequestCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        lock(&self.0).clone()
    }
    pub fn reset(&self) {
        lock(&self.0).clear();
    }
    pub fn get(&self, op: &str) -> u64 {
        self.snapshot().get(op).copied().unwrap_or(0)
    }
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, op) = operation(cfg);
        *lock(&self.0).entry(format!("{service}.{op}")).or_default() += 1;
        Ok(())
    }
}

/// Lambda invocations, by function: how many, and their durations (wall time, as Lambda bills).
#[derive(Debug, Clone, Default)]
pub struct InvocationLog(Arc<Mutex<BTreeMap<&'static str, (u64, std::time::Duration)>>>);

impl InvocationLog {
    pub fn record(&self, function: &'static str, took: std::time::Duration) {
        let mut all = lock(&self.0);
        let entry = all.entry(function).or_default();
        entry.0 += 1;
        entry.1 += took;
    }
    pub fn snapshot(&self) -> BTreeMap<&'static str, (u64, std::time::Duration)> {
        lock(&self.0).clone()
    }
    pub fn reset(&self) {
        lock(&self.0).clear();
    }
}

/// DynamoDB and S3 clients whose every request is counted.
pub fn metered_clients(
    sdk: &aws_config::SdkConfig,
    counter: &RequestCounter,
) -> (aws_sdk_dynamodb::Client, aws_sdk_s3::Client) {
    let ddb = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .build();
    let s3 = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .interceptor(counter.clone())
        .build();
    (
        aws_sdk_dynamodb::Client::from_conf(ddb),
        aws_sdk_s3::Client::from_conf(s3),
    )
}

/// What goes wrong at one AWS call (see [`ThrottleAfterSend::arm_at`]). Each but a conflict
/// happens after the request reached the emulator: whatever it asked for was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The answer is replaced by the service's throttling error (DynamoDB's
    /// `ThrottlingException`, S3's `SlowDown`, a 429 from SESv2 or Scheduler); the SDK retries.
    Throttle,
    /// The answer never comes: the SDK sees a timeout (a dispatch failure, which its retry
    /// classifier treats as transient) and retries.
    Timeout,
    /// DynamoDB's answer to a write that met a transaction on an item:
    /// `TransactionCanceledException` with `TransactionConflict` on its first item (a
    /// transaction) or `TransactionConflictException` (any other write). Nothing is written (the
    /// request goes out emptied). The SDK retries neither.
    Conflict,
    /// SESv2's answer while the account's sending is paused (SES pauses an account whose bounce
    /// or complaint rate is too high): `SendingPausedException`, 400. Nothing is sent (the
    /// request goes out emptied). The SDK does not retry it.
    SendingPaused,
    /// The invocation dies at this call, as a process killed mid-request: nothing after it runs
    /// (the unwinding skips the panic hook, so nothing is printed); Lambda reports the invocation
    /// failed and its caller retries as AWS would.
    Crash,
}

/// A fault placed at the k-th AWS call, or at calls of one operation (counted from
/// [`ThrottleAfterSend::arm_at`] or [`ThrottleAfterSend::arm_at_nth`], across every client and
/// function of the stack, each SDK attempt one call).
#[derive(Debug, Default)]
struct CallPlan {
    /// Every call since arming, as `service.Operation`.
    calls: Vec<String>,
    at: Option<(At, Fault)>,
    /// The call the fault was injected at, once it was.
    fired: Option<String>,
}

/// Which call a fault is placed at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum At {
    /// The k-th call (0-based), whatever it is.
    Call(usize),
    /// The calls of one operation (`service.Operation`) numbered (0-based, each SDK attempt one
    /// call) in this range.
    Nth(String, std::ops::Range<usize>),
}

/// The fault this attempt carries, decided before it is sent.
#[derive(Debug, Clone, Copy)]
struct Injected(Option<Fault>);

impl aws_smithy_types::config_bag::Storable for Injected {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// Fault injection, installed on every function's clients; does nothing until armed.
/// [`arm`](Self::arm): the next `count` responses of an operation (e.g. `TransactWriteItems`)
/// look throttled (HTTP 400 `ThrottlingException`) *after* the real request reached the
/// emulator, the hardest case for a retry: the write may have landed although the caller saw an
/// error. [`arm_at`](Self::arm_at): one [`Fault`] at the k-th call of a run.
#[derive(Debug, Clone, Default)]
pub struct ThrottleAfterSend {
    plan: Arc<Mutex<BTreeMap<String, u32>>>,
    at_call: Arc<Mutex<CallPlan>>,
}

impl ThrottleAfterSend {
    pub fn arm(&self, operation: &str, count: u32) {
        lock(&self.plan).insert(operation.to_owned(), count);
    }
    /// Throttles still to inject for `operation`.
    pub fn remaining(&self, operation: &str) -> u32 {
        lock(&self.plan).get(operation).copied().unwrap_or(0)
    }

    fn call_plan(&self) -> std::sync::MutexGuard<'_, CallPlan> {
        lock(&self.at_call)
    }

    /// Starts counting calls from 0; `fault` (if any) at call `k` (0-based), once.
    pub fn arm_at(&self, k: usize, fault: Option<Fault>) {
        *self.call_plan() = CallPlan {
            at: fault.map(|f| (At::Call(k), f)),
            ..CallPlan::default()
        };
    }
    /// Starts counting calls from 0; `fault` at `times` calls of `operation` (`service.Operation`,
    /// e.g. `dynamodb.Query`) in a row from its `n`-th (0-based; each SDK attempt is one call, so
    /// 3 throttles in a row outlast the SDK's standard retries).
    pub fn arm_at_nth(&self, operation: &str, n: usize, times: usize, fault: Fault) {
        *self.call_plan() = CallPlan {
            at: Some((At::Nth(operation.to_owned(), n..n + times), fault)),
            ..CallPlan::default()
        };
    }
    /// The calls made since [`arm_at`](Self::arm_at), in order (`service.Operation`).
    pub fn calls(&self) -> Vec<String> {
        self.call_plan().calls.clone()
    }
    /// The call the armed fault was injected at (`None`: the run made fewer calls).
    pub fn fired(&self) -> Option<String> {
        self.call_plan().fired.clone()
    }
}

/// `service.Operation` of the call being made.
fn operation(cfg: &ConfigBag) -> (String, String) {
    cfg.load::<Metadata>().map_or_else(
        || ("unknown".into(), "unknown".into()),
        |m| (m.service().to_ascii_lowercase(), m.name().to_owned()),
    )
}

/// The service's own throttling answer, as the SDK parses it: DynamoDB's JSON error, S3's
/// `SlowDown`, and for the REST-JSON services (SESv2, Scheduler) a 429 with the error type header.
fn throttled(service: &str) -> Result<aws_smithy_runtime_api::http::Response, BoxError> {
    let (status, content_type, body, error_type) = match service {
        "dynamodb" => (
            400u16,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
            None,
        ),
        "s3" => (
            503,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            None,
        ),
        "sesv2" => (
            429,
            "application/json",
            r#"{"message":"Maximum sending rate exceeded."}"#,
            Some("TooManyRequestsException"),
        ),
        _ => (
            429,
            "application/json",
            r#"{"message":"Rate exceeded"}"#,
            Some("ThrottlingException"),
        ),
    };
    let mut resp = aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status)?,
        aws_smithy_types::body::SdkBody::from(body),
    );
    resp.headers_mut().insert("content-type", content_type);
    if let Some(t) = error_type {
        resp.headers_mut().insert("x-amzn-errortype", t);
    }
    Ok(resp)
}

/// DynamoDB's answer to `op` when it met a transaction: a transaction's cancellation for a
/// conflict on its first item, any other write's `TransactionConflictException`.
fn transaction_conflict(op: &str) -> Result<aws_smithy_runtime_api::http::Response, BoxError> {
    let body = if op == "TransactWriteItems" {
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#
    } else {
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"Transaction is ongoing for the item"}"#
    };
    let mut resp = aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(400u16)?,
        aws_smithy_types::body::SdkBody::from(body),
    );
    resp.headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    Ok(resp)
}

/// SESv2's refusal of any message while the account's sending is paused.
fn sending_paused() -> Result<aws_smithy_runtime_api::http::Response, BoxError> {
    let body = r#"{"message":"Sending is paused for this account."}"#;
    let mut resp = aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(400u16)?,
        aws_smithy_types::body::SdkBody::from(body),
    );
    resp.headers_mut()
        .insert("content-type", "application/json");
    resp.headers_mut()
        .insert("x-amzn-errortype", "SendingPausedException");
    Ok(resp)
}

impl Intercept for ThrottleAfterSend {
    fn name(&self) -> &'static str {
        "ThrottleAfterSend"
    }

    /// Numbers the call and decides whether the armed fault is for it. A conflict writes
    /// nothing, as in DynamoDB, and a paused account sends nothing, as in SES: the request goes
    /// out with an empty body, which the emulator refuses (its answer is replaced below).
    fn modify_before_transmit(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, op) = operation(cfg);
        let name = format!("{service}.{op}");
        let mut plan = self.call_plan();
        let of_op = || plan.calls.iter().filter(|c| **c == name).count();
        let fault = match &plan.at {
            Some((At::Call(k), f)) if *k == plan.calls.len() => Some(*f),
            Some((At::Nth(op, range), f)) if *op == name && range.contains(&of_op()) => Some(*f),
            _ => None,
        };
        if fault.is_some() {
            plan.fired = Some(name.clone());
        }
        plan.calls.push(name);
        drop(plan);
        if matches!(fault, Some(Fault::Conflict | Fault::SendingPaused)) {
            let request = context.request_mut();
            *request.body_mut() = aws_smithy_types::body::SdkBody::from("{}");
            request.headers_mut().insert("content-length", "2");
        }
        cfg.interceptor_state().store_put(Injected(fault));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, op) = operation(cfg);
        match cfg.load::<Injected>().and_then(|i| i.0) {
            Some(Fault::Crash) => {
                std::panic::resume_unwind(Box::new(format!("injected crash at {service}.{op}")))
            }
            Some(Fault::Throttle) => {
                *context.response_mut() = throttled(&service)?;
                return Ok(());
            }
            Some(Fault::Conflict) => {
                *context.response_mut() = transaction_conflict(&op)?;
                return Ok(());
            }
            Some(Fault::SendingPaused) => {
                *context.response_mut() = sending_paused()?;
                return Ok(());
            }
            _ => {}
        }
        let mut plan = lock(&self.plan);
        match plan.get_mut(&op) {
            Some(left) if *left > 0 => *left -= 1,
            _ => return Ok(()),
        }
        *context.response_mut() = throttled("dynamodb")?;
        Ok(())
    }

    /// A timeout: the answer that came is dropped and the attempt ends as a dispatch failure.
    fn modify_before_attempt_completion(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Fault::Timeout) = cfg.load::<Injected>().and_then(|i| i.0) {
            if let Some(result) = context.output_or_error_mut() {
                let timeout = aws_smithy_runtime_api::client::result::ConnectorError::timeout(
                    "injected: no answer within the read timeout".into(),
                );
                *result = Err(
                    aws_smithy_runtime_api::client::orchestrator::OrchestratorError::connector(
                        timeout,
                    ),
                );
            }
        }
        Ok(())
    }
}
