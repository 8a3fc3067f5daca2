use super::{from_item, get_s, keys, s, size, to_item, Backoff, Item, Result, Store, StoreError};
use crate::domain::{
    award::{Award, Revocation},
    ids::{AwardId, IssuerId},
    tally::Tally,
};
use aws_sdk_dynamodb::{
    error::SdkError,
    operation::transact_write_items::TransactWriteItemsError,
    types::{KeysAndAttributes, Put, TransactWriteItem, Update},
};
use std::collections::{HashMap, HashSet};

const KIND: &str = "award";
const GUARD_KIND: &str = "guard";

/// A uniqueness rule enforced in the same transaction that writes the award.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// `Idempotency-Key` header: the same key always means the same award. The fingerprint
    /// records what was asked, so reusing a key for a different request is caught.
    Idempotency { key: String, fingerprint: String },
    /// The integrator's own id for the award.
    ExternalId {
        external_id: String,
        fingerprint: String,
    },
    /// The template allows one active award per recipient. `replacing` names a stale holder
    /// (revoked, expired or superseded) that may be replaced.
    ActivePerRecipient { replacing: Option<AwardId> },
}

impl Guard {
    fn kind(&self) -> GuardKind {
        match self {
            Guard::Idempotency { .. } => GuardKind::Idempotency,
            Guard::ExternalId { .. } => GuardKind::ExternalId,
            Guard::ActivePerRecipient { .. } => GuardKind::ActivePerRecipient,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    Idempotency,
    ExternalId,
    ActivePerRecipient,
}

/// Another award already holds a guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardTaken {
    pub kind: GuardKind,
    pub existing: AwardId,
    pub fingerprint: Option<String>,
    /// The batch that wrote the holder, if a CSV batch did.
    pub batch_id: Option<crate::domain::ids::BatchId>,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("a uniqueness rule is held by award {}", .0.existing)]
    Taken(GuardTaken),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn guard_taken(item: &Item, kind: GuardKind) -> Result<GuardTaken> {
    let existing = get_s(item, "award_id")
        .and_then(|v| AwardId::parse(v).ok())
        .ok_or_else(|| StoreError::Corrupt("guard without award_id".into()))?;
    Ok(GuardTaken {
        kind,
        existing,
        fingerprint: get_s(item, "fingerprint").map(str::to_owned),
        batch_id: get_s(item, "batch_id").and_then(|v| crate::domain::ids::BatchId::parse(v).ok()),
    })
}

/// One award and its guards, written all or nothing (a CSV row).
#[derive(Debug, Clone)]
pub struct RowWrite {
    pub award: Award,
    pub guards: Vec<Guard>,
    /// The daily counters this award moves, written in its transaction.
    pub tallies: Vec<Tally>,
}

/// What became of a [`RowWrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowWritten {
    Written,
    /// The award item exists already: an earlier attempt of this very write landed (its
    /// response was lost to a throttle, a timeout or a crash).
    AlreadyWritten,
    Taken(GuardTaken),
}

/// DynamoDB's limit on actions in one `TransactWriteItems`.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// How many bytes of rows (awards and guards, sized as DynamoDB sizes items) go into one
/// transaction. DynamoDB refuses a transaction whose items come to more than 4 MB; the rest is
/// left for the daily counters and for any difference in how the service measures.
pub const ROWS_TRANSACTION_BYTES: usize = 3 * 1024 * 1024;

/// The cancellation reason of an item whose condition failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

pub(super) type TransactError = SdkError<TransactWriteItemsError>;

/// Where an item of a rows transaction comes from: `(row, item)`, where item 0 is the row's
/// award and item `j` its guard `j - 1`.
type Position = (usize, usize);

/// Per item of a cancelled transaction, DynamoDB's reason code (`None` for a plain error).
pub(super) fn cancellation_reasons(err: &TransactError) -> Option<Vec<Option<String>>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

/// A single award's transaction failed only because of other writers (a concurrent transaction
/// on the same counter item) or throttling: worth sending again.
pub(super) fn contended(err: &TransactError) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().iter().all(|r| {
                matches!(
                    r.code(),
                    None | Some(
                        "None"
                            | "TransactionConflict"
                            | "ThrottlingError"
                            | "ProvisionedThroughputExceeded"
                    )
                )
            })
        }
        _ => super::worth_retrying(aws_sdk_dynamodb::error::ProvideErrorMetadata::code(err)),
    }
}

/// For each row that failed a condition, its first failed item. `positions` holds the
/// [`Position`] of each item of the transaction.
fn failed_rows(reasons: &[Option<String>], positions: &[Position]) -> Vec<Position> {
    let mut failed: Vec<Position> = Vec::new();
    for (pos, code) in reasons.iter().enumerate() {
        if code.as_deref() == Some(CONDITION_FAILED) {
            if let Some(&(i, j)) = positions.get(pos) {
                if !failed.iter().any(|(fi, _)| *fi == i) {
                    failed.push((i, j));
                }
            }
        }
    }
    failed
}

fn award_item(a: &Award) -> Result<Item> {
    let mut item = to_item(KIND, keys::award(&a.id), a)?;
    let sort = keys::award_sort(a.issued_on, &a.id);
    item.insert(
        keys::Index::Gsi1.pk().into(),
        s(keys::awards_of_template(&a.template_id)),
    );
    item.insert(keys::Index::Gsi1.sk().into(), s(sort.clone()));
    item.insert(
        keys::Index::Gsi2.pk().into(),
        s(keys::awards_of_issuer(&a.issuer_id)),
    );
    item.insert(keys::Index::Gsi2.sk().into(), s(sort.clone()));
    item.insert(
        keys::Index::Gsi3.pk().into(),
        s(keys::awards_of_recipient(
            &a.issuer_id,
            &a.recipient.email.lookup_key(),
        )),
    );
    item.insert(keys::Index::Gsi3.sk().into(), s(sort.clone()));
    if let Some(b) = &a.batch_id {
        item.insert(keys::Index::Gsi4.pk().into(), s(keys::awards_of_batch(b)));
        item.insert(keys::Index::Gsi4.sk().into(), s(sort));
    }
    Ok(item)
}

impl Store {
    fn guard_key(&self, a: &Award, g: &Guard) -> (String, String) {
        match g {
            Guard::Idempotency { key, .. } => keys::guard_idempotency(&a.issuer_id, key),
            Guard::ExternalId { external_id, .. } => {
                keys::guard_external_id(&a.issuer_id, external_id)
            }
            Guard::ActivePerRecipient { .. } => {
                keys::guard_active(&a.template_id, &a.recipient.email.lookup_key())
            }
        }
    }

    fn guard_put(&self, a: &Award, g: &Guard) -> Result<TransactWriteItem> {
        let (pk, sk) = self.guard_key(a, g);
        let mut item = Item::new();
        item.insert(keys::PK.into(), s(pk));
        item.insert(keys::SK.into(), s(sk));
        item.insert(keys::TYPE.into(), s(GUARD_KIND));
        item.insert("award_id".into(), s(a.id.as_str()));
        if let Some(b) = &a.batch_id {
            item.insert("batch_id".into(), s(b.as_str()));
        }
        let mut put = Put::builder().table_name(&self.table);
        match g {
            Guard::Idempotency { fingerprint, .. } | Guard::ExternalId { fingerprint, .. } => {
                item.insert("fingerprint".into(), s(fingerprint.clone()));
                put = put.condition_expression("attribute_not_exists(PK)");
            }
            Guard::ActivePerRecipient { replacing: None } => {
                put = put.condition_expression("attribute_not_exists(PK)");
            }
            Guard::ActivePerRecipient {
                replacing: Some(old),
            } => {
                put = put
                    .condition_expression("attribute_not_exists(PK) OR award_id = :old")
                    .expression_attribute_values(":old", s(old.as_str()));
            }
        }
        put.set_item(Some(item))
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(|e| StoreError::Aws(e.to_string()))
    }

    /// The award's own item, written only if it does not exist yet.
    fn award_put(&self, award: &Award) -> Result<TransactWriteItem> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(award_item(award)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(|e| StoreError::Aws(e.to_string()))
    }

    /// Marks `old` as replaced by `new`, provided it is still valid and not replaced.
    fn supersede_update(&self, old: &AwardId, new: &AwardId) -> Result<TransactWriteItem> {
        let (pk, sk) = keys::award(old);
        Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET superseded_by = :new")
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(revocation) AND attribute_not_exists(superseded_by)",
            )
            .expression_attribute_values(":new", s(new.as_str()))
            .build()
            .map(|u| TransactWriteItem::builder().update(u).build())
            .map_err(|e| StoreError::Aws(e.to_string()))
    }

    /// The daily counters of `tallies` as transaction items, so they move exactly once with the
    /// write they count.
    fn tally_items(&self, tallies: &[Tally]) -> Result<Vec<TransactWriteItem>> {
        Ok(self
            .tally_updates(tallies)?
            .into_iter()
            .map(|u| TransactWriteItem::builder().update(u).build())
            .collect())
    }

    /// One `TransactWriteItems` request.
    pub(super) async fn transact(&self, items: &[TransactWriteItem]) -> Result<(), TransactError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items.to_vec()))
            .send()
            .await
            .map(drop)
    }

    /// Sends `items` as one transaction, and again after each of `retry`'s waits while only
    /// contention or throttling cancels it. `Ok(Ok(()))`: written; `Ok(Err(e))`: refused for
    /// another reason, the caller's to read ([`cancellation_reasons`]); `Err(Throttled)`: still
    /// contended after the last wait. The SDK gives each send its own client request token and
    /// keeps it through its own retries, so a send after a cancellation is a new request.
    pub(super) async fn transact_retrying(
        &self,
        items: &[TransactWriteItem],
        mut retry: Backoff,
    ) -> Result<Result<(), TransactError>> {
        loop {
            let Err(err) = self.transact(items).await else {
                return Ok(Ok(()));
            };
            if !contended(&err) {
                return Ok(Err(err));
            }
            if !retry.wait().await {
                return Err(StoreError::Throttled);
            }
        }
    }

    async fn read_guard(&self, key: (String, String), kind: GuardKind) -> Result<GuardTaken> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(key.0))
            .key(keys::SK, s(key.1))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?
            .item
            .ok_or_else(|| {
                StoreError::Aws("a guard vanished while resolving a conflict; retry".into())
            })?;
        guard_taken(&item, kind)
    }

    /// Writes the award and its guards in one transaction: either all or nothing.
    /// `supersede` also marks an older award as replaced by this one, in the same transaction.
    pub async fn insert_award(
        &self,
        award: &Award,
        guards: &[Guard],
        supersede: Option<&AwardId>,
        tallies: &[Tally],
    ) -> Result<(), InsertError> {
        let mut retry = Backoff::default();
        let err = loop {
            let items = self.insert_items(award, guards, supersede, tallies).await?;
            let Err(err) = self.transact(&items).await else {
                return Ok(());
            };
            // Another transaction on the same counter item (or throttling), or the replaced
            // award's credential was first downloaded meanwhile (its bit is set on the next
            // try): try again.
            let credential_appeared = supersede.is_some()
                && cancellation_reasons(&err).is_some_and(|r| {
                    r.get(guards.len() + 2).and_then(Option::as_deref) == Some(CONDITION_FAILED)
                        && r.iter()
                            .filter(|c| c.as_deref() == Some(CONDITION_FAILED))
                            .count()
                            == 1
                });
            if (contended(&err) || credential_appeared) && retry.wait().await {
                continue;
            }
            break err;
        };
        let Some(reasons) = cancellation_reasons(&err) else {
            return Err(StoreError::from_sdk(err).into());
        };
        Err(self
            .insert_refused(award, guards, supersede, &reasons)
            .await)
    }

    /// The items of one award's transaction: the award, its guards, the replaced award's update
    /// and its credential's revoked bit (or the check that it has none), the daily counters.
    async fn insert_items(
        &self,
        award: &Award,
        guards: &[Guard],
        supersede: Option<&AwardId>,
        tallies: &[Tally],
    ) -> Result<Vec<TransactWriteItem>> {
        let mut items = self.award_items(award, guards)?;
        if let Some(old) = supersede {
            items.push(self.supersede_update(old, &award.id)?);
            items.push(self.status_items(old, &award.issuer_id).await?);
        }
        items.extend(self.tally_items(tallies)?);
        Ok(items)
    }

    /// Why a single award's transaction was cancelled: the first guard another award holds (read
    /// back), a superseded award that changed meanwhile, or contention that outlasted the retries.
    async fn insert_refused(
        &self,
        award: &Award,
        guards: &[Guard],
        supersede: Option<&AwardId>,
        reasons: &[Option<String>],
    ) -> InsertError {
        let failed = |i: usize| {
            reasons
                .get(i)
                .and_then(|c| c.as_deref())
                .is_some_and(|c| c == CONDITION_FAILED)
        };
        for (i, g) in guards.iter().enumerate() {
            if failed(i + 1) {
                return match self.read_guard(self.guard_key(award, g), g.kind()).await {
                    Ok(taken) => InsertError::Taken(taken),
                    Err(e) => e.into(),
                };
            }
        }
        if supersede.is_some() && (failed(guards.len() + 1) || failed(guards.len() + 2)) {
            return StoreError::VersionConflict { expected: 0 }.into();
        }
        if reasons
            .iter()
            .any(|r| r.as_deref() == Some("TransactionConflict"))
        {
            return StoreError::Throttled.into();
        }
        StoreError::Aws(format!("award write cancelled: {reasons:?}")).into()
    }

    /// Writes many rows with as few requests as possible: rows are packed into transactions of
    /// at most [`MAX_TRANSACTION_ITEMS`] items and [`ROWS_TRANSACTION_BYTES`] of rows; when one
    /// is cancelled, the per-item reasons say which rows hit a guard (resolved with one
    /// `BatchGetItem`) and the others are sent again.
    /// Throttling and transaction conflicts are retried with back-off.
    pub async fn insert_award_rows(&self, rows: &[RowWrite]) -> Result<Vec<RowWritten>> {
        // Sizes only: the items are built again per transaction, so a flush of wide rows
        // never holds them all at once.
        let bytes = rows
            .iter()
            .map(|r| {
                Ok(self
                    .award_items(&r.award, &r.guards)?
                    .iter()
                    .map(size::put_bytes)
                    .sum())
            })
            .collect::<Result<Vec<usize>>>()?;
        let mut results: Vec<Option<RowWritten>> = vec![None; rows.len()];
        let mut pending: Vec<usize> = (0..rows.len()).collect();
        let mut retry = Backoff::default();
        while !pending.is_empty() {
            let chunk = self.next_chunk(rows, &bytes, &pending);
            let (items, positions) = self.chunk_items(rows, &chunk)?;
            let Err(err) = self.transact(&items).await else {
                for &i in &chunk {
                    results[i] = Some(RowWritten::Written);
                }
                pending.retain(|i| !chunk.contains(i));
                retry = Backoff::default();
                continue;
            };
            let Some(reasons) = cancellation_reasons(&err) else {
                let e = StoreError::from_sdk(err);
                if e.is_retryable() && retry.wait().await {
                    continue;
                }
                return Err(e);
            };
            let failed = failed_rows(&reasons, &positions);
            if failed.is_empty() {
                // Conflict with a concurrent transaction, or throttling inside it: retry.
                if !retry.wait().await {
                    return Err(StoreError::Throttled);
                }
                continue;
            }
            self.resolve_failed(rows, &failed, &mut results).await?;
            pending.retain(|i| results[*i].is_none());
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(RowWritten::Written))
            .collect())
    }

    /// An award and its guards as transaction items (the award first).
    fn award_items(&self, award: &Award, guards: &[Guard]) -> Result<Vec<TransactWriteItem>> {
        let mut items = vec![self.award_put(award)?];
        for g in guards {
            items.push(self.guard_put(award, g)?);
        }
        Ok(items)
    }

    /// The pending rows that go into the next transaction, in order, as many as fit in
    /// [`MAX_TRANSACTION_ITEMS`] items and [`ROWS_TRANSACTION_BYTES`] (a row alone always goes).
    /// DynamoDB refuses a transaction with two operations on one item, so rows whose guards
    /// collide (same recipient twice, same external id twice) go in later ones.
    fn next_chunk(&self, rows: &[RowWrite], row_bytes: &[usize], pending: &[usize]) -> Vec<usize> {
        let mut chunk = Vec::new();
        let (mut items, mut bytes) = (0, 0);
        let mut guard_keys = HashSet::new();
        let mut counter_keys = HashSet::new();
        for &i in pending {
            let new_counters: HashSet<_> = rows[i]
                .tallies
                .iter()
                .map(|t| (t.segment.clone(), t.day))
                .filter(|k| !counter_keys.contains(k))
                .collect();
            let k = 1 + rows[i].guards.len();
            let full = items + k + counter_keys.len() + new_counters.len() > MAX_TRANSACTION_ITEMS
                || bytes + row_bytes[i] > ROWS_TRANSACTION_BYTES;
            if full && !chunk.is_empty() {
                break;
            }
            let keys: Vec<_> = rows[i]
                .guards
                .iter()
                .map(|g| self.guard_key(&rows[i].award, g))
                .collect();
            if keys.iter().any(|k| guard_keys.contains(k)) {
                continue;
            }
            guard_keys.extend(keys);
            counter_keys.extend(new_counters);
            chunk.push(i);
            items += k;
            bytes += row_bytes[i];
        }
        chunk
    }

    /// The transaction of a chunk of rows: each row's award and guards, then the chunk's daily
    /// counters (positions past the rows); and the [`Position`] of each row item.
    fn chunk_items(
        &self,
        rows: &[RowWrite],
        chunk: &[usize],
    ) -> Result<(Vec<TransactWriteItem>, Vec<Position>)> {
        let mut items = Vec::new();
        let mut positions: Vec<Position> = Vec::new();
        for &i in chunk {
            let row = self.award_items(&rows[i].award, &rows[i].guards)?;
            positions.extend((0..row.len()).map(|j| (i, j)));
            items.extend(row);
        }
        let tallies: Vec<Tally> = chunk
            .iter()
            .flat_map(|&i| rows[i].tallies.iter().cloned())
            .collect();
        items.extend(self.tally_items(&tallies)?);
        Ok((items, positions))
    }

    /// Records what became of rows whose item failed its condition: the award item itself
    /// (written by an earlier attempt), or a guard, whose holder is read with one `BatchGetItem`.
    /// A row whose guard vanished meanwhile stays unresolved, to be sent again.
    async fn resolve_failed(
        &self,
        rows: &[RowWrite],
        failed: &[Position],
        results: &mut [Option<RowWritten>],
    ) -> Result<()> {
        let mut to_read = Vec::new();
        for &(i, j) in failed {
            if j == 0 {
                results[i] = Some(RowWritten::AlreadyWritten);
            } else {
                let g = &rows[i].guards[j - 1];
                to_read.push((i, g.kind(), self.guard_key(&rows[i].award, g)));
            }
        }
        let found = self
            .batch_get(to_read.iter().map(|(_, _, k)| k.clone()).collect(), true)
            .await?;
        for (i, kind, key) in to_read {
            // A holder that vanished in between (e.g. a revocation freed the slot) leaves the
            // row unresolved: it is sent again.
            if let Some(item) = found.get(&key) {
                results[i] = Some(RowWritten::Taken(guard_taken(item, kind)?));
            }
        }
        Ok(())
    }

    /// The awards holding these CSV row keys (`Guard::Idempotency` keys of `issuer`), in order;
    /// `None` where no award holds one. Strongly consistent: a row written just before sees it.
    pub async fn row_key_holders(
        &self,
        issuer: &IssuerId,
        row_keys: &[String],
    ) -> Result<Vec<Option<GuardTaken>>> {
        let wanted: Vec<_> = row_keys
            .iter()
            .map(|k| keys::guard_idempotency(issuer, k))
            .collect();
        let found = self.batch_get(wanted.clone(), true).await?;
        wanted
            .iter()
            .map(|k| {
                found
                    .get(k)
                    .map(|item| guard_taken(item, GuardKind::Idempotency))
                    .transpose()
            })
            .collect()
    }

    /// Many awards by id (missing ones are absent from the answer).
    pub async fn get_awards(&self, ids: &[AwardId]) -> Result<Vec<Award>> {
        let found = self
            .batch_get(ids.iter().map(keys::award).collect(), true)
            .await?;
        found.into_values().map(from_item).collect()
    }

    /// `BatchGetItem`s of at most 100 keys (strongly consistent when `consistent`), unprocessed
    /// keys retried.
    pub(crate) async fn batch_get(
        &self,
        wanted: Vec<(String, String)>,
        consistent: bool,
    ) -> Result<HashMap<(String, String), Item>> {
        let mut out = HashMap::new();
        let mut unique = wanted;
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            self.batch_get_chunk(keys_and_attributes(chunk, consistent)?, &mut out)
                .await?;
        }
        Ok(out)
    }

    /// One `BatchGetItem` and its unprocessed keys, until every item is in `out`.
    async fn batch_get_chunk(
        &self,
        request: KeysAndAttributes,
        out: &mut HashMap<(String, String), Item>,
    ) -> Result<()> {
        let mut request = Some(request);
        let mut retry = Backoff::default();
        while let Some(req) = request.take() {
            let res = self
                .client
                .batch_get_item()
                .request_items(&self.table, req)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in res
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                let key = (
                    get_s(&item, keys::PK).unwrap_or_default().to_owned(),
                    get_s(&item, keys::SK).unwrap_or_default().to_owned(),
                );
                out.insert(key, item);
            }
            if let Some(next) = res
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty())
            {
                if !retry.wait().await {
                    return Err(StoreError::Throttled);
                }
                request = Some(next);
            }
        }
        Ok(())
    }

    pub async fn get_award(&self, id: &AwardId) -> Result<Option<Award>> {
        self.get(keys::award(id)).await?.map(from_item).transpose()
    }

    /// Strongly consistent: for an award written a moment ago (its stream record, a guard its
    /// write took), which an eventually consistent read may not see yet.
    pub async fn get_award_consistent(&self, id: &AwardId) -> Result<Option<Award>> {
        self.get_consistent(keys::award(id))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn get_award_of(&self, issuer: &IssuerId, id: &AwardId) -> Result<Option<Award>> {
        Ok(self.get_award(id).await?.filter(|a| &a.issuer_id == issuer))
    }

    /// Sets the revocation and moves the daily counters in one transaction, provided the award
    /// is still as read (not revoked; replaced or not as it was). Answers the stored award and
    /// whether this call revoked it; when the award changed in between, nothing is written and
    /// the fresh award is answered with `false` (the caller decides again).
    pub async fn revoke_award(
        &self,
        award: &Award,
        revocation: &Revocation,
        tallies: &[Tally],
    ) -> Result<(Award, bool)> {
        let mut retry = Backoff::default();
        loop {
            // The credential's revoked bit moves with the revocation, exactly once.
            let mut items = vec![
                self.revocation_update(award, revocation)?,
                self.status_items(&award.id, &award.issuer_id).await?,
            ];
            items.extend(self.tally_items(tallies)?);
            let Err(err) = self.transact(&items).await else {
                break;
            };
            let Some(reasons) = cancellation_reasons(&err) else {
                return Err(StoreError::from_sdk(err));
            };
            let failed =
                |i: usize| reasons.get(i).and_then(Option::as_deref) == Some(CONDITION_FAILED);
            if failed(0) {
                let fresh = self
                    .get_award(&award.id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                return Ok((fresh, false));
            }
            // A credential was signed meanwhile (its bit is added on the next try), or contention.
            if !failed(1) && !retry.wait().await {
                return Err(StoreError::Throttled);
            }
        }
        let updated = Award {
            revocation: Some(revocation.clone()),
            ..award.clone()
        };
        self.free_active_slot(award).await;
        Ok((updated, true))
    }

    /// Sets the revocation, provided the award exists, is not revoked, and is replaced or not
    /// as it was read.
    fn revocation_update(
        &self,
        award: &Award,
        revocation: &Revocation,
    ) -> Result<TransactWriteItem> {
        let value = serde_dynamo::to_attribute_value(revocation)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (pk, sk) = keys::award(&award.id);
        let replaced = if award.superseded_by.is_some() {
            "attribute_exists(superseded_by)"
        } else {
            "attribute_not_exists(superseded_by)"
        };
        Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET revocation = :r")
            .condition_expression(format!(
                "attribute_exists(PK) AND attribute_not_exists(revocation) AND {replaced}"
            ))
            .expression_attribute_values(":r", value)
            .build()
            .map(|u| TransactWriteItem::builder().update(u).build())
            .map_err(|e| StoreError::Aws(e.to_string()))
    }

    /// Frees the one-active-per-recipient slot if this award holds it. Best effort: a stale
    /// guard is also recognised and replaced when the next award is issued.
    async fn free_active_slot(&self, award: &Award) {
        let (gpk, gsk) =
            keys::guard_active(&award.template_id, &award.recipient.email.lookup_key());
        let _ = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(gpk))
            .key(keys::SK, s(gsk))
            .condition_expression("award_id = :a")
            .expression_attribute_values(":a", s(award.id.as_str()))
            .send()
            .await;
    }

    /// A page of awards, newest first, holding those `keep` accepts
    /// ([`Store::query_index_where`]).
    pub async fn list_awards(
        &self,
        by: AwardsBy<'_>,
        limit: i32,
        cursor: Option<&str>,
        keep: impl Fn(&Award) -> bool,
    ) -> Result<(Vec<Award>, Option<String>)> {
        let (index, pk) = awards_index(by);
        self.query_index_where(index, &pk, limit, cursor, keep)
            .await
    }

    /// The cursor of a listing that goes on after `award` (as DynamoDB's `LastEvaluatedKey`
    /// would be had the page ended there): for a page that keeps fewer awards than it read.
    pub fn award_cursor(by: AwardsBy<'_>, award: &Award) -> String {
        let (index, pk) = awards_index(by);
        let (apk, ask) = keys::award(&award.id);
        let key: Item = [
            (keys::PK.to_owned(), s(apk)),
            (keys::SK.to_owned(), s(ask)),
            (index.pk().to_owned(), s(pk)),
            (
                index.sk().to_owned(),
                s(keys::award_sort(award.issued_on, &award.id)),
            ),
        ]
        .into_iter()
        .collect();
        super::encode_cursor(&key)
    }
}

/// The strongly consistent read of `wanted` in one `BatchGetItem`.
fn keys_and_attributes(wanted: &[(String, String)], consistent: bool) -> Result<KeysAndAttributes> {
    let mut request = KeysAndAttributes::builder().consistent_read(consistent);
    for (pk, sk) in wanted {
        request = request.keys(
            [
                (keys::PK.to_owned(), s(pk.clone())),
                (keys::SK.to_owned(), s(sk.clone())),
            ]
            .into_iter()
            .collect(),
        );
    }
    request.build().map_err(|e| StoreError::Aws(e.to_string()))
}

/// The index and partition that list awards `by`.
fn awards_index(by: AwardsBy<'_>) -> (keys::Index, String) {
    {
        match by {
            AwardsBy::Issuer(i) => (keys::Index::Gsi2, keys::awards_of_issuer(i)),
            AwardsBy::Template(t) => (keys::Index::Gsi1, keys::awards_of_template(t)),
            AwardsBy::Recipient(i, email) => {
                (keys::Index::Gsi3, keys::awards_of_recipient(i, email))
            }
            AwardsBy::Batch(b) => (keys::Index::Gsi4, keys::awards_of_batch(b)),
        }
    }
}

/// Which awards to list: every one of these is a single-partition index query.
#[derive(Debug, Clone, Copy)]
pub enum AwardsBy<'a> {
    Issuer(&'a IssuerId),
    Template(&'a crate::domain::ids::TemplateId),
    /// Issuer-scoped; the email's look-up key.
    Recipient(&'a IssuerId, &'a str),
    Batch(&'a crate::domain::ids::BatchId),
}
