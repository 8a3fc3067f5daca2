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

use crate::{
    app::App,
    csv_import::{self, report, FileError, RowError, ValidRow},
    domain::{
        batch::{self, Batch, BatchCounts, BatchMode, BatchStatus, RejectedRow},
        ids::{BatchId, TemplateId},
        issuer::Issuer,
        template::Template,
        time::Zone,
    },
    events::{self, BoxError},
    issuing::{self, IssueRequest, RowOutcome, RowRequest},
    store::StoreError,
};
use chrono::Utc;
use serde_json::Value;
use std::{
    collections::HashMap,
    io::Read,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::mpsc;

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
    let mut outcomes = Vec::new();
    for o in events::s3_created(event)? {
        // Boxed: the state machine is deep, and Lambda's runtime nests it further.
        let outcome = Box::pin(ingest_object(app, &o.key, o.size, opts)).await?;
        outcomes.push(format!("{outcome:?}"));
    }
    Ok(serde_json::json!({ "outcomes": outcomes }))
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
        let reason = format!(
            "stopped after {} attempts in a row failed ({error}); {} rows were issued; upload the file again as a new batch to issue the rest (rows already issued are skipped)",
            batch.failed_attempts, batch.counts.issued
        );
        return fail(app, batch, worker, reason).await;
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
        return fail(app, batch, worker, "the issuer no longer exists".into()).await;
    };
    if !continuation && size > csv_import::MAX_FILE_BYTES {
        return fail(app, batch, worker, FileError::TooLarge(size).to_string()).await;
    }
    if matches!(
        batch.status,
        BatchStatus::AwaitingUpload | BatchStatus::Validating
    ) {
        batch.status = BatchStatus::Validating;
        batch.started_at.get_or_insert(Utc::now());
        save(app, batch, worker, opts).await?;
        let v = match validate_file(app, batch, &issuer).await? {
            Err(e) => return fail(app, batch, worker, e.to_string()).await,
            Ok(v) => v,
        };
        batch.counts = BatchCounts {
            rows: v.rows,
            valid: v.valid,
            issued: 0,
            duplicates: v.duplicates,
            invalid: v.invalid,
        };
        batch.warnings = v.warnings;
        batch.source_etag = v.etag;
        if !v.report.is_empty() {
            write_report(app, batch, &v.report).await?;
        }
        if batch.mode == BatchMode::AllOrNothing && v.invalid > 0 {
            let reason = format!(
                "{} of {} rows are invalid, so nothing was issued (mode all_or_nothing); see the error report",
                v.invalid, v.rows
            );
            return fail(app, batch, worker, reason).await;
        }
        if v.valid == 0 && v.duplicates == 0 {
            let reason = format!(
                "none of the {} rows can be issued; see the error report",
                v.rows
            );
            return fail(app, batch, worker, reason).await;
        }
        batch.status = BatchStatus::Issuing;
        save(app, batch, worker, opts).await?;
    }
    issue_file(app, batch, &issuer, worker, opts, started).await
}

async fn save(
    app: &App,
    batch: &mut Batch,
    worker: &str,
    opts: &IngestOptions,
) -> Result<(), IngestError> {
    batch.updated_at = Utc::now();
    batch.lease_owner = Some(worker.to_owned());
    batch.lease_until =
        Some(batch.updated_at + chrono::Duration::from_std(opts.lease).unwrap_or_default());
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
    reason: String,
) -> Result<Outcome, IngestError> {
    tracing::warn!(reason = %reason, "batch failed");
    batch.status = BatchStatus::Failed;
    batch.failure_reason = Some(reason.clone());
    batch.completed_at = Some(Utc::now());
    batch.updated_at = Utc::now();
    batch.lease_until = Some(Utc::now());
    app.store.save_batch(batch, worker).await?;
    Ok(Outcome::Failed(reason))
}

async fn write_report(app: &App, batch: &mut Batch, rows: &[RowError]) -> Result<(), IngestError> {
    let key = batch::report_key(&batch.issuer_id, &batch.id);
    app.blobs
        .put(&key, report::write(rows), "text/csv; charset=utf-8")
        .await?;
    batch.report_key = Some(key);
    Ok(())
}

/// One data row, read and checked.
enum Scanned {
    Warnings(Vec<String>),
    Row(u64, Box<Result<ValidRow, Vec<RowError>>>),
    Done,
    Failed(FileError),
}

/// Reads an S3 object as a byte stream on a blocking thread (the CSV reader is synchronous),
/// bounded channels on both sides so memory stays flat whatever the file size.
struct ChannelReader {
    rx: mpsc::Receiver<Result<Vec<u8>, String>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads the upload of `batch` row by row — the bytes with `batch.source_etag` when it is set
/// (the validated file); answers the rows and the ETag read.
async fn scan(
    app: &App,
    batch: &Batch,
    zone: Zone,
) -> Result<(mpsc::Receiver<Scanned>, Option<String>), IngestError> {
    let (tx, rx) = mpsc::channel(1024);
    let found = match app
        .blobs
        .stream_pinned(&batch.source_key, batch.source_etag.as_deref())
        .await
    {
        Ok(found) => found,
        Err(crate::blobs::BlobError::Changed) => {
            let _ = tx.send(Scanned::Failed(FileError::Replaced)).await;
            return Ok((rx, None));
        }
        Err(e) => return Err(e.into()),
    };
    let Some((mut body, etag)) = found else {
        let _ = tx.send(Scanned::Failed(FileError::Empty)).await;
        return Ok((rx, None));
    };
    let (btx, brx) = mpsc::channel::<Result<Vec<u8>, String>>(8);
    tokio::spawn(async move {
        loop {
            let next = match body.try_next().await {
                Ok(Some(b)) => Ok(b.to_vec()),
                Ok(None) => break,
                Err(e) => Err(e.to_string()),
            };
            let stop = next.is_err();
            if btx.send(next).await.is_err() || stop {
                break;
            }
        }
    });
    tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx: brx,
            buf: Vec::new(),
            pos: 0,
        };
        let mut file = match csv_import::file::open(reader) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Scanned::Failed(e));
                return;
            }
        };
        let _ = tx.blocking_send(Scanned::Warnings(file.columns.warnings.clone()));
        let columns = file.columns.clone();
        loop {
            let msg = match file.next_record() {
                Ok(Some((row, rec))) => Scanned::Row(
                    row,
                    Box::new(csv_import::rows::validate(rec, &columns, row, zone)),
                ),
                Ok(None) => Scanned::Done,
                Err(e) => Scanned::Failed(e),
            };
            let last = !matches!(msg, Scanned::Row(..));
            if tx.blocking_send(msg).is_err() || last {
                return;
            }
        }
    });
    Ok((rx, etag))
}

/// The checks that need the store (templates) and the whole file (duplicates within it).
struct Checker<'a> {
    app: &'a App,
    batch: &'a Batch,
    templates: HashMap<TemplateId, Option<Arc<Template>>>,
    seen: HashMap<String, u64>,
}

enum Checked {
    Valid(Box<RowRequest>),
    Invalid(Vec<RowError>),
    Duplicate(RowError),
}

impl<'a> Checker<'a> {
    fn new(app: &'a App, batch: &'a Batch) -> Self {
        Self {
            app,
            batch,
            templates: HashMap::new(),
            seen: HashMap::new(),
        }
    }

    async fn template(&mut self, id: &TemplateId) -> Result<Option<Arc<Template>>, StoreError> {
        if let Some(t) = self.templates.get(id) {
            return Ok(t.clone());
        }
        let t = self
            .app
            .store
            .get_template_of(&self.batch.issuer_id, id)
            .await?
            .map(Arc::new);
        self.templates.insert(id.clone(), t.clone());
        Ok(t)
    }

    async fn check(
        &mut self,
        row: u64,
        parsed: Result<ValidRow, Vec<RowError>>,
    ) -> Result<Checked, StoreError> {
        let v = match parsed {
            Ok(v) => v,
            Err(errors) => return Ok(Checked::Invalid(errors)),
        };
        let template = match self.row_template(row, v.template_id.clone()).await? {
            Ok(t) => t,
            Err(e) => return Ok(Checked::Invalid(vec![e])),
        };
        let key = issuing::row_key(&template, &v.email, &v.issued_raw, v.external_id.as_deref());
        if let Some(first) = self.seen.get(&key) {
            return Ok(Checked::Duplicate(RowError {
                row,
                column: "email".into(),
                value: v.email.to_string(),
                message: format!("same award as row {first}; skipped"),
            }));
        }
        self.seen.insert(key.clone(), row);
        Ok(Checked::Valid(Box::new(RowRequest {
            row,
            template,
            row_key: key,
            req: self.request(v),
        })))
    }

    /// The row's template (its own column, else the batch's): one of the issuer's, and active.
    async fn row_template(
        &mut self,
        row: u64,
        id: Option<TemplateId>,
    ) -> Result<Result<Arc<Template>, RowError>, StoreError> {
        let invalid = |value: String, message: String| RowError {
            row,
            column: "template_id".into(),
            value,
            message,
        };
        let Some(tid) = id.or_else(|| self.batch.template_id.clone()) else {
            return Ok(Err(invalid(
                String::new(),
                "no template: add a template_id column, or choose a template for the whole batch"
                    .into(),
            )));
        };
        let Some(template) = self.template(&tid).await? else {
            return Ok(Err(invalid(
                tid.to_string(),
                format!("template {tid} not found"),
            )));
        };
        if !template.is_active() {
            return Ok(Err(invalid(
                tid.to_string(),
                format!("template {tid} is archived"),
            )));
        }
        Ok(Ok(template))
    }

    /// What a valid row asks to issue, in this batch.
    fn request(&self, v: ValidRow) -> IssueRequest {
        IssueRequest {
            email: v.email,
            name: v.name,
            issued_on: v.issued_on,
            expires_on: v.expires_on.map(Some),
            narrative: v.narrative,
            evidence: v.evidence,
            external_id: v.external_id,
            locale: v.locale,
            notify: self.batch.notify,
            cohort: v.cohort,
            batch_id: Some(self.batch.id.clone()),
        }
    }
}

struct Validation {
    rows: u64,
    valid: u64,
    invalid: u64,
    duplicates: u64,
    warnings: Vec<String>,
    report: Vec<RowError>,
    /// The ETag of the object read: what the later passes must read too.
    etag: Option<String>,
}

async fn validate_file(
    app: &App,
    batch: &Batch,
    issuer: &Issuer,
) -> Result<Result<Validation, FileError>, IngestError> {
    let (mut rx, etag) = scan(app, batch, issuer.profile.time_zone).await?;
    let mut checker = Checker::new(app, batch);
    let mut v = Validation {
        etag,
        rows: 0,
        valid: 0,
        invalid: 0,
        duplicates: 0,
        warnings: vec![],
        report: vec![],
    };
    while let Some(msg) = rx.recv().await {
        match msg {
            Scanned::Warnings(w) => v.warnings = w,
            Scanned::Failed(e) => return Ok(Err(e)),
            Scanned::Done => return Ok(Ok(v)),
            Scanned::Row(row, parsed) => {
                v.rows += 1;
                match checker.check(row, *parsed).await? {
                    Checked::Valid(_) => v.valid += 1,
                    Checked::Invalid(errors) => {
                        v.invalid += 1;
                        v.report.extend(errors);
                    }
                    Checked::Duplicate(note) => {
                        v.duplicates += 1;
                        v.report.push(note);
                    }
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
    let mut checker = Checker::new(app, &snapshot);
    let mut pass = IssuingPass {
        app,
        issuer,
        worker,
        opts,
        started,
        since_checkpoint: 0,
        written_this_run: 0,
    };
    let mut report: Vec<RowError> = Vec::new();
    let mut pending: Vec<RowRequest> = Vec::new();
    let mut finished = false;
    while let Some(msg) = rx.recv().await {
        let mut flush_now = false;
        match msg {
            Scanned::Warnings(_) => {}
            Scanned::Failed(e) => return fail(app, batch, worker, e.to_string()).await,
            Scanned::Done => {
                finished = true;
                flush_now = true;
            }
            Scanned::Row(row, parsed) => match checker.check(row, *parsed).await? {
                Checked::Valid(r) if r.row > snapshot.checkpoint_row => {
                    pending.push(*r);
                    flush_now = pending.len() >= opts.chunk_rows;
                }
                Checked::Valid(_) => {}
                Checked::Invalid(errors) => report.extend(errors),
                Checked::Duplicate(note) => report.push(note),
            },
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
        let reason = "the file could not be read to the end".into();
        return fail(app, batch, worker, reason).await;
    }
    pass.complete(batch, report).await
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

impl IssuingPass<'_> {
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
        if self.since_checkpoint >= self.opts.checkpoint_rows || out_of_time || finished {
            park_rejected(self.app, batch).await?;
            batch.checkpoint_row = last_row;
            batch.failed_attempts = 0; // progress: the next failure starts a new count
            save(self.app, batch, self.worker, self.opts).await?;
            self.since_checkpoint = 0;
        }
        if out_of_time && !finished {
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

    /// The whole file is issued: the error report (this pass's notes and every rejected row, in
    /// row order) and the completed batch.
    async fn complete(
        &self,
        batch: &mut Batch,
        mut report: Vec<RowError>,
    ) -> Result<Outcome, IngestError> {
        for r in parked_rejected(self.app, batch).await? {
            report.push(RowError {
                row: r.row,
                column: r.column,
                value: r.value,
                message: r.message,
            });
        }
        report.sort_by_key(|e| e.row);
        if !report.is_empty() {
            write_report(self.app, batch, &report).await?;
        }
        batch.status = BatchStatus::Completed;
        batch.completed_at = Some(Utc::now());
        save(self.app, batch, self.worker, self.opts).await?;
        tracing::info!(counts = ?batch.counts, "batch completed");
        Ok(Outcome::Completed)
    }
}

/// Moves the rows refused since the last checkpoint to their own object in S3 (JSON lines),
/// named by the range's first row: the batch item stays small whatever the file refuses, and a
/// range redone after a crash overwrites its part instead of adding a second one.
async fn park_rejected(app: &App, batch: &mut Batch) -> Result<(), IngestError> {
    if batch.rejected.is_empty() {
        return Ok(());
    }
    let from = batch.checkpoint_row + 1;
    let mut lines = Vec::new();
    for r in &batch.rejected {
        serde_json::to_writer(&mut lines, r).map_err(|e| IngestError::Internal(e.to_string()))?;
        lines.push(b'\n');
    }
    let key = batch::rejected_part_key(&batch.issuer_id, &batch.id, from);
    app.blobs.put(&key, lines, "application/x-ndjson").await?;
    batch.rejected.clear();
    if !batch.rejected_parts.contains(&from) {
        batch.rejected_parts.push(from);
    }
    Ok(())
}

/// Every refused row parked in S3 for this batch, part by part.
async fn parked_rejected(app: &App, batch: &Batch) -> Result<Vec<RejectedRow>, IngestError> {
    let mut rows = Vec::new();
    for from in &batch.rejected_parts {
        let key = batch::rejected_part_key(&batch.issuer_id, &batch.id, *from);
        let Some(part) = app.blobs.get(&key).await? else {
            return Err(IngestError::Internal(format!(
                "the rejected-rows part {key} is missing"
            )));
        };
        for line in part.bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            rows.push(
                serde_json::from_slice(line).map_err(|e| IngestError::Internal(e.to_string()))?,
            );
        }
    }
    Ok(rows)
}

/// Adds what became of a chunk's rows to the batch's counts; a rejected row (kept until the
/// next checkpoint moves it to S3) no longer counts as valid.
fn count_outcomes(batch: &mut Batch, chunk: &[RowRequest], outcomes: Vec<RowOutcome>) {
    for (r, o) in chunk.iter().zip(outcomes) {
        match o {
            RowOutcome::Issued => batch.counts.issued += 1,
            RowOutcome::Duplicate => batch.counts.duplicates += 1,
            RowOutcome::Rejected { column, message } => {
                batch.counts.invalid += 1;
                batch.counts.valid = batch.counts.valid.saturating_sub(1);
                batch.rejected.push(RejectedRow {
                    row: r.row,
                    column: column.into(),
                    value: r.req.email.to_string(),
                    message,
                });
            }
        }
    }
}
