//! Local stack and operator tooling. Nothing here is deployed to AWS.
//!
//! - [`sam`]: reads `template.yaml` (the one description of the table, bucket and schedule group)
//! - [`provision`]: creates those resources in the emulator
//! - [`moto`]: starts and stops the moto server
//! - [`iam`]: each function's policy from template.yaml, enforced (with moto) on its clients
//! - [`lambda`]: the local Lambda service: functions as their principals, invoked through their
//!   entry points with Lambda's timeouts, retries and on-failure destinations
//! - [`gateway`]: API Gateway (HTTP API): requests → payload 2.0 events → responses
//! - [`runner`]: delivers S3, stream, schedule and SES events in AWS's shapes
//! - [`runtime_api`]: a minimal Lambda Runtime API, to start a built function binary as Lambda does
//! - [`ses_events`]: what SES publishes to EventBridge for the messages the functions sent
//! - [`seed`]: demo data
//! - [`outbox`]: `/_local/outbox`, every email the emulator received
//! - [`metering`]: AWS requests counted by operation (tests, benchmarks)
//! - [`holds`]: DynamoDB requests of one operation held until a test releases them
//! - [`operator`]: issuer and key commands for operators (locally or in AWS)
//! - [`replay`]: `infra replay-failures`: what Lambda gave up on, handed to its function again

pub mod gateway;
pub mod holds;
pub mod iam;
pub mod lambda;
pub mod metering;
pub mod moto;
pub mod operator;
pub mod outbox;
pub mod provision;
pub mod replay;
pub mod runner;
pub mod runtime_api;
pub mod sam;
pub mod seed;
pub mod sens;
pub mod ses_events;

use std::path::PathBuf;

/// The repository root (where template.yaml lives).
pub fn repo_root() -> PathBuf {
    std::env::var_os("ACCOLADE_REPO").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    )
}
