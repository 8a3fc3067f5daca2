//! `tracing` set-up: JSON lines in Lambda (CloudWatch), compact text locally.

use tracing_subscriber::EnvFilter;

/// JSON logs without ANSI colours or timestamps (Lambda adds its own). Level from `RUST_LOG`
/// (default `info`).
pub fn init_lambda() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Human-readable logs for the local stack and the operator CLI.
pub fn init_local() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn")),
        )
        .compact()
        .try_init();
}
