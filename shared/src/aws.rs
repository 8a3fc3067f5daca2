//! Building SDK clients: once per process, at start-up.

use aws_config::{retry::RetryConfig, BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls_pki_types::{pem::PemObject, CertificateDer};
use std::sync::{Arc, OnceLock};

/// The SDK configuration. In AWS (no endpoint override) the SDK's defaults: credentials of the
/// function's role, the region Lambda sets, standard retries, and the `roots` to trust. With an
/// endpoint (the local emulator): that endpoint, region us-east-1, and the credentials in
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (the local stack gives each function its own
/// principal), so the default chain never looks for instance metadata.
pub async fn sdk_config(endpoint: Option<&str>, roots: SdkRoots) -> SdkConfig {
    match endpoint {
        Some(url) => {
            let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "testing".into());
            let secret =
                std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "testing".into());
            local_sdk_config(url, credentials(&key, &secret))
        }
        None => {
            let roots = roots.in_region(std::env::var("AWS_REGION").ok().as_deref());
            let loader =
                aws_config::defaults(BehaviorVersion::latest()).http_client(https_client(roots));
            from_lambda_environment(loader).load().await
        }
    }
}

/// Lambda hands every function its region (`AWS_REGION`) and its role's credentials
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) in the environment, which is
/// where the SDK's default chains look first. Read from there directly, the SDK does not build
/// those chains at all: the region chain's instance-metadata client, and the credentials chain's
/// profile, SSO, web-identity (with an STS client of its own), container and instance-metadata
/// providers — about a fifth of a cold start's init (docs/performance.md, cold starts). Outside
/// Lambda (no `AWS_LAMBDA_FUNCTION_NAME`: the operator CLI on a laptop) or with any of those
/// variables empty, the default chains stay.
///
/// A Lambda function has no shared config files either (no home directory; `~/.aws/config` is
/// looked up literally): unless `AWS_CONFIG_FILE` or `AWS_SHARED_CREDENTIALS_FILE` names one,
/// the loader is given an empty profile instead of looking for both files on a blocking thread
/// at the cold start.
fn from_lambda_environment(mut loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    use aws_config::environment::{
        EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
    };
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if !set("AWS_LAMBDA_FUNCTION_NAME") {
        return loader;
    }
    if !set("AWS_CONFIG_FILE") && !set("AWS_SHARED_CREDENTIALS_FILE") {
        loader = loader.profile_files(
            EnvConfigFiles::builder()
                .include_default_config_file(false)
                .include_default_credentials_file(false)
                .with_contents(EnvConfigFileKind::Config, "")
                .build(),
        );
    }
    if set("AWS_REGION") {
        loader = loader.region(EnvironmentVariableRegionProvider::new());
    }
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    loader
}

/// Static credentials (the local emulator's principals).
pub fn credentials(access_key_id: &str, secret_access_key: &str) -> Credentials {
    Credentials::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "accolade-local",
    )
}

/// The emulator's configuration, with AWS's standard retry mode (3 attempts, exponential
/// back-off with jitter) exactly as in AWS: a transient 500 or throttle from the emulator is
/// retried as AWS's would be.
pub fn local_sdk_config(endpoint: &str, credentials: Credentials) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .retry_config(RetryConfig::standard())
        .http_client(https_client(SdkRoots::System))
        .build()
}

/// The roots the SDK trusts (`SDK_TRUST_STORE` in template.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SdkRoots {
    /// `amazon` (the default): only the roots AWS's endpoints in the commercial partition chain
    /// to, compiled in
    /// ([`AMAZON_TRUST_SERVICES`]). No file is read and five roots are parsed per connection
    /// pool instead of a system bundle's ~150: about a millisecond less of every cold start
    /// (docs/performance.md, cold starts).
    #[default]
    Amazon,
    /// `system`: the system's roots (`SSL_CERT_FILE`), for an endpoint behind another CA (a TLS
    /// inspecting proxy, a partition whose endpoints chain elsewhere).
    System,
}

impl SdkRoots {
    /// What holds in `region`: Amazon Trust Services' roots are documented for the commercial
    /// partition (`aws`) only; in GovCloud, China and the ISO partitions, or with no region
    /// known, the system's roots.
    pub fn in_region(self, region: Option<&str>) -> Self {
        const ELSEWHERE: [&str; 4] = ["us-gov-", "cn-", "us-iso", "eu-iso"];
        match region {
            Some(r) if !ELSEWHERE.iter().any(|p| r.starts_with(p)) => self,
            _ => Self::System,
        }
    }

    /// `amazon` or `system`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "amazon" => Some(Self::Amazon),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// Amazon Trust Services' roots, which the commercial partition's service endpoints chain to:
/// Amazon Root CA 1–4, and Starfield Services Root Certificate Authority – G2, which
/// cross-signs them (<https://www.amazontrust.com/repository/>). Taken from Debian's
/// ca-certificates (Mozilla's root store); their SHA-256 fingerprints are checked by a test.
pub const AMAZON_TRUST_SERVICES: &str = include_str!("../certs/amazon-trust-services.pem");

/// Single-file root bundles, the first found is used when `SSL_CERT_FILE` names a missing file:
/// Amazon Linux 2023 (Lambda's `provided.al2023`), its compatibility link, Debian/Ubuntu.
const ROOT_BUNDLES: [&str; 3] = [
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// The HTTPS client every SDK client shares: the SDK's own (hyper, rustls with aws-lc) with
/// `roots`. With [`SdkRoots::System`] the SDK reads `SSL_CERT_FILE` (template.yaml names Amazon
/// Linux 2023's bundle: without it the SDK reads the bundle *and every file of the system's
/// certificate directories* at each cold start); should that file be missing (another runtime
/// image), the roots come from the first bundle of [`ROOT_BUNDLES`] instead — slower to load
/// (the SDK parses such a trust store for each connection pool it builds), but a function that
/// cannot trust AWS's endpoints is no function.
pub fn https_client(roots: SdkRoots) -> SharedHttpClient {
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::rustls(CryptoMode::AwsLc));
    let store = match roots {
        SdkRoots::Amazon => Some(TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES)),
        SdkRoots::System => fallback_trust_store(),
    };
    let context =
        store.and_then(|store| TlsContext::builder().with_trust_store(store).build().ok());
    match context {
        Some(context) => builder.tls_context(context).build_https(),
        None => builder.build_https(),
    }
}

/// A trust store of its own when `SSL_CERT_FILE` names a file that is not there (None: the SDK's
/// loading, which reads `SSL_CERT_FILE`).
fn fallback_trust_store() -> Option<TrustStore> {
    let configured = std::env::var_os("SSL_CERT_FILE")?;
    if std::path::Path::new(&configured).is_file() {
        return None;
    }
    let bundle = ROOT_BUNDLES
        .iter()
        .find_map(|path| std::fs::read(path).ok())
        .map(|pem| certificates_only(&pem))
        .filter(|pem| !pem.is_empty());
    tracing::warn!(
        ssl_cert_file = %configured.to_string_lossy(),
        found = bundle.is_some(),
        "SSL_CERT_FILE names no file: trusting the first system bundle found instead"
    );
    Some(TrustStore::empty().with_pem_certificate(bundle.unwrap_or_default()))
}

/// The roots other HTTPS clients trust (webhooks): `SSL_CERT_FILE`, or the first bundle of
/// [`ROOT_BUNDLES`] found, as PEM; `None` when there is none.
pub fn root_bundle() -> Option<Vec<u8>> {
    let configured = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    configured
        .into_iter()
        .chain(ROOT_BUNDLES.iter().map(std::path::PathBuf::from))
        .find_map(|path| std::fs::read(path).ok())
        .map(|pem| certificates_only(&pem))
        .filter(|pem| !pem.is_empty())
}

/// The `CERTIFICATE` blocks of a PEM file that rustls can use as roots (the SDK panics on a trust
/// store with one bad block, so a damaged bundle costs its damaged certificates, not the process).
fn certificates_only(pem: &[u8]) -> Vec<u8> {
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let mut out = Vec::with_capacity(pem.len());
    let mut rest = pem;
    while let Some(start) = find(rest, b"-----BEGIN CERTIFICATE-----") {
        let Some(end) = find(&rest[start..], END).map(|e| start + e + END.len()) else {
            break;
        };
        let block = &rest[start..end];
        if CertificateDer::from_pem_slice(block)
            .is_ok_and(|der| webpki::anchor_from_trusted_cert(&der).is_ok())
        {
            out.extend_from_slice(block);
            out.push(b'\n');
        }
        rest = &rest[end..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An SDK client built on its first use. Each function builds the clients its own requests
/// use and no other: a cold badge page builds DynamoDB's alone, not all six (each one is a
/// configuration, runtime plugins and a validation pass: docs/performance.md, cold starts).
/// Clones share the one client.
#[derive(Clone)]
pub struct Lazy<C> {
    client: Arc<OnceLock<C>>,
    make: Arc<dyn Fn() -> C + Send + Sync>,
}

impl<C> Lazy<C> {
    pub fn new(make: impl Fn() -> C + Send + Sync + 'static) -> Self {
        Self {
            client: Arc::new(OnceLock::new()),
            make: Arc::new(make),
        }
    }

    /// A client built already (the local stack's, instrumented).
    pub fn ready(client: C) -> Self
    where
        C: Clone + Send + Sync + 'static,
    {
        let lazy = Self::new(move || client.clone());
        let _ = lazy.client.set((lazy.make)());
        lazy
    }
}

impl<C> std::ops::Deref for Lazy<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.client.get_or_init(|| (self.make)())
    }
}

impl<C> std::fmt::Debug for Lazy<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.client.get().is_some() {
            "built"
        } else {
            "not built yet"
        };
        write!(f, "Lazy({state})")
    }
}

pub fn dynamodb(cfg: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(cfg)
}

/// S3 with path-style addressing when an endpoint override is set (moto needs it).
pub fn s3(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(cfg.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Amazon Root CA 1 (https://www.amazontrust.com/repository/AmazonRootCA1.pem).
    const ROOT: &str = include_str!("../testdata/amazon-root-ca-1.pem");

    #[test]
    fn a_bundle_keeps_the_roots_rustls_can_use_and_drops_the_rest() {
        let root = ROOT.trim();
        let not_base64 = "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----";
        let not_a_certificate =
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";
        let bundle = format!(
            "# comment\n{root}\n{not_base64}\nLabel\n{not_a_certificate}\n{root}\n-----BEGIN CERTIFICATE-----\nMIIB"
        );
        let kept = String::from_utf8(certificates_only(bundle.as_bytes())).unwrap_or_default();
        assert_eq!(kept, format!("{root}\n{root}\n"));
        assert!(certificates_only(b"no certificates").is_empty());
    }

    /// The compiled-in roots are exactly Amazon Trust Services' five, by the SHA-256
    /// fingerprints amazontrust.com publishes, each usable by rustls as a trust anchor; and the
    /// file holds nothing but their PEM blocks (the SDK panics on anything else).
    #[test]
    fn the_sdk_trusts_exactly_amazon_trust_services_roots() {
        use sha2::{Digest, Sha256};
        let published = [
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Amazon Root CA 1
            "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Amazon Root CA 2
            "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Amazon Root CA 3
            "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Amazon Root CA 4
            "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5", // Starfield Services G2
        ];
        let found: Vec<String> = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES.as_bytes())
            .map(|der| {
                let der = der.expect("a PEM certificate");
                assert!(webpki::anchor_from_trusted_cert(&der).is_ok());
                hex::encode(Sha256::digest(der.as_ref()))
            })
            .collect();
        assert_eq!(found, published);
        assert_eq!(
            certificates_only(AMAZON_TRUST_SERVICES.as_bytes()),
            AMAZON_TRUST_SERVICES.as_bytes()
        );
    }

    /// A client built on the compiled-in roots: the SDK parses them when it builds the client's
    /// connection pool (and would panic on a bad one).
    #[tokio::test]
    async fn a_client_builds_on_the_amazon_roots() {
        let cfg = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .http_client(https_client(SdkRoots::Amazon))
            .build();
        let client = dynamodb(&cfg);
        assert_eq!(
            client.config().region().map(|r| r.as_ref()),
            Some("us-east-1")
        );
    }

    #[test]
    fn a_lazy_client_is_built_once_on_first_use_and_shared_by_clones() {
        let built = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = built.clone();
        let lazy =
            Lazy::new(move || counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 100);
        let clone = lazy.clone();
        assert_eq!(format!("{lazy:?}"), "Lazy(not built yet)");
        assert_eq!(built.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!((*clone, *lazy, *lazy), (100, 100, 100));
        assert_eq!(built.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(format!("{lazy:?}"), "Lazy(built)");
        assert_eq!(*Lazy::ready(7), 7);
    }

    #[test]
    fn the_trust_store_setting_is_amazon_or_system() {
        assert_eq!(SdkRoots::parse("amazon"), Some(SdkRoots::Amazon));
        assert_eq!(SdkRoots::parse("system"), Some(SdkRoots::System));
        assert_eq!(SdkRoots::parse("Amazon"), None);
        assert_eq!(SdkRoots::default(), SdkRoots::Amazon);
        let amazon = SdkRoots::Amazon;
        assert_eq!(amazon.in_region(Some("ap-northeast-2")), SdkRoots::Amazon);
        for elsewhere in [
            Some("us-gov-west-1"),
            Some("cn-north-1"),
            Some("us-isob-east-1"),
            None,
        ] {
            assert_eq!(
                amazon.in_region(elsewhere),
                SdkRoots::System,
                "{elsewhere:?}"
            );
        }
        assert_eq!(
            SdkRoots::System.in_region(Some("us-east-1")),
            SdkRoots::System
        );
    }
}
