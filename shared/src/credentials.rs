//! Open Badges 3.0 credentials, served by the verify Lambda: an award's credential is signed on
//! its first request and stored, so a CSV of 100,000 rows costs no signing at all and only the
//! credentials someone asks for are ever signed (ARCHITECTURE.md, "Verifiable credentials").
//! Issuers' keys are created on first need and rotated on request; the private halves exist in
//! the clear only in this process's memory ([`crate::kms`]).

use crate::{
    app::App,
    domain::{
        award::Award,
        credential::{signer, KeyNumber, SigningKeyRecord, StoredCredential, KEY_PUBLISHED_FOR},
        ids::{AwardId, IssuerId},
        issuer::Issuer,
        template::Template,
    },
    kms::KmsError,
    ld::{self, LdError, ProofOptions},
    ob3,
    store::{credentials::CredentialPut, StoreError},
};
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kms(#[from] KmsError),
    #[error("signing failed: {0}")]
    Signing(#[from] LdError),
    #[error("the award is revoked or replaced: no credential is issued for it")]
    Gone,
    #[error("the issuer has no such status list")]
    NoSuchList,
    #[error("other key rotations are under way; retry")]
    Busy,
}

/// The award's signed credential JSON: the stored one, or a new one signed, stored and returned.
pub async fn credential(
    app: &App,
    a: &Award,
    t: &Template,
    i: &Issuer,
) -> Result<String, CredentialError> {
    if let Some(stored) = app.store.get_credential(&a.id).await? {
        if retired_keys(app, &i.id).await?.contains(&stored.key) {
            // No fresh proof for a revoked or replaced badge: its old one fails with the key.
            if a.revocation.is_some() || a.superseded_by.is_some() {
                return Err(CredentialError::Gone);
            }
            return resign(app, &a.id, &i.id, stored).await;
        }
        if stored.issuer.is_none() {
            remember_issuer(app, a, i, &stored).await;
        }
        return Ok(stored.json);
    }
    if a.revocation.is_some() || a.superseded_by.is_some() {
        return Err(CredentialError::Gone);
    }
    let (number, key) = current_key(app, &i.id).await?;
    let status = app.store.allocate_status(&i.id).await?;
    let urls = app.urls();
    let mut doc = ob3::credential(&urls, a, t, i, status);
    ld::sign(&mut doc, &key, &proof_options(app, &i.id, number))?;
    let stored = StoredCredential {
        json: doc.to_string(),
        status,
        key: number,
        issuer: Some(i.id.clone()),
    };
    match app.store.put_credential(a, &stored).await? {
        CredentialPut::Stored => Ok(stored.json),
        CredentialPut::Exists(first) => Ok(first.json),
        CredentialPut::AwardChanged => Err(CredentialError::Gone),
    }
}

/// Adds the issuer to a credential stored before credentials carried it (2026-12-07), so its
/// next requests take the one-read path again. Best effort: a failure costs only that path.
async fn remember_issuer(app: &App, a: &Award, i: &Issuer, stored: &StoredCredential) {
    let with_issuer = StoredCredential {
        issuer: Some(i.id.clone()),
        ..stored.clone()
    };
    if let Err(e) = app
        .store
        .replace_credential(&a.id, stored.key, &with_issuer)
        .await
    {
        tracing::warn!(award = %a.id, error = %e, "credential's issuer not recorded");
    }
}

/// Whether a stored credential may be served as it is: its issuer known and its key not retired
/// (otherwise [`credential`] serves it, signed again if its key was retired).
pub async fn servable(app: &App, c: &StoredCredential) -> Result<bool, CredentialError> {
    match &c.issuer {
        Some(issuer) => Ok(!retired_keys(app, issuer).await?.contains(&c.key)),
        None => Ok(false),
    }
}

/// The issuer's retired keys, read at most once per [`crate::app::PAGE_DATA_TTL`] by a warm
/// Lambda (a retirement reaches every credential within that time).
async fn retired_keys(
    app: &App,
    issuer: &IssuerId,
) -> Result<std::sync::Arc<Vec<KeyNumber>>, CredentialError> {
    if let Some(cached) = app.retired_keys.get(issuer) {
        return Ok(cached);
    }
    let keys = app.store.signing_keys(issuer).await?;
    Ok(remember_retired(app, issuer, &keys))
}

/// Caches which of the issuer's `keys` (all of them, as just read) are retired.
fn remember_retired(
    app: &App,
    issuer: &IssuerId,
    keys: &[SigningKeyRecord],
) -> std::sync::Arc<Vec<KeyNumber>> {
    let retired: Vec<KeyNumber> = keys
        .iter()
        .filter(|k| k.retired.is_some())
        .map(|k| k.number)
        .collect();
    let retired = std::sync::Arc::new(retired);
    app.retired_keys
        .put(issuer.clone(), std::sync::Arc::clone(&retired));
    retired
}

/// A stored credential whose key was retired, signed again with the current key: the same
/// document (subject, dates, status entry), a new proof. Stored unless another request did so
/// first (then that one is served).
async fn resign(
    app: &App,
    award: &AwardId,
    issuer: &IssuerId,
    old: StoredCredential,
) -> Result<String, CredentialError> {
    let mut doc: Value = serde_json::from_str(&old.json)
        .map_err(|e| StoreError::Corrupt(format!("stored credential: {e}")))?;
    if let Some(fields) = doc.as_object_mut() {
        fields.remove("proof");
    }
    let (number, key) = current_key(app, issuer).await?;
    ld::sign(&mut doc, &key, &proof_options(app, issuer, number))?;
    let new = StoredCredential {
        json: doc.to_string(),
        status: old.status,
        key: number,
        issuer: Some(issuer.clone()),
    };
    if app.store.replace_credential(award, old.key, &new).await? {
        tracing::info!(%award, from = old.key.0, to = number.0, "credential signed again: its key was retired");
        return Ok(new.json);
    }
    Ok(app
        .store
        .get_credential(award)
        .await?
        .map_or(new.json, |c| c.json))
}

fn proof_options(app: &App, issuer: &IssuerId, n: KeyNumber) -> ProofOptions {
    ProofOptions {
        verification_method: ob3::verification_method(&app.urls(), issuer, n),
        created: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// The issuer's DID document, with every key it has not retired (one is created if it has none
/// yet).
pub async fn did_document(app: &App, issuer: &IssuerId) -> Result<Value, CredentialError> {
    let mut keys = app.store.signing_keys(issuer).await?;
    if keys.is_empty() {
        current_key(app, issuer).await?;
        keys = app.store.signing_keys(issuer).await?;
    }
    let public: Vec<(KeyNumber, VerifyingKey)> = keys
        .iter()
        .filter(|k| k.retired.is_none())
        .filter_map(|k| Some((k.number, VerifyingKey::from_bytes(&k.public_key).ok()?)))
        .collect();
    Ok(ob3::did_document(&app.urls(), issuer, &public))
}

/// The issuer's status list `list` (one it has started), signed with its current key. A warm
/// Lambda keeps each signed list for [`crate::app::STATUS_LIST_TTL`], so a flood of requests
/// costs one read and one signature per list per interval.
pub async fn status_list(
    app: &App,
    issuer: &IssuerId,
    list: u32,
) -> Result<String, CredentialError> {
    let cache_key = (issuer.clone(), list);
    if let Some(cached) = app.status_lists.get(&cache_key) {
        let (signed_with, json) = cached.as_ref();
        if !retired_keys(app, issuer).await?.contains(signed_with) {
            return Ok(json.clone());
        }
    }
    if list == 0 || list > app.store.status_lists_in_use(issuer).await? {
        return Err(CredentialError::NoSuchList);
    }
    let revoked = app.store.revoked_indexes(issuer, list).await?;
    let (number, key) = current_key(app, issuer).await?;
    // `validFrom` an hour back: a list is signed again every few seconds, and a verifier whose
    // clock is a little slow (DCC's checks `validFrom` of the status list too) would otherwise
    // refuse a list "not valid yet" — and with it every credential's revocation check.
    let valid_from = Utc::now() - chrono::Duration::hours(1);
    let mut doc = ob3::status_list_credential(&app.urls(), issuer, list, revoked, valid_from);
    ld::sign(&mut doc, &key, &proof_options(app, issuer, number))?;
    let json = doc.to_string();
    app.status_lists
        .put(cache_key, std::sync::Arc::new((number, json.clone())));
    Ok(json)
}

/// A rotation: the new key, when it starts signing, and the keys it retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub key: KeyNumber,
    pub signs_from: DateTime<Utc>,
    pub retired: Vec<KeyNumber>,
}

/// Adds the issuer's next key to its DID document; it signs once it has been published for
/// [`KEY_PUBLISHED_FOR`] (until then the key that signed before it does). Older keys stay in the DID
/// document, so what they signed keeps verifying — unless `retire_previous` (a suspected leak):
/// then they leave it, the new key signs at once, nothing they sign verifies any more, and each
/// credential they signed is signed again with the new key when it is next asked for.
pub async fn rotate_key(
    app: &App,
    issuer: &IssuerId,
    retire_previous: bool,
) -> Result<Rotated, CredentialError> {
    for _ in 0..3 {
        let newest = app.store.newest_signing_key(issuer).await?;
        let next = newest.map_or(KeyNumber(1), |k| k.number.next());
        // After a leak the new key signs at once: the suspected one must not sign again, even
        // while its retirement is being written (or if that fails part-way).
        let at_once = retire_previous || next == KeyNumber(1);
        let Some((_, record)) = create_key(app, issuer, next, at_once).await? else {
            continue;
        };
        let retired = if retire_previous {
            app.store
                .retire_signing_keys(issuer, next, Utc::now())
                .await?
        } else {
            vec![]
        };
        app.retired_keys.forget(issuer);
        return Ok(Rotated {
            key: next,
            signs_from: record.signs_from,
            retired,
        });
    }
    Err(CredentialError::Busy)
}

/// Creates key `n` unless another writer did: `None` when it exists already. It signs at once,
/// or once it has been in the DID document for [`KEY_PUBLISHED_FOR`]. (The time is this
/// machine's: the operator CLI's clock must be right, as the functions' is.)
async fn create_key(
    app: &App,
    issuer: &IssuerId,
    n: KeyNumber,
    at_once: bool,
) -> Result<Option<(SigningKey, SigningKeyRecord)>, CredentialError> {
    let (key, encrypted_seed) = app.kms.new_signing_key(issuer, n).await?;
    let created = Utc::now();
    let record = SigningKeyRecord {
        number: n,
        public_key: key.verifying_key().to_bytes(),
        encrypted_seed,
        created,
        signs_from: if at_once {
            created
        } else {
            created + KEY_PUBLISHED_FOR
        },
        retired: None,
    };
    if !app.store.put_signing_key(issuer, &record).await? {
        return Ok(None);
    }
    tracing::info!(issuer = %issuer, key = n.0, "credential-signing key created");
    Ok(Some((key, record)))
}

/// The key that signs now ([`signer`]: the newest whose time has come),
/// decrypted once per warm Lambda; key 1 is created on first need.
async fn current_key(
    app: &App,
    issuer: &IssuerId,
) -> Result<(KeyNumber, SigningKey), CredentialError> {
    // Every key (a handful of items, one Query as the newest alone would be): the retired ones
    // are remembered for the stored credentials served next.
    let keys = app.store.signing_keys(issuer).await?;
    remember_retired(app, issuer, &keys);
    let Some(signing) = signer(&keys, Utc::now()).cloned() else {
        return match create_key(app, issuer, KeyNumber(1), true).await? {
            Some((key, _)) => Ok((KeyNumber(1), key)),
            // A concurrent first request created it: read it like any other.
            None => Box::pin(current_key(app, issuer)).await,
        };
    };
    let cached = app
        .signing_keys
        .lock()
        .ok()
        .and_then(|c| c.get(&(issuer.clone(), signing.number)).cloned());
    if let Some(key) = cached {
        return Ok((signing.number, key));
    }
    let key = app
        .kms
        .signing_key(issuer, signing.number, &signing.encrypted_seed)
        .await?;
    if key.verifying_key().to_bytes() != signing.public_key {
        return Err(KmsError::BadKey.into());
    }
    if let Ok(mut c) = app.signing_keys.lock() {
        c.insert((issuer.clone(), signing.number), key.clone());
    }
    Ok((signing.number, key))
}
