//! Reading the CSV files spreadsheets really export: encodings, delimiters, header aliases, row
//! checks, and the error report. Pure (no I/O beyond `std::io::Read`).

pub mod columns;
pub mod decode;
pub mod file;
pub mod report;
pub mod rows;

#[cfg(test)]
mod proptests;

pub use columns::{Column, Columns};
pub use decode::{DecodingReader, SourceEncoding};
pub use rows::{RowError, ValidRow};

/// Largest accepted upload.
pub const MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;
/// More cells than this in any row fails the file.
pub const MAX_COLUMNS: usize = 100;
/// A longer cell fails the file (the longest field, `narrative`, allows 10,000 characters).
pub const MAX_FIELD_CHARS: usize = 10_000;
/// More data rows than this fails the file.
pub const MAX_ROWS: u64 = 1_000_000;
/// A record (one row, line breaks in quoted cells included) whose decoded text passes this fails
/// the file while it is being read, so no input is held whole in memory (an open quote, a file
/// without line ends). Within the limits above a row is at most 100 cells of 10,000 characters of
/// at most 4 bytes (4,000,301 bytes with quotes, delimiters and CRLF): no valid row is refused.
pub const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;

/// Why a whole file is refused. Nothing is issued from such a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file was replaced after it was checked; nothing more is issued from it. Upload the new file as a new batch")]
    Replaced,
    #[error("the file has a header row but no data rows")]
    HeaderOnly,
    #[error("the file is larger than 50 MB ({0} bytes); split it into several files")]
    TooLarge(u64),
    #[error("this does not look like a CSV file (it contains binary data); in Excel use File → Save As → CSV")]
    Binary,
    #[error("the file's text encoding could not be read: {0}. Save it as \"CSV UTF-8\" (or CSV in Korean Excel)")]
    Encoding(String),
    #[error("required column `{0}` is missing (accepted headers: {1})")]
    MissingColumn(&'static str, &'static str),
    #[error("columns {0} and {1} both mean `{2}`; keep only one")]
    DuplicateColumn(String, String, &'static str),
    #[error("row {row} has {cells} cells; at most {MAX_COLUMNS} are allowed")]
    TooManyColumns { row: u64, cells: usize },
    #[error("row {row}, column {column}: a cell of {chars} characters; at most {MAX_FIELD_CHARS} are allowed")]
    FieldTooLong {
        row: u64,
        column: String,
        chars: usize,
    },
    #[error("row {row} is longer than 4 MB (a quote left open, or no line ends?); a row has at most {MAX_COLUMNS} cells of at most {MAX_FIELD_CHARS} characters")]
    RecordTooLong { row: u64 },
    #[error("the file has more than {MAX_ROWS} rows; split it into several files")]
    TooManyRows,
    #[error("row {row}: the date `{value}` can only be read day first (D/M/YYYY), but row {earlier_row}'s `{earlier}` was already read month first (M/D/YYYY, as US spreadsheets write dates), so the file's dates are ambiguous; write them as YYYY-MM-DD (in Excel: Format Cells → Custom → yyyy-mm-dd) and upload the file again")]
    AmbiguousDates {
        row: u64,
        value: String,
        earlier_row: u64,
        earlier: String,
    },
    #[error("the CSV could not be parsed near row {row}: {message}")]
    Malformed { row: u64, message: String },
    /// The bytes stopped coming (a connection reset, the stream stalled): not the file's fault,
    /// and worth reading again.
    #[error("the file could not be read to its end ({0}); it is read again")]
    Unreadable(String),
}

/// What a reader of the upload answers when the object's bytes stop coming: an I/O failure, not
/// something in the file ([`FileError::Unreadable`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadFailed(pub String);

/// The read failure inside `e`, if that is what it is.
pub(crate) fn read_failed(e: &std::io::Error) -> Option<FileError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<ReadFailed>())
        .map(|r| FileError::Unreadable(r.0.clone()))
}
