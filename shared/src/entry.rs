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

/// The five functions of template.yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FunctionName {
    Api,
    Verify,
    Ingest,
    Notify,
    Analytics,
}

impl FunctionName {
    pub const ALL: [FunctionName; 5] = [
        Self::Api,
        Self::Verify,
        Self::Ingest,
        Self::Notify,
        Self::Analytics,
    ];

    /// The binary's name (`functions/{name}`), also the last part of the deployed function name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Verify => "verify",
            Self::Ingest => "ingest",
            Self::Notify => "notify",
            Self::Analytics => "analytics",
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
            FunctionName::Api => Some(crate::http::api::router(app.clone())),
            FunctionName::Verify => Some(crate::http::verify::router(app.clone())),
            FunctionName::Analytics => Some(crate::http::analytics::router(app.clone())),
            FunctionName::Ingest | FunctionName::Notify => None,
        }
        .map(crate::http::with_hsts);
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
    /// (Each handler's future is boxed: they are deep, and the runtime nests them further.)
    pub async fn invoke(&self, event: Value, context: Context) -> Result<Value, BoxError> {
        match self.name {
            FunctionName::Analytics if crate::digest::is_digest_event(&event) => {
                Box::pin(crate::digest::handle_event(&self.app, &event)).await
            }
            FunctionName::Analytics if !is_http_event(&event) => {
                Box::pin(crate::email_events::handle_event(self.app.clone(), event)).await
            }
            FunctionName::Ingest => {
                let options = ingest_options_for(&self.ingest, &context);
                Box::pin(crate::ingest::handle_event_with(
                    &self.app, &event, &options,
                ))
                .await
            }
            FunctionName::Notify => {
                let until = stop_by(&context, Duration::from_secs(30));
                Box::pin(notify(&self.app, event, until)).await
            }
            FunctionName::Api | FunctionName::Verify | FunctionName::Analytics => {
                let router = self
                    .router
                    .as_ref()
                    .ok_or("an HTTP function without a router")?;
                Box::pin(crate::http::lambda::serve(router, event, context)).await
            }
        }
    }
}

/// The notify function's events: a batch of the table's stream (the counters rollup, then the
/// day-1 emails, their batch item failures answered together), or a due hour bucket.
async fn notify(
    app: &App,
    event: Value,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Value, BoxError> {
    let failed = match event.get("Records").and_then(Value::as_array) {
        Some(records) => crate::rollup::handle_records(app, records).await,
        None => Vec::new(),
    };
    let mut answer = Box::pin(crate::notify::handle_event(app.clone(), event, until)).await?;
    if let Some(list) = answer
        .get_mut("batchItemFailures")
        .and_then(Value::as_array_mut)
    {
        list.extend(failed);
    }
    Ok(answer)
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

/// Runs a function under the Lambda runtime (its `main`).
pub async fn run(function: Function) -> Result<(), BoxError> {
    let function = &function;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            function.invoke(event.payload, event.context).await
        },
    ))
    .await
}

/// What every `main` does: JSON logs, configuration and clients from the environment, then run.
pub async fn main(name: FunctionName) -> Result<(), BoxError> {
    crate::telemetry::init_lambda();
    let app = App::from_env().await?;
    run(Function::new(name, app)).await
}
