//! Opening a CSV stream: encoding, delimiter, header; then data records with spreadsheet row
//! numbers (the header is row 1), blank rows skipped, structural limits enforced.

use super::{
    decode::{sniff, DecodingReader, SourceEncoding},
    rows::{check_shape, is_blank},
    Columns, FileError, MAX_FIELD_CHARS, MAX_RECORD_BYTES, MAX_ROWS,
};
use std::io::{Chain, Cursor, Read};

const SNIFF_BYTES: usize = 64 * 1024;

type Inner<R> = Metered<DecodingReader<Chain<Cursor<Vec<u8>>, R>>>;

/// The decoded text on its way to the CSV parser, counted since the last record ended: past
/// [`MAX_RECORD_BYTES`] (plus the parser's 8 KiB buffer) a read fails, so the record being
/// parsed is never held longer than that.
struct Metered<R> {
    inner: R,
    since_record: usize,
}

/// The error a [`Metered`] read fails with; [`csv_error`] turns it into `RecordTooLong`.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a record longer than {MAX_RECORD_BYTES} bytes")
    }
}

impl std::error::Error for RecordTooLong {}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.since_record > MAX_RECORD_BYTES {
            return Err(std::io::Error::other(RecordTooLong));
        }
        let n = self.inner.read(buf)?;
        self.since_record += n;
        Ok(n)
    }
}

/// A record was read whole: the next one is counted from here.
fn record_ended<R: Read>(reader: &mut csv::Reader<Metered<R>>) {
    reader.get_mut().since_record = 0;
}

pub struct CsvFile<R: Read> {
    reader: csv::Reader<Inner<R>>,
    pub columns: Columns,
    pub encoding: SourceEncoding,
    pub delimiter: u8,
    /// Spreadsheet row number of the last record read (header = 1).
    row: u64,
    data_rows: u64,
    record: csv::StringRecord,
}

/// The delimiter that splits the header line into the most cells (outside quotes).
fn detect_delimiter(first_line: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for c in first_line.bytes() {
        if c == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in &mut counts {
                if c == *d {
                    *n += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map(|(d, _)| *d)
        .unwrap_or(b',')
}

fn csv_error(e: csv::Error, row: u64) -> FileError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        if let Some(unreadable) = super::read_failed(io) {
            return unreadable;
        }
    }
    match e.kind() {
        csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|e| e.is::<RecordTooLong>()) => {
            FileError::RecordTooLong { row }
        }
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            FileError::Encoding(io.to_string())
        }
        _ => FileError::Malformed {
            row,
            message: e.to_string(),
        },
    }
}

pub fn open<R: Read>(mut source: R) -> Result<CsvFile<R>, FileError> {
    let head = read_head(&mut source)?;
    if head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError::Empty);
    }
    let encoding = sniff(&head)?;
    let (delimiter, hinted) = delimiter_of(&head, encoding);
    let decoded = Metered {
        inner: DecodingReader::new(Cursor::new(head).chain(source), encoding),
        since_record: 0,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(decoded);
    let mut record = csv::StringRecord::new();
    let (headers, row) = read_header(&mut reader, &mut record, hinted)?;
    if headers.len() > super::MAX_COLUMNS {
        return Err(FileError::TooManyColumns {
            row,
            cells: headers.len(),
        });
    }
    // Header cells are held (and unknown ones reported) like data cells: the same length limit.
    if let Some((i, chars)) = headers
        .iter()
        .map(|h| h.chars().count())
        .enumerate()
        .find(|(_, chars)| *chars > MAX_FIELD_CHARS)
    {
        return Err(FileError::FieldTooLong {
            row,
            column: format!("#{}", i + 1),
            chars,
        });
    }
    let columns = Columns::map(&headers)?;
    Ok(CsvFile {
        reader,
        columns,
        encoding,
        delimiter,
        row,
        data_rows: 0,
        record,
    })
}

/// The first [`SNIFF_BYTES`] of the source (fewer if it is shorter).
fn read_head(source: &mut impl Read) -> Result<Vec<u8>, FileError> {
    let mut head = vec![0u8; SNIFF_BYTES];
    let mut filled = 0;
    while filled < head.len() {
        let n = source
            .read(&mut head[filled..])
            .map_err(|e| super::read_failed(&e).unwrap_or(FileError::Encoding(e.to_string())))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    Ok(head)
}

/// The delimiter, read from the first non-blank line of the decoded head, and whether that line
/// is Excel's `sep=;` hint naming it (else it is detected).
fn delimiter_of(head: &[u8], encoding: SourceEncoding) -> (u8, bool) {
    let mut preview = String::new();
    let _ = DecodingReader::new(Cursor::new(head.to_vec()), encoding)
        .take(16 * 1024)
        .read_to_string(&mut preview);
    let first_line = preview
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    // Excel writes (and honours) a first line `sep=;` naming the delimiter.
    let hinted = first_line
        .trim()
        .strip_prefix("sep=")
        .filter(|d| d.len() == 1)
        .and_then(|d| d.bytes().next());
    match hinted {
        Some(d) => (d, true),
        None => (detect_delimiter(first_line), false),
    }
}

/// The header: the first record that is neither blank nor the `sep=` hint line, with its
/// spreadsheet row number.
fn read_header(
    reader: &mut csv::Reader<Metered<impl Read>>,
    record: &mut csv::StringRecord,
    hinted: bool,
) -> Result<(Vec<String>, u64), FileError> {
    let mut row = 0;
    loop {
        match reader.read_record(record) {
            Ok(false) => return Err(FileError::Empty),
            Ok(true) => {
                record_ended(reader);
                // The hint line itself (split by its own delimiter: `sep=` and an empty cell).
                // Excel reads it as a setting and shows no row for it, so it is not counted.
                let sep_hint = hinted
                    && row == 0
                    && record.get(0).is_some_and(|c| c.trim().starts_with("sep="))
                    && record.iter().skip(1).all(|c| c.trim().is_empty());
                if sep_hint {
                    continue;
                }
                row += 1;
                if !is_blank(record) {
                    return Ok((record.iter().map(str::to_owned).collect(), row));
                }
            }
            Err(e) => return Err(csv_error(e, row + 1)),
        }
    }
}

impl<R: Read> CsvFile<R> {
    /// The next non-blank data record with its spreadsheet row number; `Ok(None)` at the end
    /// (`HeaderOnly` if there was no data row at all).
    pub fn next_record(&mut self) -> Result<Option<(u64, &csv::StringRecord)>, FileError> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => {
                    return if self.data_rows == 0 {
                        Err(FileError::HeaderOnly)
                    } else {
                        Ok(None)
                    }
                }
                Ok(true) => {
                    self.row += 1;
                    record_ended(&mut self.reader);
                    if is_blank(&self.record) {
                        continue;
                    }
                    self.data_rows += 1;
                    if self.data_rows > MAX_ROWS {
                        return Err(FileError::TooManyRows);
                    }
                    check_shape(&self.record, &self.columns, self.row)?;
                    return Ok(Some((self.row, &self.record)));
                }
                Err(e) => return Err(csv_error(e, self.row + 1)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Result<Vec<(u64, Vec<String>)>, FileError> {
        let mut f = open(bytes)?;
        let mut out = vec![];
        while let Some((row, r)) = f.next_record()? {
            out.push((row, r.iter().map(str::to_owned).collect()));
        }
        Ok(out)
    }

    #[test]
    fn delimiters_quotes_newlines_and_blank_rows() {
        let semi = "email;name\r\na@b.co;\"Kim; Minsu\"\r\n\r\n;\r\n";
        assert_eq!(
            all(semi.as_bytes()).unwrap(),
            vec![(2, vec!["a@b.co".into(), "Kim; Minsu".into()])]
        );
        let tab = "name\temail\n\"Lee \"\"JJ\"\"\nJun\"\tj@x.kr\n";
        let rows = all(tab.as_bytes()).unwrap();
        assert_eq!(rows[0].1[0], "Lee \"JJ\"\nJun");
        let after_multiline = "name,email\n\"a\nb\",a@b.co\nc,c@d.co\n";
        assert_eq!(
            all(after_multiline.as_bytes()).unwrap()[1].0,
            3,
            "spreadsheet row numbers count records, not lines"
        );
    }

    #[test]
    fn excel_sep_hint_line() {
        let f = "sep=;\r\nemail;name\r\na@b.co;Kim, Minsu\r\n";
        assert_eq!(
            all(f.as_bytes()).unwrap(),
            vec![(2, vec!["a@b.co".into(), "Kim, Minsu".into()])],
            "Excel shows no row for the hint: the header is row 1"
        );
    }

    #[test]
    fn file_level_failures() {
        assert_eq!(all(b"").unwrap_err(), FileError::Empty);
        assert_eq!(all(b"\n\n  \n").unwrap_err(), FileError::Empty);
        assert_eq!(all(b"email,name\n").unwrap_err(), FileError::HeaderOnly);
        assert_eq!(all(b"email,name\n,\n").unwrap_err(), FileError::HeaderOnly);
        assert!(matches!(
            all(b"phone,name\n1,a\n").unwrap_err(),
            FileError::MissingColumn("email", _)
        ));
        let wide = format!("email,name\n{}\n", vec!["x"; 10_000].join(","));
        assert!(matches!(
            all(wide.as_bytes()).unwrap_err(),
            FileError::TooManyColumns { row: 2, .. }
        ));
    }
}
