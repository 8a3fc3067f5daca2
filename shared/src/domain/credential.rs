//! Open Badges 3.0 credentials: the issuer's signing keys and each award's place in the
//! revocation status list. See ARCHITECTURE.md ("Verifiable credentials").

use chrono::{DateTime, Utc};

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
    /// Retired (a rotation after a suspected leak): out of the DID document, so nothing it signs
    /// verifies; the credentials it signed are signed again with the current key when asked for.
    pub retired: Option<DateTime<Utc>>,
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
