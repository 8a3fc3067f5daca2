//! An issuer's KakaoTalk settings: one item, `ISSUER#{id}` / `KAKAO`, the settings as attributes
//! and the provider credentials as a KMS ciphertext (`credentials`, binary).

use super::{from_item, keys, to_item, Result, Store, StoreError};
use crate::domain::{ids::IssuerId, kakao::KakaoSettings};
use aws_sdk_dynamodb::types::AttributeValue;

/// The settings and the ciphertext of the credentials, if any were saved.
pub type Stored = (KakaoSettings, Option<Vec<u8>>);

impl Store {
    pub async fn get_kakao(&self, issuer: &IssuerId) -> Result<Option<Stored>> {
        let Some(item) = self.get(keys::kakao(issuer)).await? else {
            return Ok(None);
        };
        let credentials = match item.get("credentials") {
            Some(AttributeValue::B(b)) => Some(b.as_ref().to_vec()),
            _ => None,
        };
        Ok(Some((from_item(item)?, credentials)))
    }

    /// Writes the settings and the ciphertext (the caller keeps the stored one when none is new).
    pub async fn put_kakao(
        &self,
        issuer: &IssuerId,
        settings: &KakaoSettings,
        credentials: Option<&[u8]>,
    ) -> Result<()> {
        let mut item = to_item("kakao", keys::kakao(issuer), settings)?;
        if let Some(c) = credentials {
            item.insert("credentials".into(), AttributeValue::B(c.to_vec().into()));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
