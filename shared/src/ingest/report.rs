//! The error report, written while it is found: CSV lines go to S3 in parts of
//! [`PART_BYTES`], so memory holds one part whatever the file refuses. The validating pass
//! writes its findings in row order ([`batch::checked_report_key`]); rows issuing refuses are
//! parked per checkpoint range; the last run merges both, in row order, into
//! [`batch::report_key`].

use super::{
    scan::{spawn_reader, ChannelReader},
    IngestError,
};
use crate::{
    app::App,
    blobs::{BlobError, Blobs, Upload},
    csv_import::{report, RowError},
    domain::batch::{self, Batch, RejectedRow},
};
use tokio::sync::mpsc;

/// Bytes buffered before a part is sent (S3 wants ≥ 5 MiB for every part but the last).
pub(super) const PART_BYTES: usize = 8 * 1024 * 1024;
const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// A report being written: lines buffered up to a part, a single `PutObject` if it stays
/// small, a multipart upload otherwise.
pub(super) struct ReportWriter<'a> {
    blobs: &'a Blobs,
    key: String,
    buf: Vec<u8>,
    upload: Option<Upload>,
    lines: u64,
}

impl<'a> ReportWriter<'a> {
    pub(super) fn new(blobs: &'a Blobs, key: String) -> Self {
        Self {
            blobs,
            key,
            buf: report::header(),
            upload: None,
            lines: 0,
        }
    }

    pub(super) async fn push(&mut self, e: &RowError) -> Result<(), BlobError> {
        report::write_line(&mut self.buf, e);
        self.lines += 1;
        if self.buf.len() >= PART_BYTES {
            let part = std::mem::take(&mut self.buf);
            let upload = match &mut self.upload {
                Some(u) => u,
                None => self
                    .upload
                    .insert(self.blobs.start_upload(&self.key, CONTENT_TYPE).await?),
            };
            upload.part(part).await?;
        }
        Ok(())
    }

    /// Writes what is left; the report's key, or `None` when no line was written.
    pub(super) async fn finish(self) -> Result<Option<String>, BlobError> {
        match self.upload {
            None if self.lines == 0 => return Ok(None),
            None => self.blobs.put(&self.key, self.buf, CONTENT_TYPE).await?,
            Some(mut upload) => {
                if !self.buf.is_empty() {
                    upload.part(self.buf).await?;
                }
                upload.complete().await?;
            }
        }
        Ok(Some(self.key))
    }
}

/// Moves the rows refused since the last checkpoint to their own object in S3 (JSON lines),
/// named by the range's first row: the batch item stays small whatever the file refuses, and a
/// range redone after a crash overwrites its part instead of adding a second one.
pub(super) async fn park_rejected(app: &App, batch: &mut Batch) -> Result<(), IngestError> {
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

/// The batch's final error report: the validating pass's lines and every row refused while
/// issuing, merged in row order (both are in row order already), streamed. Without refused rows
/// the validating pass's report is the report.
pub(super) async fn final_report(app: &App, batch: &Batch) -> Result<Option<String>, IngestError> {
    if batch.rejected_parts.is_empty() {
        return Ok(batch.report_key.clone());
    }
    let mut out = ReportWriter::new(&app.blobs, batch::report_key(&batch.issuer_id, &batch.id));
    let mut checked = checked_lines(app, batch).await?;
    let mut next = checked.recv().await.transpose()?;
    let mut parts = batch.rejected_parts.clone();
    parts.sort_unstable();
    for from in parts {
        for refused in parked_part(app, batch, from).await? {
            while let Some(line) = next.take_if(|l| l.row <= refused.row) {
                out.push(&line).await?;
                next = checked.recv().await.transpose()?;
            }
            out.push(&refused.into()).await?;
        }
    }
    while let Some(line) = next {
        out.push(&line).await?;
        next = checked.recv().await.transpose()?;
    }
    Ok(out.finish().await?)
}

/// The lines of the validating pass's report, read back as they stream from S3.
async fn checked_lines(
    app: &App,
    batch: &Batch,
) -> Result<mpsc::Receiver<Result<RowError, IngestError>>, IngestError> {
    let (tx, rx) = mpsc::channel(256);
    let Some(key) = &batch.report_key else {
        return Ok(rx);
    };
    let Some(body) = app.blobs.stream(key).await? else {
        return Err(IngestError::Internal(format!(
            "the report {key} is missing"
        )));
    };
    let reader = ChannelReader::of(body);
    let panicked = |m: String| {
        Err(IngestError::Internal(format!(
            "reading the report back panicked: {m}"
        )))
    };
    spawn_reader(tx, panicked, move |tx| {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(reader);
        for record in csv.records() {
            let line = record
                .map_err(|e| IngestError::Internal(format!("reading the report back: {e}")))
                .and_then(|r| {
                    report::read_line(&r).ok_or_else(|| {
                        IngestError::Internal("a report line of another shape".into())
                    })
                });
            let stop = line.is_err();
            if tx.blocking_send(line).is_err() || stop {
                return;
            }
        }
    });
    Ok(rx)
}

/// The rows refused in the range starting at `from` (at most a checkpoint's worth).
async fn parked_part(app: &App, batch: &Batch, from: u64) -> Result<Vec<RejectedRow>, IngestError> {
    let key = batch::rejected_part_key(&batch.issuer_id, &batch.id, from);
    let Some(part) = app.blobs.get(&key).await? else {
        return Err(IngestError::Internal(format!(
            "the rejected-rows part {key} is missing"
        )));
    };
    part.bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).map_err(|e| IngestError::Internal(e.to_string())))
        .collect()
}
