//! The checks of a row that need the store (its template) or the whole file (the same award
//! twice in it). Both passes run them, so the issuing pass finds exactly the rows the validating
//! pass found valid; its memory is bounded by the limits, whatever the file holds.

use crate::{
    app::App,
    csv_import::{RowError, ValidRow},
    domain::{award::IssueRuleError, batch::Batch, ids::TemplateId, template::Template, Invalid},
    issuing::{self, IssueRequest, RowRequest},
    store::StoreError,
};
use std::{collections::HashMap, sync::Arc};

/// Different template ids one file may name (each costs a read of the store).
pub const MAX_TEMPLATES_PER_FILE: usize = 100;

/// Which pass checks.
#[derive(Clone, Copy)]
pub(super) enum Pass<'a> {
    /// Templates must exist and be active.
    Validating,
    /// Only the templates the validating pass found usable (`None`: a batch checked before
    /// they were recorded — every template found). A template archived since is handed on, and
    /// issuing refuses its rows one by one, in the report.
    Issuing(Option<&'a [TemplateId]>),
}

/// What became of a row.
pub(super) enum Checked {
    Valid(Box<RowRequest>),
    Invalid(Vec<RowError>),
    Duplicate(RowError),
}

/// The first 96 bits of a row key (SHA-256): a file within the limits has no two rows whose
/// different keys share them (the chance for 1,000,000 rows is about 10⁻¹⁷), at 16 bytes a row
/// with the row number instead of ~100 for the key's text.
type KeyPrefix = [u8; 12];

pub(super) struct Checker<'a> {
    app: &'a App,
    batch: &'a Batch,
    pass: Pass<'a>,
    templates: HashMap<TemplateId, Option<Arc<Template>>>,
    seen: HashMap<KeyPrefix, u32>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(app: &'a App, batch: &'a Batch, pass: Pass<'a>) -> Self {
        Self {
            app,
            batch,
            pass,
            templates: HashMap::new(),
            seen: HashMap::new(),
        }
    }

    /// The templates this check found usable (to record for the issuing pass).
    pub(super) fn usable_templates(&self) -> Vec<TemplateId> {
        let mut ids: Vec<TemplateId> = self
            .templates
            .iter()
            .filter(|(_, t)| t.as_ref().is_some_and(|t| t.is_active()))
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ids
    }

    pub(super) async fn check(
        &mut self,
        row: u64,
        parsed: Result<ValidRow, Vec<RowError>>,
    ) -> Result<Checked, StoreError> {
        let v = match parsed {
            Ok(v) => v,
            Err(errors) => return Ok(Checked::Invalid(errors)),
        };
        let template = match self.row_template(row, v.template_id.clone()).await? {
            Ok(t) => t,
            Err(e) => return Ok(Checked::Invalid(vec![e])),
        };
        let ext = v.external_id.as_deref();
        let key = issuing::row_key(&template, &v.email, &v.issued_key, ext);
        // The identity a release before 2026-12-07 gave the row: its date as written.
        let legacy = (v.issued_raw.trim() != v.issued_key)
            .then(|| issuing::row_key(&template, &v.email, &v.issued_raw, ext));
        let row32 = u32::try_from(row).unwrap_or(u32::MAX);
        if let Some(first) = self.seen.get(&key_prefix(&key)) {
            let why = Invalid::new(format!("same award as row {first}; skipped"))
                .ko(format!("{first}행과 같은 배지라 건너뜁니다."));
            let e = RowError::new(row, "email", v.email.to_string(), why);
            return Ok(Checked::Duplicate(e));
        }
        self.seen.insert(key_prefix(&key), row32);
        Ok(Checked::Valid(Box::new(RowRequest {
            row,
            template,
            row_key: key,
            legacy_row_key: legacy,
            req: self.request(v),
        })))
    }

    /// The row's template (its own column, else the batch's): one of the issuer's, and active
    /// (or, issuing, active when the file was checked).
    async fn row_template(
        &mut self,
        row: u64,
        id: Option<TemplateId>,
    ) -> Result<Result<Arc<Template>, RowError>, StoreError> {
        let invalid = |value: String, why: Invalid| RowError::new(row, "template_id", value, why);
        let Some(tid) = id.or_else(|| self.batch.template_id.clone()) else {
            let why = Invalid::new(
                "no template: add a template_id column, or choose a template for the whole batch",
            )
            .ko("템플릿이 없습니다. template_id 열을 넣거나, 일괄 발급 전체의 템플릿을 고르세요.");
            return Ok(Err(invalid(String::new(), why)));
        };
        let over_limit =
            !self.templates.contains_key(&tid) && self.templates.len() >= MAX_TEMPLATES_PER_FILE;
        let Some(template) = self.template(&tid).await? else {
            let why = if over_limit {
                Invalid::new(format!("a file can name at most {MAX_TEMPLATES_PER_FILE} different templates; put the rest in another file"))
                    .ko(format!("한 파일에는 템플릿을 {MAX_TEMPLATES_PER_FILE}개까지 쓸 수 있습니다. 나머지는 다른 파일로 올리세요."))
            } else {
                IssueRuleError::TemplateNotFound(tid.clone()).invalid()
            };
            return Ok(Err(invalid(tid.to_string(), why)));
        };
        if matches!(self.pass, Pass::Validating) && !template.is_active() {
            let why = IssueRuleError::TemplateArchived(tid.clone()).invalid();
            return Ok(Err(invalid(tid.to_string(), why)));
        }
        Ok(Ok(template))
    }

    /// The template, read once per check; `None` when it is not the issuer's, when the file
    /// names more than [`MAX_TEMPLATES_PER_FILE`], or (issuing) when the check did not find it
    /// usable.
    async fn template(&mut self, id: &TemplateId) -> Result<Option<Arc<Template>>, StoreError> {
        if let Some(t) = self.templates.get(id) {
            return Ok(t.clone());
        }
        let allowed = match self.pass {
            Pass::Validating => self.templates.len() < MAX_TEMPLATES_PER_FILE,
            Pass::Issuing(Some(usable)) => usable.contains(id),
            Pass::Issuing(None) => true,
        };
        if !allowed {
            return Ok(None);
        }
        let t = self
            .app
            .store
            .get_template_of(&self.batch.issuer_id, id)
            .await?
            .map(Arc::new);
        self.templates.insert(id.clone(), t.clone());
        Ok(t)
    }

    /// What a valid row asks to issue, in this batch.
    fn request(&self, v: ValidRow) -> IssueRequest {
        IssueRequest {
            email: v.email,
            name: v.name,
            phone: v.phone,
            issued_on: v.issued_on,
            expires_on: v.expires_on.map(Some),
            narrative: v.narrative,
            evidence: v.evidence,
            external_id: v.external_id,
            locale: v.locale,
            notify: self.batch.notify,
            cohort: v.cohort,
            batch_id: Some(self.batch.id.clone()),
        }
    }
}

fn key_prefix(row_key: &str) -> KeyPrefix {
    let mut prefix = [0u8; 12];
    // A row key is SHA-256 in hex; anything else still gets a stable prefix of its bytes.
    if hex::decode_to_slice(row_key.get(..24).unwrap_or_default(), &mut prefix).is_err() {
        for (p, b) in prefix.iter_mut().zip(row_key.bytes()) {
            *p = b;
        }
    }
    prefix
}
