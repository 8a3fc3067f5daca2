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
