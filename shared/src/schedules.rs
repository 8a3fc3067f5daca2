//! The EventBridge Scheduler adapter: one one-time `at()` schedule per hour bucket, named
//! deterministically (`due-YYYYMMDDHH`), so creating it again is a harmless `ConflictException`.

use crate::domain::followup::bucket_fires_at;
use aws_sdk_scheduler::{
    error::ProvideErrorMetadata,
    types::{ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target},
    Client,
};
use std::{collections::HashSet, sync::Arc};
use tokio::sync::Mutex;

#[derive(Clone)]
pub struct Schedules {
    client: Client,
    group: Option<String>,
    target_arn: String,
    role_arn: String,
    /// Buckets this process has made sure of (saves a call per stream batch).
    known: Arc<Mutex<HashSet<String>>>,
}

pub fn schedule_name(bucket: &str) -> String {
    format!("due-{}", bucket.replace(['-', 'T'], ""))
}

impl Schedules {
    pub fn new(
        client: Client,
        group: Option<String>,
        target_arn: String,
        role_arn: String,
    ) -> Self {
        Self {
            client,
            group,
            target_arn,
            role_arn,
            known: Arc::default(),
        }
    }

    /// Makes sure the bucket's schedule exists. Answers whether this call created it.
    pub async fn ensure_bucket(&self, bucket: &str) -> Result<bool, String> {
        let Some(group) = &self.group else {
            return Err("SCHEDULE_GROUP is not set".into());
        };
        if self.known.lock().await.contains(bucket) {
            return Ok(false);
        }
        let at = bucket_fires_at(bucket).ok_or_else(|| format!("bad bucket {bucket}"))?;
        let input = serde_json::json!({ "kind": "due", "bucket": bucket }).to_string();
        let res = self
            .client
            .create_schedule()
            .group_name(group)
            .name(schedule_name(bucket))
            .schedule_expression(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .target(
                Target::builder()
                    .arn(&self.target_arn)
                    .role_arn(&self.role_arn)
                    .input(input)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        let created = match res {
            Ok(_) => true,
            Err(e) if e.code() == Some("ConflictException") => false,
            Err(e) => return Err(aws_sdk_scheduler::error::DisplayErrorContext(e).to_string()),
        };
        self.known.lock().await.insert(bucket.to_owned());
        Ok(created)
    }
}
