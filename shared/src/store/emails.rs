//! Email stages sent per award (exactly once), and the suppression list.

use super::{applied, get_s, keys, s, Result, Store, StoreError};
use crate::domain::{award::Award, ids::AwardId, rollup::Tags, time::Zone};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRecord {
    pub state: String,
    pub detail: Option<String>,
}

impl Store {
    /// Claims `stage` of `award` for sending until `until`. `Ok(false)`: it was sent already, or
    /// another invocation is sending it right now.
    pub async fn claim_email(
        &self,
        award: &AwardId,
        stage: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (pk, sk) = keys::email_stage(award, stage);
        self.claim(pk, sk, "email", until, now, None).await
    }

    /// One lease item: put `state = sending` until `until` if the item is absent, or if it is a
    /// lease that ran out (its holder died). `Ok(false)`: finished already, or held right now.
    ///
    /// The put carries a token of this call: when its answer is lost (a throttle or a timeout
    /// after the write landed) the SDK sends it again, and the second attempt fails its condition
    /// on the first's item. A consistent read then tells our own lease from someone else's.
    async fn claim(
        &self,
        pk: String,
        sk: String,
        kind: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let holder = crate::domain::ids::random_token();
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(pk.clone()))
            .item(keys::SK, s(sk.clone()))
            .item(keys::TYPE, s(kind))
            .item("state", s("sending"))
            .item("until", s(keys::sortable(until)))
            .item("holder", s(holder.clone()));
        if let Some(t) = expires_at {
            put = put.item(keys::TTL, super::n(t.timestamp()));
        }
        let res = put
            .condition_expression("attribute_not_exists(PK) OR (#st = :sending AND #u < :now)")
            .expression_attribute_names("#st", "state")
            .expression_attribute_names("#u", "until")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":now", s(keys::sortable(now)))
            .send()
            .await;
        if applied(res)? {
            return Ok(true);
        }
        let stored = self.get_consistent((pk, sk)).await?;
        Ok(stored.is_some_and(|i| get_s(&i, "holder") == Some(holder.as_str())))
    }

    /// Marks how a claimed stage ended (`rejected`, `unknown`, `suppressed`, `skipped`, or
    /// `sent` for a KakaoTalk stage; an email sent is [`Store::finish_email_sent`]).
    pub async fn finish_email(
        &self,
        award: &AwardId,
        stage: &str,
        state: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.mark_email(award, (stage, state), detail, at, &[])
            .await
    }

    /// Marks an email stage `sent`, with the [`Tags`] of its send: the mark's stream record is
    /// the email's counting write (`email:{stage}:sent`, rolled up by the stream's reader:
    /// [`super::counters::change_of`]), in place of SES's Send event.
    pub async fn finish_email_sent(
        &self,
        award: &Award,
        stage: &str,
        message_id: &str,
        zone: Zone,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let tags = super::counters::tag_values(&Tags::of(award, zone, at));
        self.mark_email(&award.id, (stage, "sent"), message_id, at, &tags)
            .await
    }

    /// The mark follows SES's answer, so it is tried again in place while DynamoDB refuses it
    /// for load or contention, or fails on its side (a plain put: the same mark twice is one,
    /// and makes no stream record): a claim left unmarked would lapse, and the email be sent a
    /// second time by whichever run takes it over.
    async fn mark_email(
        &self,
        award: &AwardId,
        (stage, state): (&str, &str),
        detail: &str,
        at: DateTime<Utc>,
        tags: &[(&'static str, String)],
    ) -> Result<()> {
        let (pk, sk) = keys::email_stage(award, stage);
        let mut retry = super::Backoff::default();
        loop {
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(keys::PK, s(pk.clone()))
                .item(keys::SK, s(sk.clone()))
                .item(keys::TYPE, s("email"))
                .item("state", s(state))
                .item("detail", s(detail))
                .item("at", s(keys::sortable(at)));
            for (name, value) in tags {
                put = put.item(*name, s(value.clone()));
            }
            let res = put.send().await;
            let Err(e) = res else { return Ok(()) };
            let transient = super::worth_retrying(e.code())
                || e.code() == Some("InternalServerError")
                || matches!(
                    e,
                    SdkError::DispatchFailure(_)
                        | SdkError::TimeoutError(_)
                        | SdkError::ResponseError(_)
                );
            if !transient || !retry.wait().await {
                return Err(StoreError::from_sdk(e));
            }
        }
    }

    /// Gives a claim back (the send failed in a way worth retrying).
    pub async fn release_email(&self, award: &AwardId, stage: &str) -> Result<()> {
        let (pk, sk) = keys::email_stage(award, stage);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("#st = :sending")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| {
                if e.code() == Some("ConditionalCheckFailedException") {
                    Ok(())
                } else {
                    Err(StoreError::from_sdk(e))
                }
            })
    }

    /// The state of a stage's item, read consistently.
    pub async fn email_state_consistent(
        &self,
        award: &AwardId,
        stage: &str,
    ) -> Result<Option<String>> {
        let item = self.get_consistent(keys::email_stage(award, stage)).await?;
        Ok(item.and_then(|i| get_s(&i, "state").map(str::to_owned)))
    }

    pub async fn email_record(&self, award: &AwardId, stage: &str) -> Result<Option<EmailRecord>> {
        Ok(self
            .get(keys::email_stage(award, stage))
            .await?
            .map(|i| EmailRecord {
                state: get_s(&i, "state").unwrap_or_default().to_owned(),
                detail: get_s(&i, "detail").map(str::to_owned),
            }))
    }

    /// Claims the weekly digest of `issuer` for the week starting `monday` until `until`: true
    /// when this invocation should send it. A digest that was sent (or found quiet) is never
    /// claimed again (kept 60 days); one whose sender died or timed out is claimed again once its
    /// claim has run out, by a later run the same day.
    pub async fn claim_digest(
        &self,
        issuer: &crate::domain::ids::IssuerId,
        monday: chrono::NaiveDate,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // Claimed by a release before 2026-12-05 (in the issuer's partition): done, or being
        // sent; a claim of it that ran out is taken over here, in the new partition.
        if let Some(old) = self
            .get_consistent(keys::legacy_digest(issuer, monday))
            .await?
        {
            let live = get_s(&old, "until").is_some_and(|u| u >= keys::sortable(now).as_str());
            if get_s(&old, "state") != Some("sending") || live {
                return Ok(false);
            }
        }
        let (pk, sk) = keys::digest(issuer, monday);
        let keep = now + chrono::Duration::days(60);
        self.claim(pk, sk, "digest", until, now, Some(keep)).await
    }

    /// Claims one admin's copy of the week's digest, for good: true once per issuer, week and
    /// address, whatever is retried or run again, so no admin gets a week's digest twice. A run
    /// that dies between this claim and SES's answer leaves that admin without it (at most once).
    pub async fn claim_digest_copy(
        &self,
        issuer: &crate::domain::ids::IssuerId,
        monday: chrono::NaiveDate,
        email_lookup_key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let legacy = keys::legacy_digest_copy(issuer, monday, email_lookup_key);
        if self.get_consistent(legacy).await?.is_some() {
            return Ok(false);
        }
        let (pk, sk) = keys::digest_copy(issuer, monday, email_lookup_key);
        let keep = now + chrono::Duration::days(60);
        self.claim(pk, sk, "digest_copy", keep, now, Some(keep))
            .await
    }

    /// Gives back one admin's copy that SES did not take (throttled, or the account paused): the
    /// copy's claim lapses at once, so the run that takes the week over claims and sends it.
    pub async fn release_digest_copy(
        &self,
        issuer: &crate::domain::ids::IssuerId,
        monday: chrono::NaiveDate,
        email_lookup_key: &str,
    ) -> Result<()> {
        let (pk, sk) = keys::digest_copy(issuer, monday, email_lookup_key);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #u = :lapsed")
            .condition_expression("#st = :sending")
            .expression_attribute_names("#u", "until")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":lapsed", s(keys::sortable(DateTime::UNIX_EPOCH)))
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await;
        applied(res).map(|_| ())
    }

    /// Records that the week's digest is done (`sent` or `quiet`): never claimed again.
    pub async fn finish_digest(
        &self,
        issuer: &crate::domain::ids::IssuerId,
        monday: chrono::NaiveDate,
        state: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (pk, sk) = keys::digest(issuer, monday);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #st = :state, sent_at = :at")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":state", s(state))
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Addresses that bounced hard or complained get no more mail.
    pub async fn is_suppressed(&self, email_lookup_key: &str) -> Result<bool> {
        Ok(self
            .get(keys::suppression(email_lookup_key))
            .await?
            .is_some())
    }

    pub async fn suppress(
        &self,
        email_lookup_key: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (pk, sk) = keys::suppression(email_lookup_key);
        self.client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item(keys::TYPE, s("suppression"))
            .item("reason", s(reason))
            .item("at", s(keys::sortable(at)))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
