//! The catalogue: every issuer and template in the sparse `CATALOGUE` index, one partition, so a
//! cold badge page can read the page data it will need (issuer, template, recommended templates)
//! beside the award instead of after it. The index holds only these two kinds of items, which
//! verify may read by key anyway (`ISSUER#*`, `TEMPLATE#*`), so it may read the index whole
//! without a key condition in its policy; it learns no item it could not already read, only
//! their ids without being given them.

use super::{from_item, get_s, keys, s, Item, Result, Store, StoreError};
use crate::domain::{
    ids::{IssuerId, TemplateId},
    issuer::Issuer,
    template::Template,
};
use aws_sdk_dynamodb::config::retry::RetryConfig;

/// What one read of the catalogue found. `complete` is false when the catalogue has more items
/// than one page (those are read by key when asked for, a GetItem or BatchGetItem per page, as
/// without the catalogue).
#[derive(Debug, Default)]
pub struct Catalogue {
    pub issuers: Vec<Issuer>,
    pub templates: Vec<Template>,
    pub complete: bool,
}

impl Store {
    /// The first `limit` items of the catalogue (issuers first), in one Query and one attempt:
    /// the caller is only saving a later read, so a throttled or failed read is reported at
    /// once rather than retried while a page waits. An item that cannot be read is skipped
    /// (and logged): it is read by its key when asked for.
    pub async fn get_catalogue(&self, limit: i32) -> Result<Catalogue> {
        let out = self
            .index_query(keys::Index::Catalogue, keys::CATALOGUE)
            .limit(limit)
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let mut found = Catalogue {
            complete: out.last_evaluated_key.is_none(),
            ..Default::default()
        };
        for item in out.items.unwrap_or_default() {
            if let Err(e) = found.add(item) {
                tracing::warn!(error = %e, "a catalogue item was skipped");
            }
        }
        Ok(found)
    }
}

impl Catalogue {
    fn add(&mut self, item: Item) -> Result<()> {
        match get_s(&item, keys::TYPE) {
            Some(super::issuers::KIND) => self.issuers.push(from_item(item)?),
            Some(super::templates::KIND) => self.templates.push(from_item(item)?),
            other => {
                return Err(StoreError::Corrupt(format!(
                    "an item of type {other:?} in the catalogue"
                )))
            }
        }
        Ok(())
    }
}

/// What [`Store::index_catalogue`] did: items it added to the catalogue, items that had their
/// keys already (or were deleted meanwhile), listed items naming no id it could read (logged).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CatalogueBackfill {
    pub added: usize,
    pub present: usize,
    pub unreadable: usize,
}

impl Store {
    /// Adds to the catalogue every issuer and template written before it existed (they are
    /// listed in GSI1): what `infra index-catalogue` runs once after upgrading. Only the two
    /// index keys are set, and only where they are absent, so it is safe beside running
    /// functions and safe to run again; an item it misses is still read by key when needed.
    pub async fn index_catalogue(&self) -> Result<CatalogueBackfill> {
        let mut done = CatalogueBackfill::default();
        for issuer in self.listed_items(keys::ISSUERS_LIST).await? {
            let Some(id) = listed_id(&issuer, IssuerId::parse, &mut done) else {
                continue;
            };
            let sk = keys::catalogued_issuer(&id);
            self.catalogue_item(keys::issuer(&id), sk, &mut done)
                .await?;
            for t in self.listed_items(&keys::templates_of(&id)).await? {
                if let Some(t) = listed_id(&t, TemplateId::parse, &mut done) {
                    let sk = keys::catalogued_template(&t);
                    self.catalogue_item(keys::template(&t), sk, &mut done)
                        .await?;
                }
            }
        }
        Ok(done)
    }

    /// Every item of a GSI1 listing, all pages.
    async fn listed_items(&self, list: &str) -> Result<Vec<Item>> {
        let (mut all, mut cursor) = (Vec::new(), None);
        loop {
            let (items, next) = self
                .query_index(keys::Index::Gsi1, list, 100, cursor.as_deref())
                .await?;
            all.extend(items);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// Sets an item's catalogue keys unless it has them (or is gone).
    async fn catalogue_item(
        &self,
        key: (String, String),
        catalogue_sk: String,
        done: &mut CatalogueBackfill,
    ) -> Result<()> {
        let index = keys::Index::Catalogue;
        let res = self
            .update_at(key)
            .update_expression("SET #cpk = :cpk, #csk = :csk")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#cpk)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#cpk", index.pk())
            .expression_attribute_names("#csk", index.sk())
            .expression_attribute_values(":cpk", s(keys::CATALOGUE))
            .expression_attribute_values(":csk", s(catalogue_sk))
            .send()
            .await;
        if super::applied(res)? {
            done.added += 1;
        } else {
            done.present += 1;
        }
        Ok(())
    }
}

/// The `id` of a listed item, or `None` (logged and counted) when it has none that parses.
fn listed_id<T, E>(
    item: &Item,
    parse: impl Fn(&str) -> std::result::Result<T, E>,
    done: &mut CatalogueBackfill,
) -> Option<T> {
    let id = get_s(item, "id").and_then(|v| parse(v).ok());
    if id.is_none() {
        done.unreadable += 1;
        tracing::warn!(pk = ?get_s(item, keys::PK), "a listed item names no readable id; skipped");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::catalogued;

    #[test]
    fn an_item_of_another_kind_in_the_catalogue_is_refused_by_name() {
        let mut item = Item::new();
        item.insert(keys::TYPE.into(), s("award"));
        let err = Catalogue::default().add(item).unwrap_err().to_string();
        assert!(err.contains("\"award\""), "{err}");
    }

    #[test]
    fn catalogued_items_carry_the_one_partition_and_their_kind_first_in_the_sort_key() {
        let item = catalogued(Item::new(), "T#tpl_x".into());
        assert_eq!(get_s(&item, "CATPK"), Some("CATALOGUE"));
        assert_eq!(get_s(&item, "CATSK"), Some("T#tpl_x"));
    }
}
