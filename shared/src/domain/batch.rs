//! CSV bulk-issuance batches.

use super::{
    ids::{BatchId, IssuerId, TemplateId},
    Invalid,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BatchMode {
    /// Issue the valid rows, report the others.
    #[default]
    SkipInvalid,
    /// Issue nothing if any row is invalid.
    AllOrNothing,
}

impl BatchMode {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.trim() {
            "skip_invalid" => Ok(Self::SkipInvalid),
            "all_or_nothing" => Ok(Self::AllOrNothing),
            other => Err(Invalid::new(format!(
                "`{other}` is not a mode (skip_invalid, all_or_nothing)"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    AwaitingUpload,
    Validating,
    Issuing,
    Completed,
    Failed,
}

impl BatchStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BatchCounts {
    /// Data rows in the file (blank lines not counted).
    pub rows: u64,
    /// Rows that passed validation.
    pub valid: u64,
    /// Awards this batch created.
    pub issued: u64,
    /// Rows skipped because the same award exists already (earlier upload, or repeated in the file).
    pub duplicates: u64,
    /// Rows rejected (validation, or the template's re-issue policy).
    pub invalid: u64,
}

impl BatchCounts {
    /// The counts as the API and the webhooks show them (`duplicates` is `skipped_duplicate`).
    pub fn public(&self) -> serde_json::Value {
        serde_json::json!({
            "rows": self.rows,
            "valid": self.valid,
            "issued": self.issued,
            "skipped_duplicate": self.duplicates,
            "invalid": self.invalid,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub id: BatchId,
    pub issuer_id: IssuerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<TemplateId>,
    pub filename: String,
    pub notify: bool,
    pub mode: BatchMode,
    pub status: BatchStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The failure reason in Korean (batches failed before 2026-12-07 have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason_ko: Option<String>,
    pub counts: BatchCounts,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The warnings in Korean, one for each (batches checked before 2026-12-07 have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings_ko: Vec<String>,
    /// Rows (1-based data row numbers) already issued; a resumed run starts after it.
    #[serde(default)]
    pub checkpoint_row: u64,
    pub source_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_key: Option<String>,
    /// The ETag of the upload the validating pass read: every later pass (issuing,
    /// continuations) reads the object only if it still has it, so what is issued is what was
    /// checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_etag: Option<String>,
    /// The templates the validating pass found usable (at most 100): the issuing pass reads only
    /// these, and refuses, row by row, those of one archived since. `None` for a batch checked
    /// before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_templates: Option<Vec<TemplateId>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Rows refused while issuing (e.g. the recipient already holds an active award) since the
    /// last checkpoint, in this invocation only: never stored on the item (a DynamoDB item holds
    /// at most 400 KB; a re-imported roster can refuse every row). Each checkpoint moves them to
    /// an object of their own in S3 ([`rejected_part_key`]), which the error report gathers.
    #[serde(skip)]
    pub rejected: Vec<RejectedRow>,
    /// The first rows of the ranges whose refused rows are in S3, in order (one number per
    /// checkpoint that refused any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_parts: Vec<u64>,
    /// The invocation working on the batch, and until when (a lease, so two deliveries of one
    /// S3 event never work on a batch at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Invocations in a row that ended in an error (reset by every checkpoint). Lambda tries an
    /// S3 event 3 times; the run that makes it [`MAX_FAILED_ATTEMPTS`] fails the batch visibly
    /// instead of leaving it `issuing` with nobody to continue it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_attempts: u32,
}

/// Lambda's attempts at one asynchronous event (1 + `MaximumRetryAttempts: 2` in template.yaml).
pub const MAX_FAILED_ATTEMPTS: u32 = 3;

/// How long after the last lease on a batch still at work lapsed it is reported stalled: well
/// past Lambda's retries of an S3 event (about 1 and 2 minutes apart) and a continuation's
/// hand-over (seconds).
pub const STALLED_AFTER_MINUTES: i64 = 15;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub row: u64,
    pub column: String,
    pub value: String,
    pub message: String,
    /// The message in Korean (rows refused before 2026-12-07 have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ko: Option<String>,
}

impl Batch {
    pub fn new(
        issuer_id: IssuerId,
        template_id: Option<TemplateId>,
        filename: String,
        notify: bool,
        mode: BatchMode,
        now: DateTime<Utc>,
    ) -> Self {
        let id = BatchId::generate();
        Self {
            source_key: source_key(&issuer_id, &id),
            id,
            issuer_id,
            template_id,
            filename,
            notify,
            mode,
            status: BatchStatus::AwaitingUpload,
            failure_reason: None,
            failure_reason_ko: None,
            counts: BatchCounts::default(),
            warnings: vec![],
            warnings_ko: vec![],
            checkpoint_row: 0,
            report_key: None,
            rejected: vec![],
            rejected_parts: vec![],
            source_etag: None,
            checked_templates: None,
            lease_owner: None,
            lease_until: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
            failed_attempts: 0,
        }
    }

    /// When the last lease on the batch lapsed, if the batch is still `validating` or `issuing`
    /// and that was over [`STALLED_AFTER_MINUTES`] ago: no invocation is working on it, and it
    /// may have stopped. Ingest dying (a timeout, out of memory) on all three of Lambda's tries
    /// of the S3 event leaves a batch so, where errors would have failed it (`infra
    /// replay-failures` runs it again); so, for a while, may ingest throttled (Lambda keeps an
    /// asynchronous event up to 6 hours).
    pub fn stalled_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let working = matches!(self.status, BatchStatus::Validating | BatchStatus::Issuing);
        let lapsed =
            |t: &DateTime<Utc>| *t + chrono::Duration::minutes(STALLED_AFTER_MINUTES) < now;
        self.lease_until.filter(|t| working && lapsed(t))
    }
}

/// Where a batch's upload lands: `uploads/{issuer}/{batch}/source.csv`. The issuer and batch in
/// the key let ingest reject an object that does not belong to the batch it names.
pub fn source_key(issuer: &IssuerId, batch: &BatchId) -> String {
    format!("uploads/{issuer}/{batch}/source.csv")
}

pub fn report_key(issuer: &IssuerId, batch: &BatchId) -> String {
    format!("reports/{issuer}/{batch}/errors.csv")
}

/// The validating pass's findings, in row order: the report itself unless issuing refuses rows,
/// in which case both are merged into [`report_key`].
pub fn checked_report_key(issuer: &IssuerId, batch: &BatchId) -> String {
    format!("reports/{issuer}/{batch}/checked.csv")
}

/// Where the rows refused in the range starting at `from_row` wait for the error report: named
/// by the range's first row, so a range redone after a crash overwrites its own part.
pub fn rejected_part_key(issuer: &IssuerId, batch: &BatchId, from_row: u64) -> String {
    format!("reports/{issuer}/{batch}/rejected/{from_row:012}.jsonl")
}

/// Reads `uploads/{issuer}/{batch}/…` back into ids.
pub fn parse_source_key(key: &str) -> Option<(IssuerId, BatchId)> {
    let mut parts = key.split('/');
    if parts.next()? != "uploads" {
        return None;
    }
    let issuer = IssuerId::parse(parts.next()?).ok()?;
    let batch = BatchId::parse(parts.next()?).ok()?;
    Some((issuer, batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_at_work_whose_lease_lapsed_long_ago_is_stalled() {
        let now = Utc::now();
        let mut b = Batch::new(
            IssuerId::generate(),
            None,
            "a.csv".into(),
            true,
            BatchMode::default(),
            now,
        );
        let long_ago = now - chrono::Duration::minutes(STALLED_AFTER_MINUTES + 1);
        b.lease_until = Some(long_ago);
        assert_eq!(b.stalled_since(now), None, "awaiting its upload");
        for status in [BatchStatus::Validating, BatchStatus::Issuing] {
            b.status = status;
            assert_eq!(b.stalled_since(now), Some(long_ago), "{status:?}");
        }
        b.lease_until = Some(now - chrono::Duration::minutes(STALLED_AFTER_MINUTES - 1));
        assert_eq!(b.stalled_since(now), None, "Lambda may still be retrying");
        b.lease_until = None;
        assert_eq!(b.stalled_since(now), None, "never taken");
        b.lease_until = Some(long_ago);
        for status in [BatchStatus::Completed, BatchStatus::Failed] {
            b.status = status;
            assert_eq!(b.stalled_since(now), None, "{status:?}");
        }
    }

    #[test]
    fn keys_round_trip() {
        let i = IssuerId::generate();
        let b = BatchId::generate();
        assert_eq!(parse_source_key(&source_key(&i, &b)), Some((i, b)));
        assert_eq!(parse_source_key("uploads/x/y/z"), None);
        assert_eq!(parse_source_key("reports/a"), None);
    }
}
