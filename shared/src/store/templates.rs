use super::{
    from_item, issuers::conditional, keys, n, s, to_item, Item, Result, Store, StoreError,
};
use crate::domain::{
    ids::{IssuerId, TemplateId},
    template::Template,
};

const KIND: &str = "template";

fn item(t: &Template) -> Result<Item> {
    let mut item = to_item(KIND, keys::template(&t.id), t)?;
    item.insert("GSI1PK".into(), s(keys::templates_of(&t.issuer_id)));
    item.insert(
        "GSI1SK".into(),
        s(format!("{}#{}", keys::sortable(t.created_at), t.id)),
    );
    Ok(item)
}

impl Store {
    pub async fn create_template(&self, t: &Template) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(t)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    pub async fn get_template(&self, id: &TemplateId) -> Result<Option<Template>> {
        self.get(keys::template(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// A template of this issuer; another issuer's template is reported as absent.
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
        let expected = t.version - 1;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(t)?))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(expected))
            .send()
            .await
            .map_err(|e| conditional(e, expected))?;
        Ok(())
    }

    pub async fn list_templates(
        &self,
        issuer: &IssuerId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Template>, Option<String>)> {
        let (items, next) = self
            .query_index(
                keys::Index::Gsi1,
                &keys::templates_of(issuer),
                limit,
                cursor,
            )
            .await?;
        let list = items.into_iter().map(from_item).collect::<Result<_>>()?;
        Ok((list, next))
    }
}
