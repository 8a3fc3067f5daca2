//! The EventBridge Scheduler adapter: one one-time `at()` schedule per hour bucket, named
//! deterministically (`due-YYYYMMDDHH`), so creating it again is a harmless `ConflictException`.

use crate::aws::Lazy;
use crate::domain::followup::bucket_fires_at;
use aws_sdk_scheduler::{
    error::ProvideErrorMetadata,
    types::{
        ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
        RetryPolicy, Target,
    },
    Client,
};
use chrono::{DateTime, Utc};
use std::{collections::HashSet, sync::Arc};
use tokio::sync::Mutex;

#[derive(Clone)]
pub struct Schedules {
    client: Lazy<Client>,
    group: Option<String>,
    target_arn: String,
    role_arn: String,
    /// Where webhook retry schedules put their message (`WEBHOOK_QUEUE_URL`).
    webhook_queue: Option<String>,
    /// Where Scheduler puts an invocation it could not deliver (`FAILURE_QUEUE_ARN`).
    failure_queue_arn: Option<String>,
    /// Buckets this process has made sure of (saves a call per stream batch).
    known: Arc<Mutex<HashSet<String>>>,
}

/// Scheduler's universal target for SQS `SendMessage`: the input is the request.
pub const SQS_SEND_MESSAGE: &str = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage";

/// `at`, or the start of the next minute if `at` is not at least a minute away.
pub fn not_before_next_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let soonest = Utc::now() + chrono::Duration::minutes(1);
    if at >= soonest {
        return at;
    }
    let secs = soonest.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(60) + 60, 0).unwrap_or(soonest)
}

/// `at` rounded *up* to the whole second. A one-time schedule's `at()` takes whole seconds and
/// Scheduler hands the target that time back: a run that must not come before `at` (an
/// expiry at 06:59:17.29 written as `at(06:59:17)` is judged not yet come, and its rerun, under
/// the same schedule name, is never created) is scheduled at this.
pub fn whole_second_up(at: DateTime<Utc>) -> DateTime<Utc> {
    if at.timestamp_subsec_nanos() == 0 {
        return at;
    }
    DateTime::from_timestamp(at.timestamp() + 1, 0).unwrap_or(at)
}

/// What a bucket's schedule hands notify: the bucket, and as `now` the time it was due
/// (Scheduler fills in its context attribute), the moment its conditions are judged at.
fn bucket_input(bucket: &str) -> String {
    serde_json::json!({ "kind": "due", "bucket": bucket, "now": "<aws.scheduler.scheduled-time>" })
        .to_string()
}

pub fn schedule_name(bucket: &str) -> String {
    let name = format!("due-{}", bucket.replace(['-', 'T'], ""));
    // Scheduler names hold at most 64 characters, and a continuation adds 9: a long bucket (a
    // provider's request id in it) is named by its hash.
    if name.len() <= 50 {
        return name;
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(bucket.as_bytes());
    format!("due-h{}", &hex::encode(digest)[..32])
}

impl Schedules {
    pub fn new(
        client: Lazy<Client>,
        group: Option<String>,
        target_arn: String,
        role_arn: String,
        failure_queue_arn: Option<String>,
    ) -> Self {
        Self {
            client,
            group,
            target_arn,
            role_arn,
            failure_queue_arn,
            webhook_queue: None,
            known: Arc::default(),
        }
    }

    /// Webhook retries are messages to this queue (its URL).
    pub fn with_webhook_queue(mut self, url: Option<String>) -> Self {
        self.webhook_queue = url;
        self
    }

    /// A one-time schedule that sends `body` (Scheduler fills in `<aws.scheduler.scheduled-time>`)
    /// to the webhook queue at `at`, with `group` as its `MessageGroupId` (SQS fair queues): a
    /// retry passes the same concurrency cap, and the same fairness, as every attempt. Scheduler's
    /// universal target for SQS `SendMessage` (its templated SQS target sets a group only for FIFO
    /// queues). A name that exists already is fine.
    pub async fn webhook_retry(
        &self,
        name: &str,
        at: DateTime<Utc>,
        body: &serde_json::Value,
        group: &str,
    ) -> Result<bool, String> {
        let queue = self
            .webhook_queue
            .as_deref()
            .ok_or("WEBHOOK_QUEUE_URL is not set")?;
        let input = serde_json::json!({
            "QueueUrl": queue,
            "MessageBody": body.to_string(),
            "MessageGroupId": group,
        });
        self.create(name, at, SQS_SEND_MESSAGE, input.to_string())
            .await
    }

    /// Makes sure the bucket's schedule exists. Answers whether this call created it. A bucket
    /// whose hour has passed (an old award, a retried batch) fires a minute from now: Scheduler
    /// never fires a one-time schedule created after its time.
    ///
    /// An overdue bucket gets a schedule of its own each time (never remembered): its first
    /// schedule may already have fired, and an item written after that would otherwise wait for
    /// nobody. Handled items leave their bucket, so extra schedules send nothing twice.
    pub async fn ensure_bucket(&self, bucket: &str) -> Result<bool, String> {
        let at = bucket_fires_at(bucket).ok_or_else(|| format!("bad bucket {bucket}"))?;
        if at < Utc::now() + chrono::Duration::minutes(5) {
            return self.continue_bucket(bucket, Utc::now()).await;
        }
        if self.known.lock().await.contains(bucket) {
            return Ok(false);
        }
        let created = self
            .create(
                &schedule_name(bucket),
                at,
                &self.target_arn,
                bucket_input(bucket),
            )
            .await?;
        self.known.lock().await.insert(bucket.to_owned());
        Ok(created)
    }

    /// Runs a bucket at the start of the next minute, once however many ask within this minute
    /// (the schedule is named by that minute: a second create is a harmless conflict). What the
    /// stream's records of one CSV batch ask for its day-1 KakaoTalk bucket.
    pub async fn run_bucket_soon(&self, bucket: &str, now: DateTime<Utc>) -> Result<bool, String> {
        let at = not_before_next_minute(now);
        let name = format!("{}-{}", schedule_name(bucket), at.format("%d%H%M"));
        self.create(&name, at, &self.target_arn, bucket_input(bucket))
            .await
    }

    /// What is left of a bucket an invocation could not finish in its time: a new schedule a
    /// minute from now (handled items have left the bucket, so it sends only the rest).
    pub async fn continue_bucket(&self, bucket: &str, now: DateTime<Utc>) -> Result<bool, String> {
        let name = format!("{}-{}", schedule_name(bucket), now.format("%d%H%M%S"));
        let at = not_before_next_minute(now);
        self.create(&name, at, &self.target_arn, bucket_input(bucket))
            .await
    }

    /// Creates a one-time schedule invoking `target` with `input` at `at` (UTC). A name that
    /// exists already is fine (`false`).
    async fn create(
        &self,
        name: &str,
        at: DateTime<Utc>,
        target: &str,
        input: String,
    ) -> Result<bool, String> {
        let Some(group) = &self.group else {
            return Err("SCHEDULE_GROUP is not set".into());
        };
        let mut target = Target::builder()
            .arn(target)
            .role_arn(&self.role_arn)
            .input(input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(10)
                    .maximum_event_age_in_seconds(86_400)
                    .build(),
            );
        if let Some(queue) = &self.failure_queue_arn {
            target = target.dead_letter_config(DeadLetterConfig::builder().arn(queue).build());
        }
        let res = self
            .client
            .create_schedule()
            .group_name(group)
            .name(name)
            .schedule_expression(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .target(target.build().map_err(|e| e.to_string())?)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConflictException") => Ok(false),
            Err(e) => Err(aws_sdk_scheduler::error::DisplayErrorContext(e).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The samples under tests/events/ are what a bucket's schedule sends: its input as notify
    /// creates it, with the time Scheduler fills in, and its schedule's name in the group.
    #[test]
    fn the_scheduler_samples_are_what_a_bucket_schedule_sends() {
        let sent = bucket_input("2026-12-03T06")
            .replace("<aws.scheduler.scheduled-time>", "2026-12-03T07:00:00Z");
        let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
        let due: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/events/scheduler-followups-due.json"
        ))
        .unwrap();
        assert_eq!(sent, due);
        let dead: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/events/sqs-scheduler-dead-letter.json"
        ))
        .unwrap();
        let body: serde_json::Value = serde_json::from_str(dead["Body"].as_str().unwrap()).unwrap();
        assert_eq!(body, due);
        let arn = dead["MessageAttributes"]["SCHEDULE_ARN"]["StringValue"]
            .as_str()
            .unwrap();
        assert!(
            arn.ends_with(&format!(
                "schedule/accolade-prod-followups/{}",
                schedule_name("2026-12-03T06")
            )),
            "{arn}"
        );
    }

    /// A run that must not come before its time is scheduled at the next whole second
    /// (the award.expired rerun at an expiry of 06:59:17.29).
    #[test]
    fn a_time_rounds_up_to_the_whole_second() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let up = |s: &str| whole_second_up(at(s)).to_rfc3339();
        assert_eq!(up("2026-12-01T06:59:17.290Z"), "2026-12-01T06:59:18+00:00");
        assert_eq!(
            up("2026-12-01T06:59:59.000000001Z"),
            "2026-12-01T07:00:00+00:00"
        );
        assert_eq!(up("2026-12-01T07:00:00Z"), "2026-12-01T07:00:00+00:00");
    }
}
