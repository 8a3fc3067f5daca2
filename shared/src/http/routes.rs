//! A router declared once, route by route, as `.get(path, handler)`: the `axum::Router` and the
//! list of its `(method, path)` both come from that one declaration, so the list cannot drift
//! from what is served. The OpenAPI check and the cross-tenant matrix
//! (`tests/integration/tenancy.rs`) read the lists; a route added without a matrix case fails it.

use axum::{
    handler::Handler,
    routing::{self, MethodRouter},
    Router,
};

/// `(method, path pattern)`, e.g. `("GET", "/v1/templates/{id}")`.
pub type Route = (&'static str, &'static str);

pub struct Routes<S> {
    router: Router<S>,
    table: Vec<Route>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get<H: Handler<T, S>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("GET", path, routing::get(h))
    }

    pub fn post<H: Handler<T, S>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("POST", path, routing::post(h))
    }

    pub fn put<H: Handler<T, S>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("PUT", path, routing::put(h))
    }

    pub fn patch<H: Handler<T, S>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("PATCH", path, routing::patch(h))
    }

    pub fn delete<H: Handler<T, S>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("DELETE", path, routing::delete(h))
    }

    /// Methods of one path are merged into one route by axum.
    fn add(mut self, method: &'static str, path: &'static str, m: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, m);
        self.table.push((method, path));
        self
    }

    /// The router, for layers, fallbacks and state to be added.
    pub fn router(self) -> Router<S> {
        self.router
    }

    /// The declared routes, in order.
    pub fn table(self) -> Vec<Route> {
        self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    #[tokio::test]
    async fn one_declaration_gives_the_router_and_its_table() {
        let declared = || {
            Routes::<()>::new()
                .get("/x", || async { "get" })
                .post("/x", || async { "post" })
                .delete("/x/{id}", || async { "delete" })
        };
        assert_eq!(
            declared().table(),
            vec![("GET", "/x"), ("POST", "/x"), ("DELETE", "/x/{id}")]
        );
        let router = declared().router();
        for (method, path, want) in [("GET", "/x", 200), ("POST", "/x", 200), ("PUT", "/x", 405)] {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap();
            let got = router.clone().oneshot(req).await.unwrap().status();
            assert_eq!(got.as_u16(), want, "{method} {path}");
        }
    }
}
