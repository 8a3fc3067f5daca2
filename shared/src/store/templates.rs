use super::{catalogued, from_item, keys, listed, to_item, Item, Result, Store};
use crate::domain::{
    ids::{IssuerId, TemplateId},
    issuer::Issuer,
    template::Template,
};

pub(crate) const KIND: &str = "template";

fn item(t: &Template) -> Result<Item> {
    let item = to_item(KIND, keys::template(&t.id), t)?;
    let item = catalogued(item, keys::catalogued_template(&t.id));
    let list = keys::templates_of(&t.issuer_id);
    Ok(listed(item, keys::Index::Gsi1, list, t.created_at, &t.id))
}

impl Store {
    /// Creates it; with `once`, the record of its `Idempotency-Key` too (`Some`: what the key
    /// had made already, and nothing is written).
    pub async fn create_template(
        &self,
        t: &Template,
        once: Option<&super::creations::Creation>,
    ) -> Result<Option<super::creations::Creation>> {
        self.create_once(vec![item(t)?], &t.issuer_id, once).await
    }

    pub async fn get_template(&self, id: &TemplateId) -> Result<Option<Template>> {
        self.get(keys::template(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// An issuer and templates for public pages, eventually consistent, in one request: a
    /// GetItem for one item, a `BatchGetItem` for more (so page data that the cache and the
    /// catalogue lack is read in one round trip, on one connection). Absent items are `None`.
    pub async fn get_page_data(
        &self,
        issuer: Option<&IssuerId>,
        templates: &[TemplateId],
    ) -> Result<(Option<Issuer>, Vec<Option<Template>>)> {
        let mut wanted: Vec<_> = templates.iter().map(keys::template).collect();
        wanted.extend(issuer.map(keys::issuer));
        let found = match wanted.as_slice() {
            [] => Default::default(),
            [one] => self
                .get(one.clone())
                .await?
                .map(|item| (one.clone(), item))
                .into_iter()
                .collect(),
            _ => self.batch_get(wanted, false).await?,
        };
        let issuer = issuer
            .and_then(|i| found.get(&keys::issuer(i)).cloned())
            .map(from_item)
            .transpose()?;
        let templates = templates
            .iter()
            .map(|t| {
                found
                    .get(&keys::template(t))
                    .cloned()
                    .map(from_item)
                    .transpose()
            })
            .collect::<Result<_>>()?;
        Ok((issuer, templates))
    }

    /// A template of this issuer; another issuer's template is reported as absent.
    /// Strongly consistent, and only the issuer's: for a change decided on what is stored
    /// (`http::versioned`), and a template made a moment ago.
    pub async fn get_template_consistent_of(
        &self,
        issuer: &IssuerId,
        id: &TemplateId,
    ) -> Result<Option<Template>> {
        let item = self.get_consistent(keys::template(id)).await?;
        let t: Option<Template> = item.map(from_item).transpose()?;
        Ok(t.filter(|t| &t.issuer_id == issuer))
    }

    pub async fn get_template_of(
        &self,
        issuer: &IssuerId,
        id: &TemplateId,
    ) -> Result<Option<Template>> {
        Ok(self
            .get_template(id)
            .await?
            .filter(|t| &t.issuer_id == issuer))
    }

    /// Writes `t` (version already incremented) only if the stored one is at `t.version - 1`.
    pub async fn update_template(&self, t: &Template) -> Result<()> {
        self.put_at_version(item(t)?, t.version - 1).await
    }

    /// Every template of an issuer, archived ones included (their awards still count).
    pub async fn all_templates(&self, issuer: &IssuerId) -> Result<Vec<Template>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .list_templates(issuer, 200, cursor.as_deref(), |_| true)
                .await?;
            out.extend(page);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// A page of the issuer's templates, newest first, holding those `keep` accepts
    /// ([`Store::query_index_where`]).
    pub async fn list_templates(
        &self,
        issuer: &IssuerId,
        limit: i32,
        cursor: Option<&str>,
        keep: impl Fn(&Template) -> bool,
    ) -> Result<(Vec<Template>, Option<String>)> {
        let list = keys::templates_of(issuer);
        self.query_index_where(keys::Index::Gsi1, &list, limit, cursor, keep)
            .await
    }
}
