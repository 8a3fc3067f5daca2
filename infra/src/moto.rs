//! The moto server: started as a child process on 127.0.0.1, stopped when dropped.

use std::{net::TcpListener, path::PathBuf, process::Stdio, time::Duration};
use tokio::process::{Child, Command};

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
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    (python, root.join("infra/scripts/moto_server.py"))
}

impl Moto {
    pub async fn start(port: Option<u16>) -> Result<Self, MotoError> {
        let port = match port {
            Some(p) => p,
            None => free_port().map_err(MotoError::Port)?,
        };
        let (path, launcher) = command();
        let child = Command::new(&path)
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
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
