//! Local stand-in for API Gateway (HTTP API): each HTTP request becomes the payload 2.0 event
//! API Gateway would send to the function that template.yaml routes it to, and the function's
//! JSON answer becomes the HTTP response as API Gateway builds it (base64 bodies decoded,
//! `cookies` → one `Set-Cookie` each). The functions are reached only through their Lambda entry
//! points ([`LocalLambda::invoke`]), never through their routers directly.

use crate::lambda::LocalLambda;
use accolade::entry::FunctionName;
use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use base64::Engine;
use serde_json::{json, Map, Value};

/// API Gateway's limit: 10 MB request payload; Lambda's: 6 MB for a synchronous invocation's
/// event (the request as payload 2.0 JSON, base64 bodies included) and for its response.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// A route of an HttpApi event in template.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: FunctionName,
}

/// The matched route: function, `routeKey`, and `{proxy+}`'s value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub function: FunctionName,
    pub route_key: String,
    pub proxy: Option<String>,
}

/// Every HttpApi route of the template's functions.
pub fn routes(lambda: &LocalLambda) -> Vec<Route> {
    FunctionName::ALL
        .into_iter()
        .flat_map(|f| {
            lambda
                .spec(f)
                .routes
                .iter()
                .map(move |(method, path)| Route {
                    method: method.clone(),
                    path: path.clone(),
                    function: f,
                })
        })
        .collect()
}

/// API Gateway's choice: an exact path before a greedy `{proxy+}` (the longest prefix first),
/// a route with the method before `ANY`, and `$default` when nothing else matches.
pub fn route(routes: &[Route], method: &str, path: &str) -> Option<Matched> {
    let mut best: Option<(usize, bool, &Route, Option<String>)> = None;
    for r in routes.iter().filter(|r| r.path != "$default") {
        if r.method != "ANY" && !r.method.eq_ignore_ascii_case(method) {
            continue;
        }
        let (rank, proxy) = match r.path.strip_suffix("/{proxy+}") {
            Some(prefix) => match path.strip_prefix(prefix).and_then(|p| p.strip_prefix('/')) {
                Some(rest) if !rest.is_empty() => (prefix.len(), Some(rest.to_owned())),
                _ => continue,
            },
            None if r.path == path => (usize::MAX, None),
            None => continue,
        };
        let specific = r.method != "ANY";
        if best
            .as_ref()
            .is_none_or(|(b, s, _, _)| (rank, specific) > (*b, *s))
        {
            best = Some((rank, specific, r, proxy));
        }
    }
    if let Some((_, _, r, proxy)) = best {
        return Some(Matched {
            function: r.function,
            route_key: format!("{} {}", r.method, r.path),
            proxy,
        });
    }
    routes
        .iter()
        .find(|r| r.path == "$default")
        .map(|r| Matched {
            function: r.function,
            route_key: "$default".into(),
            proxy: None,
        })
}

fn form_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The payload 2.0 event for one request (as API Gateway sends it to the integration).
pub fn request_event(
    parts: &Parts,
    body: &[u8],
    matched: &Matched,
    default_host: &str,
    source_ip: &str,
) -> Value {
    let (mut headers, cookie_headers) =
        accolade::http::lambda::joined_headers(&parts.headers, &header::COOKIE);
    let cookies: Vec<Value> = cookie_headers
        .iter()
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| json!(c))
        .collect();
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or(default_host)
        .to_owned();
    headers.insert("host".into(), json!(host));
    headers.insert("x-forwarded-for".into(), json!(source_ip));
    headers.insert("x-forwarded-proto".into(), json!("https"));
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let query = query_parameters(&raw_query);
    let now = chrono::Utc::now();
    let user_agent = headers.get("user-agent").cloned().unwrap_or(json!(""));
    let mut event = json!({
        "version": "2.0",
        "routeKey": matched.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": crate::iam::ACCOUNT,
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": { "method": parts.method.as_str(), "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": user_agent },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": matched.route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if let Some(p) = &matched.proxy {
        event["pathParameters"] = json!({ "proxy": percent_decode(p) });
    }
    if !body.is_empty() {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let (text, base64) = body_field(body, content_type);
        event["body"] = json!(text);
        event["isBase64Encoded"] = json!(base64);
    }
    event
}

/// `queryStringParameters`: decoded, a repeated key's values joined with commas.
fn query_parameters(raw_query: &str) -> Map<String, Value> {
    let mut query: Map<String, Value> = Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (form_decode(k), form_decode(v));
        match query.get_mut(&k) {
            Some(Value::String(existing)) => *existing = format!("{existing},{v}"),
            _ => {
                query.insert(k, json!(v));
            }
        }
    }
    query
}

/// The request body as the event carries it: text for a text type, else base64 (`true`).
fn body_field(body: &[u8], content_type: Option<&str>) -> (String, bool) {
    match std::str::from_utf8(body) {
        Ok(text) if content_type.is_some_and(accolade::http::lambda::is_text_type) => {
            (text.to_owned(), false)
        }
        _ => (base64::engine::general_purpose::STANDARD.encode(body), true),
    }
}

fn gateway_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

/// The function's answer as API Gateway turns it into HTTP.
pub fn http_response(answer: &Value) -> Response {
    if answer.to_string().len() > MAX_RESPONSE_BYTES {
        tracing::error!("function response over Lambda's 6 MB payload limit");
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    let Some(status) = answer.get("statusCode").and_then(Value::as_u64) else {
        // Valid JSON without a status code: API Gateway sends it as a 200 JSON body.
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            answer.to_string(),
        )
            .into_response();
    };
    let body = answer
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bytes = if answer.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        match base64::engine::general_purpose::STANDARD.decode(body) {
            Ok(b) => b,
            Err(_) => {
                return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    } else {
        body.as_bytes().to_vec()
    };
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() =
        StatusCode::from_u16(status as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in answer
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let (Ok(name), Some(Ok(value))) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            v.as_str().map(HeaderValue::from_str),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    for c in answer
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(Ok(value)) = c.as_str().map(HeaderValue::from_str) {
            resp.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    resp
}

#[derive(Clone)]
struct Gateway {
    lambda: LocalLambda,
    routes: std::sync::Arc<Vec<Route>>,
    host: String,
}

async fn serve(State(g): State<Gateway>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = to_bytes(body, MAX_REQUEST_BYTES).await else {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let Some(matched) = route(&g.routes, parts.method.as_str(), parts.uri.path()) else {
        return gateway_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let event = request_event(&parts, &body, &matched, &g.host, "127.0.0.1");
    if event.to_string().len() > MAX_EVENT_BYTES {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    match g.lambda.invoke(matched.function, event).await {
        Ok(answer) => http_response(&answer),
        Err(e) if e["errorType"] == "Sandbox.Timedout" => {
            gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        Err(e) => {
            tracing::error!(function = matched.function.as_str(), error = %e, "function error");
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// The local API: `local` routes (outbox, failures) first, everything else through API Gateway's
/// routing to the functions.
pub fn router(lambda: LocalLambda, local: Router) -> Router {
    let host = lambda
        .stack
        .public_base_url
        .split("://")
        .nth(1)
        .unwrap_or("localhost")
        .trim_end_matches('/')
        .to_owned();
    let state = Gateway {
        routes: std::sync::Arc::new(routes(&lambda)),
        lambda,
        host,
    };
    local.fallback_service(Router::new().fallback(serve).with_state(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_routes() -> Vec<Route> {
        let spec = crate::sam::load(&crate::repo_root().join("template.yaml"), "local").unwrap();
        FunctionName::ALL
            .into_iter()
            .flat_map(|f| {
                spec.function(f.as_str())
                    .unwrap()
                    .routes
                    .iter()
                    .map(move |(m, p)| Route {
                        method: m.clone(),
                        path: p.clone(),
                        function: f,
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn routes_like_api_gateway() {
        let r = template_routes();
        let f = |m: &str, p: &str| route(&r, m, p).unwrap();
        assert_eq!(f("GET", "/v1/templates").function, FunctionName::Api);
        assert_eq!(
            f("GET", "/v1/templates").proxy.as_deref(),
            Some("templates")
        );
        assert_eq!(f("GET", "/v1/analytics").function, FunctionName::Analytics);
        assert_eq!(
            f("GET", "/v1/analytics/export").route_key,
            "GET /v1/analytics/{proxy+}"
        );
        // Only GET is routed to analytics; anything else under /v1 is the api's.
        assert_eq!(f("POST", "/v1/analytics").function, FunctionName::Api);
        assert_eq!(f("POST", "/console/login").function, FunctionName::Api);
        assert_eq!(f("GET", "/console").function, FunctionName::Api);
        assert_eq!(f("GET", "/b/abc").function, FunctionName::Verify);
        assert_eq!(f("GET", "/b/abc").route_key, "$default");
        assert_eq!(f("GET", "/v1").function, FunctionName::Verify);
    }

    #[test]
    fn events_have_api_gateway_shape() {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/templates/x/image?a=1&a=2&b=%ED%95%9C+x")
            .header("Cookie", "s=1; lang=ko")
            .header("X-Thing", "a")
            .header("x-thing", "b")
            .header("content-type", "image/png")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let m = Matched {
            function: FunctionName::Api,
            route_key: "ANY /v1/{proxy+}".into(),
            proxy: Some("templates/x/image".into()),
        };
        let e = request_event(&parts, b"\x89PNG", &m, "badges.example", "10.0.0.1");
        assert_eq!(e["rawPath"], "/v1/templates/x/image");
        assert_eq!(e["rawQueryString"], "a=1&a=2&b=%ED%95%9C+x");
        assert_eq!(e["queryStringParameters"]["a"], "1,2");
        assert_eq!(e["queryStringParameters"]["b"], "한 x");
        assert_eq!(e["cookies"], json!(["s=1", "lang=ko"]));
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["headers"]["x-thing"], "a,b");
        assert_eq!(e["headers"]["host"], "badges.example");
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(e["body"], "iVBORw==");
        assert_eq!(e["pathParameters"]["proxy"], "templates/x/image");
        assert_eq!(e["requestContext"]["stage"], "$default");
    }

    #[test]
    fn responses_become_http() {
        let r = http_response(&json!({
            "statusCode": 201, "headers": {"content-type": "text/csv"},
            "cookies": ["a=1", "b=2"], "body": "77u/YQ==", "isBase64Encoded": true
        }));
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers().get_all(header::SET_COOKIE).iter().count(), 2);
        let r = http_response(&json!({"message": "hi"}));
        assert_eq!(r.status(), StatusCode::OK);
    }
}
