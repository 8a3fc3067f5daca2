use super::{from_item, keys, n, s, to_item, Result, Store, StoreError};
use crate::domain::{ids::IssuerId, issuer::Issuer};

const KIND: &str = "issuer";

impl Store {
    pub async fn create_issuer(&self, issuer: &Issuer) -> Result<()> {
        let mut item = to_item(KIND, keys::issuer(&issuer.id), issuer)?;
        item.insert("GSI1PK".into(), s(keys::ISSUERS_LIST));
        item.insert(
            "GSI1SK".into(),
            s(format!(
                "{}#{}",
                keys::sortable(issuer.created_at),
                issuer.id
            )),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    pub async fn get_issuer(&self, id: &IssuerId) -> Result<Option<Issuer>> {
        self.get(keys::issuer(id)).await?.map(from_item).transpose()
    }

    /// Writes `issuer` (whose `version` is already incremented) if the stored one is still at
    /// `issuer.version - 1`.
    pub async fn update_issuer(&self, issuer: &Issuer) -> Result<()> {
        let expected = issuer.version - 1;
        let mut item = to_item(KIND, keys::issuer(&issuer.id), issuer)?;
        item.insert("GSI1PK".into(), s(keys::ISSUERS_LIST));
        item.insert(
            "GSI1SK".into(),
            s(format!(
                "{}#{}",
                keys::sortable(issuer.created_at),
                issuer.id
            )),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(expected))
            .send()
            .await
            .map_err(|e| conditional(e, expected))?;
        Ok(())
    }

    pub async fn list_issuers(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Issuer>, Option<String>)> {
        let (items, next) = self
            .query_index(keys::Index::Gsi1, keys::ISSUERS_LIST, limit, cursor)
            .await?;
        let list = items.into_iter().map(from_item).collect::<Result<_>>()?;
        Ok((list, next))
    }
}

/// A failed conditional write on a versioned item means someone else wrote it first.
pub(crate) fn conditional<E, R>(
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
    expected: u64,
) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    if e.code() == Some("ConditionalCheckFailedException") {
        StoreError::VersionConflict { expected }
    } else {
        StoreError::from_sdk(e)
    }
}

impl Store {
    /// The console's session-signing secret, created on first use.
    pub async fn session_secret(&self) -> Result<Vec<u8>> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = keys::session_secret();
        if let Some(v) = self
            .get(key.clone())
            .await?
            .as_ref()
            .and_then(|i| super::get_s(i, "secret").map(str::to_owned))
        {
            return b64
                .decode(v)
                .map_err(|e| StoreError::Corrupt(e.to_string()));
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| StoreError::Aws(e.to_string()))?;
        let _ = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(key.0.clone()))
            .item(keys::SK, s(key.1.clone()))
            .item(keys::TYPE, s("config"))
            .item("secret", s(b64.encode(fresh)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        // Whoever won the race, the stored one is the secret (read consistently).
        let item = self
            .get_consistent(key)
            .await?
            .ok_or(StoreError::NotFound)?;
        let v = super::get_s(&item, "secret")
            .ok_or_else(|| StoreError::Corrupt("session secret".into()))?;
        b64.decode(v)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}
