//! What SES would publish through the configuration set to EventBridge, for the messages the
//! functions sent: [`SesOutbox`] (an interceptor on their SESv2 clients) records each accepted
//! `SendEmail` with the `EmailTags` it was given and SES's message id; [`events`] turns one into
//! EventBridge events in AWS's shape (`detail-type` "Email Sent", "Email Delivered", …; `detail`
//! the SES event record with `mail.tags` from the request), for the analytics function.

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{
            context::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef},
            Intercept,
        },
        orchestrator::Metadata,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::ConfigBag;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

/// One message SES accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message_id: String,
    pub source: String,
    pub destination: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub configuration_set: Option<String>,
    pub subject: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct SesOutbox(Arc<Mutex<Vec<Sent>>>);

impl SesOutbox {
    /// Everything sent since the last call.
    pub fn take(&self) -> Vec<Sent> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

fn sent_from(request: &Value, message_id: &str) -> Sent {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    };
    let mut destination = strings(&request["Destination"]["ToAddresses"]);
    destination.extend(strings(&request["Destination"]["CcAddresses"]));
    destination.extend(strings(&request["Destination"]["BccAddresses"]));
    let raw = request["Content"]["Raw"]["Data"]
        .as_str()
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let subject = accolade::email::mime::parse(&raw)
        .header("Subject")
        .unwrap_or_default()
        .to_owned();
    Sent {
        message_id: message_id.to_owned(),
        source: request["FromEmailAddress"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        destination,
        tags: request["EmailTags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t["Name"].as_str()?.to_owned(),
                    t["Value"].as_str()?.to_owned(),
                ))
            })
            .collect(),
        configuration_set: request["ConfigurationSetName"].as_str().map(str::to_owned),
        subject,
        at: chrono::Utc::now(),
    }
}

#[derive(Debug, Clone)]
struct SendEmailRequest(Value);

impl aws_smithy_types::config_bag::Storable for SendEmailRequest {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl Intercept for SesOutbox {
    fn name(&self) -> &'static str {
        "SesOutbox"
    }

    /// The request's JSON, kept for after the answer (the request is gone by then).
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().map(Metadata::name) == Some("SendEmail") {
            let request: Value = context
                .request()
                .body()
                .bytes()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            cfg.interceptor_state().store_put(SendEmailRequest(request));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().map(Metadata::name) != Some("SendEmail") {
            return Ok(());
        }
        let Some(Ok(output)) = context.output_or_error() else {
            return Ok(());
        };
        let Some(out) =
            output.downcast_ref::<aws_sdk_sesv2::operation::send_email::SendEmailOutput>()
        else {
            return Ok(());
        };
        let Some(SendEmailRequest(request)) = cfg.load::<SendEmailRequest>() else {
            return Ok(());
        };
        let sent = sent_from(request, out.message_id().unwrap_or_default());
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(sent);
        Ok(())
    }
}

/// The EventBridge events SES publishes for one accepted message: "Email Sent", then "Email
/// Delivered" (the local SES delivers everything). None for a message sent without a
/// configuration set: SES publishes events only through one.
pub fn events(sent: &Sent, account: &str, region: &str) -> Vec<Value> {
    if sent.configuration_set.is_none() {
        return vec![];
    }
    let mut tags: Map<String, Value> = sent
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    let domain = sent
        .source
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .trim_end_matches('>');
    tags.insert("ses:from-domain".into(), json!([domain]));
    if let Some(set) = &sent.configuration_set {
        tags.insert("ses:configuration-set".into(), json!([set]));
    }
    let timestamp = sent.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mail = json!({
        "timestamp": timestamp,
        "source": sent.source,
        "sourceArn": format!("arn:aws:ses:{region}:{account}:identity/{domain}"),
        "sendingAccountId": account,
        "messageId": sent.message_id,
        "destination": sent.destination,
        "headersTruncated": false,
        "commonHeaders": { "from": [sent.source], "to": sent.destination, "messageId": sent.message_id, "subject": sent.subject },
        "tags": tags,
    });
    let envelope = |detail_type: &str, detail: Value| {
        json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": detail_type,
            "source": "aws.ses",
            "account": account,
            "time": timestamp,
            "region": region,
            "resources": sent.configuration_set.iter().map(|s| format!("arn:aws:ses:{region}:{account}:configuration-set/{s}")).collect::<Vec<_>>(),
            "detail": detail,
        })
    };
    vec![
        envelope(
            "Email Sent",
            json!({ "eventType": "Send", "mail": mail, "send": {} }),
        ),
        envelope(
            "Email Delivered",
            json!({
                "eventType": "Delivery",
                "mail": mail,
                "delivery": {
                    "timestamp": timestamp,
                    "processingTimeMillis": 0,
                    "recipients": sent.destination,
                    "smtpResponse": "250 2.6.0 Message received",
                    "reportingMTA": "local"
                }
            }),
        ),
    ]
}
