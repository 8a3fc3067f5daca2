//! Local stand-in for API Gateway: sends each request to the router of the function that
//! template.yaml routes it to. The routers are the very ones the Lambdas run.

use accolade::{app::App, http};
use axum::response::IntoResponse;
use axum::{extract::Request, response::Response, Router};
use tower::ServiceExt;

/// Which function serves a path (mirrors the HttpApi events in template.yaml).
pub fn function_for(path: &str) -> &'static str {
    if path == "/v1/analytics" || path.starts_with("/v1/analytics/") {
        "analytics"
    } else if path.starts_with("/v1/") || path == "/console" || path.starts_with("/console/") {
        "api"
    } else {
        "verify"
    }
}

pub fn router(app: App) -> Router {
    let endpoint = app.config.aws_endpoint_url.clone();
    let api = http::api::router(app.clone());
    let verify = http::verify::router(app.clone());
    let analytics = http::analytics::router(app);
    let outbox = axum::routing::get(move || {
        let endpoint = endpoint.clone();
        async move {
            match endpoint {
                Some(e) => match crate::outbox::fetch(&e).await {
                    Ok(mails) => {
                        axum::response::Html(crate::outbox::render(&mails)).into_response()
                    }
                    Err(err) => (axum::http::StatusCode::BAD_GATEWAY, err).into_response(),
                },
                None => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    Router::new()
        .route("/_local/outbox", outbox)
        .fallback(move |req: Request| {
            let target = match function_for(req.uri().path()) {
                "analytics" => analytics.clone(),
                "api" => api.clone(),
                _ => verify.clone(),
            };
            async move {
                let resp: Response = match target.oneshot(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                resp
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_like_template_yaml() {
        assert_eq!(function_for("/v1/templates"), "api");
        assert_eq!(function_for("/v1/analytics"), "analytics");
        assert_eq!(function_for("/v1/analytics/export"), "analytics");
        assert_eq!(function_for("/console/login"), "api");
        assert_eq!(function_for("/b/abc"), "verify");
        assert_eq!(function_for("/v1"), "verify");
    }
}
