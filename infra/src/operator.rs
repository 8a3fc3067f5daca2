//! What operators do with the command line: create issuers and their keys. The same code works
//! against the local emulator and a real table in AWS.

use accolade::{
    domain::{
        api_key::{ApiKey, ApiKeySecret, Scope},
        email::Email,
        ids::IssuerId,
        issuer::{Issuer, IssuerProfile},
        locale::Locale,
        text,
        time::Zone,
        url::WebUrl,
        FieldError,
    },
    store::{Store, StoreError},
};
use chrono::Utc;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("--{}", .0)]
    Input(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("issuer {0} does not exist")]
    NoIssuer(String),
}

pub struct NewIssuer<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub email: &'a str,
    pub locale: Option<&'a str>,
    pub time_zone: Option<&'a str>,
}

/// Creates an issuer and its first API key; returns both (the key's secret only here).
pub async fn create_issuer(
    store: &Store,
    n: &NewIssuer<'_>,
) -> Result<(Issuer, ApiKeySecret), OperatorError> {
    let mut profile = IssuerProfile::new(
        text::line(n.name, text::NAME_MAX).map_err(|e| e.at("name"))?,
        WebUrl::parse(n.url).map_err(|e| e.at("url"))?,
        Email::parse(n.email).map_err(|e| e.at("email"))?,
    );
    if let Some(l) = n.locale {
        profile.default_locale = Locale::parse(l).map_err(|e| e.at("locale"))?;
    }
    if let Some(z) = n.time_zone {
        profile.time_zone = Zone::parse(z).map_err(|e| e.at("time-zone"))?;
    }
    let issuer = Issuer::new(profile, Utc::now());
    store.create_issuer(&issuer).await?;
    let secret = create_key(store, &issuer.id, "first key").await?;
    Ok((issuer, secret))
}

pub async fn create_key(
    store: &Store,
    issuer: &IssuerId,
    name: &str,
) -> Result<ApiKeySecret, OperatorError> {
    if store.get_issuer(issuer).await?.is_none() {
        return Err(OperatorError::NoIssuer(issuer.to_string()));
    }
    let secret = ApiKeySecret::generate();
    let key = ApiKey::new(
        issuer.clone(),
        text::line(name, text::NAME_MAX).map_err(|e| e.at("name"))?,
        Scope::Admin,
        &secret,
        Utc::now(),
    );
    store.create_api_key(&key, None).await?;
    Ok(secret)
}
