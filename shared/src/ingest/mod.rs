//! CSV bulk issuance (the ingest Lambda): an S3 `ObjectCreated` event for
//! `uploads/{issuer}/{batch}/source.csv` → validated, issued, reported.
//!
//! 1. The object must belong to a batch of the issuer its key names; anything else is rejected
//!    and logged, never issued.
//! 2. A lease on the batch item means one invocation works on a batch at a time (S3 may deliver
//!    an event twice; Lambda retries).
//! 3. **validating**: the whole file is read once (streamed) and every row checked. A broken file
//!    (encoding, missing column, 10,000 columns, a 1 MB cell…) fails here, before anything is
//!    issued. The error report is written. `all_or_nothing` stops here if any row is invalid.
//! 4. **issuing**: the file is read again; valid rows are written in multi-row transactions,
//!    each row guarded by its row key, so every valid row yields exactly one award whatever is
//!    retried. Progress is checkpointed on the batch item; a resumed run skips checkpointed rows.
//!    Close to the time limit, the run checkpoints and writes an empty marker object
//!    `uploads/{issuer}/{batch}/continue/{row}-{random}`, whose S3 event starts the next run.

mod check;
mod report;
mod scan;

pub use check::MAX_TEMPLATES_PER_FILE;

use self::{
    check::{Checked, Checker, Pass},
    report::{park_rejected, ReportWriter},
    scan::{scan, Scanned},
};
use crate::{
    app::App,
    csv_import::{self, FileError},
    domain::{
        batch::{self, Batch, BatchCounts, BatchMode, BatchStatus, RejectedRow},
        ids::{BatchId, TemplateId},
        issuer::Issuer,
        Invalid,
    },
    events::{self, BoxError},
    issuing::{self, RowOutcome, RowRequest},
    store::StoreError,
};
use chrono::Utc;
use serde_json::Value;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Work this long, then checkpoint and continue in a new invocation (Lambda's limit is 15 min).
    pub time_budget: Duration,
    /// Save progress after at least this many rows.
    pub checkpoint_rows: u64,
    /// Rows handed to the store at once (it packs them into ≤ 100-item transactions).
    pub chunk_rows: usize,
    /// How long a claim on a batch lasts without a checkpoint.
    pub lease: Duration,
    /// Tests only: stop dead (no checkpoint) after this many rows were written in this run.
    pub crash_after_rows: Option<u64>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            time_budget: Duration::from_secs(12 * 60),
            checkpoint_rows: 1_000,
            chunk_rows: 500,
            lease: Duration::from_secs(90),
            crash_after_rows: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not an upload of a known batch of the issuer its key names.
    Rejected(String),
    /// The batch is completed or failed already (a repeated event).
    AlreadyFinished,
    /// Another invocation holds the batch.
    Busy,
    Completed,
    Failed(String),
    /// Checkpointed and re-triggered to continue in a new invocation.
    Continued,
    /// Tests only: stopped as if the function had died.
    Crashed,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] crate::blobs::BlobError),
    /// A part of the batch's own bookkeeping in S3 could not be written or read back.
    #[error("batch bookkeeping: {0}")]
    Internal(String),
}

/// The Lambda handler: every created object in the event.
pub async fn handle_event(app: App, event: Value) -> Result<Value, BoxError> {
    handle_event_with(&app, &event, &IngestOptions::default()).await
}

pub async fn handle_event_with(
    app: &App,
    event: &Value,
    opts: &IngestOptions,
) -> Result<Value, BoxError> {
    let (mut outcomes, mut failed) = (Vec::new(), None);
    // Every object of the event, each on its own: one that fails does not hold back the others
    // (the invocation then fails, and Lambda's retry finds those already finished).
    for o in events::s3_created(event)? {
        // Boxed: the state machine is deep, and Lambda's runtime nests it further.
        match Box::pin(ingest_object(app, &o.key, o.size, opts)).await {
            Ok(outcome) => outcomes.push(format!("{outcome:?}")),
            Err(e) => {
                tracing::error!(key = o.key, error = %e, "upload not handled; the event is retried");
                failed.get_or_insert(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(serde_json::json!({ "outcomes": outcomes })),
    }
}

#[tracing::instrument(skip(app, opts), fields(batch))]
pub async fn ingest_object(
    app: &App,
    key: &str,
    size: u64,
    opts: &IngestOptions,
) -> Result<Outcome, IngestError> {
    let (batch_id, continuation) = match batch_of(app, key).await? {
        Ok(found) => found,
        Err(outcome) => return Ok(outcome),
    };
    let worker = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let Some(mut batch) = claim(app, &batch_id, &worker, opts, started).await? else {
        tracing::info!("batch is being processed by another invocation");
        return Ok(Outcome::Busy);
    };
    if batch.status.is_final() {
        return Ok(Outcome::AlreadyFinished);
    }
    let outcome = Box::pin(run_claimed(
        app,
        &mut batch,
        &worker,
        size,
        continuation,
        opts,
        started,
    ))
    .await;
    match outcome {
        Err(e) => give_up_or_retry(app, &mut batch, &worker, e).await,
        ok => ok,
    }
}

/// The unfinished batch an object key belongs to, and whether the key is a continuation marker;
/// or, for a key that is no upload of a known batch of the issuer it names, or a finished
/// batch, what to answer.
async fn batch_of(app: &App, key: &str) -> Result<Result<(BatchId, bool), Outcome>, IngestError> {
    let Some((issuer_id, batch_id)) = batch::parse_source_key(key) else {
        tracing::warn!(
            key,
            "upload rejected: not under uploads/{{issuer}}/{{batch}}/"
        );
        return Ok(Err(Outcome::Rejected("not an upload key".into())));
    };
    tracing::Span::current().record("batch", batch_id.as_str());
    let Some(found) = app.store.get_batch(&batch_id).await? else {
        tracing::warn!(key, "upload rejected: no such batch");
        return Ok(Err(Outcome::Rejected("no such batch".into())));
    };
    let continuation = key.starts_with(&format!("uploads/{issuer_id}/{batch_id}/continue/"));
    if found.issuer_id != issuer_id || (found.source_key != key && !continuation) {
        tracing::warn!(key, owner = %found.issuer_id, "upload rejected: the key does not match the batch's issuer and upload key");
        return Ok(Err(Outcome::Rejected(
            "key does not match the batch".into(),
        )));
    }
    if found.status.is_final() {
        tracing::info!(status = ?found.status, "batch already finished; event ignored");
        return Ok(Err(Outcome::AlreadyFinished));
    }
    Ok(Ok((batch_id, continuation)))
}

/// Takes the batch's lease for `worker`, waiting while another invocation's lease may still run
/// out (a dead worker's does); `None` when a live worker keeps it.
async fn claim(
    app: &App,
    batch_id: &BatchId,
    worker: &str,
    opts: &IngestOptions,
    started: Instant,
) -> Result<Option<Batch>, IngestError> {
    loop {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(opts.lease).unwrap_or_default();
        if let Some(b) = app.store.claim_batch(batch_id, worker, until, now).await? {
            return Ok(Some(b));
        }
        if started.elapsed() > opts.lease + Duration::from_secs(5) {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(500).min(opts.lease / 2)).await;
    }
}

/// An invocation that failed: Lambda will try the event again, unless this was its last try
/// ([`batch::MAX_FAILED_ATTEMPTS`] in a row without a checkpoint), in which case the batch fails
/// visibly, with the reason, instead of staying `issuing` with nothing left to continue it. Rows
/// issued so far stay issued (and counted); re-uploading the file issues the rest.
async fn give_up_or_retry(
    app: &App,
    batch: &mut Batch,
    worker: &str,
    error: IngestError,
) -> Result<Outcome, IngestError> {
    batch.failed_attempts += 1;
    if batch.failed_attempts >= batch::MAX_FAILED_ATTEMPTS {
        let (n, issued) = (batch.failed_attempts, batch.counts.issued);
        let why = Invalid::new(format!(
            "stopped after {n} attempts in a row failed ({error}); {issued} rows were issued; upload the file again as a new batch to issue the rest (rows already issued are skipped)"
        ))
        .ko(format!(
            "연속 {n}번 실패해 멈췄습니다 ({error}). {issued}행이 발급되었습니다. 나머지를 발급하려면 파일을 새 일괄 발급으로 다시 올리세요 (이미 발급된 행은 건너뜁니다)."
        ));
        return fail(app, batch, worker, why).await;
    }
    // The retry goes on from the last checkpoint: what the store holds, not this invocation's
    // counts of the rows since, which the retry counts again.
    if let Ok(Some(stored)) = app.store.get_batch(&batch.id).await {
        if stored.lease_owner.as_deref() == Some(worker) {
            *batch = Batch {
                failed_attempts: batch.failed_attempts,
                ..stored
            };
        }
    }
    // Best effort: if the store is what failed, this fails too, and the count stays lower.
    batch.lease_until = Some(Utc::now());
    if let Err(e) = app.store.save_batch(batch, worker).await {
        tracing::warn!(error = %e, "could not record the failed attempt");
    }
    Err(error)
}

/// The batch's work once this invocation holds its lease: validate (once), then issue.
async fn run_claimed(
    app: &App,
    batch: &mut Batch,
    worker: &str,
    size: u64,
    continuation: bool,
    opts: &IngestOptions,
    started: Instant,
) -> Result<Outcome, IngestError> {
    let Some(issuer) = app.store.get_issuer(&batch.issuer_id).await? else {
        let why = Invalid::new("the issuer no longer exists").ko("발급 기관이 더 이상 없습니다.");
        return fail(app, batch, worker, why).await;
    };
    if !continuation && size > csv_import::MAX_FILE_BYTES {
        return fail(app, batch, worker, FileError::TooLarge(size).invalid()).await;
    }
    if matches!(
        batch.status,
        BatchStatus::AwaitingUpload | BatchStatus::Validating
    ) {
        batch.status = BatchStatus::Validating;
        batch.started_at.get_or_insert(Utc::now());
        save(app, batch, worker, opts.lease).await?;
        let lease = Lease::new(worker, opts.lease);
        let v = match validate_file(app, batch, &issuer, lease).await? {
            Err(e) => return fail(app, batch, worker, e.invalid()).await,
            Ok(v) => v,
        };
        if let Some(why) = checked(batch, v) {
            return fail(app, batch, worker, why).await;
        }
        batch.status = BatchStatus::Issuing;
        save(app, batch, worker, opts.lease).await?;
    }
    issue_file(app, batch, &issuer, worker, opts, started).await
}

/// Saves the batch as `worker`'s, its lease renewed for `lease` (zero: released, for the next
/// invocation to take at once).
async fn save(
    app: &App,
    batch: &mut Batch,
    worker: &str,
    lease: Duration,
) -> Result<(), IngestError> {
    batch.updated_at = Utc::now();
    batch.lease_owner = Some(worker.to_owned());
    batch.lease_until =
        Some(batch.updated_at + chrono::Duration::from_std(lease).unwrap_or_default());
    if !app.store.save_batch(batch, worker).await? {
        tracing::warn!("lost the batch lease to another invocation");
        return Err(StoreError::VersionConflict {
            expected: batch.checkpoint_row,
        }
        .into());
    }
    Ok(())
}

async fn fail(
    app: &App,
    batch: &mut Batch,
    worker: &str,
    why: Invalid,
) -> Result<Outcome, IngestError> {
    let reason = why.0.clone();
    tracing::warn!(reason = %reason, "batch failed");
    batch.status = BatchStatus::Failed;
    batch.failure_reason = Some(reason.clone());
    batch.failure_reason_ko = why.korean().map(str::to_owned);
    batch.completed_at = Some(Utc::now());
    batch.updated_at = Utc::now();
    batch.lease_until = Some(Utc::now());
    app.store.save_batch(batch, worker).await?;
    Ok(Outcome::Failed(reason))
}

struct Validation {
    rows: u64,
    valid: u64,
    invalid: u64,
    duplicates: u64,
    warnings: Vec<csv_import::Warning>,
    /// The report of what the check found, if it found anything.
    report_key: Option<String>,
    /// The templates the rows may use.
    templates: Vec<TemplateId>,
    /// The ETag of the object read: what the later passes must read too.
    etag: Option<String>,
}

/// Records what the check found on the batch; why nothing is to be issued, if so.
fn checked(batch: &mut Batch, v: Validation) -> Option<Invalid> {
    batch.counts = BatchCounts {
        rows: v.rows,
        valid: v.valid,
        issued: 0,
        duplicates: v.duplicates,
        invalid: v.invalid,
    };
    batch.warnings = v.warnings.iter().map(|w| w.en.clone()).collect();
    batch.warnings_ko = v.warnings.into_iter().map(|w| w.ko).collect();
    batch.source_etag = v.etag;
    batch.report_key = v.report_key;
    batch.checked_templates = Some(v.templates);
    let (invalid, rows) = (v.invalid, v.rows);
    if batch.mode == BatchMode::AllOrNothing && invalid > 0 {
        return Some(Invalid::new(format!(
            "{invalid} of {rows} rows are invalid, so nothing was issued (mode all_or_nothing); see the error report"
        ))
        .ko(format!(
            "{rows}행 중 {invalid}행이 올바르지 않아 아무것도 발급하지 않았습니다 (all_or_nothing 방식). 오류 보고서를 확인하세요."
        )));
    }
    (v.valid == 0 && v.duplicates == 0).then(|| {
        Invalid::new(format!(
            "none of the {rows} rows can be issued; see the error report"
        ))
        .ko(format!(
            "{rows}행 가운데 발급할 수 있는 행이 없습니다. 오류 보고서를 확인하세요."
        ))
    })
}

/// The batch's lease as a pass over the file keeps it: renewed once a third of it has passed, so
/// a long check (a large file on a small Lambda, or a continuation reading up to its checkpoint)
/// is not taken over by a second delivery of the event while it runs; a renewal refused (another
/// invocation took the batch) stops the pass.
struct Lease<'a> {
    worker: &'a str,
    length: Duration,
    renewed: Instant,
}

impl<'a> Lease<'a> {
    fn new(worker: &'a str, length: Duration) -> Self {
        Self {
            worker,
            length,
            renewed: Instant::now(),
        }
    }

    async fn keep(&mut self, app: &App, batch: &BatchId) -> Result<(), IngestError> {
        if self.renewed.elapsed() < self.length / 3 {
            return Ok(());
        }
        let until = Utc::now() + chrono::Duration::from_std(self.length).unwrap_or_default();
        self.renewed = Instant::now();
        if app.store.renew_batch(batch, self.worker, until).await? {
            Ok(())
        } else {
            Err(IngestError::Internal(
                "another invocation took the batch's lease while the file was read".into(),
            ))
        }
    }
}

/// The validating pass: every row read and checked, findings streamed to the report.
async fn validate_file(
    app: &App,
    batch: &Batch,
    issuer: &Issuer,
    mut lease: Lease<'_>,
) -> Result<Result<Validation, FileError>, IngestError> {
    let (mut rx, etag) = scan(app, batch, issuer.profile.time_zone).await?;
    let mut checker = Checker::new(app, batch, Pass::Validating);
    let key = batch::checked_report_key(&batch.issuer_id, &batch.id);
    let mut report = ReportWriter::new(&app.blobs, key);
    let mut v = Validation {
        etag,
        rows: 0,
        valid: 0,
        invalid: 0,
        duplicates: 0,
        warnings: vec![],
        report_key: None,
        templates: vec![],
    };
    while let Some(msg) = rx.recv().await {
        match msg {
            Scanned::Warnings(w) => v.warnings.extend(w),
            Scanned::Failed(FileError::Unreadable(e)) => return Err(unreadable(e)),
            Scanned::Failed(e) => return Ok(Err(e)),
            Scanned::Panicked(m) => return Err(reader_panicked(m)),
            Scanned::Done => {
                v.report_key = report.finish().await?;
                v.templates = checker.usable_templates();
                return Ok(Ok(v));
            }
            Scanned::Row(row, parsed) => {
                v.rows += 1;
                lease.keep(app, &batch.id).await?;
                let notes = match checker.check(row, *parsed).await? {
                    Checked::Valid(_) => {
                        v.valid += 1;
                        continue;
                    }
                    Checked::Invalid(errors) => {
                        v.invalid += 1;
                        errors
                    }
                    Checked::Duplicate(note) => {
                        v.duplicates += 1;
                        vec![note]
                    }
                };
                for note in &notes {
                    report.push(note).await?;
                }
            }
        }
    }
    Ok(Err(FileError::Malformed {
        row: v.rows + 1,
        message: "the file ended unexpectedly".into(),
    }))
}

async fn issue_file(
    app: &App,
    batch: &mut Batch,
    issuer: &Issuer,
    worker: &str,
    opts: &IngestOptions,
    started: Instant,
) -> Result<Outcome, IngestError> {
    let snapshot = batch.clone();
    let (mut rx, _) = scan(app, &snapshot, issuer.profile.time_zone).await?;
    let usable = snapshot.checked_templates.as_deref();
    let mut checker = Checker::new(app, &snapshot, Pass::Issuing(usable));
    let mut pass = IssuingPass::new(app, issuer, worker, opts, started);
    let mut pending: Vec<RowRequest> = Vec::new();
    let mut finished = false;
    let mut lease = Lease::new(worker, opts.lease);
    while let Some(msg) = rx.recv().await {
        let mut flush_now = false;
        match msg {
            Scanned::Warnings(_) => {}
            Scanned::Failed(FileError::Unreadable(e)) => return Err(unreadable(e)),
            Scanned::Failed(e) => return fail(app, batch, worker, e.invalid()).await,
            Scanned::Panicked(m) => return Err(reader_panicked(m)),
            Scanned::Done => {
                finished = true;
                flush_now = true;
            }
            Scanned::Row(row, parsed) => {
                lease.keep(app, &snapshot.id).await?;
                match checker.check(row, *parsed).await? {
                    Checked::Valid(r) if r.row > snapshot.checkpoint_row => {
                        pending.push(*r);
                        flush_now = pending.len() >= opts.chunk_rows;
                    }
                    // Rows checkpointed already, and rows the validating pass reported.
                    Checked::Valid(_) | Checked::Invalid(_) | Checked::Duplicate(_) => {}
                }
            }
        }
        if flush_now && !pending.is_empty() {
            let chunk = std::mem::take(&mut pending);
            if let Some(outcome) = pass.flush(batch, &chunk, finished).await? {
                return Ok(outcome);
            }
        }
        if finished {
            break;
        }
    }
    if !finished {
        let why = Invalid::new("the file could not be read to the end")
            .ko("파일을 끝까지 읽지 못했습니다.");
        return fail(app, batch, worker, why).await;
    }
    pass.complete(batch).await
}

/// The upload's bytes stopped coming: the invocation fails and Lambda tries it again (the batch
/// fails only after [`batch::MAX_FAILED_ATTEMPTS`] such tries), where the file is not to blame.
fn unreadable(message: String) -> IngestError {
    IngestError::Internal(format!(
        "the upload could not be read to its end: {message}"
    ))
}

/// The invocation's error when the CSV reader panicked: a bug, not the file's fault, so the
/// invocation fails (a failed attempt; Lambda retries it) instead of failing the batch.
fn reader_panicked(message: String) -> IngestError {
    IngestError::Internal(format!("the CSV reader panicked: {message}"))
}

/// One invocation's issuing pass: who works, to which limits, and its progress since it began.
struct IssuingPass<'a> {
    app: &'a App,
    issuer: &'a Issuer,
    worker: &'a str,
    opts: &'a IngestOptions,
    started: Instant,
    since_checkpoint: u64,
    written_this_run: u64,
}

impl<'a> IssuingPass<'a> {
    fn new(
        app: &'a App,
        issuer: &'a Issuer,
        worker: &'a str,
        opts: &'a IngestOptions,
        started: Instant,
    ) -> Self {
        IssuingPass {
            app,
            issuer,
            worker,
            opts,
            started,
            since_checkpoint: 0,
            written_this_run: 0,
        }
    }

    /// Issues a chunk of rows and counts what became of them; checkpoints when enough rows were
    /// written, time is up or the file is `finished`. `Some` ends this invocation: out of time
    /// (continued in a new one) or a simulated crash.
    async fn flush(
        &mut self,
        batch: &mut Batch,
        chunk: &[RowRequest],
        finished: bool,
    ) -> Result<Option<Outcome>, IngestError> {
        let store = &self.app.store;
        let outcomes =
            issuing::issue_rows(store, self.issuer, &batch.id, chunk, Utc::now()).await?;
        count_outcomes(batch, chunk, outcomes);
        let last_row = chunk.last().map(|r| r.row).unwrap_or(batch.checkpoint_row);
        self.since_checkpoint += chunk.len() as u64;
        self.written_this_run += chunk.len() as u64;
        if self
            .opts
            .crash_after_rows
            .is_some_and(|n| self.written_this_run >= n)
        {
            tracing::warn!(rows = self.written_this_run, "simulated crash (tests)");
            return Ok(Some(Outcome::Crashed));
        }
        let out_of_time = self.started.elapsed() > self.opts.time_budget;
        let continuing = out_of_time && !finished;
        if self.since_checkpoint >= self.opts.checkpoint_rows || out_of_time || finished {
            park_rejected(self.app, batch).await?;
            batch.checkpoint_row = last_row;
            // Progress: the next failure starts a new count.
            batch.failed_attempts = 0;
            // The lease is released for the continuation, which would otherwise wait it out.
            let lease = if continuing {
                Duration::ZERO
            } else {
                self.opts.lease
            };
            save(self.app, batch, self.worker, lease).await?;
            self.since_checkpoint = 0;
        }
        if continuing {
            return self.continue_later(batch).await.map(Some);
        }
        Ok(None)
    }

    /// Writes the continuation marker, whose S3 event starts the next invocation at the
    /// checkpoint.
    async fn continue_later(&self, batch: &Batch) -> Result<Outcome, IngestError> {
        tracing::info!(
            checkpoint = batch.checkpoint_row,
            "time budget used; continuing in a new invocation"
        );
        let marker = format!(
            "uploads/{}/{}/continue/{}-{}",
            batch.issuer_id,
            batch.id,
            batch.checkpoint_row,
            crate::domain::ids::random_token()
        );
        self.app
            .blobs
            .put(&marker, Vec::new(), "text/plain")
            .await?;
        Ok(Outcome::Continued)
    }

    /// The whole file is issued: the error report (the check's findings and every refused row,
    /// in row order) and the completed batch.
    async fn complete(&self, batch: &mut Batch) -> Result<Outcome, IngestError> {
        park_rejected(self.app, batch).await?;
        batch.report_key = report::final_report(self.app, batch).await?;
        batch.status = BatchStatus::Completed;
        batch.completed_at = Some(Utc::now());
        save(self.app, batch, self.worker, self.opts.lease).await?;
        tracing::info!(counts = ?batch.counts, "batch completed");
        Ok(Outcome::Completed)
    }
}

/// Adds what became of a chunk's rows to the batch's counts; a rejected row (kept until the
/// next checkpoint moves it to S3) no longer counts as valid.
fn count_outcomes(batch: &mut Batch, chunk: &[RowRequest], outcomes: Vec<RowOutcome>) {
    for (r, o) in chunk.iter().zip(outcomes) {
        match o {
            RowOutcome::Issued => batch.counts.issued += 1,
            RowOutcome::Duplicate => batch.counts.duplicates += 1,
            RowOutcome::Rejected { column, why } => {
                batch.counts.invalid += 1;
                batch.counts.valid = batch.counts.valid.saturating_sub(1);
                batch.rejected.push(RejectedRow {
                    row: r.row,
                    column: column.into(),
                    value: r.req.email.to_string(),
                    message_ko: why.korean().map(str::to_owned),
                    message: why.0,
                });
            }
        }
    }
}
