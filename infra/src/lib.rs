//! Local stack and operator tooling. Nothing here is deployed to AWS.
//!
//! - [`sam`]: reads `template.yaml` (the one description of the table, bucket and schedule group)
//! - [`provision`]: creates those resources in the emulator
//! - [`moto`]: starts and stops the moto server
//! - [`gateway`]: routes requests to the api/verify/analytics routers the way API Gateway does
//! - [`runner`]: delivers S3, stream and schedule events to the ingest and notify handlers
//! - [`seed`]: demo data
//! - [`outbox`]: `/_local/outbox`, every email the emulator received
//! - [`metering`]: AWS requests counted by operation (tests, benchmarks)
//! - [`operator`]: issuer and key commands for operators (locally or in AWS)

pub mod gateway;
pub mod metering;
pub mod moto;
pub mod operator;
pub mod outbox;
pub mod provision;
pub mod runner;
pub mod sam;
pub mod seed;

use std::path::PathBuf;

/// The repository root (where template.yaml lives).
pub fn repo_root() -> PathBuf {
    std::env::var_os("ACCOLADE_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
}
