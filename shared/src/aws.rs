//! Building SDK clients: once per process, at start-up.

use aws_config::{retry::RetryConfig, BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// The SDK configuration. In AWS (no endpoint override) the SDK's defaults: credentials of the
/// function's role, the region Lambda sets, standard retries. With an endpoint (the local
/// emulator): that endpoint, region us-east-1, and the credentials in `AWS_ACCESS_KEY_ID` /
/// `AWS_SECRET_ACCESS_KEY` (the local stack gives each function its own principal), so the default
/// chain never looks for instance metadata.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    match endpoint {
        Some(url) => {
            let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "testing".into());
            let secret =
                std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "testing".into());
            local_sdk_config(url, credentials(&key, &secret))
        }
        None => aws_config::defaults(BehaviorVersion::latest()).load().await,
    }
}

/// Static credentials (the local emulator's principals).
pub fn credentials(access_key_id: &str, secret_access_key: &str) -> Credentials {
    Credentials::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "accolade-local",
    )
}

/// The emulator's configuration, with AWS's standard retry mode (3 attempts, exponential
/// back-off with jitter) exactly as in AWS: a transient 500 or throttle from the emulator is
/// retried as AWS's would be.
pub fn local_sdk_config(endpoint: &str, credentials: Credentials) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .retry_config(RetryConfig::standard())
        .build()
}

pub fn dynamodb(cfg: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(cfg)
}

/// S3 with path-style addressing when an endpoint override is set (moto needs it).
pub fn s3(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(cfg.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
