//! KakaoTalk and SMS notifications: an issuer's settings ([`KakaoSettings`], read from the JSON of
//! `PUT /v1/issuer/kakao` and the console form), the approved day-1 AlimTalk template, and the
//! rules of Korean law for the promotional day-3/day-7 messages (`(광고)`, free opt-out, never
//! between 21:00 and 08:00 in Korea).

use super::{json::Obj, FieldError, Invalid};
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// The one provider implemented (NAVER Cloud SENS: AlimTalk and SMS).
pub const PROVIDERS: &[&str] = &["sens"];

/// The day-1 AlimTalk template to submit to Kakao for approval, exactly (README quotes it). Its
/// `#{…}` variables are filled per award; AlimTalk refuses any other text.
pub const DAY1_TEMPLATE: &str = "#{이름}님, #{기관}에서 배지를 발급했습니다.

배지: #{배지}
발급일: #{발급일}

아래 버튼을 눌러 배지를 확인하고 공유하세요. 이 배지의 진위는 같은 주소에서 누구나 확인할 수 있습니다.";

/// The web-link button of the day-1 template: its name, and the link registered with it
/// (`#{url}` is the badge page's path).
pub const DAY1_BUTTON: &str = "배지 확인하기";

/// What the issuer configured; the credentials are apart ([`Credentials`], stored encrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KakaoSettings {
    pub enabled: bool,
    pub provider: String,
    /// The KakaoTalk channel's search id (`@accolade`), SENS's `plusFriendId`.
    pub channel_id: String,
    /// The SENS Biz Message service id (`ncp:kkobizmsg:kr:…`).
    pub alimtalk_service_id: String,
    /// The SENS SMS service id (`ncp:sms:kr:…`): promotional messages and the day-1 fallback.
    pub sms_service_id: String,
    /// The approved day-1 template's code.
    pub day1_template_code: String,
    /// The sender number registered with the provider (digits).
    pub sms_sender: String,
    /// A free 080 opt-out number for the promotional messages; without one, a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_number: Option<String>,
    pub day1: bool,
    pub day3: bool,
    pub day7: bool,
}

/// The provider's API keys. Never returned by the API, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(…)")
    }
}

/// The fields of `PUT /v1/issuer/kakao`.
pub const FIELDS: &[&str] = &[
    "enabled",
    "provider",
    "channel_id",
    "alimtalk_service_id",
    "sms_service_id",
    "day1_template_code",
    "sms_sender",
    "opt_out_number",
    "stages",
    "access_key",
    "secret_key",
];

impl KakaoSettings {
    /// Reads the settings (credentials apart: [`credentials_of`]).
    pub fn parse(o: &Obj<'_>) -> Result<Self, FieldError> {
        o.only(FIELDS)?;
        let stages = o.obj("stages")?;
        let stage = |name: &str| -> Result<bool, FieldError> {
            Ok(match &stages {
                Some(s) => s.bool(name)?.unwrap_or(true),
                None => true,
            })
        };
        if let Some(s) = &stages {
            s.only(&["day1", "day3", "day7"])?;
        }
        Ok(Self {
            enabled: o.bool("enabled")?.unwrap_or(true),
            provider: o
                .parse("provider", provider)?
                .unwrap_or_else(|| "sens".into()),
            channel_id: o.req("channel_id", channel_id)?,
            alimtalk_service_id: o.req("alimtalk_service_id", |s| service_id(s, "kkobizmsg"))?,
            sms_service_id: o.req("sms_service_id", |s| service_id(s, "sms"))?,
            day1_template_code: o.req("day1_template_code", template_code)?,
            sms_sender: o.req("sms_sender", sender_number)?,
            opt_out_number: o.parse("opt_out_number", opt_out_number)?,
            day1: stage("day1")?,
            day3: stage("day3")?,
            day7: stage("day7")?,
        })
    }

    /// As the API shows it (the credentials as set or not set).
    pub fn view(&self, credentials_set: bool) -> serde_json::Value {
        serde_json::json!({
            "enabled": self.enabled,
            "provider": self.provider,
            "channel_id": self.channel_id,
            "alimtalk_service_id": self.alimtalk_service_id,
            "sms_service_id": self.sms_service_id,
            "day1_template_code": self.day1_template_code,
            "sms_sender": self.sms_sender,
            "opt_out_number": self.opt_out_number,
            "stages": { "day1": self.day1, "day3": self.day3, "day7": self.day7 },
            "credentials": if credentials_set { "set" } else { "not set" },
        })
    }
}

/// The credentials a request gives: both keys, or neither (the stored ones are kept).
pub fn credentials_of(o: &Obj<'_>) -> Result<Option<Credentials>, FieldError> {
    let key = |s: &str| -> Result<String, Invalid> {
        let s = s.trim();
        if s.is_empty() || s.len() > 200 || !s.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Invalid::new("must be the provider's key as shown in its console (printable ASCII, at most 200 characters)")
                .ko("제공자 콘솔에 표시된 키를 그대로 입력하세요 (영문·숫자·기호, 200자 이하)."));
        }
        Ok(s.to_owned())
    };
    let access = o.parse("access_key", key)?;
    let secret = o.parse("secret_key", key)?;
    match (access, secret) {
        (Some(access_key), Some(secret_key)) => Ok(Some(Credentials {
            access_key,
            secret_key,
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(FieldError::new(
            o.path("secret_key"),
            "is required with access_key",
        )
        .ko("Access Key ID와 함께 Secret Key도 입력하세요.")),
        (None, Some(_)) => Err(FieldError::new(
            o.path("access_key"),
            "is required with secret_key",
        )
        .ko("Secret Key와 함께 Access Key ID도 입력하세요.")),
    }
}

fn provider(s: &str) -> Result<String, Invalid> {
    let s = s.trim().to_ascii_lowercase();
    if PROVIDERS.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(Invalid::new(format!(
            "unknown provider `{s}`; supported: {}",
            PROVIDERS.join(", ")
        )))
    }
}

fn channel_id(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    let ok = s.starts_with('@')
        && (2..=40).contains(&s.chars().count())
        && !s.contains(char::is_whitespace);
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Invalid::new(
            "must be the KakaoTalk channel's search id, starting with @ (for example @accolade)",
        )
        .ko("카카오톡 채널의 검색용 ID를 @로 시작해 입력하세요 (예: @accolade)."))
    }
}

fn service_id(s: &str, kind: &str) -> Result<String, Invalid> {
    let s = s.trim();
    let ok = s.starts_with(&format!("ncp:{kind}:"))
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Invalid::new(format!(
            "must be the SENS service id shown in the console, `ncp:{kind}:kr:…`"
        ))
        .ko(format!(
            "SENS 콘솔에 표시된 서비스 ID(ncp:{kind}:kr:…)를 입력하세요."
        )))
    }
}

fn template_code(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= 30
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Invalid::new(
            "must be the approved template's code (letters, digits, - and _; at most 30)",
        )
        .ko("승인된 템플릿 코드를 입력하세요 (영문·숫자·-·_, 30자 이하)."))
    }
}

/// A Korean sender number as registered: digits only, 8 to 11 of them (`1588-1234`, `02-…`).
fn sender_number(s: &str) -> Result<String, Invalid> {
    let digits: String = s.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if (8..=11).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(Invalid::new(
            "must be the sender number registered with the provider (for example 02-1234-5678)",
        )
        .ko("사전 등록된 발신번호를 입력하세요 (예: 02-1234-5678)."))
    }
}

/// A free opt-out number: `080-` and 7 or 8 more digits, kept as written with dashes.
fn opt_out_number(s: &str) -> Result<String, Invalid> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let only = s
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
    if only && digits.starts_with("080") && (10..=11).contains(&digits.len()) {
        Ok(format!(
            "080-{}-{}",
            &digits[3..digits.len() - 4],
            &digits[digits.len() - 4..]
        ))
    } else {
        Err(Invalid::new(
            "must be a free 080 number (for example 080-123-4567), or left out to use a link",
        )
        .ko("무료 수신거부 080 번호를 입력하거나 비워 두세요 (비우면 링크로 안내합니다)."))
    }
}

/// Korea's time (no daylight saving): recipients of Korean mobile numbers are there.
pub fn korea() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset")
}

/// Whether promotional messages may not go at `t`: 21:00 to 08:00 in Korea.
pub fn is_night(t: DateTime<Utc>) -> bool {
    let h = t.with_timezone(&korea()).hour();
    !(8..21).contains(&h)
}

/// `t`, or — at night — the next 08:00 in Korea: when a promotional message due at `t` may go.
pub fn not_at_night(t: DateTime<Utc>) -> DateTime<Utc> {
    if !is_night(t) {
        return t;
    }
    let local = t.with_timezone(&korea());
    let day = if local.hour() >= 21 {
        local.date_naive() + Duration::days(1)
    } else {
        local.date_naive()
    };
    let eight = day.and_time(NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default());
    korea()
        .from_local_datetime(&eight)
        .single()
        .map_or(t, |d| d.with_timezone(&Utc))
}

/// Bytes of `s` in EUC-KR (CP949), as Korean carriers count SMS (90) and LMS (2,000) sizes.
pub fn euc_kr_len(s: &str) -> usize {
    encoding_rs::EUC_KR.encode(s).0.len()
}

/// `s` with what EUC-KR cannot carry (emoji, rare characters) replaced by a space: the provider
/// fails a whole message over one such character.
pub fn euc_kr_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut b = [0u8; 4];
            let (_, _, bad) = encoding_rs::EUC_KR.encode(c.encode_utf8(&mut b));
            if bad {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<KakaoSettings, FieldError> {
        KakaoSettings::parse(&Obj::root(v.as_object().unwrap()))
    }

    fn good() -> serde_json::Value {
        json!({
            "channel_id": "@accolade",
            "alimtalk_service_id": "ncp:kkobizmsg:kr:2710000:accolade",
            "sms_service_id": "ncp:sms:kr:2710000:accolade",
            "day1_template_code": "ACCOLADE_DAY1",
            "sms_sender": "02-1234-5678",
            "opt_out_number": "0801234567",
        })
    }

    #[test]
    fn settings_read_with_defaults_and_named_errors() {
        let s = parse(good()).unwrap();
        assert!(s.enabled && s.day1 && s.day3 && s.day7);
        assert_eq!(s.sms_sender, "0212345678");
        assert_eq!(s.opt_out_number.as_deref(), Some("080-123-4567"));
        let mut v = good();
        v["stages"] = json!({"day3": false});
        assert!(!parse(v).unwrap().day3);
        for (field, bad) in [
            ("channel_id", json!("accolade")),
            ("alimtalk_service_id", json!("ncp:sms:kr:1:x")),
            ("sms_sender", json!("12")),
            ("opt_out_number", json!("02-123-4567")),
            ("provider", json!("solapi")),
            ("day1_template_code", json!("bad code!")),
        ] {
            let mut v = good();
            v[field] = bad;
            assert_eq!(parse(v).unwrap_err().field, field);
        }
        let mut v = good();
        v["secret"] = json!("x");
        assert_eq!(parse(v).unwrap_err().field, "secret");
    }

    #[test]
    fn credentials_come_in_pairs_and_never_print() {
        let v = json!({"access_key": "AK", "secret_key": "SK"});
        let c = credentials_of(&Obj::root(v.as_object().unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(format!("{c:?}"), "Credentials(…)");
        let v = json!({"access_key": "AK"});
        assert_eq!(
            credentials_of(&Obj::root(v.as_object().unwrap()))
                .unwrap_err()
                .field,
            "secret_key"
        );
        let s = parse(good()).unwrap();
        assert!(!s.view(true).to_string().contains("SK"));
    }

    #[test]
    fn night_is_21_to_8_in_korea() {
        let kst = |h, m| {
            korea()
                .with_ymd_and_hms(2026, 12, 3, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert!(!is_night(kst(8, 0)));
        assert!(!is_night(kst(20, 59)));
        assert!(is_night(kst(21, 0)));
        assert!(is_night(kst(7, 59)));
        assert_eq!(not_at_night(kst(12, 30)), kst(12, 30));
        assert_eq!(not_at_night(kst(3, 10)), kst(8, 0));
        let next_morning = korea().with_ymd_and_hms(2026, 12, 4, 8, 0, 0).unwrap();
        assert_eq!(not_at_night(kst(22, 45)), next_morning.with_timezone(&Utc));
    }

    #[test]
    fn euc_kr_sizes() {
        assert_eq!(euc_kr_len("가a"), 3);
        assert_eq!(euc_kr_safe("배지 🎉 발급"), "배지   발급");
    }
}
