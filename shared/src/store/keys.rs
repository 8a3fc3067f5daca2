//! The single-table key design, in one place: every item and its keys (the table below), and the
//! only file that spells key strings and index names. ARCHITECTURE.md lists the access patterns.
//!
//! | Item | PK | SK | Index keys |
//! |---|---|---|---|
//! | Issuer | `ISSUER#{iid}` | `ISSUER` | GSI1 `ISSUERS` / `{created}#{iid}`; CATALOGUE `CATALOGUE` / `I#{iid}` |
//! | KakaoTalk settings | `ISSUER#{iid}` | `KAKAO` | the settings as attributes, the provider credentials as a KMS ciphertext (`credentials`) |
//! | Weekly digest claim and copy, before 2026-12-05 (read, never written) | `ISSUER#{iid}` | `DIGEST#{monday}`, `DIGEST#{monday}#TO#{sha256(email)}` | |
//! | API key (listing) | `ISSUER#{iid}` | `KEY#{kid}` | |
//! | API key (look-up) | `APIKEY#{sha256(key)}` | `APIKEY` | |
//! | Template | `TEMPLATE#{tid}` | `TEMPLATE` | GSI1 `ISSUER#{iid}#TEMPLATES` / `{created}#{tid}`; CATALOGUE `CATALOGUE` / `T#{tid}` |
//! | Template daily counters | `TEMPLATE#{tid}` | `DAY#{yyyy-mm-dd}` (issuer's time zone) | |
//! | Batch daily counters | `BATCH#{bid}` | `DAY#{yyyy-mm-dd}` | |
//! | Cohort daily counters | `ISSUER#{iid}#COHORT#{sha256(cohort)}` | `DAY#{yyyy-mm-dd}` | |
//! | Weekly digest claim | `ISSUER#{iid}#DIGEST` | `{monday}` | `state` = sending (with `until`) / sent / quiet (TTL 60 days) |
//! | Weekly digest copy | `ISSUER#{iid}#DIGEST` | `{monday}#TO#{sha256(email)}` | claimed once per admin, never again (TTL 60 days) |
//! | Console session-signing secret | `CONFIG` | `SESSION_SECRET` | (created once, conditional put) |
//! | Award | `AWARD#{aid}` | `AWARD` | GSI1 `TEMPLATE#{tid}#AWARDS`, GSI2 `ISSUER#{iid}#AWARDS`, GSI3 `ISSUER#{iid}#RCPT#{sha256(email)}`, GSI4 `BATCH#{bid}#AWARDS` (batch awards only); all sorted `{issued}#{aid}` |
//! | Award counters | `AWARD#{aid}` | `COUNTERS` | counters, `version` (+1 per counting write), the tags of the last write (`template_id`, `issuer_id`, `batch_id`, `cohort`, `day`, `recorded_day`); its stream records feed the rollup |
//! | Award rollup watermark (before 2026-12-05; read, never written) | `AWARD#{aid}` | `ROLLUP` | `rolled`: the counters `version` up to which the day items have it |
//! | Rollup span | `ROLLUP#{stream label}#{shard id}`, or `ROLLUP#{stream label}#award#{aid}` (spans kept by award) | `{first}` (the sequence number, 40 digits) | `last`: the records from `first` to `last` are in the day items (TTL 2 days) |
//! | Rollup by-award mark | `ROLLUP#{stream label}#award` | `MARK` | `at`: until when the stream may have spans kept by award |
//! | Guard: idempotency key | `ISSUER#{iid}#IDEM#{sha256(key)}` | `GUARD` | |
//! | Created with an idempotency key (template, batch, webhook endpoint, API key) | `ISSUER#{iid}#IDEM#{sha256(key)}` | `CREATED#{kind}` | `id`, `fingerprint`, a webhook endpoint's `secret` digest (TTL 24 hours) |
//! | Guard: external id | `ISSUER#{iid}#EXT#{sha256(id)}` | `GUARD` | |
//! | Guard: one active award | `TEMPLATE#{tid}#RCPT#{sha256(email)}` | `ACTIVE` | |
//! | Batch | `BATCH#{bid}` | `BATCH` | GSI1 `ISSUER#{iid}#BATCHES` / `{created}#{bid}` |
//! | Follow-up due | `DUE#{bucket}#{shard 00..15}` | `{stage}#{aid}` | `due_at`; deleted once handled (TTL 30 days after `due_at`); `bucket` is an hour `yyyy-mm-ddThh` or a KakaoTalk batch or result bucket |
//! | Follow-ups due together (one email stage, one hour bucket, 2 to 32 awards queued at once) | `DUE#{bucket}#{shard of the first}` | `{stage}#G#{sha256(awards), 32 hex}` | `awards` (the ids, comma-separated), `due_at` (the earliest); deleted once all are handled (TTL 30 days after the latest) |
//! | Follow-up due, before 2026-12-03 | `AWARD#{aid}` | `FOLLOWUP#{stage}` | DUE `DUE#{bucket}#{shard}` / `{stage}#{aid}` (sparse; no longer written: what is left is handled and deleted by its bucket's run, or moved into the row above by `infra move-due-items`) |
//! | Unsubscribed recipient | `ISSUER#{iid}#UNSUB#{sha256(email)}` | `UNSUB` | |
//! | SES event seen | `EVENT#{eventbridge id}` | `EVENT` | (TTL 14 days) |
//! | Email stage | `AWARD#{aid}` | `EMAIL#{stage}` | `state` = sending (claimed, with `until`) / sent / rejected / unknown (SES may have accepted it) / suppressed; an email stage's `sent` (since 2026-12-08) also the counting tags (`template_id`, `issuer_id`, `batch_id`, `cohort`, `day`, `recorded_day`): its stream record counts `email:{stage}:sent` |
//! | Suppression | `SUPPRESS#{sha256(email)}` | `SUPPRESS` | |
//! | Credential-signing key | `ISSUER#{iid}#SIGNKEY` | `KEY#{n:010}` | public key, KMS ciphertext of the seed (never the seed) |
//! | Status index allocator | `ISSUER#{iid}#STATUS` | `NEXT` | `allocated`: indexes handed out so far (`ADD`, never reused) |
//! | Status list chunk | `ISSUER#{iid}#STATUS#{list}` | `CHUNK#{index / 8192}` | `revoked`: number set of revoked indexes (`ADD`, so concurrent revocations never lose a bit) |
//! | Signed credential | `CREDENTIAL#{aid}` | `CREDENTIAL` | the signed JSON, its status entry and key number (written once; replaced only when signed again after its key's retirement, or to record its issuer) |
//! | Webhook endpoint | `ISSUER#{iid}#WEBHOOKS` | `WEBHOOK#{wid}` | URL, event types, signing secrets, `failing_since`, `version` |
//! | Webhook delivery | `WEBHOOK#{wid}` | `DELIVERY#{msg}` | GSI1 `WEBHOOK#{wid}#DELIVERIES` / `{created}#{msg}`; the body, `state`, `attempts`, the last attempt (TTL 30 days) |

use crate::domain::{
    ids::{ApiKeyId, AwardId, BatchId, IssuerId, TemplateId, WebhookId},
    tally::Segment,
};
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const TYPE: &str = "type";
pub const TTL: &str = "expires_at";

/// The secondary indexes, by the names template.yaml gives them: four overloaded GSIs, the
/// sparse `CATALOGUE` index of every issuer and template (nothing else: items the badge page's
/// function may read by key anyway, so it may read the index whole) and the sparse, keys-only
/// `DUE` index of the follow-ups written before 2026-12-03 (read and emptied, no longer written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
    Catalogue,
    Due,
}

impl Index {
    pub fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "GSI1",
            Index::Gsi2 => "GSI2",
            Index::Gsi3 => "GSI3",
            Index::Gsi4 => "GSI4",
            Index::Catalogue => "CATALOGUE",
            Index::Due => "DUE",
        }
    }
    pub fn pk(self) -> &'static str {
        match self {
            Index::Gsi1 => "GSI1PK",
            Index::Gsi2 => "GSI2PK",
            Index::Gsi3 => "GSI3PK",
            Index::Gsi4 => "GSI4PK",
            Index::Catalogue => "CATPK",
            Index::Due => "DUEPK",
        }
    }
    pub fn sk(self) -> &'static str {
        match self {
            Index::Gsi1 => "GSI1SK",
            Index::Gsi2 => "GSI2SK",
            Index::Gsi3 => "GSI3SK",
            Index::Gsi4 => "GSI4SK",
            Index::Catalogue => "CATSK",
            Index::Due => "DUESK",
        }
    }
}

/// A fixed-width UTC timestamp, so sort keys order like time.
pub fn sortable(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn h(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn issuer(id: &IssuerId) -> (String, String) {
    (format!("ISSUER#{id}"), "ISSUER".into())
}
pub const ISSUERS_LIST: &str = "ISSUERS";

/// The one partition of the `CATALOGUE` index: every issuer (sorted first) and template.
pub const CATALOGUE: &str = "CATALOGUE";
pub fn catalogued_issuer(id: &IssuerId) -> String {
    format!("I#{id}")
}
pub fn catalogued_template(id: &TemplateId) -> String {
    format!("T#{id}")
}

/// An issuer's KakaoTalk settings and encrypted provider credentials.
pub fn kakao(id: &IssuerId) -> (String, String) {
    (format!("ISSUER#{id}"), "KAKAO".into())
}

pub fn api_key(issuer: &IssuerId, id: &ApiKeyId) -> (String, String) {
    (format!("ISSUER#{issuer}"), format!("KEY#{id}"))
}
pub fn api_key_prefix() -> &'static str {
    "KEY#"
}
pub fn api_key_lookup(key_hash: &str) -> (String, String) {
    (format!("APIKEY#{key_hash}"), "APIKEY".into())
}

pub fn signing_keys(issuer: &IssuerId) -> String {
    format!("ISSUER#{issuer}#SIGNKEY")
}
pub fn signing_key(issuer: &IssuerId, n: u32) -> (String, String) {
    (signing_keys(issuer), format!("KEY#{n:010}"))
}
pub fn status_allocator(issuer: &IssuerId) -> (String, String) {
    (format!("ISSUER#{issuer}#STATUS"), "NEXT".into())
}
/// Indexes per status-list chunk item (a number set stays far below DynamoDB's 400 KB).
pub const STATUS_CHUNK: u32 = 8192;
pub fn status_list(issuer: &IssuerId, list: u32) -> String {
    format!("ISSUER#{issuer}#STATUS#{list}")
}
pub fn status_chunk(issuer: &IssuerId, list: u32, index: u32) -> (String, String) {
    (
        status_list(issuer, list),
        format!("CHUNK#{}", index / STATUS_CHUNK),
    )
}
/// An issuer's endpoints have a partition of their own, so a policy can let a function write
/// them (`ISSUER#*#WEBHOOKS`) and not the issuer or its API keys.
pub fn webhooks_of(issuer: &IssuerId) -> String {
    format!("ISSUER#{issuer}#WEBHOOKS")
}
pub fn webhook(issuer: &IssuerId, id: &WebhookId) -> (String, String) {
    (webhooks_of(issuer), format!("WEBHOOK#{id}"))
}
pub fn delivery(webhook: &WebhookId, message_id: &str) -> (String, String) {
    (
        format!("WEBHOOK#{webhook}"),
        format!("DELIVERY#{message_id}"),
    )
}
pub fn deliveries_of(webhook: &WebhookId) -> String {
    format!("WEBHOOK#{webhook}#DELIVERIES")
}
pub fn credential(award: &AwardId) -> (String, String) {
    (format!("CREDENTIAL#{award}"), "CREDENTIAL".into())
}

pub fn template(id: &TemplateId) -> (String, String) {
    (format!("TEMPLATE#{id}"), "TEMPLATE".into())
}
pub fn templates_of(issuer: &IssuerId) -> String {
    format!("ISSUER#{issuer}#TEMPLATES")
}
pub fn template_day(id: &TemplateId, day: NaiveDate) -> (String, String) {
    segment_day(&Segment::Template(id.clone()), day)
}

/// The daily counter item of a reporting segment (template, batch or cohort).
pub fn segment_day(seg: &Segment, day: NaiveDate) -> (String, String) {
    (segment(seg), format!("DAY#{day}"))
}
/// The partition holding a segment's daily counter items.
pub fn segment(seg: &Segment) -> String {
    match seg {
        Segment::Template(t) => format!("TEMPLATE#{t}"),
        Segment::Batch(b) => format!("BATCH#{b}"),
        Segment::Cohort(i, name) => format!("ISSUER#{i}#COHORT#{}", h(name)),
    }
}
pub const DAY_PREFIX: &str = "DAY#";

/// The secret that signs console session cookies (one per deployment).
pub fn session_secret() -> (String, String) {
    ("CONFIG".into(), "SESSION_SECRET".into())
}

/// A weekly digest sent (or being sent) to an issuer for the week starting on `monday`. In a
/// partition of its own, so the function that sends digests writes no issuer's profile.
pub fn digest(issuer: &IssuerId, monday: NaiveDate) -> (String, String) {
    (format!("ISSUER#{issuer}#DIGEST"), monday.to_string())
}

/// Where releases before 2026-12-05 claimed that digest, in the issuer's own partition: read
/// before a claim so a week claimed there is not sent twice. (Such items have a 60-day TTL; the
/// reads of both legacy keys can go once none is left.)
pub fn legacy_digest(issuer: &IssuerId, monday: NaiveDate) -> (String, String) {
    (format!("ISSUER#{issuer}"), format!("DIGEST#{monday}"))
}

/// Where releases before 2026-12-05 claimed one admin's copy (see [`legacy_digest`]).
pub fn legacy_digest_copy(
    issuer: &IssuerId,
    monday: NaiveDate,
    email_lookup_key: &str,
) -> (String, String) {
    copy_of(legacy_digest(issuer, monday), email_lookup_key)
}

/// One admin's copy of that digest: beside its claim.
pub fn digest_copy(
    issuer: &IssuerId,
    monday: NaiveDate,
    email_lookup_key: &str,
) -> (String, String) {
    copy_of(digest(issuer, monday), email_lookup_key)
}

fn copy_of((pk, sk): (String, String), email_lookup_key: &str) -> (String, String) {
    (pk, format!("{sk}#TO#{}", h(email_lookup_key)))
}

pub fn award(id: &AwardId) -> (String, String) {
    (format!("AWARD#{id}"), "AWARD".into())
}
pub fn award_counters(id: &AwardId) -> (String, String) {
    (format!("AWARD#{id}"), "COUNTERS".into())
}
/// The award whose counters item has these keys (a stream record's `Keys`); `None` for any
/// other item.
pub fn award_of_counters(pk: &str, sk: &str) -> Option<AwardId> {
    if sk != "COUNTERS" {
        return None;
    }
    AwardId::parse(pk.strip_prefix("AWARD#")?).ok()
}
/// A span of a stream shard's records the rollup has added to the day items, by its first
/// record's sequence key (`shard`: the stream's label and the shard's id).
pub fn rollup_span(shard: &str, first: &str) -> (String, String) {
    (format!("ROLLUP#{shard}"), first.to_owned())
}
/// Says until when a stream may have spans kept by award (batches that named no shard).
pub fn rolled_by_award(stream: &str) -> (String, String) {
    (format!("ROLLUP#{stream}#award"), "MARK".into())
}
/// How far releases before 2026-12-05 had added an award's counters to the day items.
pub fn award_rollup(id: &AwardId) -> (String, String) {
    (format!("AWARD#{id}"), "ROLLUP".into())
}
pub fn awards_of_template(t: &TemplateId) -> String {
    format!("TEMPLATE#{t}#AWARDS")
}
pub fn awards_of_issuer(i: &IssuerId) -> String {
    format!("ISSUER#{i}#AWARDS")
}
/// Recipients are keyed by a hash of the lower-cased address, so keys never hold an email.
pub fn awards_of_recipient(i: &IssuerId, email_lookup_key: &str) -> String {
    format!("ISSUER#{i}#RCPT#{}", h(email_lookup_key))
}
pub fn awards_of_batch(b: &BatchId) -> String {
    format!("BATCH#{b}#AWARDS")
}
pub fn award_sort(issued: DateTime<Utc>, id: &AwardId) -> String {
    format!("{}#{id}", sortable(issued))
}

pub fn guard_idempotency(i: &IssuerId, key: &str) -> (String, String) {
    (format!("ISSUER#{i}#IDEM#{}", h(key)), "GUARD".into())
}
/// The record of a create's `Idempotency-Key` (`store::creations`); `kind`: what the route
/// creates (a key is the route's own).
pub fn creation(i: &IssuerId, kind: &str, key: &str) -> (String, String) {
    (
        format!("ISSUER#{i}#IDEM#{}", h(key)),
        format!("CREATED#{kind}"),
    )
}
pub fn guard_external_id(i: &IssuerId, external_id: &str) -> (String, String) {
    (format!("ISSUER#{i}#EXT#{}", h(external_id)), "GUARD".into())
}
pub fn guard_active(t: &TemplateId, email_lookup_key: &str) -> (String, String) {
    (
        format!("TEMPLATE#{t}#RCPT#{}", h(email_lookup_key)),
        "ACTIVE".into(),
    )
}

/// One email stage (`day1`, `day3`, `day7`, `expiry`) of an award.
pub fn email_stage(award: &AwardId, stage: &str) -> (String, String) {
    (format!("AWARD#{award}"), format!("EMAIL#{stage}"))
}

/// The award and stage of an email stage's item, from its keys ([`email_stage`]).
pub fn email_stage_of<'a>(pk: &str, sk: &'a str) -> Option<(AwardId, &'a str)> {
    let stage = sk.strip_prefix("EMAIL#")?;
    Some((AwardId::parse(pk.strip_prefix("AWARD#")?).ok()?, stage))
}

/// A follow-up due in `bucket`: the bucket's shard is its partition, `{stage}#{award}` its sort key.
pub fn due_item(bucket: &str, shard: u8, stage: &str, award: &AwardId) -> (String, String) {
    (due(bucket, shard), format!("{stage}#{award}"))
}

/// The item of follow-ups of one stage due together in `bucket`, named by what it holds (the
/// SHA-256 of `awards` as written, comma-separated), in the shard of the first: written again
/// with other follow-ups (a stream batch retried with other records), it is another item, so a
/// run deleting the item it read deletes only what it handled. `G#` never begins an award id, so
/// it never meets [`due_item`]'s keys.
pub fn due_group(bucket: &str, stage: &str, awards: &[&AwardId]) -> (String, String) {
    let shard = awards
        .first()
        .map_or(0, |a| crate::domain::followup::shard_of(a));
    let joined = awards
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let digest = hex::encode(&Sha256::digest(joined.as_bytes())[..16]);
    (due(bucket, shard), format!("{stage}#G#{digest}"))
}

/// The partition of one shard of a bucket's due follow-ups (also the `DUE` index's partition
/// key in the layout before 2026-12-03).
pub fn due(bucket: &str, shard: u8) -> String {
    format!("DUE#{bucket}#{shard:02}")
}

/// The bucket a due partition (`DUE#{bucket}#{shard}`) is of.
pub fn bucket_of_due(partition: &str) -> Option<&str> {
    Some(partition.strip_prefix("DUE#")?.rsplit_once('#')?.0)
}

/// A follow-up due item as written before 2026-12-03: an item of the award, in the sparse `DUE`
/// index until handled.
pub fn legacy_followup(award: &AwardId, stage: &str) -> (String, String) {
    (format!("AWARD#{award}"), format!("FOLLOWUP#{stage}"))
}

/// A recipient who unsubscribed from an issuer's promotional emails.
pub fn unsubscribed(issuer: &IssuerId, email_lookup_key: &str) -> (String, String) {
    (
        format!("ISSUER#{issuer}#UNSUB#{}", h(email_lookup_key)),
        "UNSUB".into(),
    )
}

/// An EventBridge event already handled (SES events are delivered at least once).
pub fn event_seen(id: &str) -> (String, String) {
    (format!("EVENT#{id}"), "EVENT".into())
}

pub fn suppression(email_lookup_key: &str) -> (String, String) {
    (
        format!("SUPPRESS#{}", h(email_lookup_key)),
        "SUPPRESS".into(),
    )
}

pub fn batch(id: &BatchId) -> (String, String) {
    (format!("BATCH#{id}"), "BATCH".into())
}
pub fn batches_of(issuer: &IssuerId) -> String {
    format!("ISSUER#{issuer}#BATCHES")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sortable_timestamps_order_like_time() {
        let a = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let b = a + chrono::Duration::milliseconds(1);
        let c = a + chrono::Duration::seconds(10);
        assert!(sortable(a) < sortable(b) && sortable(b) < sortable(c));
        assert_eq!(sortable(a).len(), sortable(b).len());
    }

    #[test]
    fn counters_keys_name_their_award() {
        let a = AwardId::generate();
        let (pk, sk) = award_counters(&a);
        assert_eq!(award_of_counters(&pk, &sk), Some(a.clone()));
        let (pk, sk) = award(&a);
        assert_eq!(award_of_counters(&pk, &sk), None);
        assert_eq!(award_of_counters("TEMPLATE#x", "COUNTERS"), None);
    }

    #[test]
    fn recipient_keys_hold_no_email() {
        let i = IssuerId::generate();
        let k = awards_of_recipient(&i, "kim@example.com");
        assert!(!k.contains("kim"));
        assert_eq!(k, awards_of_recipient(&i, "kim@example.com"));
    }
}
