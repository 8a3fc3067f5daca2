//! Issuing, revoking and re-issuing awards: the rules, over the store. Used by the API now and by
//! CSV ingest later, so both follow exactly the same rules.

use crate::{
    domain::{
        award::{check_dates, Award, HashedIdentity, IssueRuleError, Recipient, Revocation},
        email::Email,
        ids::{AwardId, BatchId},
        issuer::Issuer,
        tally,
        template::{ReissuePolicy, Template},
        text, Invalid,
    },
    store::{
        awards::{Guard, GuardKind, GuardTaken, InsertError, RowWrite, RowWritten},
        Store, StoreError,
    },
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// What to issue; parsed in the domain, named here too because every caller of `issue` needs it.
pub use crate::domain::issue_request::IssueRequest;

#[derive(Debug)]
pub enum Issued {
    Created(Award),
    /// The same idempotency key or external id was used before: this is the award it made.
    Existing(Award),
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Rule(#[from] IssueRuleError),
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

impl IssueError {
    /// The error as a row's refusal: its message in English and, but for the store's failures,
    /// Korean.
    pub fn invalid(&self) -> Invalid {
        let ko = match self {
            Self::Rule(r) => return r.invalid(),
            Self::AlreadyHolds { existing } => format!("이 템플릿은 수신자당 유효한 배지를 하나만 허용하며, 이 수신자에게는 유효한 배지 {existing}가 있습니다."),
            Self::KeyReused { what, existing } => format!("{what}는 다른 요청으로 배지 {existing}에 이미 쓰였습니다."),
            Self::NotReissuable(a) => format!("배지 {a}는 이미 취소되었거나 재발급되었습니다."),
            Self::Store(_) => return Invalid::new(self.to_string()),
        };
        Invalid::new(self.to_string()).ko(ko)
    }
}

/// What an `external_id` stands for: this recipient of this template (the same id sent with
/// other details is the same badge).
fn fingerprint(template: &Template, email: &Email) -> String {
    hex::encode(Sha256::digest(format!(
        "{}|{}",
        template.id,
        email.lookup_key()
    )))
}

/// What an `Idempotency-Key` stands for: the whole request as parsed (recipient, dates,
/// narrative, evidence, …), so the same key sent with another request is refused (422), not
/// answered with the first request's badge. A retry sends the same request.
fn request_fingerprint(template: &Template, req: &IssueRequest) -> String {
    // Written out field by field (not `Debug`, whose text may change with a release), so a retry
    // across an upgrade still matches. A new field of the request belongs here too.
    let time = |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
    let evidence: Vec<_> = req
        .evidence
        .iter()
        .map(|e| (e.url.as_ref().map(|u| u.as_str()), e.narrative.as_deref()))
        .collect();
    let doc = serde_json::json!({
        "v": 1,
        "template": template.id.as_str(),
        "email": req.email.as_str(),
        "name": req.name,
        "phone": req.phone.as_ref().map(|p| p.as_str()),
        "issued_on": time(&req.issued_on),
        "expires_on": req.expires_on.as_ref().map(time),
        "narrative": req.narrative,
        "evidence": evidence,
        "external_id": req.external_id,
        "locale": req.locale.map(|l| l.as_str()),
        "notify": req.notify,
        "cohort": req.cohort,
    });
    hex::encode(Sha256::digest(doc.to_string()))
}

/// Builds the award a request describes (no I/O).
pub fn build_award(
    issuer: &Issuer,
    template: &Template,
    req: &IssueRequest,
    now: DateTime<Utc>,
) -> Result<Award, IssueError> {
    if !template.is_active() {
        return Err(IssueRuleError::TemplateArchived(template.id.clone()).into());
    }
    let zone = issuer.profile.time_zone;
    let issued = crate::domain::time::issue_instant(req.issued_on.unwrap_or(now), now, zone)
        .ok_or(IssueRuleError::IssuedInFuture)?;
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
            phone: req.phone.clone(),
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
        unsubscribe_token: Some(crate::domain::ids::random_token()),
    })
}

/// The guards of one award: its idempotency key `(key, fingerprint)` if any, its external id if
/// any, and the one-active-per-recipient slot when the template has one.
fn guards(
    idempotency: Option<(String, String)>,
    req: &IssueRequest,
    template: &Template,
    replacing: Option<AwardId>,
) -> Vec<Guard> {
    let mut guards = Vec::new();
    if let Some((key, fingerprint)) = idempotency {
        guards.push(Guard::Idempotency { key, fingerprint });
    }
    if let Some(x) = &req.external_id {
        guards.push(Guard::ExternalId {
            external_id: x.clone(),
            fingerprint: fingerprint(template, &req.email),
        });
    }
    if template.spec.reissue_policy == ReissuePolicy::OneActivePerRecipient {
        guards.push(Guard::ActivePerRecipient { replacing });
    }
    guards
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
    let fp = Fingerprints {
        request: request_fingerprint(template, req),
        recipient: fingerprint(template, &req.email),
    };
    let mut replacing: Option<AwardId> = None;
    for _ in 0..4 {
        let key = idempotency_key.map(|k| (k.to_owned(), fp.request.clone()));
        let guards = guards(key, req, template, replacing.clone());
        let tallies = tally::issued(&award, issuer.profile.time_zone);
        match store.insert_award(&award, &guards, None, &tallies).await {
            Ok(()) => return Ok(Issued::Created(award)),
            Err(InsertError::Store(e)) => return Err(e.into()),
            Err(InsertError::Taken(t)) if t.kind == GuardKind::ActivePerRecipient => {
                replacing = Some(stale_holder(store, t.existing, now).await?);
            }
            Err(InsertError::Taken(t)) => {
                return earlier_award(store, &t, &fp).await.map(Issued::Existing)
            }
        }
    }
    Err(StoreError::Throttled.into())
}

/// A request's two fingerprints: for its `Idempotency-Key` and for its `external_id`.
struct Fingerprints {
    request: String,
    recipient: String,
}

/// The award an idempotency key or external id made before, if it was made for the same
/// request (an `external_id`: for the same recipient and template); else the key was reused for
/// a different request. (An `Idempotency-Key` stored before 2026-12-07 carries the recipient's
/// fingerprint: accepted as before.)
async fn earlier_award(
    store: &Store,
    t: &GuardTaken,
    fp: &Fingerprints,
) -> Result<Award, IssueError> {
    let stored = t.fingerprint.as_deref();
    let same = stored == Some(fp.recipient.as_str())
        || (t.kind == GuardKind::Idempotency && stored == Some(fp.request.as_str()));
    if !same {
        let what = if t.kind == GuardKind::Idempotency {
            "Idempotency-Key"
        } else {
            "external_id"
        };
        return Err(IssueError::KeyReused {
            what,
            existing: t.existing.clone(),
        });
    }
    Ok(store
        .get_award_consistent(&t.existing)
        .await?
        .ok_or(StoreError::NotFound)?)
}

/// The holder of the one-active slot, if it no longer counts (revoked, expired, superseded or
/// gone): its slot can be taken over. An active holder keeps it.
async fn stale_holder(
    store: &Store,
    holder: AwardId,
    now: DateTime<Utc>,
) -> Result<AwardId, IssueError> {
    // Consistent: a holder written a moment ago, missed, would read as gone and lose its slot.
    match store.get_award_consistent(&holder).await? {
        Some(h) if h.status(now).is_valid() => Err(IssueError::AlreadyHolds { existing: h.id }),
        _ => Ok(holder),
    }
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
        phone: old.recipient.phone.clone(),
        issued_on: None,
        expires_on,
        narrative: old.narrative.clone(),
        evidence: old.evidence.clone(),
        external_id: None,
        locale: old.locale,
        notify: old.notify,
        // The label as labels are stored now (NFC), whenever the old award was made.
        cohort: old.cohort.as_deref().map(|c| text::nfc(c).into_owned()),
        batch_id: None,
    };
    let mut award = build_award(issuer, template, &req, now)?;
    award.supersedes = Some(old.id.clone());
    // No idempotency key or external id: only the slot, taken over from `old`.
    let guards = guards(None, &req, template, Some(old.id.clone()));
    let zone = issuer.profile.time_zone;
    let mut tallies = tally::issued(&award, zone);
    tallies.extend(tally::superseded(old, zone, now));
    match store
        .insert_award(&award, &guards, Some(&old.id), &tallies)
        .await
    {
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

/// Revokes an award; revoking a revoked award returns it unchanged. The revocation and the
/// counters it moves (`revoked`, a future expiry taken back) are one transaction.
pub async fn revoke(
    store: &Store,
    issuer: &Issuer,
    award: &Award,
    reason: String,
    now: DateTime<Utc>,
) -> Result<Award, StoreError> {
    let mut current = award.clone();
    for _ in 0..4 {
        if current.revocation.is_some() {
            return Ok(current);
        }
        let tallies = tally::revoked(&current, issuer.profile.time_zone, now);
        let revocation = Revocation {
            reason: reason.clone(),
            at: now,
        };
        match store.revoke_award(&current, &revocation, &tallies).await? {
            (a, true) => return Ok(a),
            (fresh, false) => current = fresh,
        }
    }
    Err(StoreError::Throttled)
}

/// A CSV row ready to issue.
#[derive(Debug, Clone)]
pub struct RowRequest {
    pub row: u64,
    pub template: std::sync::Arc<Template>,
    pub req: IssueRequest,
    pub row_key: String,
    /// The row's identity as releases before 2026-12-07 made it (its issue date as written),
    /// when that differs: an award of an earlier upload may hold it.
    pub legacy_row_key: Option<String>,
}

/// What became of a CSV row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Issued,
    /// The same award exists already (an earlier upload of the same row).
    Duplicate,
    Rejected {
        column: &'static str,
        why: Invalid,
    },
}

/// The identity of a CSV row: the same template, recipient, issue date (`issued`: as
/// `time::identity_text` holds it, so one date written two ways is one) and external id always
/// mean the same award, so re-uploading a file issues nothing new.
pub fn row_key(
    template: &Template,
    email: &Email,
    issued_raw: &str,
    external_id: Option<&str>,
) -> String {
    hex::encode(Sha256::digest(format!(
        "{}|{}|{}|{}",
        template.id,
        email.lookup_key(),
        issued_raw.trim(),
        external_id.unwrap_or("")
    )))
}

/// Issues many rows of one batch with batched transactional writes. Exactly once per row key,
/// whatever is retried; rows this batch wrote before a crash count as issued, not duplicates.
pub async fn issue_rows(
    store: &Store,
    issuer: &Issuer,
    batch_id: &BatchId,
    rows: &[RowRequest],
    now: DateTime<Utc>,
) -> Result<Vec<RowOutcome>, StoreError> {
    let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
    let mut writes: Vec<(usize, RowWrite)> = Vec::new();
    let mut refused = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match row_write(issuer, batch_id, r, now) {
            Ok(w) => writes.push((i, w)),
            Err(e) => refused.push((i, e)),
        }
    }
    held_already(
        store,
        issuer,
        batch_id,
        rows,
        &mut writes,
        refused,
        &mut outcomes,
    )
    .await?;
    for _round in 0..4 {
        if writes.is_empty() {
            break;
        }
        let batch: Vec<RowWrite> = writes.iter().map(|(_, w)| w.clone()).collect();
        let results = store.insert_award_rows(&batch).await?;
        let mut held: Vec<SlotHeld> = Vec::new();
        for ((i, w), res) in writes.drain(..).zip(results) {
            outcomes[i] = Some(match res {
                RowWritten::Written | RowWritten::AlreadyWritten => RowOutcome::Issued,
                RowWritten::Taken(t) if t.kind == GuardKind::ActivePerRecipient => {
                    held.push((i, w, t.existing));
                    continue;
                }
                RowWritten::Taken(t) => key_taken(&rows[i], batch_id, &t),
            });
        }
        if held.is_empty() {
            break;
        }
        writes = take_over_stale(store, held, now, &mut outcomes).await?;
    }
    Ok(outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or(RowOutcome::Rejected {
                column: "email",
                why: Invalid::new("could not be issued; upload the row again")
                    .ko("발급하지 못했습니다. 이 행을 다시 올려 주세요."),
            })
        })
        .collect())
}

/// A row's award with its guards (row key, external id, one-active slot) and the counters it
/// moves; or why the row cannot be issued.
fn row_write(
    issuer: &Issuer,
    batch_id: &BatchId,
    r: &RowRequest,
    now: DateTime<Utc>,
) -> Result<RowWrite, IssueError> {
    let mut award = build_award(issuer, &r.template, &r.req, now)?;
    award.batch_id = Some(batch_id.clone());
    let key = row_guard_key(&r.row_key);
    let guards = guards(Some((key.clone(), key)), &r.req, &r.template, None);
    let tallies = tally::issued(&award, issuer.profile.time_zone);
    Ok(RowWrite {
        award,
        guards,
        tallies,
    })
}

/// The key of the `Guard::Idempotency` of a row of this identity ([`row_key`]).
fn row_guard_key(row_key: &str) -> String {
    format!("csv|{row_key}")
}

/// A row that cannot be issued, refused.
fn rejected(e: &IssueError) -> RowOutcome {
    let column = match e {
        IssueError::Rule(r) => r.field(),
        _ => "template_id",
    };
    RowOutcome::Rejected {
        column,
        why: e.invalid(),
    }
}

/// Rows an award may hold already under a key no write of theirs checks: rows refused now that
/// the file's check passed (their template archived since, or changed so that a fixed expiry
/// has passed — when a run of this batch wrote them before a crash, after its last checkpoint,
/// or an earlier upload did, their award exists), and rows whose identity a release before
/// 2026-12-07 took from the date as written (`RowRequest::legacy_row_key`). One strongly
/// consistent `BatchGetItem` of those keys; a row held counts as a taken row key does —
/// issued by this batch, else a duplicate — and is not written; the refused rows left are
/// refused.
async fn held_already(
    store: &Store,
    issuer: &Issuer,
    batch_id: &BatchId,
    rows: &[RowRequest],
    writes: &mut Vec<(usize, RowWrite)>,
    refused: Vec<(usize, IssueError)>,
    outcomes: &mut [Option<RowOutcome>],
) -> Result<(), StoreError> {
    let current = refused
        .iter()
        .map(|(i, _)| (*i, row_guard_key(&rows[*i].row_key)));
    let legacy = (refused.iter().map(|(i, _)| *i))
        .chain(writes.iter().map(|(i, _)| *i))
        .filter_map(|i| Some((i, row_guard_key(rows[i].legacy_row_key.as_ref()?))));
    let asked: Vec<(usize, String)> = current.chain(legacy).collect();
    if !asked.is_empty() {
        let keys: Vec<String> = asked.iter().map(|(_, k)| k.clone()).collect();
        let holders = store.row_key_holders(&issuer.id, &keys).await?;
        for ((i, _), holder) in asked.iter().zip(holders) {
            if let (Some(t), None) = (holder, &outcomes[*i]) {
                outcomes[*i] = Some(key_taken(&rows[*i], batch_id, &t));
            }
        }
    }
    writes.retain(|(i, _)| outcomes[*i].is_none());
    for (i, e) in refused {
        outcomes[i].get_or_insert_with(|| rejected(&e));
    }
    Ok(())
}

/// A row whose row key or external id another award holds: issued already (by this batch, before
/// a crash), a duplicate (an earlier upload), or, for an external id used for a different
/// request, rejected.
fn key_taken(row: &RowRequest, batch_id: &BatchId, t: &GuardTaken) -> RowOutcome {
    if t.kind == GuardKind::ExternalId
        && t.fingerprint.as_deref() != Some(fingerprint(&row.template, &row.req.email).as_str())
    {
        return RowOutcome::Rejected {
            column: "external_id",
            why: Invalid::new(format!(
                "external_id was already used for award {} (another recipient or template)",
                t.existing
            ))
            .ko(format!(
                "이 외부 ID(external_id)는 다른 수신자나 템플릿의 배지 {}에 이미 쓰였습니다.",
                t.existing
            )),
        };
    }
    if t.batch_id.as_ref() == Some(batch_id) {
        RowOutcome::Issued
    } else {
        RowOutcome::Duplicate
    }
}

/// A row whose one-active-per-recipient slot another award holds: `(row, write, holder)`.
type SlotHeld = (usize, RowWrite, AwardId);

/// Rows whose slot is held: rejected while the holder is active (their outcome set); otherwise
/// answered with their write set to take the slot over, for the next round. The holders are
/// read with one `BatchGetItem`.
async fn take_over_stale(
    store: &Store,
    held: Vec<SlotHeld>,
    now: DateTime<Utc>,
    outcomes: &mut [Option<RowOutcome>],
) -> Result<Vec<(usize, RowWrite)>, StoreError> {
    let ids: Vec<AwardId> = held.iter().map(|(_, _, id)| id.clone()).collect();
    let found = store.get_awards(&ids).await?;
    let mut again = Vec::new();
    for (i, mut w, holder) in held {
        match found.iter().find(|a| a.id == holder) {
            Some(h) if h.status(now).is_valid() => {
                outcomes[i] = Some(RowOutcome::Rejected {
                    column: "email",
                    why: Invalid::new(format!(
                        "this recipient already holds an active award {} of this template (one active award per recipient)",
                        h.id
                    ))
                    .ko(format!(
                        "이 수신자는 이 템플릿의 유효한 배지 {}를 이미 가지고 있습니다 (수신자당 유효한 배지 하나).",
                        h.id
                    )),
                });
            }
            // Revoked, expired, superseded or gone: take the slot over, in the next round.
            _ => {
                for g in &mut w.guards {
                    if let Guard::ActivePerRecipient { replacing } = g {
                        *replacing = Some(holder.clone());
                    }
                }
                again.push((i, w));
            }
        }
    }
    Ok(again)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::TemplateId;

    /// Every refusal of an issue (the API's, the console's, a CSV row's) has its Korean; only a
    /// store failure, which is no one's input, has none.
    #[test]
    fn every_issue_refusal_is_in_korean_too() {
        let a = AwardId::generate();
        let now = Utc::now();
        let refusals = [
            IssueError::Rule(IssueRuleError::TemplateArchived(TemplateId::generate())),
            IssueError::Rule(IssueRuleError::TemplateNotFound(TemplateId::generate())),
            IssueError::Rule(IssueRuleError::ExpiresBeforeIssued {
                issued: now,
                expires: now,
            }),
            IssueError::Rule(IssueRuleError::IssuedInFuture),
            IssueError::AlreadyHolds {
                existing: a.clone(),
            },
            IssueError::KeyReused {
                what: "external_id",
                existing: a.clone(),
            },
            IssueError::NotReissuable(a),
        ];
        for e in refusals {
            let i = e.invalid();
            assert_eq!(i.0, e.to_string());
            let ko = i.korean().unwrap_or_default();
            assert!(ko.chars().any(|c| ('가'..='힣').contains(&c)), "{e:?}");
        }
        assert!(IssueError::Store(StoreError::NotFound)
            .invalid()
            .korean()
            .is_none());
    }
}
