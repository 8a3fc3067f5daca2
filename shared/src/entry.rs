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

/// Serves a function that receives both API Gateway requests (routed to `router`) and other
/// events (EventBridge, Scheduler) handled by `events`: the analytics Lambda.
pub async fn serve_http_and_events<F, Fut>(
    app: App,
    router: axum::Router,
    events: F,
) -> Result<(), BoxError>
where
    F: Fn(App, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, BoxError>> + Send,
{
    use lambda_http::Service;
    let (events, app, router) = (&events, &app, &router);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            if event.payload.get("requestContext").is_some() {
                let request: lambda_http::request::LambdaRequest =
                    serde_json::from_value(event.payload)?;
                let mut adapter = lambda_http::Adapter::from(router.clone());
                let response = adapter
                    .call(lambda_runtime::LambdaEvent::new(request, event.context))
                    .await?;
                Ok::<Value, BoxError>(serde_json::to_value(response)?)
            } else {
                events(app.clone(), event.payload).await
            }
        },
    ))
    .await
}
