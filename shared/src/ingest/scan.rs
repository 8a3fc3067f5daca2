//! Reading an upload row by row: the S3 stream is copied into a bounded channel and read by the
//! (synchronous) CSV reader on a blocking thread, whose rows come back through another bounded
//! channel. Memory stays flat whatever the file size.

use super::IngestError;
use crate::{
    app::App,
    csv_import::{self, FileError, RowError, ValidRow},
    domain::{batch::Batch, time::Zone},
};
use aws_sdk_s3::primitives::ByteStream;
use std::io::Read;
use tokio::sync::mpsc;

/// One data row, read and checked.
pub(super) enum Scanned {
    Warnings(Vec<csv_import::Warning>),
    Row(u64, Box<Result<ValidRow, Vec<RowError>>>),
    Done,
    Failed(FileError),
    /// The reader's thread panicked (a bug, logged): the invocation fails and Lambda retries
    /// it, where a closed channel would have read as a short file.
    Panicked(String),
}

/// Runs `read`, a synchronous reader feeding `tx`, on a blocking thread. If it panics, the
/// panic is logged and `panicked(message)` follows whatever it had sent, so the consumer sees
/// a failure, never an early end.
pub(super) fn spawn_reader<T: Send + 'static>(
    tx: mpsc::Sender<T>,
    panicked: fn(String) -> T,
    read: impl FnOnce(mpsc::Sender<T>) + Send + 'static,
) {
    let watch = tx.clone();
    let thread = tokio::task::spawn_blocking(move || read(tx));
    tokio::spawn(async move {
        let Err(e) = thread.await else { return };
        let message = match e.try_into_panic() {
            Ok(p) => p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into()),
            Err(e) => e.to_string(),
        };
        tracing::error!(panic = %message, "a file reader's thread panicked");
        let _ = watch.send(panicked(message)).await;
    });
}

/// Reads an S3 object as a byte stream on a blocking thread (the CSV reader is synchronous),
/// bounded channels on both sides so memory stays flat whatever the file size.
pub(super) struct ChannelReader {
    rx: mpsc::Receiver<Piece>,
    buf: Vec<u8>,
    pos: usize,
    ended: bool,
}

/// What the task copying the stream sends: the end is said, so a channel that closes without
/// it (the task panicked) is an error, never a short file read as whole.
enum Piece {
    Bytes(Vec<u8>),
    End,
    Failed(String),
}

impl ChannelReader {
    /// A reader of `body`, fed by a task that copies the stream into a bounded channel.
    pub(super) fn of(mut body: ByteStream) -> Self {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            loop {
                let next = match body.try_next().await {
                    Ok(Some(b)) => Piece::Bytes(b.to_vec()),
                    Ok(None) => Piece::End,
                    Err(e) => Piece::Failed(e.to_string()),
                };
                let stop = !matches!(next, Piece::Bytes(_));
                if tx.send(next).await.is_err() || stop {
                    break;
                }
            }
        });
        Self::fed_by(rx)
    }

    fn fed_by(rx: mpsc::Receiver<Piece>) -> Self {
        Self {
            rx,
            buf: Vec::new(),
            pos: 0,
            ended: false,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Piece::Bytes(b)) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Some(Piece::End) => self.ended = true,
                Some(Piece::Failed(e)) => {
                    return Err(std::io::Error::other(csv_import::ReadFailed(e)))
                }
                None => {
                    return Err(std::io::Error::other(csv_import::ReadFailed(
                        "the object's stream stopped before its end".into(),
                    )))
                }
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
pub(super) async fn scan(
    app: &App,
    batch: &Batch,
    zone: Zone,
) -> Result<(mpsc::Receiver<Scanned>, Option<String>), IngestError> {
    // Small: a row can hold up to 100 cells of 10,000 characters.
    let (tx, rx) = mpsc::channel(64);
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
    let Some(crate::blobs::Pinned { body, etag, length }) = found else {
        let _ = tx.send(Scanned::Failed(FileError::Empty)).await;
        return Ok((rx, None));
    };
    // The event's size was checked, but the object read is the one there now: an upload link
    // signed without a size takes any length, and a second PUT can replace the checked file.
    if let Some(n) = length.filter(|n| *n > csv_import::MAX_FILE_BYTES) {
        let _ = tx.send(Scanned::Failed(FileError::TooLarge(n))).await;
        return Ok((rx, None));
    }
    let reader = ChannelReader::of(body);
    // Every pass judges "today" by when the batch's check began (a row refused as a later day
    // then is refused by an issuing pass after midnight too).
    let judged = (zone, batch.started_at.unwrap_or(batch.created_at));
    spawn_reader(tx, Scanned::Panicked, move |tx| {
        read_rows(reader, &tx, judged);
    });
    Ok((rx, etag))
}

/// The blocking half of [`scan`]: the file's warnings, each row read and checked, then `Done`
/// or the failure that stopped the read.
fn read_rows(
    reader: ChannelReader,
    tx: &mpsc::Sender<Scanned>,
    judged: (Zone, chrono::DateTime<chrono::Utc>),
) {
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
            Ok(Some((row, rec, order))) => Scanned::Row(
                row,
                Box::new(csv_import::rows::validate(
                    rec, &columns, row, judged, order,
                )),
            ),
            Ok(None) => {
                if let Some(w) = file.skipped_warning() {
                    let _ = tx.blocking_send(Scanned::Warnings(vec![w]));
                }
                Scanned::Done
            }
            Err(e) => Scanned::Failed(e),
        };
        let last = !matches!(msg, Scanned::Row(..));
        if tx.blocking_send(msg).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that panics after two rows: the two rows, then the panic's message, then the
    /// end. Without the watch, the channel closed after the rows, which read as a short file.
    #[tokio::test]
    async fn a_panicking_reader_ends_with_its_panic_not_a_short_read() {
        let (tx, mut rx) = mpsc::channel(1);
        spawn_reader(tx, Err, |tx| {
            for i in 0..2 {
                tx.blocking_send(Ok(i)).unwrap();
            }
            panic!("row {} broke the reader", 3);
        });
        let mut got = Vec::new();
        while let Some(m) = rx.recv().await {
            got.push(m);
        }
        assert_eq!(
            got,
            [Ok(0), Ok(1), Err("row 3 broke the reader".to_owned())]
        );
    }

    /// The task copying the S3 stream panicked after two pieces (its sender dropped): the read
    /// fails. Before, a closed channel read as the end, and a file cut short was taken whole.
    #[test]
    fn a_stream_that_stops_without_its_end_is_an_error_not_a_short_file() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Piece::Bytes(b"email,name\n".to_vec())).unwrap();
        tx.try_send(Piece::Bytes(b"a@b.co,Kim\n".to_vec())).unwrap();
        drop(tx);
        let mut out = Vec::new();
        let err = ChannelReader::fed_by(rx).read_to_end(&mut out).unwrap_err();
        assert!(err.to_string().contains("before its end"), "{err}");
        assert_eq!(out, b"email,name\na@b.co,Kim\n");
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Piece::Bytes(b"x".to_vec())).unwrap();
        tx.try_send(Piece::End).unwrap();
        drop(tx);
        let mut out = Vec::new();
        ChannelReader::fed_by(rx).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"x");
    }

    /// The object's bytes stop coming (a connection reset) at the start or after two rows: the
    /// read ends with `Unreadable` — retried by ingest — never as a malformed or mis-encoded file
    /// (a failed batch that blamed the spreadsheet).
    #[tokio::test]
    async fn a_stream_that_fails_is_unreadable_not_a_bad_file() {
        for before in [&b""[..], b"email,name\na@b.co,Kim\nc@d.co,Lee\n"] {
            let (ptx, prx) = mpsc::channel(4);
            if !before.is_empty() {
                ptx.try_send(Piece::Bytes(before.to_vec())).unwrap();
            }
            ptx.try_send(Piece::Failed("connection reset by peer".into()))
                .unwrap();
            let (tx, mut rx) = mpsc::channel(16);
            let reader = ChannelReader::fed_by(prx);
            tokio::task::spawn_blocking(move || {
                read_rows(reader, &tx, (Zone::default(), chrono::Utc::now()));
            })
            .await
            .unwrap();
            let mut last = None;
            while let Some(m) = rx.recv().await {
                last = Some(m);
            }
            match last {
                Some(Scanned::Failed(FileError::Unreadable(e))) => {
                    assert!(e.contains("connection reset"), "{e}");
                }
                Some(Scanned::Failed(e)) => panic!("{} bytes before: {e:?}", before.len()),
                _ => panic!("{} bytes before: no failure", before.len()),
            }
        }
    }

    #[tokio::test]
    async fn a_reader_that_finishes_sends_nothing_more() {
        let (tx, mut rx) = mpsc::channel::<Result<u8, String>>(1);
        spawn_reader(tx, Err, |tx| tx.blocking_send(Ok(7)).unwrap());
        assert_eq!(rx.recv().await, Some(Ok(7)));
        assert_eq!(rx.recv().await, None);
    }
}
