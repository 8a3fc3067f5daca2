//! The state every entry point shares: configuration, the adapters, and the warm-Lambda caches.
//! Built once per process (Lambda init or local server start).

use crate::aws::Lazy;
use crate::{
    blobs::Blobs,
    cache::TtlCache,
    config::Config,
    domain::{
        award::Award,
        ids::{IssuerId, TemplateId},
        issuer::Issuer,
        template::Template,
    },
    render::badge_page::Recommendation,
    store::{Store, StoreError},
    urls::PublicUrls,
};
use aws_config::SdkConfig;
use std::{sync::Arc, time::Duration};

/// A signed status list is reused for this long by a warm Lambda (then signed afresh): with the
/// response's `max-age=60`, a revocation shows within about a minute and a quarter.
pub const STATUS_LIST_TTL: Duration = Duration::from_secs(10);

/// Public pages may show issuer/template data at most this old (entries from the catalogue count
/// from when their Query was sent, so: this plus the index's lag behind the table, which
/// DynamoDB keeps normally well under a second).
pub const PAGE_DATA_TTL: Duration = Duration::from_secs(30);
/// Items of the catalogue a cold process reads at once: the issuers and templates of a
/// deployment (one institution's) up to this many, or up to 1 MB, the most one Query returns.
pub const CATALOGUE_PAGE: i32 = 200;
/// How long the catalogue read may take before its task gives up (and the pages waiting for it
/// stop waiting): far beyond any answer DynamoDB gives, short enough that a read lost with its
/// connection (a Lambda frozen mid-read) does not leave the process's pages waiting.
pub const CATALOGUE_READ_LIMIT: Duration = Duration::from_secs(3);

/// The shared state: one allocation per process, so a clone (axum clones its state into every
/// route's handler and layer when the router is built — about 600 times for the api's — and
/// into every request) is one reference count, not a copy of every adapter's names and URLs.
#[derive(Clone)]
pub struct App(Arc<AppParts>);

impl std::ops::Deref for App {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// An issuer and templates, in the order asked (`None`: not there).
pub type PageData = (Option<Arc<Issuer>>, Vec<Option<Arc<Template>>>);

/// Read locks of page data: misses of ids in one stripe wait for each other.
const PAGE_READ_STRIPES: usize = 32;

fn page_read_stripe(id: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    (h.finish() % PAGE_READ_STRIPES as u64) as usize
}

/// The templates asked for that `found` (in the same order) lacks.
fn missing_templates<'a: 'b, 'b, T>(
    templates: &'a [TemplateId],
    found: &'b [Option<T>],
) -> impl Iterator<Item = &'a TemplateId> + 'b {
    templates
        .iter()
        .zip(found)
        .filter(|(_, t)| t.is_none())
        .map(|(id, _)| id)
}

/// The ids of what `data` lacks of the issuer and templates asked for.
fn missing_ids<'a>(
    (i, ts): &PageData,
    issuer: Option<&'a IssuerId>,
    templates: &'a [TemplateId],
) -> Vec<&'a str> {
    let issuer = issuer.filter(|_| i.is_none()).map(IssuerId::as_str);
    let missing = missing_templates(templates, ts).map(TemplateId::as_str);
    issuer.into_iter().chain(missing).collect()
}

/// What an [`App`] holds.
pub struct AppParts {
    pub store: Store,
    pub blobs: Blobs,
    pub mailer: crate::mailer::Mailer,
    pub schedules: crate::schedules::Schedules,
    pub kms: crate::kms::Kms,
    /// The webhook queue, and outbound HTTP to webhook endpoints.
    pub queue: crate::queue::Queue,
    pub outbound: crate::outbound::Outbound,
    pub config: Config,
    /// Issuers' decrypted signing keys, by issuer and key number (see `credentials`).
    pub(crate) signing_keys: std::sync::Mutex<crate::kms::KeyCache>,
    /// Signed status lists, by issuer and list number.
    pub(crate) status_lists:
        TtlCache<(IssuerId, u32), (crate::domain::credential::KeyNumber, String)>,
    /// Issuers' retired signing keys (`credentials`: a stored credential they signed is signed
    /// again), read once per [`PAGE_DATA_TTL`].
    pub(crate) retired_keys: TtlCache<IssuerId, Vec<crate::domain::credential::KeyNumber>>,
    issuers: TtlCache<IssuerId, Issuer>,
    templates: TtlCache<TemplateId, Template>,
    /// Held while page data the caches lack is read, one lock per stripe of item ids (see
    /// [`App::page_data`]).
    page_reads: [tokio::sync::Mutex<()>; PAGE_READ_STRIPES],
    /// Set when this process starts its one read of the catalogue; true once that read is over
    /// (see [`App::catalogue_read`]).
    catalogue: std::sync::OnceLock<tokio::sync::watch::Receiver<bool>>,
    session_key: tokio::sync::OnceCell<Vec<u8>>,
}

/// The SDK clients the adapters use, built once per process: DynamoDB's at start-up (every
/// function's every request reads the table), the others on first use
/// ([`crate::aws::Lazy`]).
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: Lazy<aws_sdk_s3::Client>,
    pub ses: Lazy<aws_sdk_sesv2::Client>,
    pub scheduler: Lazy<aws_sdk_scheduler::Client>,
    pub kms: Lazy<aws_sdk_kms::Client>,
    pub sqs: Lazy<aws_sdk_sqs::Client>,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            dynamodb: crate::aws::dynamodb(sdk),
            s3: lazy(sdk, crate::aws::s3),
            ses: lazy(sdk, aws_sdk_sesv2::Client::new),
            scheduler: lazy(sdk, aws_sdk_scheduler::Client::new),
            kms: lazy(sdk, aws_sdk_kms::Client::new),
            sqs: lazy(sdk, aws_sdk_sqs::Client::new),
        }
    }
}

/// A client `make` builds from (a copy of) `sdk` on first use.
fn lazy<C: 'static>(sdk: &SdkConfig, make: fn(&SdkConfig) -> C) -> Lazy<C> {
    let sdk = sdk.clone();
    Lazy::new(move || make(&sdk))
}

impl App {
    pub fn new(config: Config, sdk: &SdkConfig) -> Self {
        Self::from_clients(config, Clients::new(sdk))
    }

    fn schedules(
        config: &Config,
        client: Lazy<aws_sdk_scheduler::Client>,
    ) -> crate::schedules::Schedules {
        crate::schedules::Schedules::new(
            client,
            config.schedule_group.clone(),
            config.notify_function_arn.clone().unwrap_or_else(|| {
                "arn:aws:lambda:us-east-1:123456789012:function:accolade-local-notify".into()
            }),
            config.scheduler_role_arn.clone().unwrap_or_else(|| {
                "arn:aws:iam::123456789012:role/accolade-local-scheduler".into()
            }),
            config.failure_queue_arn.clone(),
        )
        .with_webhook_queue(config.webhook_queue_url.clone())
    }

    /// With clients built elsewhere (the local stack's carry each function's credentials and the
    /// test instruments).
    pub fn from_clients(config: Config, clients: Clients) -> Self {
        let mailer = crate::mailer::Mailer::new(
            clients.ses,
            config.ses_configuration_set.clone(),
            config.max_send_rate,
        );
        Self(Arc::new(AppParts {
            store: Store::new(clients.dynamodb, config.table_name.clone()),
            blobs: Blobs::new(clients.s3, config.uploads_bucket.clone()),
            mailer,
            schedules: Self::schedules(&config, clients.scheduler),
            kms: crate::kms::Kms::new(clients.kms, config.signing_key_arn.clone()),
            queue: crate::queue::Queue::new(clients.sqs, config.webhook_queue_url.clone()),
            outbound: crate::outbound::Outbound::new(config.webhook_allowed_hosts.clone()),
            signing_keys: Default::default(),
            status_lists: TtlCache::new(STATUS_LIST_TTL, 10_000),
            retired_keys: TtlCache::new(PAGE_DATA_TTL, 10_000),
            config,
            issuers: TtlCache::new(PAGE_DATA_TTL, 10_000),
            templates: TtlCache::new(PAGE_DATA_TTL, 10_000),
            page_reads: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
            catalogue: std::sync::OnceLock::new(),
            session_key: tokio::sync::OnceCell::new(),
        }))
    }

    /// The key that signs console sessions: 32 random bytes created once per deployment in the
    /// table (a conditional put, so concurrent cold starts agree), then kept in memory.
    pub async fn session_key(&self) -> Result<&[u8], StoreError> {
        self.session_key
            .get_or_try_init(|| self.store.session_secret())
            .await
            .map(Vec::as_slice)
    }

    /// Reads the configuration from the environment and builds the SDK clients.
    pub async fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let sdk =
            crate::aws::sdk_config(config.aws_endpoint_url.as_deref(), config.sdk_roots).await;
        Ok(Self::new(config, &sdk))
    }

    pub fn urls(&self) -> PublicUrls<'_> {
        PublicUrls::new(&self.config.public_base_url)
    }

    /// Issuer data for public pages: from the warm cache, or one read.
    pub async fn issuer_for_page(&self, id: &IssuerId) -> Result<Option<Arc<Issuer>>, StoreError> {
        Ok(self.page_data(Some(id), &[]).await?.0)
    }

    /// Template data for public pages: from the warm cache, or one read.
    pub async fn template_for_page(
        &self,
        id: &TemplateId,
    ) -> Result<Option<Arc<Template>>, StoreError> {
        let (_, mut found) = self.page_data(None, std::slice::from_ref(id)).await?;
        Ok(found.pop().flatten())
    }

    /// The award's template and issuer (`None` when either is gone): from the warm cache, or
    /// one read for both.
    pub async fn template_and_issuer(
        &self,
        award: &Award,
    ) -> Result<Option<(Arc<Template>, Arc<Issuer>)>, StoreError> {
        let (i, mut t) = self
            .page_data(
                Some(&award.issuer_id),
                std::slice::from_ref(&award.template_id),
            )
            .await?;
        Ok(t.pop().flatten().zip(i))
    }

    /// An issuer and templates for public pages, in the order asked: from the warm cache, and
    /// whatever it lacks in one read (`Store::get_page_data`), kept for `PAGE_DATA_TTL`. One
    /// read at a time per stripe of items (32, by id): callers that miss together (a stream
    /// batch's emails, sent several at once, when the entries expire) wait for the first one's
    /// read and find its result cached, instead of each reading the same items; misses of items
    /// in other stripes go on.
    pub async fn page_data(
        &self,
        issuer: Option<&IssuerId>,
        templates: &[TemplateId],
    ) -> Result<PageData, StoreError> {
        let cached = self.cached_page_data(issuer, templates);
        let missing = missing_ids(&cached, issuer, templates);
        if missing.is_empty() {
            return Ok(cached);
        }
        let _reading = self.lock_page_reads(missing).await;
        let cached = self.cached_page_data(issuer, templates);
        if missing_ids(&cached, issuer, templates).is_empty() {
            return Ok(cached);
        }
        self.read_page_data(issuer, templates, cached).await
    }

    /// The read locks of these ids' stripes, taken in ascending order (so no two callers can
    /// each hold a lock the other waits for).
    async fn lock_page_reads(&self, ids: Vec<&str>) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let stripes: std::collections::BTreeSet<usize> =
            ids.into_iter().map(page_read_stripe).collect();
        let mut guards = Vec::with_capacity(stripes.len());
        for s in stripes {
            guards.push(self.page_reads[s].lock().await);
        }
        guards
    }

    fn cached_page_data(&self, issuer: Option<&IssuerId>, templates: &[TemplateId]) -> PageData {
        let i = issuer.and_then(|id| self.issuers.get(id));
        (
            i,
            templates.iter().map(|id| self.templates.get(id)).collect(),
        )
    }

    /// Reads what `cached` lacks, and keeps it.
    async fn read_page_data(
        &self,
        issuer: Option<&IssuerId>,
        templates: &[TemplateId],
        (mut i, mut ts): PageData,
    ) -> Result<PageData, StoreError> {
        let missing: Vec<TemplateId> = missing_templates(templates, &ts).cloned().collect();
        let issuer_missing = issuer.filter(|_| i.is_none());
        let (read_issuer, read) = self.store.get_page_data(issuer_missing, &missing).await?;
        if let Some(read_issuer) = read_issuer {
            let read_issuer = Arc::new(read_issuer);
            self.issuers
                .put(read_issuer.id.clone(), read_issuer.clone());
            i = Some(read_issuer);
        }
        for t in read.into_iter().flatten() {
            let t = Arc::new(t);
            self.templates.put(t.id.clone(), t.clone());
            for (id, slot) in templates.iter().zip(ts.iter_mut()) {
                if slot.is_none() && id == &t.id {
                    *slot = Some(t.clone());
                }
            }
        }
        Ok((i, ts))
    }

    /// On a process's first call (a cold Lambda), starts one read of the catalogue's first page
    /// (every issuer and template, up to `CATALOGUE_PAGE` items) into the page-data caches, in a
    /// task of its own; answers a future that is ready when that read is over (at once on a
    /// warm Lambda). Started beside the award's read, it leaves a cold badge page nothing more to
    /// read (in DynamoDB the two reads overlap). A page waits for it only briefly after its award
    /// arrived (`config.catalogue_wait`, see `http::verify::load`), then reads by key what it
    /// lacks; the read goes on regardless and fills the caches for the pages after. A read that
    /// fails is logged and not repeated: page data is then read by key as it is needed, as it is
    /// on a warm Lambda once entries expire.
    pub fn catalogue_read(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut over = self
            .catalogue
            .get_or_init(|| self.start_catalogue_read())
            .clone();
        async move {
            // An error means the read's task ended without saying so (it panicked): over too.
            let _ = over.wait_for(|over| *over).await;
        }
    }

    fn start_catalogue_read(&self) -> tokio::sync::watch::Receiver<bool> {
        let (over, read) = tokio::sync::watch::channel(false);
        let app = self.clone();
        tokio::spawn(async move {
            let sent = std::time::Instant::now();
            let read = app.store.get_catalogue(CATALOGUE_PAGE);
            match tokio::time::timeout(CATALOGUE_READ_LIMIT, read).await {
                Ok(Ok(found)) => app.keep_catalogue(found, sent),
                Ok(Err(e)) => tracing::warn!(error = %e, "catalogue not read"),
                Err(_) => tracing::warn!("catalogue read given up: no answer"),
            }
            let _ = over.send(true);
        });
        read
    }

    /// Keeps what the catalogue read found, as read when its Query was `sent` (so it expires as
    /// a read made then would, however long the answer took or the Lambda was frozen), except
    /// what a request of this process has read by key meanwhile (that may be newer: the index
    /// follows the table with a lag).
    fn keep_catalogue(&self, found: crate::store::catalogue::Catalogue, sent: std::time::Instant) {
        for i in found.issuers {
            self.issuers
                .put_if_absent_at(i.id.clone(), Arc::new(i), sent);
        }
        for t in found.templates {
            self.templates
                .put_if_absent_at(t.id.clone(), Arc::new(t), sent);
        }
        if !found.complete {
            tracing::info!("the catalogue holds more than one read returned; the rest are read by key as needed");
        }
    }

    /// Whether the caches hold the award's issuer and template now (a page then has nothing to
    /// wait for).
    pub fn has_page_data(&self, a: &Award) -> bool {
        self.issuers.get(&a.issuer_id).is_some() && self.templates.get(&a.template_id).is_some()
    }

    /// The template's enabled recommendations that still exist, belong to the same issuer and
    /// are active, in the admin's order: what the badge page and the follow-up emails show. From
    /// the warm cache: no reads on a warm Lambda, one when the cache lacks them (a cold verify
    /// usually finds them there, from the catalogue).
    pub async fn recommendations(&self, t: &Template) -> Result<Vec<Recommendation>, StoreError> {
        let wanted: Vec<_> = t.spec.related.iter().filter(|r| r.enabled).collect();
        let ids: Vec<_> = wanted.iter().map(|r| r.template_id.clone()).collect();
        let (_, found) = self.page_data(None, &ids).await?;
        Ok(wanted
            .into_iter()
            .zip(found)
            .filter_map(|(r, rt)| {
                let rt =
                    rt.filter(|rt| rt.issuer_id == t.issuer_id && rt.is_active() && rt.id != t.id)?;
                Some(Recommendation {
                    template: rt,
                    label: r.label.clone(),
                })
            })
            .collect())
    }

    /// Drops cached copies after this process changed them (other processes expire by TTL).
    pub fn forget_template(&self, id: &TemplateId) {
        self.templates.forget(id);
    }
    pub fn forget_issuer(&self, id: &IssuerId) {
        self.issuers.forget(id);
    }
}
