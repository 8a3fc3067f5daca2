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

/// Something about a file the admin should know that refuses nothing (a column not read, a
/// title row passed over, rows skipped), in English and Korean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub en: String,
    pub ko: String,
}

impl Warning {
    pub fn new(en: impl Into<String>, ko: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            ko: ko.into(),
        }
    }
}

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
    /// Bytes past the file's start that are not text in the encoding it began in.
    #[error("row {row}: the text is {detail}: part of the file is in another encoding (text pasted in from elsewhere?); save it again as \"CSV UTF-8\" and upload it")]
    BrokenText { row: u64, detail: String },
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

impl FileError {
    /// The refusal in English and Korean (a batch's `failure_reason` and `failure_reason_ko`).
    pub fn invalid(&self) -> crate::domain::Invalid {
        crate::domain::Invalid::new(self.to_string()).ko(self.korean())
    }

    fn korean(&self) -> String {
        match self {
            Self::Empty => "파일이 비어 있습니다.".into(),
            Self::Replaced => "확인한 뒤 파일이 바뀌어 더는 발급하지 않습니다. 새 파일은 새 일괄 발급으로 올리세요.".into(),
            Self::HeaderOnly => "머리글 행만 있고 데이터 행이 없습니다.".into(),
            Self::TooLarge(n) => format!("파일이 50 MB보다 큽니다 ({n}바이트). 여러 파일로 나누세요."),
            Self::Binary => "CSV 파일이 아닌 것 같습니다 (이진 데이터가 있습니다). 엑셀에서 파일 → 다른 이름으로 저장 → CSV를 쓰세요.".into(),
            Self::Encoding(e) => format!("파일의 문자 인코딩을 읽을 수 없습니다: {e}. \"CSV UTF-8\"(또는 한국어 엑셀의 CSV)로 저장하세요."),
            Self::BrokenText { row, detail } => format!("{row}행: 텍스트가 {detail}입니다. 파일 일부가 다른 문자 인코딩입니다 (다른 곳에서 붙여 넣은 내용?). \"CSV UTF-8\"로 다시 저장해 올리세요."),
            Self::MissingColumn(c, accepted) => format!("필수 열 `{c}`이(가) 없습니다 (쓸 수 있는 머리글: {accepted})."),
            Self::DuplicateColumn(a, b, c) => format!("{a} 열과 {b} 열이 모두 `{c}`입니다. 하나만 남기세요."),
            Self::TooManyColumns { row, cells } => format!("{row}행에 셀이 {cells}개 있습니다. 최대 {MAX_COLUMNS}개까지입니다."),
            Self::FieldTooLong { row, column, chars } => format!("{row}행 {column} 열의 셀이 {chars}자입니다. 최대 {MAX_FIELD_CHARS}자까지입니다."),
            Self::RecordTooLong { row } => format!("{row}행이 4 MB보다 깁니다 (닫히지 않은 따옴표나 줄바꿈 없는 파일?). 한 행은 최대 {MAX_COLUMNS}개 셀, 셀당 {MAX_FIELD_CHARS}자입니다."),
            Self::TooManyRows => format!("행이 {MAX_ROWS}개보다 많습니다. 여러 파일로 나누세요."),
            Self::AmbiguousDates { row, value, earlier_row, earlier } => format!("{row}행의 날짜 `{value}`는 일/월/연 순서로만 읽히는데, {earlier_row}행의 `{earlier}`는 이미 월/일/연 순서로 읽혀 파일의 날짜를 확정할 수 없습니다. 날짜를 YYYY-MM-DD로 적고(엑셀: 셀 서식 → 사용자 지정 → yyyy-mm-dd) 다시 올리세요."),
            Self::Malformed { row, message } => format!("{row}행 근처에서 CSV를 읽을 수 없습니다: {message}"),
            Self::Unreadable(e) => format!("파일을 끝까지 읽지 못했습니다 ({e}). 다시 읽습니다."),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::FileError;

    /// Every refusal of a whole file says it in Korean too, with the same particulars.
    #[test]
    fn every_file_error_has_its_korean() {
        let all = [
            FileError::Empty,
            FileError::Replaced,
            FileError::HeaderOnly,
            FileError::TooLarge(60_000_000),
            FileError::Binary,
            FileError::Encoding("bad byte 0x80".into()),
            FileError::BrokenText {
                row: 7,
                detail: "not valid UTF-8 near byte 0x80".into(),
            },
            FileError::MissingColumn("email", "email, 이메일"),
            FileError::DuplicateColumn("`email`".into(), "`이메일`".into(), "email"),
            FileError::TooManyColumns { row: 7, cells: 120 },
            FileError::FieldTooLong {
                row: 7,
                column: "narrative".into(),
                chars: 12_000,
            },
            FileError::RecordTooLong { row: 7 },
            FileError::TooManyRows,
            FileError::AmbiguousDates {
                row: 9,
                value: "13/3/2026".into(),
                earlier_row: 7,
                earlier: "3/1/2026".into(),
            },
            FileError::Malformed {
                row: 7,
                message: "found record with 3 fields".into(),
            },
            FileError::Unreadable("connection reset".into()),
        ];
        for e in all {
            let i = e.invalid();
            let ko = i.korean().unwrap();
            assert!(
                ko.chars().any(|c| ('가'..='힣').contains(&c)),
                "{e:?}: {ko}"
            );
            assert_eq!(i.0, e.to_string());
            for particular in [
                "60000000",
                "0x80",
                "이메일",
                "12000",
                "13/3/2026",
                "3 fields",
                "reset",
            ] {
                if i.0.contains(particular) {
                    assert!(ko.contains(particular), "{e:?}: {ko}");
                }
            }
            if i.0.contains("row 7") {
                assert!(ko.contains("7행"), "{e:?}: {ko}");
            }
        }
    }
}
