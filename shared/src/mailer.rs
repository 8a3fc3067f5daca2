//! The SESv2 adapter: sends raw MIME messages at no more than the configured rate, and says
//! whether a failure is worth retrying.
//!
//! `SendEmail` is not idempotent: a request SES may have accepted (no answer in time, a dropped
//! connection, a 5xx) is never sent again, by the SDK ([`OnlyRefusedSends`]) or by us
//! ([`SendError::Unknown`]): a message goes out at most once. Only a throttle, which SES answers
//! before accepting anything, is retried.

use crate::aws::Lazy;
use aws_sdk_sesv2::{
    error::{ProvideErrorMetadata, SdkError},
    operation::send_email::SendEmailError,
    primitives::Blob,
    types::{Destination, EmailContent, MessageTag, RawMessage},
    Client,
};
use aws_smithy_runtime_api::client::{
    interceptors::context::InterceptorContext,
    retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority},
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
    /// SES may or may not have accepted the message: sending it again could deliver it twice.
    #[error("outcome unknown, not sent again: {0}")]
    Unknown(String),
    /// Refused before SES took it (the request could not be built, an unexpected 4xx): worth
    /// retrying.
    #[error("sending failed: {0}")]
    Other(String),
    /// The account or the deployment refuses every message until an operator acts (sending
    /// paused for a bounce rate, an account suspended, the sender or MAIL FROM domain not
    /// verified, the configuration set missing): nothing sent; worth trying again in hours, not
    /// seconds.
    #[error("SES refuses every message for now: {0}")]
    Paused(String),
}

/// The SDK's retry policy for `SendEmail`: its classifiers would retry a timeout, a dispatch
/// failure or a 5xx, each of which may follow a message SES accepted; this one, run last,
/// forbids every retry but a throttle's.
#[derive(Debug)]
struct OnlyRefusedSends;

impl ClassifyRetry for OnlyRefusedSends {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(e)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let code = e
            .as_operation_error()
            .and_then(|e| e.downcast_ref::<SendEmailError>())
            .and_then(ProvideErrorMetadata::code);
        if code.is_some_and(is_throttle) {
            RetryAction::NoActionIndicated
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "OnlyRefusedSends"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

fn is_throttle(code: &str) -> bool {
    matches!(
        code,
        "TooManyRequestsException" | "LimitExceededException" | "ThrottlingException"
    )
}

#[derive(Clone)]
pub struct Mailer {
    client: Lazy<Client>,
    configuration_set: Option<String>,
    min_interval: Duration,
    next_slot: Arc<Mutex<Instant>>,
}

/// What one message's work (its reads, claim, `SendEmail` and mark) is planned to take, for
/// [`Mailer::in_flight`].
const SEND_LATENCY: Duration = Duration::from_millis(250);

impl Mailer {
    pub fn new(
        client: Lazy<Client>,
        configuration_set: Option<String>,
        max_per_second: f64,
    ) -> Self {
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

    /// How many messages a caller may prepare and send at once: enough to keep the configured
    /// rate when a send and the reads and writes around it take up to [`SEND_LATENCY`] (a
    /// sequential loop manages about one over that latency, ~10 a second, whatever the rate), and
    /// few enough that a claimed message never waits long for its slot: at most 16.
    pub fn in_flight(&self) -> usize {
        let n = (SEND_LATENCY.as_secs_f64() / self.min_interval.as_secs_f64()).ceil();
        (n as usize).clamp(1, 16)
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
            .customize()
            .config_override(
                aws_sdk_sesv2::config::Builder::default().retry_classifier(OnlyRefusedSends),
            )
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

/// A failed send as throttled (retry later), rejected (never retry), unknown (SES may have
/// accepted it: never send again) or other (refused before SES took it).
fn classify(e: SdkError<SendEmailError>) -> SendError {
    let detail = format!(
        "{}: {}",
        e.code().unwrap_or("error"),
        e.message().unwrap_or_default()
    );
    let full = || aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string();
    let says = |words: &str| {
        e.message()
            .is_some_and(|m| m.to_ascii_lowercase().contains(words))
    };
    match e.code() {
        // The account's 24-hour sending quota used up ("Daily message quota exceeded", with a
        // throttling code): nothing goes until the window moves on — hours, not seconds.
        Some(code) if is_throttle(code) && says("daily message quota") => SendError::Paused(detail),
        Some(code) if is_throttle(code) => SendError::Throttled(detail),
        // SES answers an unverified sender identity, and any recipient not verified while the
        // account is in the sandbox, with `MessageRejected` "Email address is not verified. The
        // following identities failed the check …": the deployment, not the message.
        Some("MessageRejected") if says("not verified") => SendError::Paused(detail),
        // This message: SES will never take it.
        Some("MessageRejected" | "BadRequestException") => SendError::Rejected(detail),
        // The account or the deployment, not the message: sending paused (SES pauses an account
        // whose bounce or complaint rate is too high, and resumes it), suspended, the MAIL FROM
        // domain's records or the configuration set missing. Each refuses every message until an
        // operator fixes it; marking the emails rejected would drop them all for good. Day-1
        // emails wait in an hour bucket and are tried again each hour; follow-ups fail their
        // bucket's run into the failure queue, their due items kept.
        Some(
            "SendingPausedException"
            | "AccountSuspendedException"
            | "MailFromDomainNotVerifiedException"
            | "NotFoundException",
        ) => SendError::Paused(detail),
        _ => match &e {
            SdkError::ConstructionFailure(_) => SendError::Other(full()),
            SdkError::ServiceError(s) if s.raw().status().is_client_error() => {
                SendError::Other(full())
            }
            _ => SendError::Unknown(full()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rate: f64) -> usize {
        Mailer::new(Lazy::new(|| unreachable!("no send")), None, rate).in_flight()
    }

    fn refused(code: &str) -> SendError {
        refused_saying(code, "")
    }

    fn refused_saying(code: &str, message: &str) -> SendError {
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::{body::SdkBody, error::ErrorMetadata};
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let err = SendEmailError::generic(meta);
        let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        classify(SdkError::service_error(err, raw))
    }

    #[test]
    fn the_message_is_rejected_for_good_but_the_account_or_deployment_is_retried() {
        for code in ["MessageRejected", "BadRequestException"] {
            assert!(matches!(refused(code), SendError::Rejected(_)), "{code}");
        }
        for code in [
            "SendingPausedException",
            "AccountSuspendedException",
            "MailFromDomainNotVerifiedException",
            "NotFoundException",
        ] {
            assert!(matches!(refused(code), SendError::Paused(_)), "{code}");
        }
        assert!(matches!(
            refused("TooManyRequestsException"),
            SendError::Throttled(_)
        ));
        // An unverified sender, or the sandbox: every message would be refused alike.
        let unverified = "Email address is not verified. The following identities failed the check in region AP-NORTHEAST-2: badges@example.ac.kr";
        assert!(matches!(
            refused_saying("MessageRejected", unverified),
            SendError::Paused(_)
        ));
        assert!(matches!(
            refused_saying("MessageRejected", "Illegal address"),
            SendError::Rejected(_)
        ));
        let quota = "Daily message quota exceeded.";
        for code in [
            "ThrottlingException",
            "TooManyRequestsException",
            "LimitExceededException",
        ] {
            assert!(
                matches!(refused_saying(code, quota), SendError::Paused(_)),
                "{code}"
            );
        }
    }

    #[test]
    fn sends_in_flight_follow_the_rate_within_bounds() {
        assert_eq!(at(1.0), 1);
        assert_eq!(at(10.0), 3);
        assert_eq!(at(50.0), 13, "template.yaml's default rate");
        assert_eq!(at(1000.0), 16);
        assert_eq!(at(0.0), 1, "an unusable rate is one a second");
    }
}
