//! Open Badges 3.0 credentials: the issuer's signing keys and each award's place in the
//! revocation status list. See ARCHITECTURE.md ("Verifiable credentials").

use chrono::{DateTime, Duration, Utc};

/// Entries per status list: the W3C Bitstring Status List minimum (16 KB of bits), so one list
/// hides each credential among 131,072.
pub const STATUS_LIST_SIZE: u64 = 131_072;

/// An award's revocation entry: list `list` of its issuer, bit `index` (0 = the leftmost bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusEntry {
    pub list: u32,
    pub index: u32,
}

impl StatusEntry {
    /// The entry of the issuer's `n`-th allocated index (from 0): lists fill one after another,
    /// numbered from 1. Indexes are never reused.
    pub fn of_allocation(n: u64) -> Self {
        Self {
            list: u32::try_from(n / STATUS_LIST_SIZE + 1).unwrap_or(u32::MAX),
            index: u32::try_from(n % STATUS_LIST_SIZE).unwrap_or(0),
        }
    }
}

/// `key-1`, `key-2`, …: the fragment of a verification method in the issuer's DID document.
/// Key numbers only grow: a rotation adds the next one, and old keys stay published unless
/// retired (after a suspected leak).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyNumber(pub u32);

impl KeyNumber {
    pub fn fragment(self) -> String {
        format!("key-{}", self.0)
    }
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

/// An issuer's Ed25519 signing key as stored: the public key in the clear, the private seed
/// only as KMS ciphertext (a KMS data key, decrypted inside the Lambda that signs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub number: KeyNumber,
    pub public_key: [u8; 32],
    pub encrypted_seed: Vec<u8>,
    pub created: DateTime<Utc>,
    /// From when it may sign ([`KEY_PUBLISHED_FOR`] after `created`, or at once for an issuer's
    /// first key and a rotation that retires the others). Keys stored before 2026-12-07: `created`.
    pub signs_from: DateTime<Utc>,
    /// Retired (a rotation after a suspected leak): out of the DID document, so nothing it signs
    /// verifies; the credentials it signed are signed again with the current key when asked for.
    pub retired: Option<DateTime<Utc>>,
}

/// How long a new key is published before it signs: verifiers, browsers and caches in front
/// may hold the issuer's DID document for its `max-age` (60 s), and a credential signed with a
/// key their copy does not list fails to verify. Twice that, for caches and clocks.
pub const KEY_PUBLISHED_FOR: Duration = Duration::seconds(120);

/// The key that signs at `now`, of the issuer's `keys`: the newest one not retired whose
/// `signs_from` has come. A rotation's new key waits [`KEY_PUBLISHED_FOR`], so every cached
/// DID document lists it first; a rotation after a leak makes a key that signs at once, so the
/// suspected key never signs again, even while its retirement is still being written. (Were no
/// key's time to have come — a clock set back —, the one whose time is nearest.)
pub fn signer(keys: &[SigningKeyRecord], now: DateTime<Utc>) -> Option<&SigningKeyRecord> {
    let live = || keys.iter().filter(|k| k.retired.is_none());
    live()
        .filter(|k| k.signs_from <= now)
        .max_by_key(|k| k.number)
        .or_else(|| live().min_by_key(|k| k.signs_from))
        .or_else(|| keys.iter().max_by_key(|k| k.number))
}

/// A signed credential as stored with its award (signed once, on first request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub json: String,
    pub status: StatusEntry,
    pub key: KeyNumber,
    /// Whose key signed it (absent in credentials stored before 2026-12-07).
    pub issuer: Option<crate::domain::ids::IssuerId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key `number`, made `ago` before now, signing at once or after [`KEY_PUBLISHED_FOR`].
    fn key(number: u32, ago: Duration, at_once: bool, retired: bool) -> SigningKeyRecord {
        let created = Utc::now() - ago;
        SigningKeyRecord {
            number: KeyNumber(number),
            public_key: [0; 32],
            encrypted_seed: vec![],
            created,
            signs_from: if at_once {
                created
            } else {
                created + KEY_PUBLISHED_FOR
            },
            retired: retired.then_some(created),
        }
    }

    #[test]
    fn a_new_key_signs_once_published_long_enough_unless_made_to_sign_at_once() {
        let old = Duration::days(30);
        let new = Duration::seconds(10);
        let signs = |keys: &[SigningKeyRecord]| signer(keys, Utc::now()).map(|k| k.number.0);
        assert_eq!(signs(&[]), None);
        assert_eq!(signs(&[key(1, new, true, false)]), Some(1), "the first key");
        let rotated = [key(1, old, true, false), key(2, new, false, false)];
        assert_eq!(
            signs(&rotated),
            Some(1),
            "key 2 waits for cached DID documents"
        );
        let later = Duration::seconds(KEY_PUBLISHED_FOR.num_seconds() + 1);
        assert_eq!(
            signs(&[key(1, old, true, false), key(2, later, false, false)]),
            Some(2)
        );
        // After a leak: key 2 signs at once, before key 1's retirement is written, and after.
        assert_eq!(
            signs(&[key(1, old, true, false), key(2, new, true, false)]),
            Some(2)
        );
        assert_eq!(
            signs(&[key(1, old, true, true), key(2, new, true, false)]),
            Some(2)
        );
        // A routine rotation 30 s after a leak's: the leak's key signs until key 3's time.
        let both = [
            key(1, old, true, true),
            key(2, Duration::seconds(40), true, false),
            key(3, new, false, false),
        ];
        assert_eq!(signs(&both), Some(2));
        // No key's time has come (a clock set back): the nearest, not the newest.
        let ahead = Duration::seconds(-300);
        assert_eq!(
            signs(&[
                key(1, ahead, false, false),
                key(2, ahead + ahead, false, false)
            ]),
            Some(1)
        );
    }

    #[test]
    fn allocations_fill_list_one_then_list_two() {
        assert_eq!(
            StatusEntry::of_allocation(0),
            StatusEntry { list: 1, index: 0 }
        );
        assert_eq!(
            StatusEntry::of_allocation(131_071),
            StatusEntry {
                list: 1,
                index: 131_071
            }
        );
        assert_eq!(
            StatusEntry::of_allocation(131_072),
            StatusEntry { list: 2, index: 0 }
        );
    }
}
