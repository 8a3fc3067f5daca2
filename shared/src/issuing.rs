//! Issuing, revoking and re-issuing awards: the rules, over the store. Used by the API now and by
//! CSV ingest later, so both follow exactly the same rules.

use crate::{
    domain::{
        award::{
            check_dates, Award, Evidence, HashedIdentity, IssueRuleError, Recipient, Revocation,
        },
        email::Email,
        ids::{AwardId, BatchId},
        issuer::Issuer,
        locale::Locale,
        template::{ReissuePolicy, Template},
    },
    store::{
        awards::{Guard, GuardKind, InsertError},
        Store, StoreError,
    },
};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// A request to issue one award, already parsed.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub email: Email,
    pub name: String,
    pub issued_on: Option<DateTime<Utc>>,
    /// `Some(None)`: explicitly no expiry; `None`: the template's rule.
    pub expires_on: Option<Option<DateTime<Utc>>>,
    pub narrative: Option<String>,
    pub evidence: Vec<Evidence>,
    pub external_id: Option<String>,
    pub locale: Option<Locale>,
    pub notify: bool,
    pub cohort: Option<String>,
    pub batch_id: Option<BatchId>,
}

#[derive(Debug)]
pub enum Issued {
    Created(Award),
    /// The same idempotency key or external id was used before: this is the award it made.
    Existing(Award),
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("template {0} is archived; restore it or use another template")]
    TemplateArchived(String),
    #[error(transparent)]
    Rule(#[from] IssueRuleError),
    #[error("issued_on is in the future")]
    IssuedInFuture,
    #[error("the template allows one active award per recipient, and award {existing} is active for this recipient")]
    AlreadyHolds { existing: AwardId },
    #[error("{what} was already used for award {existing}, for a different request")]
    KeyReused {
        what: &'static str,
        existing: AwardId,
    },
    #[error("award {0} was revoked or re-issued already")]
    NotReissuable(AwardId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn fingerprint(template: &Template, email: &Email) -> String {
    hex::encode(Sha256::digest(format!(
        "{}|{}",
        template.id,
        email.lookup_key()
    )))
}

/// Builds the award a request describes (no I/O).
pub fn build_award(
    issuer: &Issuer,
    template: &Template,
    req: &IssueRequest,
    now: DateTime<Utc>,
) -> Result<Award, IssueError> {
    if !template.is_active() {
        return Err(IssueError::TemplateArchived(template.id.to_string()));
    }
    let issued = req.issued_on.unwrap_or(now);
    if issued > now + Duration::days(1) {
        return Err(IssueError::IssuedInFuture);
    }
    let expires = match req.expires_on {
        Some(explicit) => explicit,
        None => template
            .spec
            .validity
            .expiry(issued, issuer.profile.time_zone),
    };
    check_dates(issued, expires)?;
    Ok(Award {
        id: AwardId::generate(),
        issuer_id: issuer.id.clone(),
        template_id: template.id.clone(),
        identity: HashedIdentity::new(&req.email),
        recipient: Recipient {
            email: req.email.clone(),
            name: req.name.clone(),
        },
        issued_on: issued,
        expires_on: expires,
        narrative: req.narrative.clone(),
        evidence: req.evidence.clone(),
        external_id: req.external_id.clone(),
        locale: req.locale,
        notify: req.notify,
        revocation: None,
        superseded_by: None,
        supersedes: None,
        batch_id: req.batch_id.clone(),
        cohort: req.cohort.clone(),
        created_at: now,
    })
}

/// Issues one award, exactly once per idempotency key / external id, honouring the re-issue policy.
pub async fn issue(
    store: &Store,
    issuer: &Issuer,
    template: &Template,
    req: &IssueRequest,
    idempotency_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Issued, IssueError> {
    let award = build_award(issuer, template, req, now)?;
    let fp = fingerprint(template, &req.email);
    let mut replacing: Option<AwardId> = None;
    for _ in 0..4 {
        let mut guards = Vec::new();
        if let Some(k) = idempotency_key {
            guards.push(Guard::Idempotency {
                key: k.to_owned(),
                fingerprint: fp.clone(),
            });
        }
        if let Some(x) = &req.external_id {
            guards.push(Guard::ExternalId {
                external_id: x.clone(),
                fingerprint: fp.clone(),
            });
        }
        if template.spec.reissue_policy == ReissuePolicy::OneActivePerRecipient {
            guards.push(Guard::ActivePerRecipient {
                replacing: replacing.clone(),
            });
        }
        match store.insert_award(&award, &guards, None).await {
            Ok(()) => return Ok(Issued::Created(award)),
            Err(InsertError::Store(e)) => return Err(e.into()),
            Err(InsertError::Taken(t)) => match t.kind {
                GuardKind::Idempotency | GuardKind::ExternalId => {
                    let what = if t.kind == GuardKind::Idempotency {
                        "Idempotency-Key"
                    } else {
                        "external_id"
                    };
                    if t.fingerprint.as_deref() != Some(fp.as_str()) {
                        return Err(IssueError::KeyReused {
                            what,
                            existing: t.existing,
                        });
                    }
                    let existing = store
                        .get_award(&t.existing)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    return Ok(Issued::Existing(existing));
                }
                GuardKind::ActivePerRecipient => {
                    let holder = store.get_award(&t.existing).await?;
                    match holder {
                        Some(h) if h.status(now).is_valid() => {
                            return Err(IssueError::AlreadyHolds { existing: h.id })
                        }
                        // Revoked, expired, superseded or gone: the slot is free; take it over.
                        _ => replacing = Some(t.existing),
                    }
                }
            },
        }
    }
    Err(StoreError::Throttled.into())
}

/// Issues a new award that supersedes `old` (same recipient and template, fresh dates).
pub async fn reissue(
    store: &Store,
    issuer: &Issuer,
    template: &Template,
    old: &Award,
    expires_on: Option<Option<DateTime<Utc>>>,
    now: DateTime<Utc>,
) -> Result<Award, IssueError> {
    if old.revocation.is_some() || old.superseded_by.is_some() {
        return Err(IssueError::NotReissuable(old.id.clone()));
    }
    let req = IssueRequest {
        email: old.recipient.email.clone(),
        name: old.recipient.name.clone(),
        issued_on: None,
        expires_on,
        narrative: old.narrative.clone(),
        evidence: old.evidence.clone(),
        external_id: None,
        locale: old.locale,
        notify: old.notify,
        cohort: old.cohort.clone(),
        batch_id: None,
    };
    let mut award = build_award(issuer, template, &req, now)?;
    award.supersedes = Some(old.id.clone());
    let mut guards = Vec::new();
    if template.spec.reissue_policy == ReissuePolicy::OneActivePerRecipient {
        guards.push(Guard::ActivePerRecipient {
            replacing: Some(old.id.clone()),
        });
    }
    match store.insert_award(&award, &guards, Some(&old.id)).await {
        Ok(()) => Ok(award),
        Err(InsertError::Store(StoreError::VersionConflict { .. })) => {
            Err(IssueError::NotReissuable(old.id.clone()))
        }
        Err(InsertError::Taken(t)) => Err(IssueError::AlreadyHolds {
            existing: t.existing,
        }),
        Err(InsertError::Store(e)) => Err(e.into()),
    }
}

/// Revokes an award; revoking a revoked award returns it unchanged.
pub async fn revoke(
    store: &Store,
    award: &Award,
    reason: String,
    now: DateTime<Utc>,
) -> Result<Award, StoreError> {
    if award.revocation.is_some() {
        return Ok(award.clone());
    }
    store
        .revoke_award(award, &Revocation { reason, at: now })
        .await
}
