//! Every public URL, built in one place. The paths are a public contract: printed QR codes and
//! shared links point at them forever.

use crate::domain::{
    award::Award,
    ids::{AwardId, IssuerId, TemplateId},
    issuer::Issuer,
    template::Template,
};
use chrono::Datelike;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, Copy)]
pub struct PublicUrls<'a> {
    base: &'a str,
}

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

impl<'a> PublicUrls<'a> {
    pub fn new(base: &'a str) -> Self {
        Self { base }
    }
    pub fn base(&self) -> &str {
        self.base
    }
    pub fn award_page(&self, id: &AwardId) -> String {
        format!("{}/b/{id}", self.base)
    }
    pub fn award_json(&self, id: &AwardId) -> String {
        format!("{}/b/{id}.json", self.base)
    }
    pub fn award_qr_svg(&self, id: &AwardId) -> String {
        format!("{}/b/{id}/qr.svg", self.base)
    }
    pub fn award_qr_png(&self, id: &AwardId) -> String {
        format!("{}/b/{id}/qr.png", self.base)
    }
    pub fn issuer_json(&self, id: &IssuerId) -> String {
        format!("{}/issuers/{id}.json", self.base)
    }
    pub fn template_json(&self, id: &TemplateId) -> String {
        format!("{}/templates/{id}.json", self.base)
    }
    pub fn template_image(&self, id: &TemplateId) -> String {
        format!("{}/templates/{id}/image", self.base)
    }
    /// The template's image as PNG (for e-mail, previews and Open Badges consumers).
    pub fn template_png(&self, id: &TemplateId) -> String {
        format!("{}/templates/{id}/image.png", self.base)
    }
    /// The award's share card, at the version the card has now.
    pub fn award_card(&self, id: &AwardId, version: &str) -> String {
        format!("{}/b/{id}/card/{version}.png", self.base)
    }
    pub fn template_page(&self, id: &TemplateId) -> String {
        format!("{}/templates/{id}", self.base)
    }

    /// The Open Badges 3.0 credential of an award, and the image with it baked in.
    pub fn award_credential(&self, id: &AwardId) -> String {
        format!("{}/b/{id}/credential.json", self.base)
    }
    pub fn award_baked(&self, id: &AwardId, extension: &str) -> String {
        format!("{}/b/{id}/badge.{extension}", self.base)
    }

    /// The issuer's `did:web`: the public URL's host (a port as `%3A`), its path segments, then
    /// `issuers:{iid}` — which did:web resolves to [`Self::did_document`].
    pub fn issuer_did(&self, id: &IssuerId) -> String {
        let rest = self.base.split_once("://").map_or(self.base, |(_, r)| r);
        let mut parts: Vec<String> = rest
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| p.replace(':', "%3A"))
            .collect();
        parts.extend(["issuers".to_owned(), id.to_string()]);
        format!("did:web:{}", parts.join(":"))
    }
    pub fn did_document(&self, id: &IssuerId) -> String {
        format!("{}/issuers/{id}/did.json", self.base)
    }
    /// The issuer's revocation status list `list` (a `BitstringStatusListCredential`).
    pub fn status_list(&self, id: &IssuerId, list: u32) -> String {
        format!("{}/issuers/{id}/status/{list}", self.base)
    }

    pub fn template_banner(&self, id: &TemplateId) -> String {
        format!("{}/templates/{id}/banner-image", self.base)
    }

    /// The tracked link for an outbound slot on a badge page.
    pub fn go(&self, id: &AwardId, slot: &crate::domain::engagement::Slot) -> String {
        format!("{}/b/{id}/go/{}", self.base, slot.name())
    }

    /// Where a share button sends people; `None` for the shares the page's script reports (the
    /// device's share sheet, "copy link"), which lead nowhere.
    pub fn share_target(
        &self,
        network: crate::domain::engagement::Network,
        award: &Award,
        template: &Template,
    ) -> Option<String> {
        use crate::domain::engagement::Network;
        let page = self.award_page(&award.id);
        Some(match network {
            Network::LinkedIn => format!(
                "https://www.linkedin.com/sharing/share-offsite/?url={}",
                encode(&page)
            ),
            Network::X => format!(
                "https://twitter.com/intent/tweet?url={}&text={}",
                encode(&page),
                encode(&template.spec.name)
            ),
            Network::Facebook => format!(
                "https://www.facebook.com/sharer/sharer.php?u={}",
                encode(&page)
            ),
            Network::Email => format!(
                "mailto:?subject={}&body={}",
                encode(&template.spec.name),
                encode(&format!("{}\n{page}", template.spec.name))
            ),
            Network::Native | Network::Copy => return None,
        })
    }

    /// LinkedIn "Add to profile" (certification). Empty values are left out; every value encoded.
    pub fn linkedin_add(&self, award: &Award, template: &Template, issuer: &Issuer) -> String {
        let mut q: Vec<(&str, String)> = vec![
            ("startTask", "CERTIFICATION_NAME".into()),
            ("name", template.spec.name.clone()),
        ];
        match &issuer.profile.linkedin_organization_id {
            Some(id) => q.push(("organizationId", id.as_str().to_owned())),
            None => q.push(("organizationName", issuer.profile.name.clone())),
        }
        let zone = issuer.profile.time_zone;
        let issued = zone.date_of(award.issued_on);
        q.push(("issueYear", issued.year().to_string()));
        q.push(("issueMonth", issued.month().to_string()));
        if let Some(e) = award.expires_on.map(|e| zone.date_of(e)) {
            q.push(("expirationYear", e.year().to_string()));
            q.push(("expirationMonth", e.month().to_string()));
        }
        q.push(("certUrl", self.award_page(&award.id)));
        q.push(("certId", award.id.to_string()));
        let query: Vec<String> = q
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(&v)))
            .collect();
        format!("https://www.linkedin.com/profile/add?{}", query.join("&"))
    }
}
