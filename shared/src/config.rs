//! Configuration from environment variables (set by template.yaml), read once at start-up.

use crate::{aws::SdkRoots, domain::webhook::AllowedHosts};
use std::env;

#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the one DynamoDB table.
    pub table_name: String,
    /// `UPLOADS_BUCKET`: CSV uploads and uploaded images.
    pub uploads_bucket: String,
    /// `PUBLIC_BASE_URL`: where the public pages live, e.g. `https://badges.example.ac.kr`.
    pub public_base_url: String,
    /// `SENDER_EMAIL`: the verified SES sender.
    pub sender_email: Option<String>,
    /// `SCHEDULE_GROUP`: the EventBridge Scheduler group for follow-ups.
    pub schedule_group: Option<String>,
    /// `SES_CONFIGURATION_SET`: publishes delivery events.
    pub ses_configuration_set: Option<String>,
    /// `SENT_COUNTED_BY` (notify): `mark` or `both` (or unset) — an email's mark `sent` carries
    /// the tags that count it, and its message the tag `counted: mark`; `send-event` — neither,
    /// SES's Send event counts it (the first deploy of an upgrade: README, step 15).
    pub sent_by_mark: bool,
    /// `AWS_ENDPOINT_URL`: only set locally (moto); in AWS the SDK finds the endpoints itself.
    pub aws_endpoint_url: Option<String>,
    /// `MAX_SEND_RATE`: emails per second, at most (default 10).
    pub max_send_rate: f64,
    /// `NOTIFY_FUNCTION_ARN` and `SCHEDULER_ROLE_ARN`: what follow-up schedules invoke, as whom.
    pub notify_function_arn: Option<String>,
    pub scheduler_role_arn: Option<String>,
    /// `FAILURE_QUEUE_ARN`: where Scheduler puts follow-up invocations it could not deliver.
    pub failure_queue_arn: Option<String>,
    /// `SIGNING_KEY_ARN`: the KMS key that wraps issuers' credential-signing keys.
    pub signing_key_arn: Option<String>,
    /// `WEBHOOK_QUEUE_URL`: the SQS queue of webhook attempts (the webhooks function reads it;
    /// notify and the api queue first attempts, the webhooks function's retry schedules the rest).
    pub webhook_queue_url: Option<String>,
    /// `WEBHOOK_ALLOWED_HOSTS`: host names that may receive webhooks over `http`, on any port and
    /// address. Empty in AWS; the local stack names its loopback receivers.
    pub webhook_allowed_hosts: AllowedHosts,
    /// `KAKAO_API_URL`: the KakaoTalk/SMS provider's API (NAVER Cloud SENS by default; the
    /// stand-in on the local stack).
    pub kakao_api_url: String,
    /// `SDK_TRUST_STORE`: `amazon` (default) or `system`, the roots the SDK trusts.
    pub sdk_roots: SdkRoots,
    /// `CATALOGUE_WAIT_MS`: how long a cold Lambda's first pages wait for the catalogue read
    /// once their award has arrived, before reading their page data by key instead (default
    /// 20 ms; template.yaml leaves it unset). The read itself goes on and fills the caches.
    /// The local stack's in-process functions wait 30 s (`lambda::function_config`) unless their
    /// template sets it: its emulator answers one request at a time, and on a busy machine a
    /// request can take longer than the bound without anything being wrong. Binaries started as
    /// Lambda starts them (`infra bench-cold-start`, the smoke test) get template.yaml's
    /// environment: 20 ms.
    pub catalogue_wait: std::time::Duration,
}

/// [`Config::catalogue_wait`] on the local stack.
pub const LOCAL_CATALOGUE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The default of [`Config::catalogue_wait`]. Both reads start at once, each on a new
/// connection, so a small catalogue is back about when the award is (measured on the local
/// stack with the demo's 5 KB; a large one in DynamoDB is not measured); reading by key instead
/// costs one round trip on the award's connection (a few ms), so waiting much longer than that
/// would make a cold page slower than not having the catalogue.
pub const CATALOGUE_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} is {problem}; template.yaml (or the local stack) must set it")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: &'static str,
}

/// A variable's trimmed value; `None` when unset or blank.
fn value(vars: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    vars(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn required(
    vars: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    match vars(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        Some(_) => Err(ConfigError {
            name,
            problem: "empty",
        }),
        None => Err(ConfigError {
            name,
            problem: "missing",
        }),
    }
}

impl Config {
    /// From the process environment (what template.yaml gives the function).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&|name| env::var(name).ok())
    }

    /// From any set of variables (the local stack passes each function the environment
    /// template.yaml gives it).
    pub fn from_vars(vars: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let base = required(vars, "PUBLIC_BASE_URL")?;
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ConfigError {
                name: "PUBLIC_BASE_URL",
                problem: "not an http(s) URL",
            });
        }
        let optional = |name: &str| value(vars, name);
        Ok(Self {
            table_name: required(vars, "TABLE_NAME")?,
            uploads_bucket: required(vars, "UPLOADS_BUCKET")?,
            public_base_url: base.trim_end_matches('/').to_owned(),
            sender_email: optional("SENDER_EMAIL"),
            schedule_group: optional("SCHEDULE_GROUP"),
            ses_configuration_set: optional("SES_CONFIGURATION_SET"),
            sent_by_mark: optional("SENT_COUNTED_BY").as_deref() != Some("send-event"),
            aws_endpoint_url: optional("AWS_ENDPOINT_URL"),
            max_send_rate: match optional("MAX_SEND_RATE") {
                None => 10.0,
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|r| *r > 0.0)
                    .ok_or(ConfigError {
                        name: "MAX_SEND_RATE",
                        problem: "not a positive number",
                    })?,
            },
            notify_function_arn: optional("NOTIFY_FUNCTION_ARN"),
            scheduler_role_arn: optional("SCHEDULER_ROLE_ARN"),
            failure_queue_arn: optional("FAILURE_QUEUE_ARN"),
            signing_key_arn: optional("SIGNING_KEY_ARN"),
            webhook_queue_url: optional("WEBHOOK_QUEUE_URL"),
            webhook_allowed_hosts: AllowedHosts::parse(
                &optional("WEBHOOK_ALLOWED_HOSTS").unwrap_or_default(),
            ),
            kakao_api_url: optional("KAKAO_API_URL")
                .unwrap_or_else(|| crate::messaging::sens::BASE_URL.into()),
            sdk_roots: match optional("SDK_TRUST_STORE") {
                None => SdkRoots::default(),
                Some(v) => SdkRoots::parse(&v).ok_or(ConfigError {
                    name: "SDK_TRUST_STORE",
                    problem: "neither amazon nor system",
                })?,
            },
            catalogue_wait: match optional("CATALOGUE_WAIT_MS") {
                None => CATALOGUE_WAIT,
                Some(v) => v
                    .parse::<u64>()
                    .map(std::time::Duration::from_millis)
                    .map_err(|_| ConfigError {
                        name: "CATALOGUE_WAIT_MS",
                        problem: "not a whole number of milliseconds",
                    })?,
            },
        })
    }

    /// The local stack's configuration (`make dev`, tests, benchmarks): the emulator's endpoint,
    /// the names of the resources created there, a public base URL, and a send rate that does not
    /// slow tests down. Optional parts are the caller's to set.
    pub fn local(
        endpoint: &str,
        table_name: &str,
        uploads_bucket: &str,
        public_base_url: &str,
    ) -> Self {
        Self {
            table_name: table_name.into(),
            uploads_bucket: uploads_bucket.into(),
            public_base_url: public_base_url.trim_end_matches('/').into(),
            sender_email: None,
            schedule_group: None,
            ses_configuration_set: None,
            sent_by_mark: true,
            aws_endpoint_url: Some(endpoint.into()),
            max_send_rate: 50.0,
            notify_function_arn: None,
            scheduler_role_arn: None,
            failure_queue_arn: None,
            signing_key_arn: None,
            webhook_queue_url: None,
            webhook_allowed_hosts: AllowedHosts::default(),
            kakao_api_url: crate::messaging::sens::BASE_URL.into(),
            sdk_roots: SdkRoots::System,
            catalogue_wait: LOCAL_CATALOGUE_WAIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars: Vec<(&str, &str)> = vec![
            ("TABLE_NAME", "t"),
            ("UPLOADS_BUCKET", "b"),
            ("PUBLIC_BASE_URL", "https://badges.example.ac.kr/"),
        ];
        vars.extend_from_slice(extra);
        Config::from_vars(&|name| {
            vars.iter()
                .rev()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_sdk_trusts_amazon_roots_unless_told_system() {
        let default = with(&[]).map(|c| c.sdk_roots).ok();
        assert_eq!(default, Some(SdkRoots::Amazon));
        let system = with(&[("SDK_TRUST_STORE", " system ")]).map(|c| c.sdk_roots);
        assert_eq!(system.ok(), Some(SdkRoots::System));
        let wrong = with(&[("SDK_TRUST_STORE", "/etc/ssl/cert.pem")]).err();
        assert_eq!(wrong.map(|e| e.name), Some("SDK_TRUST_STORE"));
    }

    #[test]
    fn a_cold_page_waits_20_ms_for_the_catalogue_unless_told_otherwise() {
        let wait = |extra: &[(&str, &str)]| with(extra).map(|c| c.catalogue_wait.as_millis());
        assert_eq!(wait(&[]).ok(), Some(20));
        assert_eq!(wait(&[("CATALOGUE_WAIT_MS", "30000")]).ok(), Some(30_000));
        let wrong = wait(&[("CATALOGUE_WAIT_MS", "0.5s")]).err();
        assert_eq!(wrong.map(|e| e.name), Some("CATALOGUE_WAIT_MS"));
    }

    #[test]
    fn a_bad_or_missing_variable_is_named() {
        let e = with(&[("PUBLIC_BASE_URL", "badges.example.ac.kr")]).err();
        assert_eq!(e.map(|e| e.to_string()).unwrap_or_default(), "environment variable PUBLIC_BASE_URL is not an http(s) URL; template.yaml (or the local stack) must set it");
        let e = with(&[("MAX_SEND_RATE", "-1")]).err();
        assert_eq!(e.map(|e| e.name), Some("MAX_SEND_RATE"));
        let e = with(&[("TABLE_NAME", " ")]).err();
        assert_eq!(
            e.map(|e| (e.name, e.problem)),
            Some(("TABLE_NAME", "empty"))
        );
        assert_eq!(
            with(&[]).map(|c| c.public_base_url).ok().as_deref(),
            Some("https://badges.example.ac.kr")
        );
    }
}
