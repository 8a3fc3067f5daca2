//! The answers to requests of one DynamoDB operation held back until a test lets them go: what a
//! slow answer does to its caller (a page that must not wait for it), shown by what happens next rather
//! than by timing anything.

use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    runtime_components::RuntimeComponents,
};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The operations held (DynamoDB's names: `Query`), each behind a gate that
/// [`Holds::release`] opens. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct Holds(Arc<Mutex<Vec<Hold>>>);

/// An operation held, and its gate.
type Hold = (String, watch::Sender<bool>);

impl Holds {
    /// Holds every later request of `operation` until [`release`](Self::release).
    pub fn hold(&self, operation: &str) {
        self.lock()
            .push((operation.to_owned(), watch::channel(false).0));
    }

    /// Lets the held requests of `operation` go, and the later ones through.
    pub fn release(&self, operation: &str) {
        self.lock().retain(|(op, gate)| {
            if op == operation {
                gate.send_replace(true);
            }
            op != operation
        });
    }

    /// The gate a request of `operation` waits at, if it is held.
    fn gate(&self, operation: &str) -> Option<watch::Receiver<bool>> {
        let holds = self.lock();
        let (_, gate) = holds.iter().find(|(op, _)| op == operation)?;
        Some(gate.subscribe())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Hold>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An HTTP client whose answers to DynamoDB requests wait while their operation is held.
#[derive(Debug)]
pub struct HoldingClient {
    inner: SharedHttpClient,
    holds: Holds,
}

impl HoldingClient {
    pub fn wrap(inner: SharedHttpClient, holds: Holds) -> SharedHttpClient {
        SharedHttpClient::new(Self { inner, holds })
    }
}

impl HttpClient for HoldingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(HoldingConnector {
            inner: self.inner.http_connector(settings, components),
            holds: self.holds.clone(),
        })
    }
}

#[derive(Debug)]
struct HoldingConnector {
    inner: SharedHttpConnector,
    holds: Holds,
}

impl HttpConnector for HoldingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // DynamoDB names the operation in `X-Amz-Target: DynamoDB_20120810.Query`.
        let gate = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .and_then(|op| self.holds.gate(op));
        let inner = self.inner.clone();
        // The request goes at once and its answer is held: a request whose body nobody reads
        // would trip the SDK's stalled-upload protection (1 B/s after 5 s) instead.
        HttpConnectorFuture::new(async move {
            let answer = inner.call(request).await;
            if let Some(mut gate) = gate {
                let _ = gate.wait_for(|open| *open).await;
            }
            answer
        })
    }
}
