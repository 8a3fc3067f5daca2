//! Lambda entry points: what each function's `main` hands to the Lambda runtime, as a plain
//! function of the raw event JSON ([`Function::invoke`]). The local stack and the integration
//! tests call exactly this with the JSON AWS sends, so the path they test is the deployed one.
//!
//! HTTP functions read API Gateway's payload 2.0 with lambda_http's own request mapping, and
//! answer with [`crate::http::lambda::response`]: lambda_http's response mapping decodes every
//! `text/*` body (dropping a UTF-8 BOM) and keeps only the first value of a repeated header.

use crate::{app::App, ingest::IngestOptions};
use serde_json::Value;
use std::time::Duration;

pub use crate::events::BoxError;
pub use lambda_runtime::Context;

/// The six functions of template.yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FunctionName {
    Api,
    Verify,
    Ingest,
    Notify,
    Analytics,
    Webhooks,
}

impl FunctionName {
    pub const ALL: [FunctionName; 6] = [
        Self::Api,
        Self::Verify,
        Self::Ingest,
        Self::Notify,
        Self::Analytics,
        Self::Webhooks,
    ];

    /// The binary's name (`functions/{name}`), also the last part of the deployed function name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Verify => "verify",
            Self::Ingest => "ingest",
            Self::Notify => "notify",
            Self::Analytics => "analytics",
            Self::Webhooks => "webhooks",
        }
    }

    /// The function's logical id in template.yaml.
    pub fn logical_id(self) -> &'static str {
        match self {
            Self::Api => "ApiFunction",
            Self::Verify => "VerifyFunction",
            Self::Ingest => "IngestFunction",
            Self::Notify => "NotifyFunction",
            Self::Analytics => "AnalyticsFunction",
            Self::Webhooks => "WebhooksFunction",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// One Lambda function as AWS runs it: its state (built once per process) and its handler.
#[derive(Clone)]
pub struct Function {
    name: FunctionName,
    app: App,
    router: Option<axum::Router>,
    ingest: IngestOptions,
}

impl Function {
    pub fn new(name: FunctionName, app: App) -> Self {
        let router = match name {
            FunctionName::Api | FunctionName::Verify | FunctionName::Analytics => {
                Some(http_router(name, &app))
            }
            FunctionName::Ingest | FunctionName::Notify | FunctionName::Webhooks => None,
        };
        Self {
            name,
            app,
            router,
            ingest: IngestOptions::default(),
        }
    }

    /// Tests only: an ingest function with other time budget, chunking or a simulated crash.
    pub fn with_ingest_options(mut self, options: IngestOptions) -> Self {
        self.ingest = options;
        self
    }

    pub fn name(&self) -> FunctionName {
        self.name
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// One invocation: the event as AWS delivers it, the response as the runtime posts it back.
    pub async fn invoke(&self, event: Value, context: Context) -> Result<Value, BoxError> {
        let router = || {
            self.router
                .as_ref()
                .ok_or("an HTTP function without a router")
        };
        match self.name {
            FunctionName::Api | FunctionName::Verify => http(router()?, event, context).await,
            FunctionName::Analytics => analytics(&self.app, router()?, event, context).await,
            FunctionName::Ingest => ingest(&self.app, &self.ingest, event, context).await,
            FunctionName::Notify => notify(&self.app, event, context).await,
            FunctionName::Webhooks => webhooks(&self.app, event).await,
        }
    }
}

// Each function's handler. (Their futures are boxed: they are deep, and the runtime nests them
// further.)

/// The api and verify functions: API Gateway events through the function's router.
async fn http(router: &axum::Router, event: Value, context: Context) -> Result<Value, BoxError> {
    Box::pin(crate::http::lambda::serve(router, event, context)).await
}

/// The analytics function: the weekly digest's schedule, SES events from EventBridge, and the
/// tracked links through its router.
async fn analytics(
    app: &App,
    router: &axum::Router,
    event: Value,
    context: Context,
) -> Result<Value, BoxError> {
    if crate::digest::is_digest_event(&event) {
        // One issuer's digest (two reports and its copies at the send rate) takes seconds: none
        // is started in the last 10 s of the function's 29.
        let until = stop_by(&context, Duration::from_secs(10));
        Box::pin(crate::digest::handle_event(app, &event, until)).await
    } else if !is_http_event(&event) {
        Box::pin(crate::email_events::handle_event(app.clone(), event)).await
    } else {
        http(router, event, context).await
    }
}

/// The ingest function: S3 events and its own continuations.
async fn ingest(
    app: &App,
    options: &IngestOptions,
    event: Value,
    context: Context,
) -> Result<Value, BoxError> {
    let options = ingest_options_for(options, &context);
    Box::pin(crate::ingest::handle_event_with(app, &event, &options)).await
}

/// The notify function's events: a batch of the table's stream (the counters rollup, the
/// webhook deliveries, then the day-1 emails, their batch item failures answered together, with
/// the tumbling window's `state`, which Lambda requires and nothing here uses), or a due hour
/// bucket.
async fn notify(app: &App, event: Value, context: Context) -> Result<Value, BoxError> {
    let until = stop_by(&context, Duration::from_secs(30));
    let mut failed = Vec::new();
    let stream = event.get("Records").and_then(Value::as_array);
    if let Some(records) = stream {
        failed = Box::pin(crate::rollup::handle_records(app, &event, records)).await;
        let facts = crate::webhooks::facts::of_records(records);
        let unqueued = Box::pin(crate::webhooks::enqueue(app, facts)).await;
        failed.extend(
            unqueued
                .into_iter()
                .map(|seq| serde_json::json!({ "itemIdentifier": seq })),
        );
    }
    let windowed = event.get("window").is_some();
    let mut answer = Box::pin(crate::notify::handle_event(app.clone(), event, until)).await?;
    if let Some(list) = answer
        .get_mut("batchItemFailures")
        .and_then(Value::as_array_mut)
    {
        list.extend(failed);
    }
    if windowed {
        if !answer.is_object() {
            answer = serde_json::json!({ "batchItemFailures": [] });
        }
        answer["state"] = serde_json::json!({});
    }
    Ok(answer)
}

/// The webhooks function: SQS batches of first attempts, and retry schedules.
async fn webhooks(app: &App, event: Value) -> Result<Value, BoxError> {
    Box::pin(crate::webhooks::send::handle_event(app, event)).await
}

/// The router of an HTTP function (none for the others).
fn http_router(name: FunctionName, app: &App) -> axum::Router {
    let router = match name {
        FunctionName::Verify => crate::http::verify::router(app.clone()),
        FunctionName::Analytics => crate::http::analytics::router(app.clone()),
        _ => crate::http::api::router(app.clone()),
    };
    crate::http::with_hsts(router)
}

/// An API Gateway request (HTTP API payload 2.0) rather than a Scheduler or EventBridge event.
pub fn is_http_event(event: &Value) -> bool {
    event.get("requestContext").is_some() && event.get("rawPath").is_some()
}

/// When to stop starting new work: `margin` before the invocation's deadline (none when the
/// context has no deadline, e.g. a library call in a test).
pub fn stop_by(context: &Context, margin: Duration) -> Option<chrono::DateTime<chrono::Utc>> {
    let deadline = i64::try_from(context.deadline).ok().filter(|d| *d > 0)?;
    let margin = chrono::Duration::from_std(margin).ok()?;
    chrono::DateTime::from_timestamp_millis(deadline).map(|d| d - margin)
}

/// Ingest works until 3 minutes before the invocation's deadline (the last checkpoint, the
/// report and the continuation fit in that), or its own budget if that is shorter.
fn ingest_options_for(options: &IngestOptions, context: &Context) -> IngestOptions {
    let mut options = options.clone();
    if let Some(stop) = stop_by(context, Duration::from_secs(180)) {
        let left = (stop - chrono::Utc::now()).to_std().unwrap_or_default();
        options.time_budget = options.time_budget.min(left);
    }
    options
}

/// Each binary's `main`: JSON logs, configuration and clients from the environment, then its own
/// handler under the Lambda runtime. Each names only its function's handler, so the linker leaves
/// the other functions' code (and the SDK operations only they call) out of its binary;
/// [`Function`], which dispatches on the name and so links all five, is for the local stack and
/// the tests.
pub mod binary {
    use super::{init, run, BoxError, IngestOptions};
    use crate::http::{self, with_hsts};

    pub async fn api() -> Result<(), BoxError> {
        let router = with_hsts(http::api::router(init().await?));
        run(|event, context| super::http(&router, event, context)).await
    }

    pub async fn verify() -> Result<(), BoxError> {
        let router = with_hsts(http::verify::router(init().await?));
        run(|event, context| super::http(&router, event, context)).await
    }

    pub async fn analytics() -> Result<(), BoxError> {
        let app = init().await?;
        let router = with_hsts(http::analytics::router(app.clone()));
        run(|event, context| super::analytics(&app, &router, event, context)).await
    }

    pub async fn ingest() -> Result<(), BoxError> {
        let (app, options) = (init().await?, IngestOptions::default());
        run(|event, context| super::ingest(&app, &options, event, context)).await
    }

    pub async fn notify() -> Result<(), BoxError> {
        let app = init().await?;
        run(|event, context| super::notify(&app, event, context)).await
    }

    pub async fn webhooks() -> Result<(), BoxError> {
        let app = init().await?;
        run(|event, _| super::webhooks(&app, event)).await
    }
}

async fn init() -> Result<App, BoxError> {
    crate::telemetry::init_lambda();
    Ok(App::from_env().await?)
}

/// Runs `handler` under the Lambda runtime.
async fn run<F, Fut>(handler: F) -> Result<(), BoxError>
where
    F: Fn(Value, Context) -> Fut,
    Fut: std::future::Future<Output = Result<Value, BoxError>>,
{
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| handler(event.payload, event.context),
    ))
    .await
}
