//! Webhook endpoints (`ISSUER#{iid}#WEBHOOKS`/`WEBHOOK#{wid}`) and their deliveries
//! (`WEBHOOK#{wid}`/`DELIVERY#{msg}`, listed newest first on GSI1).
//!
//! A delivery is made once per event and endpoint (`attribute_not_exists`: its id is derived
//! from the event), and each attempt is claimed before it is sent: the claim moves `attempts` from
//! the number the sender read to the next, so two invocations holding the same message (SQS
//! delivers at least once; a manual retry beside a scheduled one) never send the same attempt
//! twice. A claim whose sender died is taken over after [`CLAIM_SECS`].

use super::{
    applied, from_item, get_s, keys, listed, n, s, to_item, Item, Result, Store, StoreError,
};
use crate::domain::{
    ids::{IssuerId, WebhookId},
    webhook::{Attempt, Delivery, DeliveryState, Webhook},
};
use chrono::{DateTime, Utc};

const KIND: &str = "webhook";
const DELIVERY_KIND: &str = "webhook_delivery";
/// Deliveries are kept this long (then DynamoDB's TTL removes them).
const KEEP_DAYS: i64 = 30;
/// How long a claimed attempt stays claimed: longer than the 10 s request and the writes
/// around it, shorter than any retry.
pub const CLAIM_SECS: i64 = 60;

fn webhook_item(w: &Webhook) -> Result<Item> {
    to_item(KIND, keys::webhook(&w.issuer_id, &w.id), w)
}

fn state_of(state: DeliveryState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Store {
    /// Creates it; with `once`, the record of its `Idempotency-Key` too (`Some`: what the key
    /// had made already, and nothing is written).
    pub async fn create_webhook(
        &self,
        w: &Webhook,
        once: Option<&super::creations::Creation>,
    ) -> Result<Option<super::creations::Creation>> {
        self.create_once(vec![webhook_item(w)?], &w.issuer_id, once)
            .await
    }

    /// One endpoint of an issuer (consistent: an edit is seen at once).
    pub async fn webhook(&self, issuer: &IssuerId, id: &WebhookId) -> Result<Option<Webhook>> {
        self.get_consistent(keys::webhook(issuer, id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Every endpoint of an issuer (one consistent Query of their partition).
    pub async fn webhooks_of(&self, issuer: &IssuerId) -> Result<Vec<Webhook>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::webhooks_of(issuer)))
            .consistent_read(true);
        let mut out = Vec::new();
        self.query_each(query, |item| {
            // One unreadable endpoint must not hold up the others' events (or the stream).
            match from_item::<Webhook>(item) {
                Ok(w) => out.push(w),
                Err(e) => tracing::error!(%issuer, error = %e, "an unreadable webhook endpoint is skipped"),
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Writes `w` (its `version` already incremented) if the stored one is at `version - 1`.
    pub async fn update_webhook(&self, w: &Webhook) -> Result<()> {
        self.put_at_version(webhook_item(w)?, w.version - 1).await
    }

    pub async fn delete_webhook(&self, issuer: &IssuerId, id: &WebhookId) -> Result<bool> {
        self.delete_if(keys::webhook(issuer, id), "attribute_exists(PK)", None)
            .await
    }

    /// Switches an enabled endpoint off, saying why, if it is still as `w` was read (an edit or a
    /// success since — a fixed URL, an answer — moved `version`). True for the one call that did
    /// it (so its admins are told once).
    ///
    /// The write carries a token of this call: when its answer is lost (a throttle or a timeout
    /// after it landed) the SDK sends it again, and that copy fails its condition on the first's
    /// write; a consistent read then tells our own switch-off from another's.
    pub async fn disable_webhook(&self, w: &Webhook, reason: &str) -> Result<bool> {
        let token = crate::domain::ids::random_token();
        let res = self
            .update_at(keys::webhook(&w.issuer_id, &w.id))
            .update_expression(
                "SET enabled = :off, disabled_reason = :why, disabled_by = :token ADD version :one",
            )
            .condition_expression("enabled = :on AND version = :v")
            .expression_attribute_values(":token", s(token.clone()))
            .expression_attribute_values(":v", n(w.version))
            .expression_attribute_values(
                ":off",
                aws_sdk_dynamodb::types::AttributeValue::Bool(false),
            )
            .expression_attribute_values(":on", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .expression_attribute_values(":why", s(reason))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        if applied(res)? {
            return Ok(true);
        }
        let stored = self
            .get_consistent(keys::webhook(&w.issuer_id, &w.id))
            .await?;
        Ok(stored.is_some_and(|i| get_s(&i, "disabled_by") == Some(token.as_str())))
    }

    /// Records that the endpoint is failing (keeps the first time), or, with `None`, that it
    /// answered (only when it was failing: a healthy endpoint costs no write).
    pub async fn set_failing(&self, w: &Webhook, since: Option<DateTime<Utc>>) -> Result<()> {
        let req = self.update_at(keys::webhook(&w.issuer_id, &w.id));
        // `version` moves too, so an edit saved from an older read cannot bring back a stale
        // `failing_since` (and switch a healthy endpoint off).
        let req = match since {
            Some(t) => req
                .update_expression(
                    "SET failing_since = if_not_exists(failing_since, :t) ADD version :one",
                )
                .condition_expression(
                    "attribute_exists(PK) AND attribute_not_exists(failing_since)",
                )
                .expression_attribute_values(":t", s(t.to_rfc3339())),
            None => req
                .update_expression("REMOVE failing_since ADD version :one")
                .condition_expression("attribute_exists(failing_since)"),
        };
        let req = req.expression_attribute_values(":one", n(1));
        applied(req.send().await).map(|_| ())
    }

    /// Makes a delivery unless it exists: true when this call made it.
    pub async fn create_delivery(&self, d: &Delivery) -> Result<bool> {
        let mut item = to_item(DELIVERY_KIND, keys::delivery(&d.webhook_id, &d.id), d)?;
        item.insert(
            keys::TTL.into(),
            n((d.created_at + chrono::Duration::days(KEEP_DAYS)).timestamp()),
        );
        let item = listed(
            item,
            keys::Index::Gsi1,
            keys::deliveries_of(&d.webhook_id),
            d.created_at,
            &d.id,
        );
        self.put_new(item).await
    }

    pub async fn delivery(&self, webhook: &WebhookId, id: &str) -> Result<Option<Delivery>> {
        self.get_consistent(keys::delivery(webhook, id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// An endpoint's deliveries, newest first, a page at a time.
    pub async fn deliveries(
        &self,
        webhook: &WebhookId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Delivery>, Option<String>)> {
        let (items, next) = self
            .query_index(
                keys::Index::Gsi1,
                &keys::deliveries_of(webhook),
                limit,
                cursor,
            )
            .await?;
        let list = items.into_iter().map(from_item).collect::<Result<_>>()?;
        Ok((list, next))
    }

    /// Claims attempt `seen + 1`: the delivery must still be at `seen` attempts and waiting (or
    /// held by a claim that has run out). True when this call holds it. The claim carries a
    /// token of this call, so the SDK sending the same request again (its answer lost, the
    /// write made) finds its own claim and holds it, where the condition alone would refuse it
    /// and leave the delivery `sending` with nobody to send it.
    pub async fn claim_attempt(&self, d: &Delivery, now: DateTime<Utc>) -> Result<bool> {
        let res = self
            .update_at(keys::delivery(&d.webhook_id, &d.id))
            .update_expression(
                "SET #st = :sending, claim_ends = :until, attempts = :next, claim_token = :token",
            )
            .condition_expression(
                "(attempts = :seen AND (#st = :pending OR (#st = :sending AND claim_ends < :now))) \
                 OR claim_token = :token",
            )
            .expression_attribute_values(":token", s(crate::domain::ids::random_token()))
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":sending", s(state_of(DeliveryState::Sending)))
            .expression_attribute_values(":pending", s(state_of(DeliveryState::Pending)))
            .expression_attribute_values(":seen", n(d.attempts))
            .expression_attribute_values(":next", n(d.attempts + 1))
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":until", n(now.timestamp() + CLAIM_SECS))
            .send()
            .await;
        applied(res)
    }

    /// Records the claimed attempt's outcome and where the delivery goes next; only while the
    /// claim is still this attempt's.
    pub async fn finish_attempt(
        &self,
        d: &Delivery,
        attempt: &Attempt,
        state: DeliveryState,
        next_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let last = serde_dynamo::to_attribute_value(attempt)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut req = self
            .update_at(keys::delivery(&d.webhook_id, &d.id))
            .condition_expression("attempts = :n")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":n", n(attempt.number))
            .expression_attribute_values(":state", s(state_of(state)))
            .expression_attribute_values(":last", last);
        req = match next_at {
            Some(t) => req
                .update_expression(
                    "SET #st = :state, #last = :last, next_attempt_at = :next REMOVE claim_ends",
                )
                .expression_attribute_values(":next", s(t.to_rfc3339())),
            None => req.update_expression(
                "SET #st = :state, #last = :last REMOVE claim_ends, next_attempt_at",
            ),
        };
        applied(req.expression_attribute_names("#last", "last").send().await)
    }

    /// Ends a waiting delivery without sending it (its endpoint is off, gone or unsubscribed).
    pub async fn cancel_delivery(&self, d: &Delivery) -> Result<bool> {
        use DeliveryState::{Cancelled, Pending, Sending};
        self.set_state(d, Cancelled, &[Pending, Sending]).await
    }

    /// The delivery waits for one more attempt, now (`POST …/retry`): whatever its state, unless
    /// an attempt is in flight (claimed, and the claim has not run out).
    pub async fn reopen_delivery(&self, d: &Delivery, now: DateTime<Utc>) -> Result<bool> {
        let res = self
            .update_at(keys::delivery(&d.webhook_id, &d.id))
            .update_expression("SET #st = :pending REMOVE next_attempt_at")
            .condition_expression("attempts = :seen AND (#st <> :sending OR claim_ends < :now)")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":pending", s(state_of(DeliveryState::Pending)))
            .expression_attribute_values(":sending", s(state_of(DeliveryState::Sending)))
            .expression_attribute_values(":seen", n(d.attempts))
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        applied(res)
    }

    /// Moves a delivery still at its `attempts` and in one of `from` to `state`.
    async fn set_state(
        &self,
        d: &Delivery,
        state: DeliveryState,
        from: &[DeliveryState],
    ) -> Result<bool> {
        let names: Vec<String> = (0..from.len()).map(|i| format!(":f{i}")).collect();
        let mut req = self
            .update_at(keys::delivery(&d.webhook_id, &d.id))
            .update_expression("SET #st = :state REMOVE next_attempt_at")
            .condition_expression(format!(
                "attempts = :seen AND #st IN ({})",
                names.join(", ")
            ))
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":state", s(state_of(state)))
            .expression_attribute_values(":seen", n(d.attempts));
        for (name, st) in names.iter().zip(from) {
            req = req.expression_attribute_values(name, s(state_of(*st)));
        }
        applied(req.send().await)
    }
}
