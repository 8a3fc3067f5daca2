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
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
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
        let op = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service().to_ascii_lowercase(), m.name()))
            .unwrap_or_else(|| "unknown".into());
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
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
