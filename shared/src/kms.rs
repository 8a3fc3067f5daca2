//! The KMS adapter: issuers' Ed25519 private keys exist in the clear only inside the Lambda that
//! signs. Each key's 32-byte seed is a KMS data key (`GenerateDataKey`, AES_256): the table keeps
//! only its ciphertext, and `Decrypt` gives the seed back. The encryption context binds a
//! ciphertext to its issuer and key number, so a ciphertext copied to another issuer's item does
//! not decrypt.

use crate::aws::Lazy;
use crate::domain::{credential::KeyNumber, ids::IssuerId};
use aws_sdk_kms::{primitives::Blob, types::DataKeySpec, Client};
use ed25519_dalek::SigningKey;

#[derive(Clone)]
pub struct Kms {
    client: Lazy<Client>,
    /// `SIGNING_KEY_ARN`: the KMS key that wraps every issuer's signing key.
    key_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    #[error("SIGNING_KEY_ARN is not set: this function cannot sign credentials")]
    NotConfigured,
    #[error("KMS request failed: {0}")]
    Aws(String),
    #[error("KMS returned a data key that is not 32 bytes")]
    BadKey,
}

fn context(issuer: &IssuerId, n: KeyNumber) -> Option<std::collections::HashMap<String, String>> {
    Some(
        [
            ("accolade:issuer".to_owned(), issuer.to_string()),
            ("accolade:key".to_owned(), n.fragment()),
        ]
        .into_iter()
        .collect(),
    )
}

fn failed(e: impl std::error::Error) -> KmsError {
    KmsError::Aws(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
}

fn seed(plaintext: Option<&Blob>) -> Result<SigningKey, KmsError> {
    let bytes = plaintext.map(Blob::as_ref).ok_or(KmsError::BadKey)?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| KmsError::BadKey)?;
    Ok(SigningKey::from_bytes(&seed))
}

impl Kms {
    pub fn new(client: Lazy<Client>, key_id: Option<String>) -> Self {
        Self { client, key_id }
    }

    fn key_id(&self) -> Result<&str, KmsError> {
        self.key_id.as_deref().ok_or(KmsError::NotConfigured)
    }

    /// A new signing key for `issuer`'s key `n`: the key, and the seed's ciphertext to store.
    pub async fn new_signing_key(
        &self,
        issuer: &IssuerId,
        n: KeyNumber,
    ) -> Result<(SigningKey, Vec<u8>), KmsError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(self.key_id()?)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(context(issuer, n))
            .send()
            .await
            .map_err(failed)?;
        let key = seed(out.plaintext())?;
        let blob = out.ciphertext_blob().ok_or(KmsError::BadKey)?;
        Ok((key, blob.as_ref().to_vec()))
    }

    /// The signing key whose seed `ciphertext` holds.
    pub async fn signing_key(
        &self,
        issuer: &IssuerId,
        n: KeyNumber,
        ciphertext: &[u8],
    ) -> Result<SigningKey, KmsError> {
        let out = self
            .client
            .decrypt()
            .key_id(self.key_id()?)
            .ciphertext_blob(Blob::new(ciphertext))
            .set_encryption_context(context(issuer, n))
            .send()
            .await
            .map_err(failed)?;
        seed(out.plaintext())
    }
}

/// The encryption context of an issuer's secret other than a signing key (`purpose`: `kakao`).
fn secret_context(
    issuer: &IssuerId,
    purpose: &str,
) -> Option<std::collections::HashMap<String, String>> {
    Some(
        [
            ("accolade:issuer".to_owned(), issuer.to_string()),
            ("accolade:purpose".to_owned(), purpose.to_owned()),
        ]
        .into_iter()
        .collect(),
    )
}

impl Kms {
    /// Encrypts a small secret of `issuer` (at most 4 KB), bound to it and to `purpose`.
    pub async fn encrypt_secret(
        &self,
        issuer: &IssuerId,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        let out = self
            .client
            .encrypt()
            .key_id(self.key_id()?)
            .plaintext(Blob::new(plaintext))
            .set_encryption_context(secret_context(issuer, purpose))
            .send()
            .await
            .map_err(failed)?;
        let blob = out.ciphertext_blob().ok_or(KmsError::BadKey)?;
        Ok(blob.as_ref().to_vec())
    }

    /// The secret `ciphertext` holds, if it was encrypted for `issuer` and `purpose`.
    pub async fn decrypt_secret(
        &self,
        issuer: &IssuerId,
        purpose: &str,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        let out = self
            .client
            .decrypt()
            .key_id(self.key_id()?)
            .ciphertext_blob(Blob::new(ciphertext))
            .set_encryption_context(secret_context(issuer, purpose))
            .send()
            .await
            .map_err(failed)?;
        Ok(out
            .plaintext()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default())
    }
}

/// Decrypted signing keys, kept for the life of a warm Lambda (one `Decrypt` per key).
pub type KeyCache = std::collections::HashMap<(IssuerId, KeyNumber), SigningKey>;
