//! Accolade: everything the Lambdas share. See ARCHITECTURE.md for the map.

// A panic fails one invocation, not the process: lambda_runtime's panic layer answers the
// Runtime API with an error and the environment stays warm, and a drawing that panics falls back
// to the generated design (`cards::draw`). Both need unwinding; with `panic = "abort"` every
// panic would kill the process (Runtime.ExitError, then a cold start), in release builds only,
// since tests build with unwinding.
#[cfg(panic = "abort")]
compile_error!("build Accolade with panic = \"unwind\" (see shared/src/lib.rs)");

pub mod analytics;
pub mod app;
pub mod aws;
pub mod baking;
pub mod blobs;
pub mod cache;
pub mod cards;
pub mod config;
pub mod credentials;
pub mod csv_import;
pub mod digest;
pub mod domain;
pub mod email;
pub mod email_events;
pub mod entry;
pub mod events;
pub mod http;
pub mod ingest;
pub mod issuing;
pub mod kms;
pub mod ld;
pub mod mailer;
pub mod messaging;
pub mod notify;
pub mod ob3;
pub mod openbadges;
pub mod outbound;
pub mod queue;
pub mod render;
pub mod rollup;
pub mod schedules;
pub mod store;
pub mod telemetry;
pub mod urls;
pub mod webhooks;

#[cfg(test)]
mod layers;

/// Settings of the property tests (issue #14, hostile input): `cases` generated inputs per
/// property, and no failure files (a failure found is kept as a plain regression test beside its
/// property).
#[cfg(test)]
pub(crate) fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
