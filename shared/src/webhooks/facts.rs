//! What happened, read from the table's stream records (as Lambda delivers them to notify): one
//! [`Fact`] per thing a receiver hears about, each with a key that names it alone, so a record
//! delivered twice is the same fact (and the same delivery).
//!
//! | Record | Fact |
//! |---|---|
//! | INSERT of an award | `award.issued`, or `award.reissued` when it replaces another |
//! | MODIFY of an award that gains a `revocation` | `award.revoked` |
//! | MODIFY of a batch into `completed` / `failed` | `batch.completed` / `batch.failed` |
//! | a counting write on an award's counters: `views` 0 → ≥ 1 | `award.viewed` (first human view) |
//! | … `shares` 0 → ≥ 1 | `award.shared` (first share, with its network) |
//! | … `email:{stage}:bounced` / `complained` up | `email.bounced` / `email.complained` |
//!
//! And one that no write shows: `award.expired`, from the award's due item at its expiry time
//! ([`expired`], in notify's due-bucket handling).

use crate::{
    domain::{
        award::Award,
        ids::{AwardId, BatchId, IssuerId},
        rollup::Change,
        webhook::EventType,
    },
    store::counters::change_of,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// What a fact is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// An award, read when its deliveries are made (a stream record says what changed, not all
    /// of what a receiver gets).
    Award(AwardId),
    /// An award as it was just read to decide the fact (an expiry): not read again.
    Read(Box<Award>),
    Batch(BatchId),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub kind: EventType,
    pub issuer: IssuerId,
    pub subject: Subject,
    /// Names the fact: a retried record gives the same key.
    pub key: String,
    /// Type-specific data (`network`, `stage`).
    pub extra: Value,
    /// The stream record's sequence number (what a partial batch failure names).
    pub seq: String,
    /// When it happened: the stream record's `ApproximateCreationDateTime` (not when notify read
    /// it, which can be minutes later, or days for a replay). `None`: the event's own time.
    pub at: Option<DateTime<Utc>>,
}

/// A stream record's `ApproximateCreationDateTime` (epoch seconds).
fn record_time(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds?, 0)
}

/// An award's expiry (from its due item at `expires_on`, not from the stream: nothing is written
/// when time passes).
pub fn expired(a: &Award) -> Fact {
    Fact {
        kind: EventType::AwardExpired,
        issuer: a.issuer_id.clone(),
        subject: Subject::Read(Box::new(a.clone())),
        key: format!("award.expired:{}", a.id),
        extra: Value::Null,
        seq: String::new(),
        at: a.expires_on,
    }
}

/// Every fact in a batch of stream records, in record order.
pub fn of_records(records: &[Value]) -> Vec<Fact> {
    records.iter().flat_map(of_record).collect()
}

fn s<'a>(image: &'a Value, name: &str) -> Option<&'a str> {
    image.get(name)?.get("S")?.as_str()
}

fn of_record(r: &Value) -> Vec<Fact> {
    let seq = r
        .pointer("/dynamodb/SequenceNumber")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let event = r.get("eventName").and_then(Value::as_str).unwrap_or("");
    let at = record_time(
        r.pointer("/dynamodb/ApproximateCreationDateTime")
            .and_then(Value::as_f64)
            .map(|t| t.floor() as i64),
    );
    let (Some(new), old) = (
        r.pointer("/dynamodb/NewImage"),
        r.pointer("/dynamodb/OldImage"),
    ) else {
        return Vec::new();
    };
    let found = match s(new, "type") {
        Some("award") => award_fact(event, new, old),
        Some("batch") => batch_fact(event, new, old),
        Some("award_counters") => {
            return change_of(r).map(|c| counter_facts(&c)).unwrap_or_default()
        }
        _ => None,
    };
    found
        .map(|(kind, issuer, subject, key)| Fact {
            kind,
            issuer,
            subject,
            key,
            extra: Value::Null,
            seq,
            at,
        })
        .into_iter()
        .collect()
}

type Found = (EventType, IssuerId, Subject, String);

fn award_fact(event: &str, new: &Value, old: Option<&Value>) -> Option<Found> {
    let id = AwardId::parse(s(new, "id")?).ok()?;
    let issuer = IssuerId::parse(s(new, "issuer_id")?).ok()?;
    let kind = match event {
        "INSERT" if new.get("supersedes").is_some() => EventType::AwardReissued,
        "INSERT" => EventType::AwardIssued,
        "MODIFY"
            if new.get("revocation").is_some()
                && old.is_none_or(|o| o.get("revocation").is_none()) =>
        {
            EventType::AwardRevoked
        }
        _ => return None,
    };
    let key = format!("{}:{id}", kind.as_str());
    Some((kind, issuer, Subject::Award(id), key))
}

fn batch_fact(event: &str, new: &Value, old: Option<&Value>) -> Option<Found> {
    let status = s(new, "status")?;
    let kind = match status {
        "completed" => EventType::BatchCompleted,
        "failed" => EventType::BatchFailed,
        _ => return None,
    };
    if event != "MODIFY" || old.and_then(|o| s(o, "status")) == Some(status) {
        return None;
    }
    let id = BatchId::parse(s(new, "id")?).ok()?;
    let issuer = IssuerId::parse(s(new, "issuer_id")?).ok()?;
    let key = format!("{}:{id}", kind.as_str());
    Some((kind, issuer, Subject::Batch(id), key))
}

/// The facts of one counting write.
fn counter_facts(c: &Change) -> Vec<Fact> {
    let before = |name: &str| c.old.get(name).copied().unwrap_or(0);
    let after = |name: &str| c.new.get(name).copied().unwrap_or(0);
    let first = |name: &str| before(name) == 0 && after(name) > 0;
    let fact = |kind: EventType, key: String, extra: Value| Fact {
        kind,
        issuer: c.tags.issuer.clone(),
        subject: Subject::Award(c.award.clone()),
        key,
        extra,
        seq: c.seq.clone(),
        at: record_time(c.created),
    };
    let mut out = Vec::new();
    if first("views") {
        out.push(fact(
            EventType::AwardViewed,
            format!("award.viewed:{}", c.award),
            Value::Null,
        ));
    }
    if first("shares") {
        let network = c
            .new
            .keys()
            .filter_map(|k| k.strip_prefix("share:"))
            .find(|n| after(&format!("share:{n}")) > before(&format!("share:{n}")));
        let extra = serde_json::json!({ "network": network });
        out.push(fact(
            EventType::AwardShared,
            format!("award.shared:{}", c.award),
            extra,
        ));
    }
    for (name, value) in &c.new {
        let Some((stage, word)) = name
            .strip_prefix("email:")
            .and_then(|rest| rest.split_once(':'))
        else {
            continue;
        };
        let kind = match word {
            "bounced" => EventType::EmailBounced,
            "complained" => EventType::EmailComplained,
            _ => continue,
        };
        if *value > before(name) {
            let key = format!(
                "{}:{}:{}",
                kind.as_str(),
                c.award,
                c.version.unwrap_or_default()
            );
            out.push(fact(kind, key, serde_json::json!({ "stage": stage })));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(event: &str, new: Value, old: Option<Value>) -> Value {
        let mut dynamodb = json!({ "SequenceNumber": "100", "NewImage": new });
        if let Some(o) = old {
            dynamodb["OldImage"] = o;
        }
        json!({ "eventName": event, "dynamodb": dynamodb })
    }

    fn award(extra: Value) -> Value {
        let mut a = json!({
            "type": {"S": "award"}, "id": {"S": "AAAAAAAAAAAAAAAAAAAAAA"},
            "issuer_id": {"S": "iss_AAAAAAAAAAAAAAAAAAAAAA"},
        });
        a.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        a
    }

    #[test]
    fn awards() {
        let f = of_records(&[record("INSERT", award(json!({})), None)]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, EventType::AwardIssued);
        assert_eq!(f[0].key, "award.issued:AAAAAAAAAAAAAAAAAAAAAA");
        let re = award(json!({"supersedes": {"S": "BBBBBBBBBBBBBBBBBBBBBB"}}));
        assert_eq!(
            of_records(&[record("INSERT", re, None)])[0].kind,
            EventType::AwardReissued
        );
        let revoked = award(json!({"revocation": {"M": {"reason": {"S": "x"}}}}));
        let f = of_records(&[record("MODIFY", revoked.clone(), Some(award(json!({}))))]);
        assert_eq!(f[0].kind, EventType::AwardRevoked);
        // A later change of a revoked award is no second revocation.
        assert!(of_records(&[record("MODIFY", revoked.clone(), Some(revoked))]).is_empty());
    }

    #[test]
    fn batches() {
        let b = |status: &str| {
            json!({"type": {"S": "batch"}, "id": {"S": "bat_AAAAAAAAAAAAAAAAAAAAAA"},
                   "issuer_id": {"S": "iss_AAAAAAAAAAAAAAAAAAAAAA"}, "status": {"S": status}})
        };
        let f = of_records(&[record("MODIFY", b("completed"), Some(b("issuing")))]);
        assert_eq!(f[0].kind, EventType::BatchCompleted);
        assert!(of_records(&[record("MODIFY", b("completed"), Some(b("completed")))]).is_empty());
        assert!(of_records(&[record("MODIFY", b("issuing"), Some(b("validating")))]).is_empty());
        let f = of_records(&[record("MODIFY", b("failed"), Some(b("validating")))]);
        assert_eq!(f[0].kind, EventType::BatchFailed);
    }

    /// A fact's time is its stream record's (`ApproximateCreationDateTime`, seconds as a number),
    /// not the moment notify reads it.
    #[test]
    fn a_fact_happened_when_its_record_was_made() {
        let mut r = record("INSERT", award(json!({})), None);
        r["dynamodb"]["ApproximateCreationDateTime"] = json!(1_796_000_000.0);
        let f = of_records(&[r]);
        assert_eq!(f[0].at, DateTime::from_timestamp(1_796_000_000, 0));
        assert_eq!(
            of_records(&[record("INSERT", award(json!({})), None)])[0].at,
            None
        );
    }
}
