//! The moto server: started as a child process on 127.0.0.1 (IAM enforced, its log kept in a
//! file), stopped when dropped; and the launcher's own endpoints (`infra/scripts/moto_server.py`).

use std::{
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// The administrator the launcher creates (`--iam`): provisioning, the runner (acting as the AWS
/// services), and tests that inspect state. Functions never use it.
pub const ADMIN_KEY_ID: &str = "AKIAACCOLADELOCALADM";
pub const ADMIN_SECRET: &str = "accolade-local-administrator-secret-key0";

/// The SDK configuration of the administrator.
pub fn admin_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    accolade::aws::local_sdk_config(
        endpoint,
        accolade::aws::credentials(ADMIN_KEY_ID, ADMIN_SECRET),
    )
}

/// One plain HTTP/1.0 request to the emulator (its own endpoints, not AWS APIs): the body of a
/// 2xx answer.
pub async fn request(
    endpoint: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Result<String, String> {
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("cannot reach the emulator at {endpoint}: {e}"))?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    stream
        .read_to_end(&mut buf)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if !head
        .split_whitespace()
        .nth(1)
        .is_some_and(|s| s.starts_with('2'))
    {
        return Err(format!(
            "{method} {path}: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    Ok(body.to_owned())
}

/// Creates (or replaces) an IAM user with this inline policy; answers its credentials.
pub async fn create_principal(
    endpoint: &str,
    name: &str,
    policy: &serde_json::Value,
) -> Result<aws_credential_types::Credentials, String> {
    let body = serde_json::json!({ "name": name, "policy": policy }).to_string();
    let out = request(endpoint, "POST", "/_accolade/principal", &body).await?;
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    Ok(accolade::aws::credentials(
        v["access_key_id"].as_str().unwrap_or_default(),
        v["secret_access_key"].as_str().unwrap_or_default(),
    ))
}

/// The request units the emulator's DynamoDB would have billed since the last reset, by
/// operation (`infra/scripts/capacity.py`), of one table's requests or (None) all; `reset` starts
/// that count again.
pub async fn capacity(
    endpoint: &str,
    table: Option<&str>,
    reset: bool,
) -> Result<serde_json::Value, String> {
    let method = if reset { "POST" } else { "GET" };
    let query = table.map(|t| format!("?table={t}")).unwrap_or_default();
    let out = request(endpoint, method, &format!("/_accolade/capacity{query}"), "").await?;
    serde_json::from_str(&out).map_err(|e| e.to_string())
}

/// From now on, an eventually consistent GetItem of `table` misses the items written after this
/// call, as a DynamoDB replica that has not caught up may answer (`moto_server.py`'s
/// `_lagged_read`); strongly consistent reads see them. `false` ends it.
pub async fn lagging_reads(endpoint: &str, table: &str, on: bool) -> Result<(), String> {
    let method = if on { "POST" } else { "DELETE" };
    request(
        endpoint,
        method,
        &format!("/_accolade/lag?table={table}"),
        "",
    )
    .await
    .map(|_| ())
}

pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error("cannot start moto_server ({path}): {source}. Run `make dev` or `infra/scripts/venv.sh` to install it into .venv")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("moto_server did not answer on port {0} within 30 s")]
    NotReady(u16),
    #[error("cannot write the emulator's log: {0}")]
    Log(std::io::Error),
    #[error("no free port: {0}")]
    Port(std::io::Error),
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> Result<u16, std::io::Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The venv's Python and our launcher (moto with a fix for its quadratic transactions; see
/// `infra/scripts/moto_server.py`).
fn command() -> (PathBuf, PathBuf) {
    let root = crate::repo_root();
    let python = std::env::var_os("MOTO_PYTHON")
        .map_or_else(|| root.join(".venv/bin/python"), PathBuf::from);
    (python, root.join("infra/scripts/moto_server.py"))
}

impl Moto {
    /// Starts the emulator with IAM enforced; its output (tracebacks included) goes to `log`.
    pub async fn start(port: Option<u16>, log: &Path) -> Result<Self, MotoError> {
        let port = match port {
            Some(p) => p,
            None => free_port().map_err(MotoError::Port)?,
        };
        let (path, launcher) = command();
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(MotoError::Log)?;
        }
        let log_file = File::create(log).map_err(MotoError::Log)?;
        let child = Command::new(&path)
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string(), "--iam"])
            .stdout(Stdio::from(log_file.try_clone().map_err(MotoError::Log)?))
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| MotoError::Spawn {
                path: path.display().to_string(),
                source,
            })?;
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(Self {
                    child,
                    endpoint,
                    port,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(MotoError::NotReady(port))
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
