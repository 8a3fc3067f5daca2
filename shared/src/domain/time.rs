//! Dates as admins and spreadsheets write them, and time zones.

use super::{error::KO_EMPTY, Invalid};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};

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
            // A DST gap at midnight: take the first instant that exists.
            chrono::LocalResult::None => Utc.from_utc_datetime(&local),
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

/// A date or a date-time as people and spreadsheets write them: `2026-03-01`, `2026/3/1`,
/// `2026.03.01`, `20260301`, `2026-03-01T09:00:00+09:00`, `2026년 3월 1일`. A bare date means the
/// start of that day in `zone`.
pub fn parse_instant(raw: &str, zone: Zone) -> Result<DateTime<Utc>, Invalid> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // A local date-time without a zone, as spreadsheets export them: `2026-03-01 09:00(:00)`,
    // `2026-03-01T09:00`, `2026/3/1 9:00`.
    if let Some((date, time)) = s.split_once([' ', 'T']) {
        let time = time.trim();
        let t = NaiveTime::parse_from_str(time, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"));
        if let (Ok(d), Ok(t)) = (parse_date(date), t) {
            let local = d.and_time(t);
            return Ok(match zone.0.from_local_datetime(&local) {
                chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => {
                    x.with_timezone(&Utc)
                }
                chrono::LocalResult::None => zone.start_of(d),
            });
        }
    }
    parse_date(s).map(|d| zone.start_of(d))
}

pub fn parse_date(raw: &str) -> Result<NaiveDate, Invalid> {
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
    // Korean long form: 2026년 3월 1일
    let cleaned: String = s
        .replace(['년', '월'], "-")
        .replace('일', "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let cleaned = cleaned.trim_end_matches(['-', '.']).to_string();
    if cleaned.len() == 8 && cleaned.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&cleaned, "%Y%m%d").map_err(|_| err());
    }
    let parts: Vec<&str> = cleaned.split(['-', '/', '.']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(err());
    }
    let n: Vec<u32> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
    // Year first (ISO, Korean) or year last (US spreadsheets: M/D/YYYY).
    let (y, m, d) = if parts[0].len() == 4 {
        (n[0] as i32, n[1], n[2])
    } else if parts[2].len() == 4 {
        (n[2] as i32, n[0], n[1])
    } else {
        return Err(err());
    };
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "2026년 3월 1일",
        ] {
            assert_eq!(parse_date(s).unwrap(), want, "{s}");
        }
        for bad in ["2026-02-30", "yesterday", "1/2/26", "", "2026-13-01"] {
            assert!(parse_date(bad).is_err(), "{bad}");
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
    }
}
