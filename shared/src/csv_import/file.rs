//! Opening a CSV stream: encoding, delimiter, header; then data records with spreadsheet row
//! numbers (the header is row 1), blank rows skipped, structural limits enforced.

use super::{
    decode::{sniff, DecodingReader, SourceEncoding},
    rows::{check_shape, is_blank, may_hold_swallowed_rows, width_used, MAX_CELLS},
    Column, Columns, FileError, Warning, MAX_FIELD_CHARS, MAX_RECORD_BYTES, MAX_ROWS,
};
use crate::domain::time::{order_hint, DateOrder, OrderHint};
use std::io::{Chain, Cursor, Read};

const SNIFF_BYTES: usize = 64 * 1024;

type Inner<R> = Metered<DecodingReader<Chain<Cursor<Vec<u8>>, R>>>;

/// The decoded text on its way to the CSV parser, counted since the last record ended: past
/// [`MAX_RECORD_BYTES`] (plus the parser's 8 KiB buffer) a read fails, so the record being
/// parsed is never held longer than that. It also follows the quoting: the CSV parser ends a
/// file inside a quoted cell without an error, the rest of the file read into that cell (every
/// row after a stray `"` lost, and their addresses published in one badge's narrative), so
/// such an end fails the read.
struct Metered<R> {
    inner: R,
    since_record: usize,
    quoting: Quoting,
    delimiter: u8,
    rows: RowStarts,
}

/// The spreadsheet row each record of the text starts on, found as the text goes by (ahead of
/// the parser, in order). A line end outside quotes ends a row — CRLF one, CR alone or LF alone
/// one each, as the `csv` crate reads them — and a row with nothing on it is a row a spreadsheet
/// shows but the parser skips without a record. Counting the parser's records would number every
/// row after an empty line one too low; its line count moves differently for LF, CRLF and CR
/// files and for a last line without its end.
#[derive(Debug, Default)]
struct RowStarts {
    /// Rows ended so far.
    ended: u64,
    /// The current row has a record.
    in_row: bool,
    /// The last byte was a CR that ended a row (a LF after it is the same line end).
    after_cr: bool,
    /// Bytes seen: the `csv` crate drops a byte order mark at the very start (a second one,
    /// the decoder having dropped the first), so this does too.
    seen: u64,
    starts: std::collections::VecDeque<u64>,
}

impl RowStarts {
    /// The spreadsheet row of the last byte seen (the next row's, after a line end).
    fn current(&self) -> u64 {
        self.ended + 1
    }

    /// Byte `b` of the text, `quoted` when it is inside a quoted cell.
    fn see(&mut self, b: u8, quoted: bool) {
        self.seen += 1;
        if self.seen <= 3
            && !self.in_row
            && self.ended == 0
            && b == [0xEF, 0xBB, 0xBF][self.seen as usize - 1]
        {
            return;
        }
        if (b == b'\n' || b == b'\r') && !quoted {
            if !(b == b'\n' && self.after_cr) {
                self.ended += 1;
                self.in_row = false;
            }
            self.after_cr = b == b'\r';
            return;
        }
        self.after_cr = false;
        if !self.in_row {
            self.in_row = true;
            self.starts.push_back(self.ended + 1);
        }
    }
}

/// Where the text read so far stands in the quoting the `csv` crate reads (RFC 4180): a `"`
/// that begins a cell opens it, `""` inside is a quote, a `"` not followed by another closes it.
/// A `"` elsewhere in a cell is text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    CellStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl Quoting {
    fn after(self, b: u8, delimiter: u8) -> Self {
        let ends_cell = b == delimiter || b == b'\n' || b == b'\r';
        match self {
            Quoting::Quoted if b == b'"' => Quoting::QuoteInQuoted,
            Quoting::Quoted => Quoting::Quoted,
            Quoting::QuoteInQuoted if b == b'"' => Quoting::Quoted,
            Quoting::CellStart if b == b'"' => Quoting::Quoted,
            _ if ends_cell => Quoting::CellStart,
            _ => Quoting::Unquoted,
        }
    }
}

/// The error a [`Metered`] read fails with at the end of a file that ends inside a quoted cell.
#[derive(Debug)]
struct QuoteNeverClosed;

impl std::fmt::Display for QuoteNeverClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a quote (\") that begins a cell in this row is never closed, so the rest of the file would be read into that one cell; close the quote or remove it")
    }
}

impl std::error::Error for QuoteNeverClosed {}

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
        let n = self.inner.read(buf).map_err(|e| {
            if e.kind() != std::io::ErrorKind::InvalidData {
                return e;
            }
            // Text that stops decoding: every good byte before it has gone by, so the row it
            // is in is the last one started.
            let at = BrokenText {
                row: self.rows.current(),
                detail: e.to_string(),
            };
            std::io::Error::new(std::io::ErrorKind::InvalidData, at)
        })?;
        if n == 0 && !buf.is_empty() && self.quoting == Quoting::Quoted {
            return Err(std::io::Error::other(QuoteNeverClosed));
        }
        self.since_record += n;
        for &b in &buf[..n] {
            self.rows.see(b, self.quoting == Quoting::Quoted);
            self.quoting = self.quoting.after(b, self.delimiter);
        }
        Ok(n)
    }
}

/// Characters that show as nothing, pasted into cells from web pages and chats: zero-width
/// space, word joiner, byte order mark, left-to-right and right-to-left marks, soft hyphen. Left
/// in, a cell that shows `kim@x.kr` is not that address, and a header that shows `email` is not
/// that column.
const INVISIBLE: [char; 6] = [
    '\u{200B}', '\u{2060}', '\u{FEFF}', '\u{200E}', '\u{200F}', '\u{00AD}',
];

fn without_invisible(record: &mut csv::StringRecord) {
    // Each of them starts with one of these bytes (Hangul, `EA`–`ED`, never does): most cells
    // are passed over without a character search.
    let may_hold = |c: &str| c.bytes().any(|b| matches!(b, 0xC2 | 0xE2 | 0xEF));
    if record.iter().any(|c| may_hold(c) && c.contains(INVISIBLE)) {
        *record = record.iter().map(|c| c.replace(INVISIBLE, "")).collect();
    }
}

/// The spreadsheet row the record being read starts on (`after`, the row before, + 1 should
/// the count run dry): where a read that fails mid-record failed.
fn upcoming_row<R: Read>(reader: &mut csv::Reader<Metered<R>>, after: u64) -> u64 {
    reader
        .get_mut()
        .rows
        .starts
        .front()
        .copied()
        .unwrap_or(after + 1)
}

/// A record was read whole: the next one is counted from here. Answers the spreadsheet row it
/// started on (`after`, the row before, + 1 should the count ever run dry).
fn record_ended<R: Read>(reader: &mut csv::Reader<Metered<R>>, after: u64) -> u64 {
    let metered = reader.get_mut();
    metered.since_record = 0;
    metered.rows.starts.pop_front().unwrap_or(after + 1)
}

pub struct CsvFile<R: Read> {
    reader: csv::Reader<Inner<R>>,
    pub columns: Columns,
    pub encoding: SourceEncoding,
    pub delimiter: u8,
    /// Spreadsheet row number of the last record read (header = 1).
    row: u64,
    /// Rows of the text not shown by a spreadsheet: Excel's `sep=` line.
    hidden: u64,
    data_rows: u64,
    /// Rows skipped because they name nobody though some cell is filled.
    skipped: Skipped,
    record: csv::StringRecord,
    dates: DateReading,
}

/// Rows filled only in columns not about a person (a date, template or cohort filled down past
/// the last learner, a pre-numbered `연번`): how many, and the first few row numbers.
#[derive(Debug, Clone, Default)]
struct Skipped {
    count: u64,
    first: Vec<u64>,
}

/// How many skipped rows a warning names by number.
const SKIPPED_SHOWN: usize = 10;

/// How the file's year-last dates with slashes are read (`3/1/2026`: 1 March month first,
/// 3 January day first). The first date that reads one way only decides (`13/3/2026`: day
/// first), looked for in the file's head before any row is read and then row by row; without
/// one, month first. A file whose first such date comes after a date that read either way is
/// refused: that earlier date may have been read the wrong way. Decided from the file's own
/// bytes in order, so every read of a file (checking, issuing, a resumed run) reads it alike.
#[derive(Debug, Clone, Default)]
struct DateReading {
    order: DateOrder,
    decided: bool,
    /// The first date that read either way while the order was not decided: row and cell.
    either: Option<(u64, String)>,
}

impl DateReading {
    /// Decided by the head's dates when they read one way only, all the same way.
    fn from_head(hints: impl Iterator<Item = OrderHint>) -> Self {
        let only: Vec<DateOrder> = hints
            .filter_map(|h| match h {
                OrderHint::Only(o) => Some(o),
                _ => None,
            })
            .collect();
        match only.first() {
            Some(&o) if only.iter().all(|x| *x == o) => Self {
                order: o,
                decided: true,
                either: None,
            },
            _ => Self::default(),
        }
    }

    /// The date cells of one row: a cell that reads one way only decides before one of the
    /// same row that reads either way is held against it.
    fn see_row(&mut self, row: u64, cells: &[&str]) -> Result<(), FileError> {
        let hints: Vec<(OrderHint, &str)> = cells.iter().map(|c| (order_hint(c), *c)).collect();
        let (only, rest): (Vec<_>, Vec<_>) = hints
            .into_iter()
            .partition(|(h, _)| matches!(h, OrderHint::Only(_)));
        for (hint, cell) in only.into_iter().chain(rest) {
            self.see(row, hint, cell)?;
        }
        Ok(())
    }

    fn see(&mut self, row: u64, hint: OrderHint, value: &str) -> Result<(), FileError> {
        match hint {
            OrderHint::Either if !self.decided && self.either.is_none() => {
                self.either = Some((row, value.trim().to_owned()));
            }
            OrderHint::Only(o) if !self.decided => {
                if let Some((earlier_row, earlier)) = self.either.take().filter(|_| o != self.order)
                {
                    return Err(FileError::AmbiguousDates {
                        row,
                        value: value.trim().to_owned(),
                        earlier_row,
                        earlier,
                    });
                }
                self.order = o;
                self.decided = true;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The date cells of `record` (issued and expiry dates).
fn date_cells<'r>(
    columns: &'r Columns,
    record: &'r csv::StringRecord,
) -> impl Iterator<Item = &'r str> + 'r {
    [Column::IssuedOn, Column::ExpiresOn]
        .into_iter()
        .filter(|c| columns.has(*c))
        .map(move |c| columns.get(record, c))
}

/// The date order the data records in the decoded head of the file show, read as the rows will
/// be: past the `skip` records before the first data row (the `sep=` line, titles, the header),
/// invisible characters taken out (a record cut by the head's end shows none).
fn head_dates(
    head: &[u8],
    (encoding, delimiter): (SourceEncoding, u8),
    columns: &Columns,
    skip: u64,
) -> DateReading {
    let mut text = Vec::new();
    let _ = DecodingReader::new(Cursor::new(head), encoding).read_to_end(&mut text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(&text[..]);
    let mut records: Vec<csv::StringRecord> = reader
        .records()
        .map_while(Result::ok)
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .collect();
    records.iter_mut().for_each(without_invisible);
    DateReading::from_head(
        records
            .iter()
            .flat_map(|r| date_cells(columns, r))
            .map(order_hint),
    )
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

/// Bytes that are not text in the file's encoding, and the row (counted with hidden lines) they
/// are in.
#[derive(Debug, thiserror::Error)]
#[error("{detail} (row {row})")]
struct BrokenText {
    row: u64,
    detail: String,
}

/// What a `csv` error means for the file: `row`, the row the parser was at; `hidden`, lines of
/// the text a spreadsheet does not show as rows (a `sep=` line).
fn csv_error(e: csv::Error, row: u64, hidden: u64) -> FileError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        if let Some(unreadable) = super::read_failed(io) {
            return unreadable;
        }
    }
    match e.kind() {
        csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|e| e.is::<RecordTooLong>()) => {
            FileError::RecordTooLong { row }
        }
        csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|e| e.is::<QuoteNeverClosed>()) => {
            FileError::Malformed {
                row,
                message: QuoteNeverClosed.to_string(),
            }
        }
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            match io.get_ref().and_then(|e| e.downcast_ref::<BrokenText>()) {
                Some(b) => FileError::BrokenText {
                    row: b.row.saturating_sub(hidden),
                    detail: b.detail.clone(),
                },
                None => FileError::Encoding(io.to_string()),
            }
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
    let head_copy = head.clone();
    let decoded = Metered {
        inner: DecodingReader::new(Cursor::new(head).chain(source), encoding),
        since_record: 0,
        quoting: Quoting::CellStart,
        delimiter,
        rows: RowStarts::default(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(decoded);
    let mut record = csv::StringRecord::new();
    let (columns, row, hidden) = find_header(&mut reader, &mut record, hinted)?;
    let before_data = reader.position().record();
    let dates = head_dates(&head_copy, (encoding, delimiter), &columns, before_data);
    Ok(CsvFile {
        reader,
        columns,
        encoding,
        delimiter,
        row,
        hidden,
        data_rows: 0,
        skipped: Skipped::default(),
        record,
        dates,
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
    // Bytes, not `read_to_string`: 16 KiB may end inside a character, and `read_to_string`
    // then gives nothing at all (a tab-separated Korean file was read as comma-separated).
    let mut bytes = Vec::new();
    let _ = DecodingReader::new(Cursor::new(head.to_vec()), encoding)
        .take(16 * 1024)
        .read_to_end(&mut bytes);
    let preview = String::from_utf8_lossy(&bytes);
    let mut lines = preview
        .trim_start_matches('\u{feff}')
        .lines()
        .filter(|l| !l.trim().is_empty());
    let first_line = lines.next().unwrap_or("");
    // Excel writes (and honours) a first line `sep=;` naming the delimiter.
    // Not trimmed at its end: `sep=\t` names the tab.
    let hinted = first_line
        .trim_start()
        .strip_prefix("sep=")
        .map(|d| d.trim_end_matches([' ', '\r']))
        .filter(|d| d.len() == 1)
        .and_then(|d| d.bytes().next());
    // A title row above the header may hold no delimiter: the first line that holds one.
    let delimited = std::iter::once(first_line)
        .chain(lines.take(TITLE_ROWS as usize))
        .find(|l| l.contains([',', ';', '\t', '|']))
        .unwrap_or(first_line);
    match hinted {
        Some(d) => (d, true),
        None => (detect_delimiter(delimited), false),
    }
}

/// Rows above the header that may be a title (`2026년 1기 수료자 명단` in a merged cell), looked
/// past when they name no column the reader knows.
const TITLE_ROWS: u64 = 5;

/// The header row's columns and its spreadsheet row number. A title row above it, one whose
/// cells name no known column, is looked past (a warning says so) within the first
/// [`TITLE_ROWS`] rows; without a header there, the first row's error.
fn find_header(
    reader: &mut csv::Reader<Metered<impl Read>>,
    record: &mut csv::StringRecord,
    hinted: bool,
) -> Result<(Columns, u64, u64), FileError> {
    let (mut row, mut titles, mut first_error) = (0, Vec::new(), None);
    let mut hidden = 0;
    loop {
        let (mut headers, at) = match read_header(reader, record, hinted, row, &mut hidden) {
            Ok(found) => found,
            // Past what looked like a title, the file ended: the first row's error.
            Err(FileError::Empty) => return Err(first_error.unwrap_or(FileError::Empty)),
            Err(e) => return Err(e),
        };
        row = at;
        header_limits(&headers, row)?;
        // Cells past the last named one are not columns (Excel pads rows to the used range).
        headers.truncate(width_used(headers.iter().map(String::as_str)));
        match Columns::map(&headers) {
            Ok(mut columns) => {
                if !titles.is_empty() {
                    let shown: Vec<String> = titles.iter().map(|t| format!("`{t}`")).collect();
                    let (n, shown) = (titles.len(), shown.join(", "));
                    let w = Warning::new(
                        format!("{n} row(s) above the header (row {row}) were not read: {shown}"),
                        format!("머리글 행({row}행) 위의 {n}개 행은 읽지 않았습니다: {shown}"),
                    );
                    columns.warnings.insert(0, w);
                }
                return Ok((columns, row, hidden));
            }
            Err(e) => {
                // Not a header: a title, or a cover sheet's `기수,3기` (a column's name beside
                // its value) above the real header. Past the first rows, the first row's error.
                let e = first_error.take().unwrap_or(e);
                if row >= TITLE_ROWS {
                    return Err(e);
                }
                first_error = Some(e);
                let text: Vec<&str> = headers
                    .iter()
                    .map(|h| h.trim())
                    .filter(|h| !h.is_empty())
                    .collect();
                titles.push(text.join(" ").chars().take(80).collect::<String>());
            }
        }
    }
}

/// The limits a header row is held to, like a data row's: at most 100 cells, each at most
/// 10,000 characters (unknown ones are quoted in warnings).
fn header_limits(headers: &[String], row: u64) -> Result<(), FileError> {
    let cells = if headers.len() > MAX_CELLS {
        headers.len()
    } else {
        width_used(headers.iter().map(String::as_str))
    };
    if cells > super::MAX_COLUMNS {
        return Err(FileError::TooManyColumns { row, cells });
    }
    match headers
        .iter()
        .map(|h| h.chars().count())
        .enumerate()
        .find(|(_, n)| *n > MAX_FIELD_CHARS)
    {
        Some((i, chars)) => Err(FileError::FieldTooLong {
            row,
            column: format!("#{}", i + 1),
            chars,
        }),
        None => Ok(()),
    }
}

/// The first record after spreadsheet row `row` that is neither blank nor the `sep=` hint line,
/// with its spreadsheet row number (`hidden`: rows of the text a spreadsheet does not show).
fn read_header(
    reader: &mut csv::Reader<Metered<impl Read>>,
    record: &mut csv::StringRecord,
    hinted: bool,
    mut row: u64,
    hidden: &mut u64,
) -> Result<(Vec<String>, u64), FileError> {
    loop {
        match reader.read_record(record) {
            Ok(false) => return Err(FileError::Empty),
            Ok(true) => {
                let first = reader.position().record() == 1;
                row = record_ended(reader, row + *hidden) - *hidden;
                // The hint line itself (split by its own delimiter: `sep=` and an empty cell).
                // Excel reads it as a setting and shows no row for it, so it is not counted.
                let sep_hint = hinted
                    && first
                    && record.get(0).is_some_and(|c| c.trim().starts_with("sep="))
                    && record.iter().skip(1).all(|c| c.trim().is_empty());
                if sep_hint {
                    *hidden += 1;
                    row -= 1;
                    continue;
                }
                without_invisible(record);
                if !is_blank(record) {
                    return Ok((record.iter().map(str::to_owned).collect(), row));
                }
            }
            Err(e) => {
                let at = upcoming_row(reader, row + *hidden) - *hidden;
                return Err(csv_error(e, at, *hidden));
            }
        }
    }
}

impl<R: Read> CsvFile<R> {
    fn skip(&mut self, row: u64) {
        self.skipped.count += 1;
        if self.skipped.first.len() < SKIPPED_SHOWN {
            self.skipped.first.push(row);
        }
    }

    /// The warning for rows read so far that were skipped as naming nobody, if any: the admin
    /// sees that a row with only a date or a cohort held no badge, rather than a count that
    /// silently falls short of the sheet's.
    pub fn skipped_warning(&self) -> Option<Warning> {
        let Skipped { count, first } = &self.skipped;
        if *count == 0 {
            return None;
        }
        let rows: Vec<String> = first.iter().map(u64::to_string).collect();
        let more = if *count > first.len() as u64 {
            ", …"
        } else {
            ""
        };
        let rows = format!("{}{more}", rows.join(", "));
        Some(Warning::new(
            format!("{count} row(s) were skipped because they name nobody (no email, name, phone, narrative, evidence or external id; only other columns filled): row(s) {rows}"),
            format!("{count}개 행은 사람을 가리키지 않아 건너뛰었습니다 (이메일·이름·전화번호·설명·증빙·외부 ID가 없고 다른 열만 채워짐): {rows}행"),
        ))
    }

    /// The next non-blank data record with its spreadsheet row number and the order its
    /// year-last dates are read in; `Ok(None)` at the end (`HeaderOnly` if there was no data row
    /// at all).
    pub fn next_record(
        &mut self,
    ) -> Result<Option<(u64, &csv::StringRecord, DateOrder)>, FileError> {
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
                    self.row = record_ended(&mut self.reader, self.row + self.hidden) - self.hidden;
                    without_invisible(&mut self.record);
                    // Blank, or naming nobody (a pre-numbered `연번`, a date filled down) — unless
                    // a stray quote in it swallowed the rows below.
                    if self.columns.nothing_read(&self.record)
                        && !may_hold_swallowed_rows(&self.record)
                    {
                        if !is_blank(&self.record) {
                            self.skip(self.row);
                        }
                        continue;
                    }
                    self.data_rows += 1;
                    if self.data_rows > MAX_ROWS {
                        return Err(FileError::TooManyRows);
                    }
                    check_shape(&self.record, &self.columns, self.row)?;
                    // Once decided, no row changes the order: no date is looked at again.
                    if !self.dates.decided {
                        let cells: Vec<&str> = date_cells(&self.columns, &self.record).collect();
                        self.dates.see_row(self.row, &cells)?;
                    }
                    return Ok(Some((self.row, &self.record, self.dates.order)));
                }
                Err(e) => {
                    let at = upcoming_row(&mut self.reader, self.row + self.hidden) - self.hidden;
                    return Err(csv_error(e, at, self.hidden));
                }
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
        while let Some((row, r, _)) = f.next_record()? {
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
        for blank in [
            "email,name\na@b.co,A\n\n\nc@d.co,C\n",
            "email,name\r\na@b.co,A\r\n\r\n\r\nc@d.co,C\r\n",
        ] {
            let rows: Vec<u64> = all(blank.as_bytes()).unwrap().iter().map(|r| r.0).collect();
            assert_eq!(
                rows,
                [2, 5],
                "empty lines are rows in a spreadsheet: {blank:?}"
            );
        }
        let quoted_then_blank = "email,name\r\na@b.co,\"A\r\nB\"\r\n\r\nc@d.co,C";
        let rows: Vec<u64> = all(quoted_then_blank.as_bytes())
            .unwrap()
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(rows, [2, 4]);
        assert_eq!(
            all(after_multiline.as_bytes()).unwrap()[1].0,
            3,
            "spreadsheet row numbers count records, not lines"
        );
    }

    /// The issued dates of a file, as read with the order its reader gives each row.
    fn issued(text: &str) -> Result<Vec<String>, FileError> {
        let mut f = open(text.as_bytes())?;
        let cols = f.columns.clone();
        let mut out = vec![];
        while let Some((row, r, order)) = f.next_record()? {
            let v = super::super::rows::validate(
                r,
                &cols,
                row,
                (Default::default(), chrono::Utc::now()),
                order,
            );
            out.push(match v {
                Ok(v) => v
                    .issued_on
                    .map(|t| t.to_rfc3339()[..10].to_owned())
                    .unwrap_or_default(),
                Err(e) => format!("error: {}", e[0].message),
            });
        }
        Ok(out)
    }

    /// A UK export (day first) is read day first when a date that reads one way only is in the
    /// file's head, even after dates that read either way; a US one month first; a file of
    /// dates that all read either way month first.
    #[test]
    fn year_last_dates_are_read_in_the_files_order() {
        let uk = "email,name,issued_on\na@b.co,A,02/03/2026\nb@b.co,B,25/12/2025\n";
        // Seoul's midnight of 2 March is 1 March in UTC.
        assert_eq!(issued(uk).unwrap(), ["2026-03-01", "2025-12-24"]);
        let us = "email,name,issued_on\na@b.co,A,03/02/2026\nb@b.co,B,12/25/2025\n";
        assert_eq!(issued(us).unwrap(), ["2026-03-01", "2025-12-24"]);
        let either = "email,name,issued_on\na@b.co,A,03/02/2026\n";
        assert_eq!(issued(either).unwrap(), ["2026-03-01"]);
        let expiry = "email,name,issued_on,expires_on\na@b.co,A,02/03/2026,31/12/2026\n";
        assert_eq!(issued(expiry).unwrap(), ["2026-03-01"]);
        // Both orders in the head: a mixed file, read month first; the day-first row is refused
        // by name.
        let mixed = "email,name,issued_on\na@b.co,A,12/25/2025\nb@b.co,B,25/12/2025\n";
        let got = issued(mixed).unwrap();
        assert_eq!(got[0], "2025-12-24");
        assert!(got[1].contains("read as M/D/YYYY"), "{}", got[1]);
    }

    /// A day-first date past the head, after a date that read either way (taken month first):
    /// the file is refused, naming both rows, before anything is issued from it.
    #[test]
    fn a_day_first_date_after_ambiguous_ones_refuses_the_file() {
        let mut f = String::from("email,name,issued_on\na@b.co,A,02/03/2026\n");
        let filler = format!("b@b.co,{},2026-01-01\n", "x".repeat(100));
        while f.len() < SNIFF_BYTES + 1_000 {
            f.push_str(&filler);
        }
        let rows = f.lines().count() as u64;
        f.push_str("c@b.co,C,25/12/2025\n");
        assert_eq!(
            all(f.as_bytes()).unwrap_err(),
            FileError::AmbiguousDates {
                row: rows + 1,
                value: "25/12/2025".into(),
                earlier_row: 2,
                earlier: "02/03/2026".into(),
            }
        );
        // The same late date with no ambiguous one before it decides the order there.
        let late = f.replacen("02/03/2026", "2026-03-02", 1);
        assert_eq!(issued(&late).unwrap().last().unwrap(), "2025-12-24");
    }

    /// Row numbers as a spreadsheet shows them, whatever the line ends: empty lines above the
    /// header and between a title and the header count, a last line without its end, CR-only
    /// files (old Macintosh Excel), a quoted line break inside one row.
    #[test]
    fn row_numbers_are_the_spreadsheets() {
        let rows =
            |f: &str| -> Vec<u64> { all(f.as_bytes()).unwrap().iter().map(|r| r.0).collect() };
        assert_eq!(rows("\n\nemail,name\na@b.co,A\n"), [4]);
        assert_eq!(rows("\r\n\r\nemail,name\r\na@b.co,A\r\n"), [4]);
        assert_eq!(rows("수료자 명단\n\n이메일\t이름\na@b.co\t김\n"), [4]);
        assert_eq!(rows("email,name\na@b.co,A\n\nc@d.co,C"), [2, 4]);
        assert_eq!(rows("email,name\na@b.co,A\n\nc@d.co,\"C\nD\""), [2, 4]);
        assert_eq!(rows("email,name\ra@b.co,A\r\rc@d.co,C\r"), [2, 4]);
        assert_eq!(rows("sep=,\n\nemail,name\na@b.co,A\n"), [3]);
        assert_eq!(
            rows("\u{FEFF}\u{FEFF}\nemail,name\na@b.co,A\n"),
            [3],
            "a second byte order mark"
        );
        let never_closed = "email,name\na@b.co,A\n\n\n\"x,B\nc@d.co,C\n";
        assert!(matches!(
            all(never_closed.as_bytes()).unwrap_err(),
            FileError::Malformed { row: 5, .. }
        ));
        let file = open("t\n\n이메일,이름\na@b.co,김\n".as_bytes()).unwrap();
        assert!(
            file.columns.warnings[0].en.contains("(row 3)"),
            "{:?}",
            file.columns.warnings
        );
    }

    /// The head's dates are read as the rows are: a title cell does not decide the order, an
    /// invisible character does not hide a date that does; two dates of one row decide
    /// together.
    #[test]
    fn the_heads_dates_are_read_as_the_rows_are() {
        let title = "title,,13/03/2026\nemail,name,issued_on\na@b.co,A,03/02/2026\n";
        assert_eq!(
            issued(title).unwrap(),
            ["2026-03-01"],
            "month first: 2 March"
        );
        let hidden = "email,name,issued_on\na@b.co,A,02/03/2026\nb@b.co,B,\u{200B}25/12/2025\n";
        assert_eq!(issued(hidden).unwrap(), ["2026-03-01", "2025-12-24"]);
        let mut late = String::from("email,name,issued_on,expires_on\n");
        while late.len() < SNIFF_BYTES + 1_000 {
            late.push_str(&format!("b@b.co,{},2026-01-01,\n", "x".repeat(100)));
        }
        late.push_str("c@b.co,C,02/03/2026,31/12/2026\n");
        assert_eq!(
            issued(&late).unwrap().last().unwrap(),
            "2026-03-01",
            "2 March"
        );
    }

    /// A row of empty cells past Excel's widest sheet (16,384) is refused; the header's empty
    /// cells past its last name are not columns.
    #[test]
    fn endless_empty_cells_are_refused() {
        let wide_header = format!("email,name{}\na@b.co,A\n", ",".repeat(20_000));
        assert!(matches!(
            all(wide_header.as_bytes()).unwrap_err(),
            FileError::TooManyColumns { row: 1, .. }
        ));
        let wide_row = format!("email,name\na@b.co,A{}\n", ",".repeat(20_000));
        assert!(matches!(
            all(wide_row.as_bytes()).unwrap_err(),
            FileError::TooManyColumns { row: 2, .. }
        ));
        let padded = format!("email,name{}\na@b.co,A\n", ",".repeat(500));
        assert_eq!(open(padded.as_bytes()).unwrap().columns.width(), 2);
    }

    /// Rows filled only in columns the reader does not use (a roster's `연번` numbered down
    /// past its last learner, a checkbox column's `FALSE`) hold no badge: skipped like blank
    /// rows, not refused as "email empty" (which failed an all-or-nothing batch).
    #[test]
    fn rows_filled_only_in_unread_columns_are_skipped() {
        let f = "연번,이메일,이름,수료여부\n1,a@b.co,김민수,TRUE\n2,,,FALSE\n3,,,FALSE\n";
        assert_eq!(
            all(f.as_bytes()).unwrap(),
            vec![(
                2,
                vec![
                    "1".to_owned(),
                    "a@b.co".into(),
                    "김민수".into(),
                    "TRUE".into()
                ]
            )]
        );
        // A date, cohort or template filled down past the last learner names nobody either.
        let filled = "이메일,이름,발급일,기수\na@b.co,김민수,2026-03-02,3기\n,,2026-03-02,3기\n,,2026-03-02,\n";
        assert_eq!(all(filled.as_bytes()).unwrap().len(), 1);
        // … and the file says so, naming the rows, where a blank row goes unmentioned.
        let with_blanks = format!("{filled},,,\n\n");
        let mut file = open(with_blanks.as_bytes()).unwrap();
        while file.next_record().unwrap().is_some() {}
        let w = file.skipped_warning().unwrap();
        assert!(w.en.starts_with("2 row(s) were skipped"), "{w:?}");
        assert!(w.en.ends_with("row(s) 3, 4"), "{w:?}");
        assert!(
            w.ko.starts_with("2개 행은") && w.ko.ends_with(": 3, 4행"),
            "{w:?}"
        );
        let mut many = String::from("연번,이메일,이름\n1,a@b.co,김민수\n");
        for i in 2..=30 {
            many.push_str(&format!("{i},,\n"));
        }
        let mut file = open(many.as_bytes()).unwrap();
        while file.next_record().unwrap().is_some() {}
        let w = file.skipped_warning().unwrap().en;
        assert!(
            w.starts_with("29 row(s)") && w.ends_with("row(s) 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, …"),
            "{w}"
        );
        let mut clean = open("이메일,이름\na@b.co,Kim\n,\n".as_bytes()).unwrap();
        while clean.next_record().unwrap().is_some() {}
        assert_eq!(clean.skipped_warning(), None);
        let half = "연번,이메일,이름\n1,,김민수\n";
        assert_eq!(
            all(half.as_bytes()).unwrap().len(),
            1,
            "a row with a name is read"
        );
    }

    /// Bytes that stop being UTF-8 far into a UTF-8 file (text pasted in from a CP949 sheet)
    /// fail the file naming the row they are in as a spreadsheet numbers it — line breaks in
    /// quoted cells and a `sep=` line included — not a byte offset alone.
    #[test]
    fn text_that_stops_decoding_is_named_by_its_row() {
        let rows_before = |f: &str| {
            let mut bytes = f.as_bytes().to_vec();
            bytes.extend_from_slice(&[0xC3, 0x28]);
            bytes.extend_from_slice(b",x\nlast@example.com,Last\n");
            let mut file = open(&bytes[..]).unwrap();
            loop {
                match file.next_record() {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("read to the end"),
                    Err(e) => return e,
                }
            }
        };
        let plain = format!("email,name\n{}", "ok@example.com,OK\n".repeat(5000));
        let e = rows_before(&plain);
        assert!(
            matches!(&e, FileError::BrokenText { row: 5002, detail } if detail.contains("not valid UTF-8")),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("row 5002: the text is not valid UTF-8"),
            "{e}"
        );
        let quoted = format!(
            "sep=,\nemail,name,narrative\n{}a@x.kr,A,\"two\nlines ",
            "ok@example.com,OK,\"one\nline\"\n".repeat(4000)
        );
        let e = rows_before(&quoted);
        assert!(
            matches!(e, FileError::BrokenText { row: 4002, .. }),
            "{e:?}"
        );
    }

    /// A quote that opens a cell and is never closed: the CSV parser would end the file inside
    /// that cell (the rows after it lost, their addresses in the cell); the file is refused at
    /// the quote's row. A quoted cell closed at the very end of the file is fine.
    #[test]
    fn a_quote_never_closed_refuses_the_file() {
        let stray = "email,name,narrative\r\na@x.kr,Kim,\"Top of class\r\nb@x.kr,Lee,Done\r\nc@x.kr,Park,Done\r\n";
        match all(stray.as_bytes()).unwrap_err() {
            FileError::Malformed { row: 2, message } => {
                assert!(message.contains("never closed"), "{message}");
            }
            e => panic!("{e:?}"),
        }
        let closed = "email,name,narrative\na@x.kr,Kim,\"Top \"\"A\"\"\nof class\"";
        assert_eq!(
            all(closed.as_bytes()).unwrap()[0].1[2],
            "Top \"A\"\nof class"
        );
        let text_quote = "email,name\na@x.kr,5\" floppy\nb@x.kr,Lee\n";
        assert_eq!(all(text_quote.as_bytes()).unwrap().len(), 2);
    }

    /// A row that names nobody but whose unread remarks cell opened a quote that swallowed the
    /// learners below (`,,"2반`) is not skipped: it is read, and its check refuses it naming
    /// the stray quote, where a skip would have lost the learners with a warning that the row
    /// named nobody.
    #[test]
    fn a_row_naming_nobody_that_swallowed_rows_is_read_to_be_refused() {
        let f = "이메일,이름,비고\n,,\"2반\nb@x.kr,Lee,\nc@x.kr,Park,끝\"\nd@x.kr,Choi,\n";
        let mut file = open(f.as_bytes()).unwrap();
        let cols = file.columns.clone();
        let (row, rec, order) = file.next_record().unwrap().unwrap();
        assert_eq!(row, 2);
        let at = (crate::domain::time::Zone::default(), chrono::Utc::now());
        let errors = super::super::rows::validate(rec, &cols, row, at, order).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.column == "#3" && e.message.contains("stray quote")),
            "{errors:?}"
        );
        // (The spreadsheet shows the swallowed lines inside that cell: the next row is 3.)
        assert_eq!(file.next_record().unwrap().unwrap().0, 3);
        assert!(file.next_record().unwrap().is_none());
        assert_eq!(file.skipped_warning(), None);
    }

    /// A tab-separated Korean file whose 16,384th byte falls inside a character: its delimiter
    /// is still read from its first line (the preview was empty, the file read as commas).
    #[test]
    fn the_delimiter_of_a_file_whose_preview_ends_inside_a_character() {
        for pad in 0..3 {
            let mut f = format!("이메일\t이름\r\n{}", "x".repeat(pad));
            let mut i = 0;
            while f.len() < 20_000 {
                f.push_str(&format!("kim{i:04}@ex.kr\t김민수\r\n"));
                i += 1;
            }
            if f.is_char_boundary(16 * 1024) {
                continue;
            }
            let rows = all(f.as_bytes()).unwrap();
            assert_eq!(rows.len(), i, "pad {pad}");
            assert_eq!(rows[1].1, ["kim0001@ex.kr", "김민수"]);
            return;
        }
        panic!("no padding put byte 16,384 inside a character");
    }

    /// A title row above the header (Korean rosters: a merged cell) is looked past with a
    /// warning, whether it holds delimiters or not; a file with no header in its first rows is
    /// refused with the first row's error.
    #[test]
    fn a_title_row_above_the_header() {
        for f in [
            "2026년 1기 수료자 명단,,\r\n이메일,이름,발급일\r\na@b.co,김민수,2026-03-01\r\n",
            "수료자 명단\n\n이메일\t이름\t발급일\na@b.co\t김민수\t2026-03-01\n",
        ] {
            let file = open(f.as_bytes()).unwrap();
            assert!(
                file.columns.warnings[0].en.contains("above the header"),
                "{:?}",
                file.columns.warnings
            );
            assert!(file.columns.warnings[0].en.contains("수료자 명단"));
            assert!(file.columns.warnings[0]
                .ko
                .contains("위의 1개 행은 읽지 않았습니다"));
            let rows = all(f.as_bytes()).unwrap();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].1[1], "김민수");
        }
        let no_header = "a@b.co,Kim\nb@b.co,Lee\n";
        assert!(matches!(
            all(no_header.as_bytes()).unwrap_err(),
            FileError::MissingColumn("email", _)
        ));
        let half_header = "email,full\na@b.co,Kim\n";
        assert!(matches!(
            all(half_header.as_bytes()).unwrap_err(),
            FileError::MissingColumn("name", _)
        ));
        // A cover sheet: column names beside their values above the real header.
        let cover = "기수,3기\r\n발급일,2026-03-02\r\n\r\n이메일,이름\r\na@b.co,김민수\r\n";
        let rows = all(cover.as_bytes()).unwrap();
        assert_eq!(
            rows,
            vec![(5, vec!["a@b.co".to_owned(), "김민수".to_owned()])]
        );
    }

    /// Zero-width spaces and marks pasted into a header or a cell are taken out.
    #[test]
    fn invisible_characters_are_taken_out() {
        let f = "\u{200B}email,name\u{200E}\n\u{200B}kim@x.kr\u{2060},Kim\u{00AD}\n";
        assert_eq!(
            all(f.as_bytes()).unwrap(),
            vec![(2, vec!["kim@x.kr".to_owned(), "Kim".to_owned()])]
        );
    }

    #[test]
    fn excel_sep_hint_line() {
        let tab = "sep=\t\r\nemail\tname\r\na@b.co\tKim, Minsu\r\n";
        assert_eq!(all(tab.as_bytes()).unwrap()[0].1, ["a@b.co", "Kim, Minsu"]);
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
        let ghost = format!(
            "email,name{}\na@b.co,A{}\n",
            ",".repeat(150),
            ",".repeat(150)
        );
        assert_eq!(
            all(ghost.as_bytes()).unwrap().len(),
            1,
            "Excel's empty used range"
        );
        let wide = format!("email,name\n{}\n", vec!["x"; 10_000].join(","));
        assert!(matches!(
            all(wide.as_bytes()).unwrap_err(),
            FileError::TooManyColumns { row: 2, .. }
        ));
    }
}
