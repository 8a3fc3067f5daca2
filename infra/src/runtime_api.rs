//! A minimal Lambda Runtime API on 127.0.0.1 (`/2018-06-01/runtime/invocation/next`,
//! `…/{id}/response`, `…/{id}/error`, `…/init/error`), enough to start a built function binary
//! as Lambda does and hand it one event: proof that its `main` wires up and starts with only the
//! environment template.yaml (and Lambda) give it.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::IntoResponse,
    routing::{get, post},
    Router,
};
use serde_json::Value;
use std::{
    path::Path as FsPath,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, Mutex};

/// What the function posted back.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(Value),
    InitError(Value),
}

/// When the function reached the Runtime API, measured from its start.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// The first `GET …/invocation/next`: the end of init.
    pub init: Option<Duration>,
    /// Each event handed over.
    pub handed: Vec<Duration>,
    /// Each response or error posted.
    pub answered: Vec<Duration>,
}

#[derive(Clone)]
struct Api {
    events: Arc<Mutex<mpsc::Receiver<Value>>>,
    outcomes: mpsc::Sender<Outcome>,
    function_arn: String,
    started: Arc<std::sync::Mutex<Option<Instant>>>,
    timings: Arc<std::sync::Mutex<Timings>>,
}

impl Api {
    fn mark(&self, record: impl FnOnce(&mut Timings, Duration)) {
        let started = *self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t0) = started {
            let mut t = self
                .timings
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            record(&mut t, t0.elapsed());
        }
    }
}

async fn next(State(api): State<Api>) -> impl IntoResponse {
    api.mark(|t, d| {
        t.init.get_or_insert(d);
    });
    let event = api.events.lock().await.recv().await.unwrap_or(Value::Null);
    api.mark(|t, d| t.handed.push(d));
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    (
        [
            (
                "lambda-runtime-aws-request-id",
                uuid::Uuid::new_v4().to_string(),
            ),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                api.function_arn.clone(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
            ),
            ("content-type", "application/json".to_owned()),
        ],
        event.to_string(),
    )
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

async fn respond(State(api): State<Api>, Path(_id): Path<String>, body: String) -> &'static str {
    api.mark(|t, d| t.answered.push(d));
    let _ = api.outcomes.send(Outcome::Response(json_of(&body))).await;
    "{\"status\":\"OK\"}"
}

async fn error(
    State(api): State<Api>,
    Path(_id): Path<String>,
    _h: HeaderMap,
    body: String,
) -> &'static str {
    api.mark(|t, d| t.answered.push(d));
    let _ = api.outcomes.send(Outcome::Error(json_of(&body))).await;
    "{\"status\":\"OK\"}"
}

async fn init_error(State(api): State<Api>, body: String) -> &'static str {
    let _ = api.outcomes.send(Outcome::InitError(json_of(&body))).await;
    "{\"status\":\"OK\"}"
}

/// Starts `binary` with exactly `env` (plus Lambda's own variables for the runtime API) against a
/// local Runtime API, gives it `event`, and answers what it posted back. The process is killed
/// afterwards; its standard error goes to `log`.
pub async fn invoke_binary(
    binary: &FsPath,
    function_name: &str,
    env: &[(String, String)],
    event: Value,
    log: &FsPath,
) -> Result<Outcome, String> {
    let (mut outcomes, _) = run_binary(binary, function_name, env, vec![event], log).await?;
    outcomes.pop().ok_or_else(|| "no answer".to_owned())
}

/// [`invoke_binary`] for several events in turn (the first one cold, the others warm), with
/// when each step happened, measured from the process's start.
pub async fn run_binary(
    binary: &FsPath,
    function_name: &str,
    env: &[(String, String)],
    events: Vec<Value>,
    log: &FsPath,
) -> Result<(Vec<Outcome>, Timings), String> {
    let count = events.len();
    let (event_tx, event_rx) = mpsc::channel(count.max(1));
    let (outcome_tx, mut outcome_rx) = mpsc::channel(count + 4);
    let api = Api {
        events: Arc::new(Mutex::new(event_rx)),
        outcomes: outcome_tx,
        function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
        started: Arc::default(),
        timings: Arc::default(),
    };
    let (addr, server) = serve(api.clone()).await?;
    let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    *api.started
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    for event in events {
        event_tx.send(event).await.map_err(|e| e.to_string())?;
    }
    let mut outcomes = Vec::new();
    let result = loop {
        if outcomes.len() == count {
            break Ok(());
        }
        tokio::select! {
            o = outcome_rx.recv() => match o {
                Some(o @ Outcome::InitError(_)) => { outcomes.push(o); break Ok(()); }
                Some(o) => outcomes.push(o),
                None => break Err("the runtime API closed".to_owned()),
            },
            status = child.wait() => break Err(format!("{} exited before answering: {status:?}", binary.display())),
            () = tokio::time::sleep(Duration::from_secs(60)) => break Err("no answer within 60 s".to_owned()),
        }
    };
    let _ = child.kill().await;
    server.abort();
    result?;
    let timings = api
        .timings
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Ok((outcomes, timings))
}

async fn serve(
    api: Api,
) -> Result<
    (
        std::net::SocketAddr,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ),
    String,
> {
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((addr, server))
}
