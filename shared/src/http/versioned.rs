//! The one way to change a versioned resource (issuer, template): read it, apply the change,
//! write it back only if nobody wrote it meanwhile (the store's write is conditional on
//! `version`), and on a conflict read and apply again — so concurrent edits of different fields
//! all land. With `If-Match` the caller asked for the version it saw: a stale one is refused
//! (412), never retried over.

use super::error::ApiError;
use crate::{
    app::App,
    domain::{ids::TemplateId, issuer::Issuer, template::Template},
    store::StoreError,
};
use chrono::{DateTime, Utc};
use std::future::Future;

/// How many times a change is read and applied again after a concurrent write before the
/// request gives up with 503 (try again).
pub(crate) const ATTEMPTS: usize = 8;

/// A resource whose writes are conditional on its version.
pub(crate) trait Versioned: Clone + PartialEq {
    fn version(&self) -> u64;
    /// The next version, changed at `now`.
    fn advance(&mut self, now: DateTime<Utc>);
}

impl Versioned for Template {
    fn version(&self) -> u64 {
        self.version
    }
    fn advance(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }
}

impl Versioned for Issuer {
    fn version(&self) -> u64 {
        self.version
    }
    fn advance(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }
}

/// Where one versioned resource is read and conditionally written.
pub(crate) trait Record {
    type Value: Versioned;
    /// A strongly consistent read: a stale copy would make a change look like no change (which
    /// writes nothing), or let a stale `If-Match` through.
    async fn load(&self) -> Result<Self::Value, ApiError>;
    /// Writes `next` if the stored version is still `next.version() - 1`.
    async fn save(&self, next: &Self::Value) -> Result<(), StoreError>;
}

/// Loads the resource, checks it is at one of the `expected` versions (from `If-Match`), applies
/// `change` to a copy of it (which returns the changed value, or `None` when there is nothing to
/// write) and saves it conditionally; on a conflict without `expected`, starts again. A change
/// that leaves the value as it was writes nothing and keeps the version. Returns the value as
/// stored.
pub(crate) async fn update<R, F, Fut>(
    record: &R,
    expected: Option<&[u64]>,
    mut change: F,
) -> Result<R::Value, ApiError>
where
    R: Record,
    F: FnMut(R::Value) -> Fut,
    Fut: Future<Output = Result<Option<R::Value>, ApiError>>,
{
    for _ in 0..ATTEMPTS {
        let current = record.load().await?;
        if let Some(v) = expected.filter(|v| !v.contains(&current.version())) {
            let expected = v.first().copied().unwrap_or_default();
            return Err(StoreError::VersionConflict { expected }.into());
        }
        let Some(mut next) = change(current.clone()).await? else {
            return Ok(current);
        };
        if next == current {
            return Ok(current);
        }
        next.advance(Utc::now());
        match record.save(&next).await {
            Ok(()) => return Ok(next),
            Err(StoreError::VersionConflict { .. }) if expected.is_none() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled.into())
}

/// The issuer of the calling API key.
pub(crate) struct IssuerRecord<'a> {
    pub app: &'a App,
    pub issuer: &'a crate::domain::ids::IssuerId,
}

impl Record for IssuerRecord<'_> {
    type Value = Issuer;
    async fn load(&self) -> Result<Issuer, ApiError> {
        let found = self.app.store.get_issuer_consistent(self.issuer).await?;
        found.ok_or_else(|| ApiError::not_found("issuer"))
    }
    async fn save(&self, next: &Issuer) -> Result<(), StoreError> {
        self.app.store.update_issuer(next).await?;
        self.app.forget_issuer(&next.id);
        Ok(())
    }
}

/// One template of the calling issuer (another issuer's template is not found).
pub(crate) struct TemplateRecord<'a> {
    pub app: &'a App,
    pub issuer: &'a crate::domain::ids::IssuerId,
    pub id: &'a TemplateId,
}

impl Record for TemplateRecord<'_> {
    type Value = Template;
    async fn load(&self) -> Result<Template, ApiError> {
        let found = self
            .app
            .store
            .get_template_consistent_of(self.issuer, self.id)
            .await?;
        found.ok_or_else(|| ApiError::not_found("template"))
    }
    async fn save(&self, next: &Template) -> Result<(), StoreError> {
        self.app.store.update_template(next).await?;
        self.app.forget_template(&next.id);
        Ok(())
    }
}
