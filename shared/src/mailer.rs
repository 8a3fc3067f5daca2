//! The SESv2 adapter: sends raw MIME messages at no more than the configured rate, and says
//! whether a failure is worth retrying.

use aws_sdk_sesv2::{
    error::{ProvideErrorMetadata, SdkError},
    operation::send_email::SendEmailError,
    primitives::Blob,
    types::{Destination, EmailContent, MessageTag, RawMessage},
    Client,
};
use std::{sync::Arc, time::Duration};
use tokio::{sync::Mutex, time::Instant};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Slow down and try again later.
    #[error("SES is throttling: {0}")]
    Throttled(String),
    /// This message will never be accepted (bad address, unverified sender…): do not retry.
    #[error("SES rejected the message: {0}")]
    Rejected(String),
    #[error("sending failed: {0}")]
    Other(String),
}

#[derive(Clone)]
pub struct Mailer {
    client: Client,
    configuration_set: Option<String>,
    min_interval: Duration,
    next_slot: Arc<Mutex<Instant>>,
}

impl Mailer {
    pub fn new(client: Client, configuration_set: Option<String>, max_per_second: f64) -> Self {
        let rate = if max_per_second.is_finite() && max_per_second > 0.0 {
            max_per_second
        } else {
            1.0
        };
        Self {
            client,
            configuration_set,
            min_interval: Duration::from_secs_f64(1.0 / rate),
            next_slot: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Waits for the next free send slot (shared by every send in this process).
    async fn pace(&self) {
        let wait_until = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.min_interval;
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }

    /// Sends one raw message, tagged (SES events carry the tags back); answers SES's message id.
    pub async fn send_raw(
        &self,
        from: &str,
        to: &str,
        raw: Vec<u8>,
        tags: &[(&str, &str)],
    ) -> Result<String, SendError> {
        self.pace().await;
        let data = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| SendError::Other(e.to_string()))?;
        let res = self
            .client
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(data).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(Some(message_tags(tags)))
            .send()
            .await;
        match res {
            Ok(out) => Ok(out.message_id.unwrap_or_default()),
            Err(e) => Err(classify(e)),
        }
    }
}

fn message_tags(tags: &[(&str, &str)]) -> Vec<MessageTag> {
    tags.iter()
        .filter_map(|(k, v)| MessageTag::builder().name(*k).value(*v).build().ok())
        .collect()
}

/// A failed send as throttled (retry later), rejected (never retry) or other.
fn classify(e: SdkError<SendEmailError>) -> SendError {
    let detail = format!(
        "{}: {}",
        e.code().unwrap_or("error"),
        e.message().unwrap_or_default()
    );
    match e.code() {
        Some("TooManyRequestsException" | "LimitExceededException" | "ThrottlingException") => {
            SendError::Throttled(detail)
        }
        Some(
            "MessageRejected"
            | "MailFromDomainNotVerifiedException"
            | "AccountSuspendedException"
            | "SendingPausedException"
            | "BadRequestException"
            | "NotFoundException",
        ) => SendError::Rejected(detail),
        _ => SendError::Other(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string()),
    }
}
