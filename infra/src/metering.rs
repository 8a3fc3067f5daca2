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

/// Requests sent, by `Service.Operation` (e.g. `dynamodb.GetItem`). Clones share one tally.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl RequestCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
    pub fn reset(&self) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
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
        let op = cfg.load::<Metadata>().map_or_else(
            || "unknown".into(),
            |m| format!("{}.{}", m.service().to_ascii_lowercase(), m.name()),
        );
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(op)
            .or_default() += 1;
        Ok(())
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

/// Makes the next `count` responses of an operation (e.g. `TransactWriteItems`) look throttled
/// (HTTP 400 `ThrottlingException`) *after* the real request reached the emulator, the hardest
/// case for a retry: the write may have landed although the caller saw an error. Installed on
/// every function's clients; does nothing until armed.
#[derive(Debug, Clone, Default)]
pub struct ThrottleAfterSend {
    plan: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl ThrottleAfterSend {
    pub fn arm(&self, operation: &str, count: u32) {
        self.plan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(operation.to_owned(), count);
    }
    /// Throttles still to inject for `operation`.
    pub fn remaining(&self, operation: &str) -> u32 {
        self.plan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }
}

impl Intercept for ThrottleAfterSend {
    fn name(&self) -> &'static str {
        "ThrottleAfterSend"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(op) = cfg.load::<Metadata>().map(|m| m.name().to_owned()) else {
            return Ok(());
        };
        let mut plan = self
            .plan
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match plan.get_mut(&op) {
            Some(left) if *left > 0 => *left -= 1,
            _ => return Ok(()),
        }
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
        let mut resp = aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400u16)?,
            aws_smithy_types::body::SdkBody::from(body),
        );
        resp.headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        *context.response_mut() = resp;
        Ok(())
    }
}
