//! Open Badges 3.0 documents (W3C Verifiable Credentials 2.0), unsigned: the award's
//! `OpenBadgeCredential`, the issuer's revocation `BitstringStatusListCredential` and its
//! `did:web` DID document. `ld` signs them; the `credentials` service stores and serves them.
//! Like [`crate::openbadges`], our wire format for a standard we do not own, built explicitly.

use crate::{
    domain::{
        award::Award,
        credential::{KeyNumber, StatusEntry, STATUS_LIST_SIZE},
        ids::IssuerId,
        issuer::Issuer,
        template::Template,
    },
    ld::{public_key_multibase, DID_V1, MULTIKEY_V1, OB_V3, VC_V2},
    openbadges::{image_url, iri},
    urls::PublicUrls,
};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::VerifyingKey;
use serde_json::{json, Map, Value};
use std::io::Write;

/// `application/vc+ld+json` is not yet understood by every client; both are accepted by
/// verifiers, and this one is what browsers and `jq` pipelines expect.
pub const CONTENT_TYPE: &str = "application/ld+json";

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The issuer `Profile` as it appears in a credential: its id is the issuer's DID.
fn profile(urls: &PublicUrls<'_>, i: &Issuer) -> Value {
    let p = &i.profile;
    let mut v = json!({
        "id": urls.issuer_did(&i.id),
        "type": ["Profile"],
        "name": p.name,
        "url": p.url.as_str(),
        "email": p.email.as_str(),
    });
    if let Some(d) = &p.description {
        v["description"] = json!(d);
    }
    if let Some(l) = p.logo_url.as_ref().and_then(|l| iri(l.as_str())) {
        v["image"] = json!({"id": l, "type": "Image"});
    }
    v
}

/// The template as an `Achievement`. Skills become `tag`s (OB 3.0 alignments need a target URL
/// and name we do not have).
fn achievement(urls: &PublicUrls<'_>, t: &Template) -> Value {
    let mut criteria = Map::new();
    if let Some(u) = t.spec.criteria.url.as_ref().and_then(|u| iri(u.as_str())) {
        criteria.insert("id".into(), json!(u));
    }
    if let Some(n) = &t.spec.criteria.narrative {
        criteria.insert("narrative".into(), json!(n));
    }
    let mut v = json!({
        "id": urls.template_page(&t.id),
        "type": ["Achievement"],
        "name": t.spec.name,
        "description": t.spec.description,
        "criteria": criteria,
    });
    if let Some(image) = iri(&image_url(urls, t)) {
        v["image"] = json!({"id": image, "type": "Image"});
    }
    if !t.spec.skills.is_empty() {
        v["tag"] = json!(t.spec.skills);
    }
    v
}

/// The award's evidence, and its narrative (what the recipient did) as one more evidence entry.
fn evidence(a: &Award) -> Vec<Value> {
    let mut out: Vec<Value> = a
        .evidence
        .iter()
        .map(|e| {
            let mut o = Map::new();
            o.insert("type".into(), json!(["Evidence"]));
            if let Some(u) = e.url.as_ref().and_then(|u| iri(u.as_str())) {
                o.insert("id".into(), json!(u));
            }
            if let Some(n) = &e.narrative {
                o.insert("narrative".into(), json!(n));
            }
            Value::Object(o)
        })
        .collect();
    if let Some(n) = &a.narrative {
        out.push(json!({"type": ["Evidence"], "narrative": n}));
    }
    out
}

/// The award's `OpenBadgeCredential`, unsigned. The recipient appears only as the salted
/// SHA-256 of the email that the OB 2.0 assertion also publishes.
pub fn credential(
    urls: &PublicUrls<'_>,
    a: &Award,
    t: &Template,
    i: &Issuer,
    status: StatusEntry,
) -> Value {
    let list = urls.status_list(&a.issuer_id, status.list);
    let mut v = json!({
        "@context": [VC_V2, OB_V3],
        "id": urls.award_credential(&a.id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": t.spec.name,
        "description": t.spec.description,
        "issuer": profile(urls, i),
        "validFrom": ts(a.issued_on),
        "awardedDate": ts(a.issued_on),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": true,
                "salt": a.identity.salt,
                "identityHash": a.identity.hash,
            }],
            "achievement": achievement(urls, t),
        },
        "credentialStatus": {
            "id": format!("{list}#{}", status.index),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": status.index.to_string(),
            "statusListCredential": list,
        },
    });
    if let Some(e) = a.expires_on {
        v["validUntil"] = json!(ts(e));
    }
    let ev = evidence(a);
    if !ev.is_empty() {
        v["evidence"] = Value::Array(ev);
    }
    v
}

/// The bits of a status list: `revoked` indexes set, bit 0 the most significant bit of byte 0;
/// GZIP-compressed and multibase base64url (`u…`) as the W3C Bitstring Status List requires.
pub fn encoded_list(revoked: impl IntoIterator<Item = u32>) -> String {
    let mut bits = vec![0u8; usize::try_from(STATUS_LIST_SIZE / 8).unwrap_or(16_384)];
    for i in revoked {
        if let Some(byte) = bits.get_mut((i / 8) as usize) {
            *byte |= 0x80 >> (i % 8);
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let zipped = gz
        .write_all(&bits)
        .and_then(|()| gz.finish())
        .unwrap_or_default();
    format!(
        "u{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(zipped)
    )
}

/// The issuer's revocation list `list`, unsigned. `valid_from` is when it was built: verifiers
/// fetch it fresh (it is served with a short cache lifetime).
pub fn status_list_credential(
    urls: &PublicUrls<'_>,
    issuer: &IssuerId,
    list: u32,
    revoked: impl IntoIterator<Item = u32>,
    valid_from: DateTime<Utc>,
) -> Value {
    let id = urls.status_list(issuer, list);
    json!({
        "@context": [VC_V2],
        "id": id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": urls.issuer_did(issuer),
        "validFrom": ts(valid_from),
        "credentialSubject": {
            "id": format!("{id}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list(revoked),
        },
    })
}

/// The verification method id of key `n`: `{did}#key-n`.
pub fn verification_method(urls: &PublicUrls<'_>, issuer: &IssuerId, n: KeyNumber) -> String {
    format!("{}#{}", urls.issuer_did(issuer), n.fragment())
}

/// The issuer's DID document: the `keys` given (every key it signed with but the retired ones),
/// as `Multikey`s usable for `assertionMethod`, so credentials signed before a rotation still
/// verify.
pub fn did_document(
    urls: &PublicUrls<'_>,
    issuer: &IssuerId,
    keys: &[(KeyNumber, VerifyingKey)],
) -> Value {
    let did = urls.issuer_did(issuer);
    let methods: Vec<Value> = keys
        .iter()
        .map(|(n, k)| {
            json!({
                "id": verification_method(urls, issuer, *n),
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": public_key_multibase(k),
            })
        })
        .collect();
    let ids: Vec<String> = keys
        .iter()
        .map(|(n, _)| verification_method(urls, issuer, *n))
        .collect();
    json!({
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn decode(list: &str) -> Vec<u8> {
        let zipped = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(list.strip_prefix('u').unwrap())
            .unwrap();
        let mut out = Vec::new();
        GzDecoder::new(&zipped[..]).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn the_list_is_131072_bits_with_index_0_leftmost() {
        let bits = decode(&encoded_list([0, 9, 131_071]));
        assert_eq!(bits.len(), 16_384);
        assert_eq!(bits[0], 0x80);
        assert_eq!(bits[1], 0x40);
        assert_eq!(bits[16_383], 0x01);
        assert_eq!(bits.iter().map(|b| b.count_ones()).sum::<u32>(), 3);
        // out-of-range indexes are ignored, not a panic
        assert_eq!(
            decode(&encoded_list([200_000]))
                .iter()
                .filter(|b| **b != 0)
                .count(),
            0
        );
    }

    #[test]
    fn urls_that_are_not_iris_are_encoded_or_left_out() {
        assert_eq!(
            iri("https://e.example/a?b=1#c").as_deref(),
            Some("https://e.example/a?b=1#c")
        );
        assert_eq!(
            iri("https://e.example/a[1]").as_deref(),
            Some("https://e.example/a%5B1%5D")
        );
        assert_eq!(
            iri("https://e.example/r%zz").as_deref(),
            Some("https://e.example/r%25zz")
        );
        assert_eq!(
            iri("https://e.example/#a#b").as_deref(),
            Some("https://e.example/#a%23b")
        );
        assert_eq!(iri("https://e.example:abc/"), None);
        assert_eq!(
            iri("https://한국.example/배지").as_deref(),
            Some("https://한국.example/배지")
        );
    }

    #[test]
    fn did_web_ids_encode_the_port_and_resolve_to_did_json() {
        let urls = PublicUrls::new("http://127.0.0.1:8080");
        let iid = IssuerId::generate();
        let did = urls.issuer_did(&iid);
        assert_eq!(did, format!("did:web:127.0.0.1%3A8080:issuers:{iid}"));
        assert_eq!(
            urls.did_document(&iid),
            format!("http://127.0.0.1:8080/issuers/{iid}/did.json")
        );
        let sub = PublicUrls::new("https://example.ac.kr/badges");
        assert_eq!(
            sub.issuer_did(&iid),
            format!("did:web:example.ac.kr:badges:issuers:{iid}")
        );
    }
}
