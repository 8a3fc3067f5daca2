//! Building SDK clients: once per process, at start-up.

use aws_config::{retry::RetryConfig, BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// The SDK configuration. With an endpoint (the local emulator) it uses fixed dummy credentials and
/// region, so the default chain never looks for instance metadata, and no retries, so emulator
/// errors surface at once.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    match endpoint {
        Some(url) => local_sdk_config(url),
        None => aws_config::defaults(BehaviorVersion::latest()).load().await,
    }
}

pub fn local_sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "accolade-local",
            )),
        )
        .retry_config(RetryConfig::disabled())
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
