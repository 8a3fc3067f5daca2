//! Lambda entry points: translate an invocation into a call on the library and back. Each
//! function's `main` is: telemetry, `App::from_env`, one of these.

use crate::app::App;
use serde_json::Value;
use std::future::Future;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Serves an HTTP router behind API Gateway (HTTP API, payload 2.0).
pub async fn serve_http(router: axum::Router) -> Result<(), BoxError> {
    lambda_http::run(router).await
}

/// Serves an event handler (S3, DynamoDB stream, Scheduler, EventBridge): the event as JSON.
pub async fn serve_events<F, Fut>(app: App, handler: F) -> Result<(), BoxError>
where
    F: Fn(App, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, BoxError>> + Send,
{
    let handler = &handler;
    let app = &app;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            handler(app.clone(), event.payload).await
        },
    ))
    .await
}
