use super::{catalogued, from_item, keys, listed, s, to_item, Item, Result, Store, StoreError};
use crate::domain::{ids::IssuerId, issuer::Issuer};

pub(crate) const KIND: &str = "issuer";

fn item(issuer: &Issuer) -> Result<Item> {
    let item = to_item(KIND, keys::issuer(&issuer.id), issuer)?;
    let item = catalogued(item, keys::catalogued_issuer(&issuer.id));
    let list = keys::ISSUERS_LIST.to_owned();
    Ok(listed(
        item,
        keys::Index::Gsi1,
        list,
        issuer.created_at,
        &issuer.id,
    ))
}

impl Store {
    pub async fn create_issuer(&self, issuer: &Issuer) -> Result<()> {
        self.create(item(issuer)?).await
    }

    pub async fn get_issuer(&self, id: &IssuerId) -> Result<Option<Issuer>> {
        self.get(keys::issuer(id)).await?.map(from_item).transpose()
    }

    /// Strongly consistent: for a change decided on what is stored (`http::versioned`).
    pub async fn get_issuer_consistent(&self, id: &IssuerId) -> Result<Option<Issuer>> {
        let item = self.get_consistent(keys::issuer(id)).await?;
        item.map(from_item).transpose()
    }

    /// Writes `issuer` (whose `version` is already incremented) if the stored one is still at
    /// `issuer.version - 1`.
    pub async fn update_issuer(&self, issuer: &Issuer) -> Result<()> {
        self.put_at_version(item(issuer)?, issuer.version - 1).await
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
