//! The SQS adapter: the webhook queue (`WEBHOOK_QUEUE_URL`), where each message asks the webhooks
//! function for one delivery's next attempt. Sent with `SendMessageBatch`, ten at most per call
//! (SQS's limit); a message SQS did not take is an error naming it, so the caller's event is
//! retried (the deliveries exist already, and a second message for one is harmless: attempts are
//! claimed). Each message names its tenant (`MessageGroupId`: SQS fair queues), so an issuer with a
//! backlog — thousands of events for a slow endpoint — does not hold up the others' messages.

use crate::aws::Lazy;
use aws_sdk_sqs::{types::SendMessageBatchRequestEntry, Client};

/// SQS takes at most ten messages per `SendMessageBatch`.
pub const BATCH: usize = 10;

#[derive(Clone, Debug)]
pub struct Queue {
    client: Lazy<Client>,
    url: Option<String>,
}

impl Queue {
    pub fn new(client: Lazy<Client>, url: Option<String>) -> Self {
        Self { client, url }
    }

    /// Sends every `(tenant, body)`, ten per request.
    pub async fn send_all(&self, bodies: &[(String, String)]) -> Result<(), String> {
        if bodies.is_empty() {
            return Ok(());
        }
        let url = self.url.as_deref().ok_or("WEBHOOK_QUEUE_URL is not set")?;
        for chunk in bodies.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, (tenant, body))| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_group_id(tenant)
                        .message_body(body)
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
            if let Some(f) = out.failed().first() {
                return Err(format!(
                    "SQS did not take a message: {} ({})",
                    f.message().unwrap_or_default(),
                    f.code()
                ));
            }
        }
        Ok(())
    }
}
