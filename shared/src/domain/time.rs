//! Dates as admins and spreadsheets write them, and time zones.

use super::{error::KO_EMPTY, Invalid};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Offset, TimeZone, Timelike, Utc, Weekday};

/// How far ahead of now an issue date may be (clocks differ by this much at most).
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// The issue time to record for `issued`, as Open Badges verifiers accept it (the 2.0 validator
/// and DCC's `validFrom` check refuse a badge issued in the future): `issued` when it is not
/// later than now (give or take [`CLOCK_SKEW`]); `now` when it is later *today* in the issuer's
/// zone (a completion date sent as UTC midnight, `2026-12-07T00:00:00Z` from Korea at 08:00 on
/// the 7th); `None` for a later day.
pub fn issue_instant(
    issued: DateTime<Utc>,
    now: DateTime<Utc>,
    zone: Zone,
) -> Option<DateTime<Utc>> {
    if issued <= now + CLOCK_SKEW {
        Some(issued)
    } else if zone.date_of(issued) == zone.date_of(now) {
        Some(now)
    } else {
        None
    }
}

/// An issue date as a CSV row's identity holds it, so that one date written two ways is one
/// award: the date and time as read, in no time zone — so neither a change of the issuer's zone
/// between two passes over a file nor a DST gap moves it — printed as the day (`2026-03-02`)
/// when there is no time of day (`2026. 3. 2.`, `3/2/2026`, `2026년 3월 2일`, `2026-03-02 00:00`),
/// else in RFC 3339 (a value written with an offset: its instant). Empty for an empty cell, or
/// one that is no date (its row is refused).
pub fn identity_text(raw: &str, order: DateOrder) -> String {
    let s = raw.trim();
    // The common `2026-03-02`, as it is: no second parse of every row's date.
    let b = s.as_bytes();
    let iso = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
        && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
    if iso {
        return s.to_owned();
    }
    match parse_instant_in(s, Zone(chrono_tz::UTC), order) {
        Ok(t) if t.time() == NaiveTime::MIN => t.date_naive().format("%Y-%m-%d").to_string(),
        Ok(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        Err(_) => String::new(),
    }
}

/// An IANA time zone name (`Asia/Seoul`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub chrono_tz::Tz);

impl Zone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        raw.trim().parse::<chrono_tz::Tz>().map(Zone).map_err(|_| {
            Invalid::new(format!(
                "`{}` is not an IANA time zone name (e.g. Asia/Seoul, America/New_York)",
                raw.trim()
            ))
            .ko("시간대 이름이 아닙니다 (예: Asia/Seoul).")
        })
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The calendar date at `t` in this zone.
    pub fn date_of(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.0).date_naive()
    }

    /// Midnight at the start of `d` in this zone, as UTC.
    pub fn start_of(&self, d: NaiveDate) -> DateTime<Utc> {
        let local = d.and_time(NaiveTime::MIN);
        match self.0.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            // A DST gap at midnight (Chile, Brazil until 2019, Iran until 2022, …): the first
            // instant that exists, i.e. midnight read with the offset in force before the gap.
            chrono::LocalResult::None => {
                let before = self
                    .0
                    .offset_from_utc_datetime(&(local - chrono::Duration::days(1)))
                    .fix();
                Utc.from_utc_datetime(&(local - before))
            }
        }
    }
}

impl Default for Zone {
    fn default() -> Self {
        Zone(chrono_tz::Asia::Seoul)
    }
}

impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Zone::parse(&s).map_err(|e| serde::de::Error::custom(e.0))
    }
}

/// How a date written with the year last and slashes or dashes is read: `3/1/2026` is 1 March
/// month first (US spreadsheets), 3 January day first (UK, Europe, Australia). Dots (`1.3.2026`)
/// are day first everywhere they are written, and year-first dates have one reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateOrder {
    #[default]
    MonthFirst,
    DayFirst,
}

impl DateOrder {
    pub fn pattern(self) -> &'static str {
        match self {
            DateOrder::MonthFirst => "M/D/YYYY",
            DateOrder::DayFirst => "D/M/YYYY",
        }
    }

    fn other(self) -> Self {
        match self {
            DateOrder::MonthFirst => DateOrder::DayFirst,
            DateOrder::DayFirst => DateOrder::MonthFirst,
        }
    }
}

/// What one written date says about the [`DateOrder`] of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderHint {
    /// Not a year-last date with slashes or dashes, or one that reads the same both ways
    /// (`3/3/2026`), or not a date at all.
    None,
    /// Reads as two different dates (`3/1/2026`).
    Either,
    /// Reads as a date one way only (`13/3/2026` is day first).
    Only(DateOrder),
}

/// A date or a date-time as people and spreadsheets write them: `2026-03-01`, `2026/3/1`,
/// `2026.03.01`, `20260301`, `2026-03-01T09:00:00+09:00`, `2026년 3월 1일`. A bare date means the
/// start of that day in `zone`. Year-last dates with slashes are read month first
/// ([`parse_instant_in`] takes the order).
pub fn parse_instant(raw: &str, zone: Zone) -> Result<DateTime<Utc>, Invalid> {
    parse_instant_in(raw, zone, DateOrder::MonthFirst)
}

/// [`parse_instant`], reading year-last dates with slashes in `order`.
pub fn parse_instant_in(raw: &str, zone: Zone, order: DateOrder) -> Result<DateTime<Utc>, Invalid> {
    let raw = super::text::half_width(raw);
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let Some((date, t)) = split_time(s) else {
        return parse_date_in(s, order).map(|d| zone.start_of(d));
    };
    match parse_date_in(&date, order) {
        Ok(d) => Ok(match zone.0.from_local_datetime(&d.and_time(t)) {
            chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => {
                x.with_timezone(&Utc)
            }
            chrono::LocalResult::None => zone.start_of(d),
        }),
        // Not a date and a time after all, or a date whose error says more than the whole's.
        Err(e) => parse_date_in(s, order)
            .map(|d| zone.start_of(d))
            .map_err(|_| e),
    }
}

/// `s` as a date and the time of day it ends with, if it ends with one: a local date-time
/// without a zone, as spreadsheets export them — `2026-03-01 09:00(:00)`, `2026-03-01T09:00`,
/// `2026-03-01 09:00:00.000`, `3/1/2026 2:30 PM`, and Korean Google Sheets' and Excel's
/// `2026. 3. 1 오후 2:30:00`.
fn split_time(s: &str) -> Option<(String, NaiveTime)> {
    let iso = |(date, _): &(&str, &str)| date.starts_with(|c: char| c.is_ascii_digit());
    if let Some((date, time)) = s.split_once('T').filter(iso) {
        // Not ISO 8601's after all when no time follows (`02-OCT-26 14:30`).
        if let Some(t) = time_of_day(time.trim(), None) {
            return Some((date.to_owned(), t));
        }
    }
    // Numbers writes `Mar 2, 2026 at 2:30 PM`.
    let words: Vec<&str> = s.split_whitespace().filter(|w| *w != "at").collect();
    let marker = |w: &str| match w.to_ascii_uppercase().as_str() {
        "AM" | "오전" => Some(false),
        "PM" | "오후" => Some(true),
        _ => None,
    };
    let n = words.len();
    let (date_words, clock, pm) = match words.as_slice() {
        [.., m, c] if c.contains(':') && marker(m).is_some() => (n - 2, *c, marker(m)),
        [.., c, m] if c.contains(':') && marker(m).is_some() => (n - 2, *c, marker(m)),
        [.., c] if c.contains(':') => (n - 1, *c, None),
        _ => return None,
    };
    let date = words[..date_words].join(" ");
    Some((date, time_of_day(clock, pm)?))
}

/// `09:30`, `9:30:00`, `09:30:00.000`; with `pm` given (a 12-hour clock), 1 to 12.
fn time_of_day(clock: &str, pm: Option<bool>) -> Option<NaiveTime> {
    let t = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
        .ok()?;
    let Some(pm) = pm else { return Some(t) };
    let hour = match t.hour() {
        0 | 13.. => return None,
        12 => {
            if pm {
                12
            } else {
                0
            }
        }
        h => {
            if pm {
                h + 12
            } else {
                h
            }
        }
    };
    t.with_hour(hour)
}

/// A calendar date; year-last dates with slashes are read month first.
pub fn parse_date(raw: &str) -> Result<NaiveDate, Invalid> {
    parse_date_in(raw, DateOrder::MonthFirst)
}

/// The forms [`parse_date_in`] reads, split into their three numbers.
enum Written {
    /// `2026-03-01`, `2026. 3. 1.`, `2026년 3월 1일`, `20260301`: year, month, day.
    YearFirst(i32, u32, u32),
    /// `01.03.2026`: day, month, year.
    Dotted(u32, u32, i32),
    /// `3/1/2026`, `3-1-2026`: two numbers whose order the file decides, then the year.
    YearLast(u32, u32, i32),
    /// Three numbers of one or two digits that no rule places: `26-03-02`, `02.03.26` (the year
    /// could be first or last).
    ShortYear,
}

/// The year a two-digit year means: this century's (a badge's dates are this century's).
const fn full_year(yy: u32) -> i32 {
    2000 + yy as i32
}

/// Whether a date that was read was written with a two-digit year (read as 20YY): no run of four
/// digits in it (full-width ones included).
pub fn two_digit_year(s: &str) -> bool {
    let mut run = 0;
    !s.chars().any(|c| {
        run = if c.is_numeric() { run + 1 } else { 0 };
        run >= 4
    })
}

/// The days of the week Monday first: the Korean syllable and the English names a long date
/// format writes (the name and its usual abbreviations).
const WEEKDAYS: [(Weekday, &str, &[&str]); 7] = [
    (Weekday::Mon, "월", &["monday", "mon"]),
    (Weekday::Tue, "화", &["tuesday", "tue", "tues"]),
    (Weekday::Wed, "수", &["wednesday", "wed"]),
    (Weekday::Thu, "목", &["thursday", "thu", "thur", "thurs"]),
    (Weekday::Fri, "금", &["friday", "fri"]),
    (Weekday::Sat, "토", &["saturday", "sat"]),
    (Weekday::Sun, "일", &["sunday", "sun"]),
];

/// `raw` without the day of the week a long date format adds (Korean Excel's `2026년 3월 2일
/// 월요일`, `2026. 3. 2. (월)`, English `Monday, March 2, 2026` / `Mon 2 Mar 2026`), and that day.
fn weekday_split(raw: &str) -> (&str, Option<Weekday>) {
    let s = raw.trim();
    if let Some((head, day)) = korean_weekday(s) {
        return (head.trim_end(), Some(day));
    }
    let (first, rest) = s.split_once([' ', ',']).unwrap_or((s, ""));
    let word = first.trim_end_matches([',', '.']);
    let named = WEEKDAYS
        .iter()
        .find(|(_, _, en)| en.iter().any(|n| n.eq_ignore_ascii_case(word)));
    match named {
        Some((day, _, _)) if !rest.is_empty() => (rest.trim_start_matches([' ', ',']), Some(*day)),
        _ => (s, None),
    }
}

/// `s` without a Korean day of the week at its end (`월요일`, `(월)`), and that day. Read
/// without allocating: every date cell of a file passes here.
fn korean_weekday(s: &str) -> Option<(&str, Weekday)> {
    let (head, bracketed) = match s.strip_suffix("요일") {
        Some(h) => (h, false),
        None => (s.strip_suffix(')')?, true),
    };
    let syllable = head.chars().next_back()?;
    let head = &head[..head.len() - syllable.len_utf8()];
    let head = if bracketed {
        head.strip_suffix('(')?
    } else {
        head
    };
    let (day, _, _) = WEEKDAYS
        .iter()
        .find(|(_, ko, _)| ko.starts_with(syllable))?;
    Some((head, *day))
}

/// `raw` without the day of the week a long date format adds ([`weekday_split`]).
fn without_weekday(raw: &str) -> &str {
    weekday_split(raw).0
}

/// A date whose written day of the week is another day's is a typo in one or the other: which,
/// nothing says, so it is refused naming both.
fn weekday_agrees(s: &str, date: NaiveDate) -> Result<NaiveDate, Invalid> {
    match weekday_split(s).1 {
        Some(written) if written != date.weekday() => {
            let name = |d: Weekday| WEEKDAYS[d.num_days_from_monday() as usize];
            let (is, said) = (name(date.weekday()), name(written));
            Err(Invalid::new(format!(
                "`{s}`: {date} is a {}, not a {}; correct the date or the day of the week",
                capitalised(is.2[0]),
                capitalised(said.2[0])
            ))
            .ko(format!(
                "`{s}`: {date}은(는) {}요일입니다 ({}요일이 아닙니다). 날짜나 요일을 고쳐 주세요.",
                is.1, said.1
            )))
        }
        _ => Ok(date),
    }
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The month an English month name (or its first three letters or more: `Mar`, `Sept`) means.
fn month_of(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w))
        .map(|i| i as u32 + 1)
}

/// A date with its month named in English, the year last: `Mar 2, 2026` and `March 2, 2026`
/// (US long and medium dates), `2 March 2026` and `2 Mar 2026` (British), Excel's `2-Mar-26` and
/// `02-Mar-2026` — a two-digit year, last by the form, as 20YY.
fn month_named(raw: &str) -> Option<Written> {
    let words: Vec<&str> = raw
        .split([' ', ',', '-', '/', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    let [a, b, year] = words[..] else { return None };
    let (month, day) = match (month_of(a), month_of(b)) {
        (Some(m), None) => (m, b),
        (None, Some(m)) => (m, a),
        _ => return None,
    };
    let digits = |w: &str| (1..=4).contains(&w.len()) && w.bytes().all(|c| c.is_ascii_digit());
    if !digits(day) || day.len() > 2 || !digits(year) || ![2, 4].contains(&year.len()) {
        return None;
    }
    let (day, y): (u32, u32) = (day.parse().ok()?, year.parse().ok()?);
    let y = if year.len() == 2 {
        full_year(y)
    } else {
        y as i32
    };
    Some(Written::YearFirst(y, month, day))
}

/// The parts of the US short date, `M/D/YY` (`3/2/26`, `12/31/26`): a month first, no leading
/// zeros, a two-digit year. `26/03/02` (yy/mm/dd) and `02/03/26` (dd/mm/yy) are not it.
fn us_short(parts: &[&str]) -> bool {
    let month = parts[0].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    month && !parts[0].starts_with('0') && !parts[1].starts_with('0') && parts[2].len() == 2
}

/// Two-digit years are read where the form says where the year is: Korean short dates
/// (`26. 3. 2.`, LibreOffice's Korean display; `26년 3월 2일`) year first, and the US short date
/// (`3/2/26`, [`us_short`]) year last — both as 20YY.
fn written(raw: &str) -> Option<Written> {
    let raw = without_weekday(raw);
    if let Some(named) = month_named(raw) {
        return Some(named);
    }
    // `26. 3. 2.` (with its last dot, as Korean locales write it) or `26년 3월 2일`.
    let korean_short = (raw.contains(". ") && raw.trim_end().ends_with('.')) || raw.contains('년');
    // Korean long form: 2026년 3월 1일
    let cleaned: String = raw
        .trim()
        .replace(['년', '월'], "-")
        .replace('일', "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let cleaned = cleaned.trim_end_matches(['-', '.']);
    let number = |p: &str| p.parse::<u32>().ok();
    if cleaned.len() == 8 && cleaned.bytes().all(|b| b.is_ascii_digit()) {
        let (y, md) = cleaned.split_at(4);
        let (m, d) = md.split_at(2);
        return Some(Written::YearFirst(
            number(y)? as i32,
            number(m)?,
            number(d)?,
        ));
    }
    let parts: Vec<&str> = cleaned.split(['-', '/', '.']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let [a, b, c] = [number(parts[0])?, number(parts[1])?, number(parts[2])?];
    if parts.iter().all(|p| p.len() <= 2) {
        return Some(if korean_short && parts[0].len() == 2 {
            Written::YearFirst(full_year(a), b, c)
        } else if !korean_short && us_short(&parts) && cleaned.contains('/') {
            Written::YearLast(a, b, full_year(c))
        } else {
            Written::ShortYear
        });
    }
    if parts[0].len() == 4 {
        Some(Written::YearFirst(a as i32, b, c))
    } else if parts[2].len() != 4 {
        None
    } else if cleaned.contains('.') {
        Some(Written::Dotted(a, b, c as i32))
    } else {
        Some(Written::YearLast(a, b, c as i32))
    }
}

/// What `raw` (a date, or a date and a time) says about its file's [`DateOrder`].
pub fn order_hint(raw: &str) -> OrderHint {
    let raw = super::text::half_width(raw);
    // A day of the week first (`Mon 2/3/2026`) is passed over, as the parser passes it over.
    // It does not decide the file's order: a hand-typed wrong one would then set the reading of
    // every date after it; read in the file's order, a date it disagrees with is refused.
    let s = without_weekday(&raw);
    // Only a date that starts with a day or a month (one or two digits) can read either way:
    // the common `2026-03-01` is answered without parsing.
    let lead = s.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&lead) {
        return OrderHint::None;
    }
    // The date as the parser takes it: without a time of day, spaces and all.
    let date = split_time(s).map_or_else(|| s.to_owned(), |(d, _)| d);
    let Some(Written::YearLast(a, b, y)) = written(&date) else {
        return OrderHint::None;
    };
    let month_first = NaiveDate::from_ymd_opt(y, a, b).is_some();
    let day_first = NaiveDate::from_ymd_opt(y, b, a).is_some();
    match (month_first, day_first) {
        (true, true) if a != b => OrderHint::Either,
        (true, false) => OrderHint::Only(DateOrder::MonthFirst),
        (false, true) => OrderHint::Only(DateOrder::DayFirst),
        _ => OrderHint::None,
    }
}

/// A calendar date, year-last dates with slashes or dashes read in `order`.
pub fn parse_date_in(raw: &str, order: DateOrder) -> Result<NaiveDate, Invalid> {
    let raw = super::text::half_width(raw);
    let s = raw.trim();
    let err = || {
        Invalid::new(format!(
            "`{s}` is not a date (use YYYY-MM-DD, e.g. 2026-03-01)"
        ))
        .ko("날짜 형식이 아닙니다 (예: 2026-03-01).")
    };
    if s.is_empty() {
        return Err(Invalid::new("date is empty").ko(KO_EMPTY));
    }
    let serial = s.split_once('.').map_or(s, |(whole, _)| whole);
    if serial.len() == 5 && serial.bytes().all(|b| b.is_ascii_digit()) {
        // Excel's day count (from 1900, or 1904 on old Macs: four years apart, so not guessed).
        return Err(Invalid::new(format!(
            "`{s}` is an Excel date serial number, not a date: format the column as a date (yyyy-mm-dd) and export again"
        ))
        .ko("엑셀의 날짜 일련번호입니다. 열 서식을 날짜(yyyy-mm-dd)로 바꾸어 다시 내보내세요."));
    }
    let date = match written(s).ok_or_else(err)? {
        Written::ShortYear => {
            return Err(Invalid::new(format!(
                "`{s}` has a two-digit year that could be its first or its last number: write the year in full (YYYY-MM-DD, e.g. 2026-03-01)"
            ))
            .ko(format!(
                "`{s}`: 두 자리 연도는 앞의 숫자인지 뒤의 숫자인지 알 수 없습니다. 연도를 네 자리로 적어 주세요 (예: 2026-03-01)."
            )))
        }
        Written::YearFirst(y, m, d) => NaiveDate::from_ymd_opt(y, m, d),
        Written::Dotted(d, m, y) => NaiveDate::from_ymd_opt(y, m, d),
        Written::YearLast(a, b, y) => {
            let read = |o| match o {
                DateOrder::MonthFirst => NaiveDate::from_ymd_opt(y, a, b),
                DateOrder::DayFirst => NaiveDate::from_ymd_opt(y, b, a),
            };
            if read(order).is_none() && read(order.other()).is_some() {
                return Err(Invalid::new(format!(
                    "`{s}` is not a date read as {}; write dates as YYYY-MM-DD (e.g. 2026-03-01)",
                    order.pattern()
                ))
                .ko(format!(
                    "`{s}`: {} 순서로 읽으면 날짜가 아닙니다. 날짜를 YYYY-MM-DD 형식으로 적어 주세요.",
                    order.pattern()
                )));
            }
            read(order)
        }
    };
    weekday_agrees(s, date.ok_or_else(err)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_time_later_today_is_now_and_a_later_day_is_refused() {
        let seoul = Zone::parse("Asia/Seoul").unwrap();
        // 2026-12-07 08:00 in Seoul.
        let now = DateTime::parse_from_rfc3339("2026-12-06T23:00:00Z")
            .unwrap()
            .to_utc();
        let utc_midnight = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(issue_instant(utc_midnight, now, seoul), Some(now));
        let skew = now + chrono::Duration::minutes(4);
        assert_eq!(issue_instant(skew, now, seoul), Some(skew));
        let yesterday = now - chrono::Duration::days(1);
        assert_eq!(issue_instant(yesterday, now, seoul), Some(yesterday));
        let tomorrow = seoul.start_of(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap());
        assert_eq!(issue_instant(tomorrow, now, seoul), None);
    }

    #[test]
    fn dates_in_common_forms() {
        let want = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        for s in [
            "2026-03-01",
            "2026/3/1",
            "2026.03.01",
            "2026. 3. 1.",
            "20260301",
            "3/1/2026",
            "01.03.2026",
            "1.3.2026",
            "2026년 3월 1일",
        ] {
            assert_eq!(parse_date(s).unwrap(), want, "{s}");
        }
        for bad in ["2026-02-30", "yesterday", "", "2026-13-01"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    /// Months named in English (US, British, Excel's `d-mmm-yy`) and a day of the week that
    /// long date formats add (Korean Excel's `… 월요일`, `(월)`; `Monday, …`) are read.
    #[test]
    fn named_months_and_weekdays() {
        let want = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        for s in [
            "Mar 2, 2026",
            "March 2, 2026",
            "2 March 2026",
            "2 Mar 2026",
            "2-Mar-26",
            "02-Mar-2026",
            "Monday, March 2, 2026",
            "Mon 2 Mar 2026",
            "2026년 3월 2일 월요일",
            "2026. 3. 2. (월)",
            "sept 2 2026",
        ]
        .map(|s| s.replace("sept", "Mar"))
        {
            assert_eq!(parse_date(&s).unwrap(), want, "{s}");
        }
        assert_eq!(
            parse_date("Sept 2, 2026").unwrap(),
            NaiveDate::from_ymd_opt(2026, 9, 2).unwrap()
        );
        for s in [
            "Mar 2, 2026 2:30 PM",
            "Tuesday, March 3, 2026 14:30",
            "2026. 3. 2. (월) 오후 2:30:00",
            "2-Mar-26 9:00",
            "Mar 2, 2026 at 2:30 PM",
            "02-OCT-26 14:30",
            "2 SEPT 2026 9:00",
        ] {
            let at = parse_instant_in(s, Zone::default(), DateOrder::MonthFirst);
            assert!(at.is_ok(), "{s}: {at:?}");
        }
        for bad in [
            "Mar 32, 2026",
            "Ma 2, 2026",
            "Mar 2",
            "March",
            "Mon, 2026",
            "2 Mar 202",
            "Sunset 2 Mar 2026",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(order_hint("2 Mar 2026"), OrderHint::None);
        // A day of the week first does not hide the date's order from the file's reading.
        assert_eq!(
            order_hint("Fri 13/3/2026"),
            OrderHint::Only(DateOrder::DayFirst)
        );
        // … nor decides it: a weekday typed wrong would set the reading of the whole file.
        assert_eq!(order_hint("Monday 2/3/2026 9:00"), OrderHint::Either);
    }

    /// One date written in several forms is one identity; a time of day is part of it.
    #[test]
    fn a_date_written_two_ways_is_one_identity() {
        let read = |s: &str| identity_text(s, DateOrder::MonthFirst);
        for s in [
            "2026-03-02",
            "2026. 3. 2.",
            "3/2/2026",
            "2026년 3월 2일 월요일",
            "2026-03-02 00:00",
            "Mar 2, 2026",
        ] {
            assert_eq!(read(s), "2026-03-02", "{s}");
        }
        // A time of day as written, in no zone: no issuer's zone or DST gap moves it.
        assert_eq!(read("2026-03-02 09:30"), "2026-03-02T09:30:00Z");
        assert_eq!(read("2026. 3. 2 오전 9:30:00"), "2026-03-02T09:30:00Z");
        assert_eq!(read("3/8/2026 2:30 AM"), "2026-03-08T02:30:00Z");
        // An offset written is an instant.
        assert_eq!(read("2026-03-02T09:30:00+09:00"), "2026-03-02T00:30:00Z");
        assert_eq!(read(""), "");
        assert_eq!(read("not a date"), "");
        assert_eq!(read("2026-02-30"), "", "the fast path checks the date too");
        assert_eq!(read(" 2026-03-02 "), "2026-03-02");
    }

    /// A day of the week that is not the date's is a typo in one of them: refused, naming both,
    /// in English and Korean, in every form that carries one.
    #[test]
    fn a_weekday_that_is_not_the_dates_is_refused() {
        // 3 March 2026 is a Tuesday.
        for s in [
            "2026년 3월 3일 월요일",
            "2026. 3. 3. (월)",
            "Monday, March 3, 2026",
            "Mon 3 Mar 2026",
        ] {
            let e = parse_date(s).unwrap_err();
            assert!(
                e.0.contains("2026-03-03 is a Tuesday, not a Monday"),
                "{s}: {e}"
            );
            let ko = e.korean().unwrap();
            assert!(ko.contains("화요일입니다 (월요일이 아닙니다)"), "{s}: {ko}");
        }
        let e = parse_instant_in(
            "Mon 3 Mar 2026 14:30",
            Zone::default(),
            DateOrder::MonthFirst,
        )
        .unwrap_err();
        assert!(e.0.contains("not a Monday"), "{e}");
        // Read month first, `Monday 2/3/2026` is 3 February, a Tuesday.
        assert!(parse_date("Monday 2/3/2026").is_err());
        assert!(parse_date_in("Monday 2/3/2026", DateOrder::DayFirst).is_ok());
    }

    /// Full-width digits and signs (a Korean input method in full-width mode) read as ASCII.
    #[test]
    fn full_width_dates_read_as_ascii() {
        let want = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        for s in [
            "２０２６－０３－０１",
            "２０２６．３．１．",
            "２０２６년　３월　１일",
            "３／１／２０２６",
        ] {
            assert_eq!(parse_date(s).unwrap(), want, "{s}");
        }
        assert_eq!(
            order_hint("１３／３／２０２６"),
            OrderHint::Only(DateOrder::DayFirst)
        );
    }

    /// A two-digit year is read as 20YY where the form places it — Korean short dates first
    /// (`26. 3. 2.`), slashed dates last (`3/2/26`, in the file's order) — and otherwise
    /// refused, saying so.
    #[test]
    fn two_digit_years_where_the_form_says_where_the_year_is() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        for s in ["26. 3. 2.", "26. 03. 02.", "26년 3월 2일"] {
            assert_eq!(parse_date(s).unwrap(), d(2026, 3, 2), "{s}");
        }
        assert_eq!(parse_date("3/2/26").unwrap(), d(2026, 3, 2));
        assert_eq!(
            parse_date_in("2/3/26", DateOrder::DayFirst).unwrap(),
            d(2026, 3, 2)
        );
        // Only the US short date's two-digit year is read year last: yy/mm/dd (`26/03/02`,
        // which read year last would be 26 March 2002), dd/mm/yy and anything zero-padded are
        // refused, and decide nothing about the file's order.
        assert_eq!(parse_date("12/31/26").unwrap(), d(2026, 12, 31));
        for s in ["26/03/02", "13/3/26", "02/03/26", "26/12/31", "12. 3. 26"] {
            assert!(
                parse_date(s).unwrap_err().0.contains("two-digit year"),
                "{s}"
            );
            assert_eq!(order_hint(s), OrderHint::None, "{s}");
        }
        let at = parse_instant_in(
            "26. 3. 2. 오후 2:30:00",
            Zone::default(),
            DateOrder::MonthFirst,
        );
        assert!(at.is_ok(), "{at:?}");
        for ambiguous in ["26-03-02", "02.03.26", "26.3.2", "3-2-26"] {
            let e = parse_date(ambiguous).unwrap_err();
            assert!(e.0.contains("two-digit year"), "{ambiguous}: {}", e.0);
            assert!(e.korean().unwrap().contains("두 자리 연도"), "{ambiguous}");
        }
        assert!(parse_date("26. 2. 30.").is_err());
    }

    /// Year-last dates with slashes (or dashes) read in the order given; dots are day first
    /// and year-first dates one way whatever the order.
    #[test]
    fn year_last_dates_in_either_order() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let day_first = |s| parse_date_in(s, DateOrder::DayFirst);
        assert_eq!(day_first("02/03/2026").unwrap(), d(2026, 3, 2));
        assert_eq!(day_first("13/3/2026").unwrap(), d(2026, 3, 13));
        assert_eq!(day_first("2-3-2026").unwrap(), d(2026, 3, 2));
        assert_eq!(parse_date("02/03/2026").unwrap(), d(2026, 2, 3));
        for s in ["2026/3/2", "02.03.2026", "20260302", "2026년 3월 2일"] {
            assert_eq!(day_first(s).unwrap(), d(2026, 3, 2), "{s}");
            assert_eq!(parse_date(s).unwrap(), d(2026, 3, 2), "{s}");
        }
        let wrong_way = parse_date("13/3/2026").unwrap_err().0;
        assert!(wrong_way.contains("read as M/D/YYYY"), "{wrong_way}");
        assert!(day_first("3/13/2026").unwrap_err().0.contains("D/M/YYYY"));
        assert!(day_first("31/2/2026")
            .unwrap_err()
            .0
            .contains("is not a date (use"));
        let seoul = Zone::default();
        assert_eq!(
            parse_instant_in("02/03/2026 09:30", seoul, DateOrder::DayFirst)
                .unwrap()
                .to_rfc3339(),
            "2026-03-02T00:30:00+00:00"
        );
    }

    #[test]
    fn what_a_date_says_about_its_order() {
        use OrderHint::*;
        for (s, hint) in [
            ("3/1/2026", Either),
            ("03-01-2026 09:00", Either),
            ("3 / 1 / 2026", Either),
            ("3월 1일 2026년", None),
            ("13/1/2026 2:30 PM", Only(DateOrder::DayFirst)),
            ("13/1/2026", Only(DateOrder::DayFirst)),
            ("1/13/2026", Only(DateOrder::MonthFirst)),
            ("29/2/2028 10:00", Only(DateOrder::DayFirst)),
            ("3/3/2026", None),
            ("13/13/2026", None),
            ("13.1.2026", None),
            ("2026/1/13", None),
            ("soon", None),
            ("", None),
        ] {
            assert_eq!(order_hint(s), hint, "{s}");
        }
    }

    #[test]
    fn bare_date_is_local_midnight() {
        let seoul = Zone::parse("Asia/Seoul").unwrap();
        let t = parse_instant("2026-03-01", seoul).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-02-28T15:00:00+00:00");
        assert_eq!(
            seoul.date_of(t),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        assert!(Zone::parse("Mars/Olympus").is_err());
        let at = |x: &str| parse_instant(x, seoul).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-03-01 09:30").unwrap(), "2026-03-01T00:30:00+00:00");
        assert_eq!(at("2026/3/1 9:30:00").unwrap(), "2026-03-01T00:30:00+00:00");
        assert!(at("2026-03-01 25:00").is_err());
        for (written, want) in [
            ("2026. 3. 1 오후 2:30:00", "2026-03-01T05:30:00+00:00"),
            ("2026. 3. 1. 오전 9:30:00", "2026-03-01T00:30:00+00:00"),
            ("2026. 3. 1 오전 12:10:00", "2026-02-28T15:10:00+00:00"),
            ("2026. 3. 1. 9:30", "2026-03-01T00:30:00+00:00"),
            ("3/1/2026 2:30 PM", "2026-03-01T05:30:00+00:00"),
            ("3/1/2026 12:30 pm", "2026-03-01T03:30:00+00:00"),
            ("2026-03-01 09:30:00.000", "2026-03-01T00:30:00+00:00"),
            ("2026-03-01T09:30:00", "2026-03-01T00:30:00+00:00"),
            ("2026년 3월 1일 9:30", "2026-03-01T00:30:00+00:00"),
        ] {
            assert_eq!(at(written).unwrap(), want, "{written}");
        }
        for bad in [
            "3/1/2026 13:30 PM",
            "3/1/2026 0:30 AM",
            "2026-03-01 오후",
            "2026-03-01 9시",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
        let serial = at("46082").unwrap_err().0;
        assert!(serial.contains("Excel date serial"), "{serial}");
        assert!(at("46082.5").unwrap_err().0.contains("Excel date serial"));
    }
}

/// Property tests (issue #14, hostile input).
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::{
        csv_import::{rows, Columns},
        domain::{issue_request::IssueRequest, json::Obj},
        proptest_config,
    };
    use chrono::{Datelike, Duration};
    use proptest::prelude::*;

    fn zone() -> impl Strategy<Value = Zone> {
        prop::sample::select(chrono_tz::TZ_VARIANTS.to_vec()).prop_map(Zone)
    }

    /// Zones whose clocks have jumped at midnight (a day without its 00:00), or skipped a day.
    fn midnight_gap_zone() -> impl Strategy<Value = Zone> {
        use chrono_tz::{Africa, America, Asia, Atlantic, Pacific};
        prop::sample::select(vec![
            America::Santiago,
            America::Sao_Paulo,
            America::Asuncion,
            America::Havana,
            America::Campo_Grande,
            America::Scoresbysund,
            Asia::Tehran,
            Asia::Beirut,
            Asia::Damascus,
            Asia::Amman,
            Asia::Gaza,
            Africa::Cairo,
            Atlantic::Azores,
            Pacific::Apia,
            Pacific::Kwajalein,
        ])
        .prop_map(Zone)
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        (1i32..=9998, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    /// Any string, and strings made of what dates are written with.
    fn date_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[0-9 ./\\-:T+Z년월일]{0,24}",
            "[0-9]{1,9}[-/.][0-9]{1,12}[-/.][0-9]{1,9}( [0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3})?)?",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?",
        ]
    }

    /// Whether some quarter-hour of `d` exists on the clocks of `zone`.
    fn day_exists(zone: Zone, d: NaiveDate) -> bool {
        (0..24 * 4).any(|q| {
            let t = d.and_hms_opt(q / 4, (q % 4) * 15, 0).unwrap();
            zone.0.from_local_datetime(&t).earliest().is_some()
        })
    }

    /// The forms the parser documents, each written from the date.
    const FORMS: &[&str] = &[
        "%Y-%m-%d",
        "%Y/%-m/%-d",
        "%Y.%m.%d",
        "%Y. %-m. %-d.",
        "%Y%m%d",
        "%-m/%-d/%Y",
        "%m/%d/%Y",
        "%Y년 %-m월 %-d일",
        " %Y-%m-%d ",
    ];

    proptest! {
        #![proptest_config(proptest_config(2_000))]

        /// No string panics either parser; a refusal has a message; a date is its day's start.
        #[test]
        fn no_string_panics_the_date_parsers(s in date_like(), zone in zone()) {
            let date = parse_date(&s);
            let instant = parse_instant(&s, zone);
            if let Err(e) = &date {
                prop_assert!(!e.0.is_empty());
            }
            if let Err(e) = &instant {
                prop_assert!(!e.0.is_empty());
            }
            if let Ok(d) = date {
                prop_assert_eq!(instant.ok(), Some(zone.start_of(d)), "{:?}", s);
            }
        }
    }

    proptest! {
        #![proptest_config(proptest_config(2_000))]

        /// Every documented form of every date (years 1–9998, any IANA zone) reads back as that
        /// date, starting in the zone on that day (unless the zone skipped the whole day); an
        /// RFC 3339 time is that instant; a local date-time is on its own local date.
        #[test]
        fn canonical_dates_round_trip(d in date(), zone in zone(), secs in 0i64..86_400) {
            for form in FORMS {
                let s = d.format(form).to_string();
                prop_assert_eq!(parse_date(&s).ok(), Some(d), "{:?}", s);
                prop_assert_eq!(parse_instant(&s, zone).ok(), Some(zone.start_of(d)), "{:?}", s);
            }
            let start = zone.start_of(d);
            if day_exists(zone, d) {
                prop_assert_eq!(zone.date_of(start), d);
            }
            let t = start + Duration::seconds(secs);
            prop_assert_eq!(parse_instant(&t.to_rfc3339(), zone).ok(), Some(t));
            let local = t.with_timezone(&zone.0).naive_local();
            for form in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y/%-m/%-d %-H:%M"] {
                let s = local.format(form).to_string();
                let parsed = parse_instant(&s, zone);
                prop_assert!(parsed.is_ok(), "{:?}", s);
                prop_assert_eq!(zone.date_of(parsed.unwrap()), local.date(), "{:?}", s);
            }
        }
    }

    proptest! {
        #![proptest_config(proptest_config(120))]

        /// Every day of a year starts on that day in the zone, in zones whose clocks jump at
        /// midnight too; a day the zone skipped starts on a later day.
        #[test]
        fn every_day_of_a_year_starts_on_that_day(
            zone in prop_oneof![zone(), midnight_gap_zone()],
            year in 1970i32..=2040,
        ) {
            let mut d = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            while d.year() == year {
                let got = zone.date_of(zone.start_of(d));
                if got != d {
                    prop_assert!(!day_exists(zone, d) && got > d, "{} in {}: {}", d, zone.name(), got);
                }
                d = d.succ_opt().unwrap();
            }
        }
    }

    proptest! {
        #![proptest_config(proptest_config(1_000))]

        /// A date either parser refuses is reported against its field: the CSV row error names the
        /// column (with the value as written) and the API error names the JSON field.
        #[test]
        fn rejected_dates_name_their_field(s in date_like(), zone in zone()) {
            prop_assume!(!s.trim().is_empty() && parse_instant(&s, zone).is_err());
            let headers = ["email", "name", "issued_on", "expires_on"].map(String::from);
            let cols = Columns::map(&headers).unwrap();
            for (i, field) in [(2, "issued_on"), (3, "expires_on")] {
                let mut cells = vec!["a@b.co".to_owned(), "Kim".to_owned(), String::new(), String::new()];
                cells[i].clone_from(&s);
                let errors = rows::validate(&csv::StringRecord::from(cells), &cols, 2, (zone, Utc::now()), DateOrder::MonthFirst)
                    .unwrap_err();
                prop_assert!(
                    errors.iter().any(|e| e.column == field
                        && e.value == s.trim()
                        && e.row == 2
                        && !e.message.is_empty()),
                    "{:?}", errors
                );
                let body = serde_json::json!({
                    "recipient": {"email": "a@b.co", "name": "Kim"},
                    field: s,
                });
                let e = IssueRequest::parse(&Obj::root(body.as_object().unwrap()), zone)
                    .unwrap_err();
                prop_assert_eq!(e.field, field);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    /// Regression (found by `every_day_of_a_year_starts_on_that_day`): where clocks jump at
    /// midnight, a bare date started on the day before (midnight read as UTC: 2024-09-07 20:00
    /// in Santiago for "2024-09-08").
    #[test]
    fn a_date_whose_midnight_does_not_exist_starts_that_day() {
        for (zone, day, start) in [
            (
                "America/Santiago",
                "2024-09-08",
                "2024-09-08T04:00:00+00:00",
            ),
            (
                "America/Sao_Paulo",
                "2018-11-04",
                "2018-11-04T03:00:00+00:00",
            ),
            ("Asia/Tehran", "2021-03-22", "2021-03-21T20:30:00+00:00"),
        ] {
            let zone = Zone::parse(zone).unwrap();
            let t = parse_instant(day, zone).unwrap();
            assert_eq!(t.to_rfc3339(), start, "{}", zone.name());
            assert_eq!(zone.date_of(t).to_string(), day, "{}", zone.name());
        }
    }
}
