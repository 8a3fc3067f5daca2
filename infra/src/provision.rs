//! Creating the template's resources in the emulator, under names the caller picks (so every test
//! can have its own table and bucket).

use crate::sam::StackSpec;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

#[derive(Debug, Clone)]
pub struct Names {
    pub table: String,
    pub bucket: String,
    pub schedule_group: String,
    /// The SES configuration set the functions send through (events are published only for
    /// mail sent through one).
    pub configuration_set: String,
    /// The KMS key that wraps issuers' signing keys (its ARN; moto chooses the id, so this is
    /// empty until [`create_all`] has made it).
    pub credential_key: String,
    /// template.yaml's `WebhookQueue`: its name, and its URL once [`create_all`] has made it.
    pub webhook_queue: String,
    pub webhook_queue_url: String,
    /// template.yaml's `FailureQueue` (every on-failure destination and dead-letter queue): its
    /// name, and its URL once [`create_all`] has made it.
    pub failure_queue: String,
    pub failure_queue_url: String,
}

impl Names {
    /// A stack's names, all derived from one `id` (tests: a uuid; `make dev`: its stage).
    pub fn derived(id: &str) -> Self {
        Self {
            table: format!("t-{id}"),
            bucket: format!("b-{id}"),
            schedule_group: format!("g-{id}"),
            configuration_set: format!("c-{id}"),
            credential_key: String::new(),
            webhook_queue: format!("q-{id}"),
            webhook_queue_url: String::new(),
            failure_queue: format!("f-{id}"),
            failure_queue_url: String::new(),
        }
    }

    /// A stage's names (`make dev`: `local`; the benchmarks: `bench`): template.yaml's bucket and
    /// schedule group, the rest `accolade-{stage}…`.
    pub fn of_stage(stage: &str, spec: &StackSpec) -> Self {
        Self {
            table: format!("accolade-{stage}"),
            bucket: spec.bucket_name.clone(),
            schedule_group: spec.schedule_group.clone(),
            configuration_set: format!("accolade-{stage}"),
            credential_key: String::new(),
            webhook_queue: format!("accolade-{stage}-webhooks"),
            webhook_queue_url: String::new(),
            failure_queue: format!("accolade-{stage}-failures"),
            failure_queue_url: String::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not create {what} in the emulator: {detail}")]
pub struct ProvisionError {
    pub what: String,
    pub detail: String,
}

fn err(what: &str, e: impl std::fmt::Display) -> ProvisionError {
    ProvisionError {
        what: what.into(),
        detail: e.to_string(),
    }
}

fn keys(k: &[crate::sam::KeyElement]) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    k.iter()
        .map(|e| {
            KeySchemaElement::builder()
                .attribute_name(&e.name)
                .key_type(KeyType::from(e.key_type.as_str()))
                .build()
                .map_err(|x| err("key schema", x))
        })
        .collect()
}

pub async fn create_table(
    sdk: &SdkConfig,
    spec: &StackSpec,
    name: &str,
) -> Result<(), ProvisionError> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let t = &spec.table;
    let mut req = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&t.keys)?));
    for (a, ty) in &t.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::from(ty.as_str()))
                .build()
                .map_err(|e| err("attribute definition", e))?,
        );
    }
    for i in &t.indexes {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&i.name)
                .set_key_schema(Some(keys(&i.keys)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(i.projection.as_str()))
                        .build(),
                )
                .build()
                .map_err(|e| err("index", e))?,
        );
    }
    if let Some(view) = &t.stream_view {
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| err("stream", e))?,
        );
    }
    req.send()
        .await
        .map_err(|e| err("table", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    if let Some(attr) = &t.ttl_attribute {
        ddb.update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(true)
                    .build()
                    .map_err(|e| err("ttl", e))?,
            )
            .send()
            .await
            .map_err(|e| err("ttl", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    }
    Ok(())
}

/// The bucket's CORS rules from the template; an origin naming `${PublicDomainName}` is
/// `public_origin` (locally `http://127.0.0.1:PORT`, where the template says `https://…`).
async fn put_cors(
    sdk: &SdkConfig,
    spec: &StackSpec,
    bucket: &str,
    public_origin: &str,
) -> Result<(), ProvisionError> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    if spec.bucket_cors.is_empty() {
        return Ok(());
    }
    let mut config = CorsConfiguration::builder();
    for r in &spec.bucket_cors {
        let origins = r.origins.iter().map(|o| {
            if o.contains("${PublicDomainName}") {
                public_origin.to_owned()
            } else {
                o.clone()
            }
        });
        config = config.cors_rules(
            CorsRule::builder()
                .set_allowed_methods(Some(r.methods.clone()))
                .set_allowed_headers(Some(r.headers.clone()))
                .set_allowed_origins(Some(origins.collect()))
                .set_max_age_seconds(r.max_age.map(|m| m as i32))
                .build()
                .map_err(|e| err("bucket CORS", e))?,
        );
    }
    accolade::aws::s3(sdk)
        .put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(config.build().map_err(|e| err("bucket CORS", e))?)
        .send()
        .await
        .map_err(|e| err("bucket CORS", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// template.yaml's `CredentialKey`: its ARN (moto chooses the id).
async fn create_credential_key(sdk: &SdkConfig) -> Result<String, ProvisionError> {
    aws_sdk_kms::Client::new(sdk)
        .create_key()
        .description("Accolade (local) - wraps issuers' signing keys")
        .send()
        .await
        .map_err(|e| err("KMS key", aws_sdk_kms::error::DisplayErrorContext(e)))?
        .key_metadata
        .and_then(|m| m.arn)
        .ok_or_else(|| err("KMS key", "no ARN in the answer"))
}

/// template.yaml's `WebhookQueue` (its visibility timeout; the runner applies its redrive
/// policy): its URL.
async fn create_webhook_queue(
    sdk: &SdkConfig,
    spec: &StackSpec,
    name: &str,
) -> Result<String, ProvisionError> {
    let visibility = spec
        .functions
        .iter()
        .filter_map(|f| f.queue.as_ref())
        .find(|q| q.queue == "WebhookQueue")
        .map_or(30, |q| q.visibility_timeout_secs);
    create_queue(sdk, name, visibility).await
}

/// An SQS queue with this visibility timeout: its URL.
async fn create_queue(
    sdk: &SdkConfig,
    name: &str,
    visibility_secs: i32,
) -> Result<String, ProvisionError> {
    aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            visibility_secs.to_string(),
        )
        .send()
        .await
        .map_err(|e| err(name, aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .queue_url
        .ok_or_else(|| err(name, "no URL in the answer"))
}

/// Table, bucket (with its CORS rules for `public_origin`) and schedule group, plus the sender
/// identity SES needs before it sends.
pub async fn create_all(
    sdk: &SdkConfig,
    spec: &StackSpec,
    names: &mut Names,
    sender: Option<&str>,
    public_origin: &str,
) -> Result<(), ProvisionError> {
    create_table(sdk, spec, &names.table).await?;
    names.credential_key = create_credential_key(sdk).await?;
    names.webhook_queue_url = create_webhook_queue(sdk, spec, &names.webhook_queue).await?;
    names.failure_queue_url = create_queue(sdk, &names.failure_queue, 30).await?;
    accolade::aws::s3(sdk)
        .create_bucket()
        .bucket(&names.bucket)
        .send()
        .await
        .map_err(|e| err("bucket", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    put_cors(sdk, spec, &names.bucket, public_origin).await?;
    let sched = aws_sdk_scheduler::Client::new(sdk);
    match sched
        .create_schedule_group()
        .name(&names.schedule_group)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if aws_sdk_scheduler::error::ProvideErrorMetadata::code(&e)
                == Some("ConflictException") => {}
        Err(e) => {
            return Err(err(
                "schedule group",
                aws_sdk_scheduler::error::DisplayErrorContext(e),
            ))
        }
    }
    if let Some(sender) = sender {
        let domain = sender.rsplit('@').next().unwrap_or(sender);
        let ses = aws_sdk_sesv2::Client::new(sdk);
        ses.create_email_identity()
            .email_identity(domain)
            .send()
            .await
            .map_err(|e| err("SES identity", aws_sdk_sesv2::error::DisplayErrorContext(e)))?;
        ses.create_configuration_set()
            .configuration_set_name(&names.configuration_set)
            .send()
            .await
            .map_err(|e| {
                err(
                    "SES configuration set",
                    aws_sdk_sesv2::error::DisplayErrorContext(e),
                )
            })?;
    }
    Ok(())
}
