//! Issue #14, the cross-tenant matrix. Every route of `/v1`, `/console` and the public paths is
//! called as issuer B with issuer A's ids (templates, awards, batches, API keys, images,
//! analytics scopes, cursors, unsubscribe tokens): a foreign id is answered exactly like a
//! missing one (404 where the route addresses the object), no answer shows anything of A's, and
//! nothing of A's changes. Every request that carries one of A's ids is also made with ids no one
//! has (the twin: the same answer) and as A (the control: it succeeds, so each 404 is the
//! tenancy's, not a wrong path's or body's).
//!
//! The routes come from the routers' own tables (`http::{api, analytics, console, verify}::
//! routes()`, from the declaration each router is built from): a route without a case in the
//! tables below fails `every_route_has_a_case`, and so does a case whose path is no route.

use accolade::{
    domain::ids::{random_token, ApiKeyId, AwardId, BatchId, IssuerId, TemplateId, WebhookId},
    http::routes::Route,
};
use accolade_tests::{csv_rows, spawn_app, template_body, unique_email, Response, TestApp};
use axum::http::Request;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The `/v1` cases, one a line: method, path, what B's answer must be (see [`Check`]), then the
/// body if any (`json …`, `form name=value&…`, `png`). A `{name}` is one of [`Ids::values`].
const API: &str = r#"
GET    /v1/templates                                     own
GET    /v1/templates?cursor={c-templates}                like-missing
POST   /v1/templates                                     like-missing json {"name": "B가 만든 배지", "description": "d", "criteria": {"narrative": "c"}, "related": [{"template_id": "{template}"}]}
GET    /v1/templates/{template}                          not-found
PATCH  /v1/templates/{template}                          not-found    json {"name": "가로챈 이름"}
PATCH  /v1/templates/{own-template}                      like-missing json {"related": [{"template_id": "{template}"}]}
PUT    /v1/templates/{template}/image                    not-found    png
PUT    /v1/templates/{template}/banner-image             not-found    png
GET    /v1/awards                                        own
GET    /v1/awards?recipient={recipient}                  like-missing
GET    /v1/awards?cursor={c-awards}                      like-missing
GET    /v1/awards?template={own-template}&cursor={c-by-template} like-missing
GET    /v1/awards?template={template}                    not-found
GET    /v1/awards?batch={batch}                          not-found
POST   /v1/awards                                        like-missing json {"template_id": "{template}", "recipient": {"email": "{new-api}", "name": "새 학생"}}
GET    /v1/awards/{award}                                not-found
GET    /v1/awards/{revoked}                              not-found
POST   /v1/awards/{revoke0}/revoke                       not-found    json {"reason": "가로채기"}
POST   /v1/awards/{reissue0}/reissue                     not-found    json {}
GET    /v1/issuer                                        own
PATCH  /v1/issuer                                        own          json {"description": "B의 소개"}
POST   /v1/issuer/signing-keys/rotate                    own
GET    /v1/issuer/kakao                                  not-found
PUT    /v1/issuer/kakao                                  own          json {"channel_id": "@b-channel", "alimtalk_service_id": "ncp:kkobizmsg:kr:2:b", "sms_service_id": "ncp:sms:kr:2:b", "day1_template_code": "B_DAY1", "sms_sender": "0311234567", "access_key": "B-ACCESS", "secret_key": "B-SECRET"}
GET    /v1/api-keys                                      own
POST   /v1/api-keys                                      own          json {"name": "B의 새 키"}
DELETE /v1/api-keys/{key0}                               not-found
GET    /v1/batches                                       own
GET    /v1/batches?cursor={c-batches}                    like-missing
POST   /v1/batches                                       like-missing json {"filename": "b.csv", "template_id": "{template}"}
GET    /v1/batches/template.csv                          own
GET    /v1/batches/{batch}                               not-found
GET    /v1/openapi.json                                  own
GET    /v1/webhooks                                      own
POST   /v1/webhooks                                      own          json {"url": "https://lms.example.ac.kr/b-hook"}
GET    /v1/webhooks/{webhook}                            not-found
PATCH  /v1/webhooks/{webhook}                            not-found    json {"url": "https://attacker.example/h"}
POST   /v1/webhooks/{webhook}/rotate-secret              not-found
POST   /v1/webhooks/{webhook}/test                       not-found
GET    /v1/webhooks/{webhook}/deliveries                 not-found
POST   /v1/webhooks/{webhook}/deliveries/{delivery}/retry not-found
GET    /v1/analytics                                     own
GET    /v1/analytics?template={template}                 not-found
GET    /v1/analytics?batch={batch}                       not-found
GET    /v1/analytics?cohort={cohort}                     like-missing
GET    /v1/analytics/export                              own
GET    /v1/analytics/export?template={template}          not-found
GET    /v1/analytics/export?batch={batch}                not-found
GET    /v1/analytics/export?cohort={cohort}              like-missing
GET    /v1/analytics/export?cursor={c-export}            like-missing
"#;

/// The console's cases (B's session; its CSRF token goes with every write).
const CONSOLE: &str = r#"
GET    /console                                          own
GET    /console/                                         elsewhere
GET    /console/login                                    own
POST   /console/login                                    own          form api_key={own-key}&next=/console/settings
GET    /console/lang/en?back=/console/settings           own
GET    /console/assets/console.css                       own
GET    /console/assets/console.js                        own
GET    /console/templates                                own
GET    /console/templates/new                            own
POST   /console/templates                                like-missing form name=B가 만든 배지&description=d&criteria.narrative=c&related[0].template_id={template}
POST   /console/templates/preview                        not-found    form _id={template}&name=미리 보기&description=d&criteria.narrative=c
GET    /console/templates/{template}                     not-found
POST   /console/templates/{template}                     not-found    form name=가로챈 이름
PUT    /console/templates/{template}/files/image         not-found    png
PUT    /console/templates/{template}/files/banner-image  not-found    png
GET    /console/awards                                   own
GET    /console/awards?q={recipient}                     like-missing
GET    /console/awards?cursor={c-awards}                 like-missing
GET    /console/awards?batch={batch}                     not-found
GET    /console/awards?template={template}               not-found
GET    /console/awards/{award}                           not-found
GET    /console/awards/{revoked}                         not-found
POST   /console/awards/{revoke1}/revoke                  not-found    form reason=가로채기
POST   /console/awards/{reissue1}/reissue                not-found    form
GET    /console/issue                                    own
POST   /console/issue                                    like-missing form template_id={template}&recipient.email={new-console}&recipient.name=새 학생
GET    /console/export.csv                               own
GET    /console/export.csv?template={template}           not-found
GET    /console/export.csv?batch={batch}                 not-found
GET    /console/export.csv?cursor={c-export}             like-missing
GET    /console/bulk                                     own
GET    /console/bulk/sample.csv                          own
POST   /console/bulk/batches                             like-missing json {"filename": "b.csv", "template_id": "{template}"}
GET    /console/bulk/batches/{batch}                     not-found
GET    /console/settings                                 own
POST   /console/settings                                 own          form description=B의 소개
POST   /console/settings/keys                            own          form key_name=B의 새 키
POST   /console/settings/keys/{key1}/revoke              not-found    form
GET    /console/settings/kakao                           own
POST   /console/settings/kakao                           own          form channel_id=@b-console&alimtalk_service_id=ncp:kkobizmsg:kr:3:b&sms_service_id=ncp:sms:kr:3:b&day1_template_code=B_CONSOLE&sms_sender=0311234567&access_key=B-CONSOLE-ACCESS&secret_key=B-CONSOLE-SECRET
GET    /console/settings/webhooks                        own
POST   /console/settings/webhooks                        own          form url=https://lms.example.ac.kr/b-console&events=award.issued
GET    /console/settings/webhooks/{webhook}              not-found
POST   /console/settings/webhooks/{webhook}/test         not-found    form
POST   /console/settings/webhooks/{webhook}/deliveries/{delivery}/retry not-found form
"#;

/// The public paths (no credentials). A's pages are public; what varies is what is presented
/// with A's award: an unsubscribe token, a recommendation slot.
const PUBLIC: &str = r#"
GET    /b/{award}                                        published
GET    /b/{award}.json                                   published
GET    /b/{revoked}                                      published
GET    /b/{award}/qr.svg                                 published
GET    /b/{award}/qr.png                                 published
GET    /b/{award}/card.png                               published
GET    /b/{award}/card/0123456789abcdef.png              published
GET    /b/{award}/go/banner                              published
GET    /b/{public-award}/go/related-{slot-template}      not-found
GET    /b/{public-award}/unsubscribe?t={token}           not-found
POST   /b/{public-award}/unsubscribe?t={token}           not-found
GET    /issuers/{issuer}.json                            published
GET    /issuers/{issuer}/did.json                        published
GET    /issuers/{issuer}/status/1                        published
GET    /b/{award}/credential.json                        published
GET    /templates/{template}                             published
GET    /templates/{template}.json                        published
GET    /templates/{template}/image                       published
GET    /templates/{template}/image.png                   published
GET    /templates/{template}/banner-image                published
GET    /health                                           own
"#;

/// Made last: archiving ends issuing from A's template (in the controls), and signing out ends
/// B's session.
const API_LAST: &str = "
DELETE /v1/templates/{template}                          not-found
DELETE /v1/webhooks/{webhook}                            not-found
";
const CONSOLE_LAST: &str = "
POST   /console/templates/{template}/archive             not-found    form
POST   /console/logout                                   own          form
";

const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\x9c\x63\xf8\xb4\x92\xe1\x3f\x00\x06\xc7\x02\x9b\xcd\xce\xdf\x4b\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";
/// The `/v1` router's own 404 (no such route), as opposed to a handler's.
const NO_SUCH_ROUTE: &str = "no such route; see /v1/openapi.json";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Surface {
    Api,
    Console,
    Public,
}

/// What the other issuer's (or an anonymous visitor's) answer must be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Check {
    /// `not-found`: the route addresses one of A's objects: a handler's 404.
    NotFound,
    /// `like-missing`: one of A's ids or cursors in a body, filter or token: whatever a missing
    /// one gets.
    LikeMissing,
    /// `own`: nothing of A's in the request: the caller's own answer (a success).
    Own,
    /// `published`: a public page of A's: served, with nothing private of A's in it.
    Published,
    /// `elsewhere`: API Gateway gives the path to another function (`/console/` does not match
    /// `/console/{proxy+}`, so verify answers its public 404): nothing of A's.
    Elsewhere,
}

impl Check {
    fn parse(s: &str) -> Check {
        match s {
            "not-found" => Check::NotFound,
            "like-missing" => Check::LikeMissing,
            "own" => Check::Own,
            "published" => Check::Published,
            "elsewhere" => Check::Elsewhere,
            _ => panic!("no check `{s}`"),
        }
    }

    /// Made again with missing ids (the twin) and as A (the control).
    fn twinned(self) -> bool {
        matches!(self, Check::NotFound | Check::LikeMissing)
    }
}

enum Body {
    Empty,
    Json(Value),
    Form(Vec<(String, String)>),
    Png,
}

struct Case {
    surface: Surface,
    method: &'static str,
    path: String,
    body: Body,
    check: Check,
}

impl Case {
    /// What the request itself carries (an id of A's in it is no leak when echoed).
    fn text(&self) -> String {
        let body = match &self.body {
            Body::Json(v) => v.to_string(),
            Body::Form(f) => format!("{f:?}"),
            Body::Empty | Body::Png => String::new(),
        };
        format!("{} {} {body}", self.method, self.path)
    }
}

/// The first word of `s` and the rest, trimmed.
fn word(s: &str) -> (&str, &str) {
    let (w, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    (w, rest.trim_start())
}

/// `s` with every `{name}` of `ids` replaced by its value, through `f`.
fn fill(s: &str, ids: &Ids, f: impl Fn(&str) -> String) -> String {
    let mut out = s.to_owned();
    for (name, value) in ids.values() {
        out = out.replace(&format!("{{{name}}}"), &f(&value));
    }
    out
}

/// One case of a table line.
fn parse_case(surface: Surface, line: &'static str, ids: &Ids) -> Case {
    let (method, rest) = word(line);
    let (path, rest) = word(rest);
    let (check, rest) = word(rest);
    let (kind, body) = word(rest);
    let body = match kind {
        "" => Body::Empty,
        "png" => Body::Png,
        "json" => Body::Json(serde_json::from_str(&fill(body, ids, str::to_owned)).unwrap()),
        "form" => Body::Form(
            body.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap())
                .map(|(k, v)| (k.to_owned(), fill(v, ids, str::to_owned)))
                .collect(),
        ),
        _ => panic!("no body `{kind}` in `{line}`"),
    };
    let path = fill(path, ids, enc);
    assert!(!path.contains('{'), "a name that is no id in `{line}`");
    let check = Check::parse(check);
    Case {
        surface,
        method,
        path,
        body,
        check,
    }
}

/// Every case, in the order they are made, with these ids.
fn all_cases(ids: &Ids) -> Vec<Case> {
    let tables = [
        (Surface::Api, API),
        (Surface::Console, CONSOLE),
        (Surface::Public, PUBLIC),
        (Surface::Api, API_LAST),
        (Surface::Console, CONSOLE_LAST),
    ];
    tables
        .into_iter()
        .flat_map(|(surface, table)| {
            let lines = table.lines().map(str::trim).filter(|l| !l.is_empty());
            lines.map(move |l| parse_case(surface, l, ids))
        })
        .collect()
}

#[derive(Clone)]
struct Cursors {
    templates: String,
    awards: String,
    /// Of the awards of the caller's own template (A's second template).
    by_template: String,
    batches: String,
    export: String,
}

impl Cursors {
    fn all(&self) -> [String; 5] {
        [
            &self.templates,
            &self.awards,
            &self.by_template,
            &self.batches,
            &self.export,
        ]
        .map(String::clone)
    }
}

/// What the cases are made with. The matrix's: A's objects, with B's own template and key, B's
/// award's unsubscribe token and B's template as a recommendation slot; the twin's: ids, cursors
/// and tokens no one has; the controls': A's objects with A's own.
#[derive(Clone)]
struct Ids {
    issuer: String,
    template: String,
    award: String,
    revoked: String,
    /// Targets of the API's and the console's revoke, reissue and key revocation.
    revoke: [String; 2],
    reissue: [String; 2],
    key: [String; 2],
    batch: String,
    recipient: String,
    cohort: String,
    cursor: Cursors,
    own_template: String,
    own_key: String,
    /// Recipients of new awards (the API's, the console's).
    new_recipient: [String; 2],
    /// Public cases vary what is presented with A's award, never the award.
    public_award: String,
    token: String,
    slot_template: String,
    /// A webhook endpoint and one of its deliveries (finished, so it can be retried).
    webhook: String,
    delivery: String,
}

impl Ids {
    fn missing(own_template: &str, own_key: &str, public_award: &str, new: &[String; 2]) -> Ids {
        let tpl = || TemplateId::generate().to_string();
        let award = || AwardId::generate().to_string();
        let key = || ApiKeyId::generate().to_string();
        Ids {
            issuer: IssuerId::generate().to_string(),
            template: tpl(),
            award: award(),
            revoked: award(),
            revoke: [award(), award()],
            reissue: [award(), award()],
            key: [key(), key()],
            batch: BatchId::generate().to_string(),
            recipient: unique_email("nobody"),
            cohort: format!("없는 기수 {}", random_token()),
            cursor: Cursors {
                templates: random_token(),
                awards: random_token(),
                by_template: random_token(),
                batches: random_token(),
                export: random_token(),
            },
            own_template: own_template.to_owned(),
            own_key: own_key.to_owned(),
            new_recipient: new.clone(),
            public_award: public_award.to_owned(),
            token: random_token(),
            slot_template: tpl(),
            webhook: WebhookId::generate().to_string(),
            delivery: format!("msg_{}", random_token()),
        }
    }

    /// Every value, by its name in the tables.
    fn values(&self) -> Vec<(&'static str, String)> {
        let c = &self.cursor;
        [
            ("issuer", &self.issuer),
            ("template", &self.template),
            ("award", &self.award),
            ("revoked", &self.revoked),
            ("revoke0", &self.revoke[0]),
            ("revoke1", &self.revoke[1]),
            ("reissue0", &self.reissue[0]),
            ("reissue1", &self.reissue[1]),
            ("key0", &self.key[0]),
            ("key1", &self.key[1]),
            ("batch", &self.batch),
            ("recipient", &self.recipient),
            ("cohort", &self.cohort),
            ("c-templates", &c.templates),
            ("c-awards", &c.awards),
            ("c-by-template", &c.by_template),
            ("c-batches", &c.batches),
            ("c-export", &c.export),
            ("own-template", &self.own_template),
            ("own-key", &self.own_key),
            ("new-api", &self.new_recipient[0]),
            ("new-console", &self.new_recipient[1]),
            ("public-award", &self.public_award),
            ("token", &self.token),
            ("slot-template", &self.slot_template),
            ("webhook", &self.webhook),
            ("delivery", &self.delivery),
        ]
        .into_iter()
        .map(|(n, v)| (n, v.clone()))
        .collect()
    }
}

fn enc(s: &str) -> String {
    accolade::urls::encode(s)
}

// ----- Routes: from the routers' tables -----

fn routes_of(surface: Surface) -> Vec<Route> {
    match surface {
        Surface::Api => {
            let mut r = accolade::http::api::routes();
            r.extend(accolade::http::analytics::routes());
            r
        }
        Surface::Console => accolade::http::console::routes(),
        Surface::Public => accolade::http::verify::routes(),
    }
}

/// The route a request reaches: the pattern matching every segment, static segments first
/// (as the router prefers `/v1/batches/template.csv` to `/v1/batches/{id}`).
fn resolve(routes: &[Route], method: &str, path: &str) -> Option<Route> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    routes
        .iter()
        .filter(|(m, _)| *m == method)
        .filter_map(|&(m, p)| {
            let pat: Vec<&str> = p.split('/').collect();
            let fits = pat.len() == segs.len()
                && pat.iter().zip(&segs).all(|(a, b)| {
                    a == b || (a.starts_with('{') && a.ends_with('}') && !b.is_empty())
                });
            let fixed = pat.iter().filter(|a| !a.starts_with('{')).count();
            fits.then_some((fixed, (m, p)))
        })
        .max_by_key(|(fixed, _)| *fixed)
        .map(|(_, r)| r)
}

/// Every route of every surface has a case, and every case reaches a route.
fn check_coverage(cases: &[Case]) -> BTreeMap<Surface, usize> {
    let mut per_surface = BTreeMap::new();
    for surface in [Surface::Api, Surface::Console, Surface::Public] {
        let routes = routes_of(surface);
        let mut covered = BTreeSet::new();
        for case in cases.iter().filter(|c| c.surface == surface) {
            let r = resolve(&routes, case.method, &case.path)
                .unwrap_or_else(|| panic!("{} {} is no {surface:?} route", case.method, case.path));
            covered.insert(r);
        }
        let all: BTreeSet<Route> = routes.iter().copied().collect();
        let without: Vec<_> = all.difference(&covered).collect();
        assert!(
            without.is_empty(),
            "{surface:?} routes without a cross-tenant case: {without:?}"
        );
        per_surface.insert(surface, all.len());
    }
    per_surface
}

#[test]
fn every_route_has_a_case() {
    let new = [unique_email("n0"), unique_email("n1")];
    let ids = Ids::missing("tpl", "key", &AwardId::generate().to_string(), &new);
    let per_surface = check_coverage(&all_cases(&ids));
    assert!(per_surface.values().all(|n| *n > 0));
}

// ----- The two issuers -----

/// Who makes the requests.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Tenant {
    /// B's admin key (`/v1`).
    BAdmin,
    /// B's integration key (`/v1`).
    BIntegration,
    /// B's console session.
    BConsole,
    /// No credentials (public paths).
    Anonymous,
    /// A itself, with A's key or console session: the controls.
    A,
}

impl Tenant {
    fn surface(self) -> Option<Surface> {
        match self {
            Tenant::BAdmin | Tenant::BIntegration => Some(Surface::Api),
            Tenant::BConsole => Some(Surface::Console),
            Tenant::Anonymous => Some(Surface::Public),
            Tenant::A => None,
        }
    }
}

struct World {
    foreign: Ids,
    missing: Ids,
    control: Ids,
    key_a: String,
    key_b: String,
    key_b_int: String,
    /// Console sessions: (cookie, CSRF token).
    session_a: (String, String),
    session_b: (String, String),
    /// Everything of A's that no answer to B may show.
    secrets: Vec<String>,
    /// What no public answer may show (recipients' emails, tokens, keys, batches, cursors).
    private: Vec<String>,
    issuer_a: IssuerId,
    tpl2: String,
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// A's two templates: the first with an uploaded image, a banner with an uploaded image and a
/// recommendation of the second.
async fn a_templates(t: &TestApp, key: &str, tag: &str) -> (String, String) {
    let tpl2 = id_of(
        &t.create_template(key, template_body(&format!("A 둘째 배지 {tag}")))
            .await,
    );
    let mut body = template_body(&format!("A 비밀 배지 {tag}"));
    body["banner"] = json!({"image": {"kind": "url", "url": "https://univ.example.ac.kr/b.png"}, "alt": "모집", "target_url": "https://univ.example.ac.kr/admissions"});
    body["related"] = json!([{ "template_id": tpl2 }]);
    let tpl = id_of(&t.create_template(key, body).await);
    for what in ["image", "banner-image"] {
        let req = Request::builder()
            .method("PUT")
            .uri(format!("/v1/templates/{tpl}/{what}"))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "image/png")
            .body(axum::body::Body::from(PNG))
            .unwrap();
        let r = t.send(req).await;
        assert_eq!(r.status.as_u16(), 200, "{what}: {}", r.text());
    }
    (tpl, tpl2)
}

/// A's awards, all in one cohort: six of the first template (the second revoked), two of the
/// second. Answers their ids and recipients' emails.
async fn a_awards(
    t: &TestApp,
    key: &str,
    tpl: &str,
    tpl2: &str,
    tag: &str,
) -> (Vec<String>, Vec<String>) {
    let (mut ids, mut emails) = (Vec::new(), Vec::new());
    for i in 0..8 {
        let email = unique_email(&format!("a{i}"));
        let template = if i < 6 { tpl } else { tpl2 };
        let body = json!({"template_id": template, "cohort": format!("A 기수 {tag}"),
            "recipient": {"email": email, "name": format!("A 학생 {tag} {i}")}});
        ids.push(id_of(&t.issue(key, body).await));
        emails.push(email);
    }
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{}/revoke", ids[1]),
            Some(key),
            Some(json!({"reason": "오발급"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    (ids, emails)
}

/// A's batches: one uploaded and issued (three awards), one waiting for its file. Answers the
/// issued batch's id, its awards' ids and emails, and the other batch's id.
async fn a_batches(
    t: &TestApp,
    key: &str,
    tpl: &str,
    tag: &str,
) -> (String, Vec<String>, Vec<String>, String) {
    let file = csv_rows(3, &format!("a-batch-{tag}-"));
    let (batch, source) = t
        .uploaded_batch(key, json!({"filename": "a.csv", "template_id": tpl}), &file)
        .await;
    t.ingest_with(t.s3_event(&source, file.len() as u64), Default::default())
        .await
        .unwrap();
    let awards = t.batch_awards(key, &batch).await;
    assert_eq!(awards.len(), 3);
    let ids = awards.iter().map(id_of).collect();
    let emails = awards
        .iter()
        .map(|a| a["recipient"]["email"].as_str().unwrap().to_owned())
        .collect();
    let waiting = id_of(&t.create_batch(key, json!({"filename": "w.csv"})).await);
    (batch, ids, emails, waiting)
}

/// The `next_cursor` of a first page of one.
async fn next_cursor(t: &TestApp, key: &str, path: &str) -> String {
    let r = t.call("GET", path, Some(key), None).await;
    let next = r.json()["next_cursor"].as_str().map(str::to_owned);
    next.unwrap_or_else(|| panic!("{path} has no next page: {}", r.text()))
}

async fn a_cursors(t: &TestApp, key: &str, tpl2: &str) -> Cursors {
    let export = t
        .call("GET", "/v1/analytics/export?limit=1", Some(key), None)
        .await;
    Cursors {
        templates: next_cursor(t, key, "/v1/templates?limit=1").await,
        awards: next_cursor(t, key, "/v1/awards?limit=1").await,
        by_template: next_cursor(t, key, &format!("/v1/awards?template={tpl2}&limit=1")).await,
        batches: next_cursor(t, key, "/v1/batches?limit=1").await,
        export: export
            .header("x-next-cursor")
            .expect("a next export page")
            .to_owned(),
    }
}

/// A new key of the caller's issuer: (id, secret).
async fn new_key(t: &TestApp, key: &str, name: &str) -> (String, String) {
    let r = t
        .call(
            "POST",
            "/v1/api-keys",
            Some(key),
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text());
    let v = r.json();
    (id_of(&v), v["key"].as_str().unwrap().to_owned())
}

/// The unsubscribe token of an award's mail.
async fn token(t: &TestApp, award: &str) -> String {
    let path = t.unsubscribe_path(award).await;
    path.split("t=").nth(1).unwrap().to_owned()
}

/// A's webhook endpoint (a receiver of the test's own) and one delivery to it, delivered: the
/// endpoint's id, the delivery's, and what only A may see (the secret, the URL).
async fn a_webhook(t: &TestApp, key: &str) -> (String, String, Vec<String>) {
    let (url, _inbox) = crate::webhooks::receiver(&[]).await;
    let r = t
        .call("POST", "/v1/webhooks", Some(key), Some(json!({"url": url})))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text());
    let w = r.json();
    let id = id_of(&w);
    let r = t
        .call("POST", &format!("/v1/webhooks/{id}/test"), Some(key), None)
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text());
    let delivery = id_of(&r.json());
    t.deliver_webhooks().await;
    let secret = w["secret"].as_str().unwrap().to_owned();
    (id, delivery, vec![secret, url])
}

/// A with every kind of object; its ids as A's own requests use them (the controls).
struct ASide {
    ids: Ids,
    key: String,
    issuer: IssuerId,
    secrets: Vec<String>,
    private: Vec<String>,
}

async fn a_side(t: &TestApp, tag: &str) -> ASide {
    let name = format!("A대학 {tag}");
    let (issuer, key) = t.issuer(&name).await;
    let (tpl, tpl2) = a_templates(t, &key, tag).await;
    let (awards, mut emails) = a_awards(t, &key, &tpl, &tpl2, tag).await;
    let (batch, batch_awards, batch_emails, waiting) = a_batches(t, &key, &tpl, tag).await;
    emails.extend(batch_emails);
    let keys = [
        new_key(t, &key, "A 키 1").await,
        new_key(t, &key, "A 키 2").await,
    ];
    let cursor = a_cursors(t, &key, &tpl2).await;
    let (webhook, delivery, webhook_secrets) = a_webhook(t, &key).await;
    // A's KakaoTalk channel and keys: B's own settings never show them.
    let mut kakao = accolade_tests::kakao_settings();
    let channel = format!("@a-channel-{tag}");
    kakao["channel_id"] = json!(channel);
    t.kakao_on(&key, kakao).await;
    let mut private = vec![key.clone(), batch.clone(), waiting, channel];
    private.extend([
        infra::sens::ACCESS_KEY.to_owned(),
        infra::sens::SECRET_KEY.to_owned(),
    ]);
    private.extend(webhook_secrets);
    private.extend([webhook.clone(), delivery.clone()]);
    for a in &awards {
        private.push(token(t, a).await);
    }
    private.extend(emails.iter().cloned());
    private.extend(
        keys.iter()
            .flat_map(|(id, secret)| [id.clone(), secret.clone()]),
    );
    private.extend(cursor.all());
    let mut secrets = private.clone();
    secrets.extend(awards.iter().chain(&batch_awards).cloned());
    let names = ["A 비밀 배지", "A 둘째 배지", "A 학생", "A 기수"].map(|n| format!("{n} {tag}"));
    secrets.extend(names.into_iter().chain([name, tpl.clone(), tpl2.clone()]));
    secrets.push(issuer.to_string());
    let ids = Ids {
        issuer: issuer.to_string(),
        template: tpl,
        award: awards[0].clone(),
        revoked: awards[1].clone(),
        revoke: [awards[2].clone(), awards[3].clone()],
        reissue: [awards[4].clone(), awards[5].clone()],
        key: [keys[0].0.clone(), keys[1].0.clone()],
        batch,
        recipient: emails[0].clone(),
        cohort: format!("A 기수 {tag}"),
        cursor,
        own_template: tpl2.clone(),
        own_key: key.clone(),
        new_recipient: [unique_email("new-api"), unique_email("new-console")],
        public_award: awards[0].clone(),
        token: token(t, &awards[0]).await,
        slot_template: tpl2,
        webhook,
        delivery,
    };
    ASide {
        ids,
        key,
        issuer,
        secrets,
        private,
    }
}

async fn world(t: &TestApp) -> World {
    let tag = random_token()[..8].to_owned();
    let a = a_side(t, &tag).await;
    let (_, key_b) = t.issuer(&format!("B대학 {tag}")).await;
    let tpl_b = id_of(
        &t.create_template(&key_b, template_body(&format!("B 배지 {tag}")))
            .await,
    );
    let b_award =
        json!({"template_id": tpl_b, "recipient": {"email": unique_email("b"), "name": "B 학생"}});
    let award_b = id_of(&t.issue(&key_b, b_award).await);
    let (_, key_b_int) = new_key(t, &key_b, "B LMS").await;
    let foreign = Ids {
        own_template: tpl_b.clone(),
        own_key: key_b.clone(),
        token: token(t, &award_b).await,
        slot_template: tpl_b.clone(),
        ..a.ids.clone()
    };
    let missing = Ids::missing(&tpl_b, &key_b, &a.ids.award, &a.ids.new_recipient);
    World {
        session_a: crate::console::sign_in(t, &a.key).await,
        session_b: crate::console::sign_in(t, &key_b).await,
        tpl2: a.ids.own_template.clone(),
        foreign,
        missing,
        control: a.ids,
        key_a: a.key,
        key_b,
        key_b_int,
        secrets: a.secrets,
        private: a.private,
        issuer_a: a.issuer,
    }
}

// ----- Making the requests and judging the answers -----

async fn send(t: &TestApp, w: &World, tenant: Tenant, c: &Case) -> Response {
    let mut b = Request::builder()
        .method(c.method)
        .uri(&c.path)
        .header("user-agent", BROWSER);
    let key = match (tenant, c.surface) {
        (Tenant::BAdmin, _) => Some(&w.key_b),
        (Tenant::BIntegration, _) => Some(&w.key_b_int),
        (Tenant::A, Surface::Api) => Some(&w.key_a),
        _ => None,
    };
    let session = match (tenant, c.surface) {
        (Tenant::BConsole, _) => Some(&w.session_b),
        (Tenant::A, Surface::Console) => Some(&w.session_a),
        _ => None,
    };
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    if c.surface == Surface::Console {
        // A browser's form or script on the console's own page says so.
        b = b.header("sec-fetch-site", "same-origin");
    }
    if let Some((cookie, csrf)) = session {
        b = b.header("cookie", cookie).header("x-csrf-token", csrf);
    }
    let body = match &c.body {
        Body::Empty => axum::body::Body::empty(),
        Body::Json(v) => {
            b = b.header("content-type", "application/json");
            axum::body::Body::from(v.to_string())
        }
        Body::Png => {
            b = b.header("content-type", "image/png");
            axum::body::Body::from(PNG)
        }
        Body::Form(f) => {
            b = b.header("content-type", "application/x-www-form-urlencoded");
            let csrf = session.map(|s| ("_csrf".to_owned(), s.1.clone()));
            let pairs: Vec<String> = f
                .iter()
                .cloned()
                .chain(csrf)
                .map(|(k, v)| format!("{}={}", enc(&k), enc(&v)))
                .collect();
            axum::body::Body::from(pairs.join("&"))
        }
    };
    t.send(b.body(body).unwrap()).await
}

/// Whichever of `secrets` the answer shows (body or headers) that the request did not carry.
fn leaked<'a>(c: &Case, r: &Response, secrets: &'a [String]) -> Option<&'a str> {
    let asked = c.text();
    let mut shown = r.text();
    for v in r.headers.values() {
        shown.push('\n');
        shown.push_str(v.to_str().unwrap_or_default());
    }
    let echo = |s: &str| asked.contains(s) || asked.contains(&enc(s));
    secrets
        .iter()
        .find(|s| !echo(s) && shown.contains(s.as_str()))
        .map(String::as_str)
}

fn is_json(r: &Response) -> bool {
    r.header("content-type").is_some_and(|c| c.contains("json"))
}

/// A 404 from a handler (the `/v1` router's own "no such route" would mean an unmounted path).
fn handler_not_found(r: &Response) -> bool {
    r.status.as_u16() == 404 && !(is_json(r) && r.json()["error"]["message"] == NO_SUCH_ROUTE)
}

/// Routes an integration key may not use at all (403 whatever the id).
fn admin_only(c: &Case) -> bool {
    c.path.starts_with("/v1/api-keys")
        || (c.method == "PATCH" && c.path == "/v1/issuer")
        || c.path == "/v1/issuer/signing-keys/rotate"
        || c.path == "/v1/issuer/kakao"
        || c.path.starts_with("/v1/webhooks")
}

/// The answer to a case, as `tenant` made it: `Err` says what is wrong.
fn judge(tenant: Tenant, c: &Case, r: &Response, secrets: &[String]) -> Result<(), String> {
    if r.status.is_server_error() {
        return Err(format!("{}: {}", r.status, r.text()));
    }
    if let Some(s) = leaked(c, r, secrets) {
        return Err(format!("{} showing {s:?}", r.status));
    }
    let to_login = r
        .header("location")
        .is_some_and(|l| l.starts_with("/console/login"));
    if to_login && c.path != "/console/logout" {
        return Err("sent to sign in: the session is over".into());
    }
    let ok = r.status.is_success() || r.status.is_redirection();
    let forbidden = tenant == Tenant::BIntegration && admin_only(c) && r.status.as_u16() == 403;
    let fine = match c.check {
        Check::NotFound => handler_not_found(r) || forbidden,
        Check::LikeMissing => true,
        Check::Own => ok || forbidden,
        Check::Published => ok,
        Check::Elsewhere => r.status.as_u16() == 404,
    };
    match fine {
        true => Ok(()),
        false => Err(format!(
            "{} where {:?} was expected: {}",
            r.status,
            c.check,
            r.text()
        )),
    }
}

/// The answer with every id it echoes named instead.
fn normalized(r: &Response, ids: &Ids) -> String {
    let mut text = r.text();
    for (name, value) in ids.values() {
        text = text.replace(&value, &format!("<{name}>"));
        text = text.replace(&enc(&value), &format!("<{name}>"));
    }
    text
}

/// The answer to A's id is the answer to a missing one: status, type, and a JSON body alike.
fn same_answer(foreign: (&Response, &Ids), missing: (&Response, &Ids)) -> Result<(), String> {
    let ((f, fi), (m, mi)) = (foreign, missing);
    if f.status != m.status || f.header("content-type") != m.header("content-type") {
        return Err(format!(
            "{} for A's id, {} for a missing one: {}",
            f.status,
            m.status,
            f.text()
        ));
    }
    if is_json(f) && normalized(f, fi) != normalized(m, mi) {
        return Err(format!(
            "{} for A's id, {} for a missing one",
            normalized(f, fi),
            normalized(m, mi)
        ));
    }
    Ok(())
}

// ----- The matrix -----

#[derive(Default)]
struct Tally {
    /// Requests made, by surface and tenant.
    calls: BTreeMap<(Surface, Tenant), usize>,
    failures: Vec<String>,
}

impl Tally {
    fn made(&mut self, surface: Surface, tenant: Tenant) {
        *self.calls.entry((surface, tenant)).or_default() += 1;
    }

    fn check(&mut self, what: &str, r: Result<(), String>) {
        if let Err(e) = r {
            let short: String = e.chars().take(400).collect();
            self.failures.push(format!("{what}: {short}"));
        }
    }
}

/// Every case of `tenant`'s surface with A's ids, and its twin with missing ones.
async fn run_as(t: &TestApp, w: &World, tenant: Tenant, tally: &mut Tally) {
    let surface = tenant.surface().unwrap();
    let secrets = match surface {
        Surface::Public => &w.private,
        _ => &w.secrets,
    };
    let (foreign, missing) = (all_cases(&w.foreign), all_cases(&w.missing));
    for (f, m) in foreign
        .iter()
        .zip(&missing)
        .filter(|(f, _)| f.surface == surface)
    {
        let what = format!("{tenant:?} {} {}", f.method, f.path);
        let r = send(t, w, tenant, f).await;
        tally.made(surface, tenant);
        tally.check(&what, judge(tenant, f, &r, secrets));
        if f.check.twinned() {
            let twin = send(t, w, tenant, m).await;
            tally.made(surface, tenant);
            let same = same_answer((&r, &w.foreign), (&twin, &w.missing));
            tally.check(&format!("{what} (and a missing id)"), same);
        }
    }
}

/// Every case that carries A's ids, made by A: it works.
async fn controls(t: &TestApp, w: &World, tally: &mut Tally) {
    for c in all_cases(&w.control).iter().filter(|c| c.check.twinned()) {
        let r = send(t, w, Tenant::A, c).await;
        tally.made(c.surface, Tenant::A);
        let to_login = r
            .header("location")
            .is_some_and(|l| l.starts_with("/console/login"));
        let works = (r.status.is_success() || r.status.is_redirection()) && !to_login;
        let res = match works {
            true => Ok(()),
            false => Err(format!("{}: {}", r.status, r.text())),
        };
        tally.check(&format!("A's own {} {}", c.method, c.path), res);
    }
}

/// A's objects as A sees them, and whether A's recipient is unsubscribed.
async fn snapshot(t: &TestApp, w: &World) -> BTreeMap<String, String> {
    let c = &w.control;
    let mut paths: Vec<String> = [
        "/v1/issuer",
        "/v1/issuer/kakao",
        "/v1/templates?limit=200",
        "/v1/awards?limit=200",
    ]
    .into_iter()
    .chain([
        "/v1/batches?limit=200",
        "/v1/api-keys",
        "/v1/analytics",
        "/v1/analytics/export",
        "/v1/webhooks",
    ])
    .map(str::to_owned)
    .collect();
    paths.extend([
        format!("/v1/templates/{}", c.template),
        format!("/v1/templates/{}", w.tpl2),
        format!("/v1/batches/{}", c.batch),
        format!("/v1/analytics?template={}", c.template),
        format!("/v1/analytics?batch={}", c.batch),
        format!("/v1/analytics?cohort={}", enc(&c.cohort)),
        format!("/v1/webhooks/{}/deliveries", c.webhook),
    ]);
    let mut snap = BTreeMap::new();
    for p in paths {
        let r = t.call("GET", &p, Some(&w.key_a), None).await;
        assert_eq!(r.status.as_u16(), 200, "{p}: {}", r.text());
        snap.insert(p, r.text());
    }
    let award = AwardId::parse(&c.award).unwrap();
    let a = t.app.store.get_award(&award).await.unwrap().unwrap();
    let lookup = a.recipient.email.lookup_key();
    let unsubscribed = t
        .app
        .store
        .is_unsubscribed(&w.issuer_a, &lookup)
        .await
        .unwrap();
    snap.insert("unsubscribed".into(), unsubscribed.to_string());
    snap
}

/// The figures: routes, cases and requests per surface and tenant.
fn report(routes: &BTreeMap<Surface, usize>, cases: &[Case], tally: &Tally) {
    for (surface, n) in routes {
        let of = cases.iter().filter(|c| c.surface == *surface);
        let with_ids = of.clone().filter(|c| c.check.twinned()).count();
        eprintln!(
            "cross-tenant matrix: {surface:?}: {n} routes, {} cases ({with_ids} with A's ids)",
            of.count()
        );
    }
    for ((surface, tenant), n) in &tally.calls {
        eprintln!("cross-tenant matrix: {surface:?} as {tenant:?}: {n} requests");
    }
    let total: usize = tally.calls.values().sum();
    eprintln!("cross-tenant matrix: {total} requests in all");
}

/// Issue #14's cross-tenant matrix (see the module's doc).
#[tokio::test]
async fn another_issuers_ids_are_not_found_on_any_route() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let routes = check_coverage(&all_cases(&w.foreign));
    let mut tally = Tally::default();
    // Public pages count views and clicks, so they come before A's objects are compared.
    run_as(&t, &w, Tenant::Anonymous, &mut tally).await;
    let before = snapshot(&t, &w).await;
    for tenant in [Tenant::BAdmin, Tenant::BIntegration, Tenant::BConsole] {
        run_as(&t, &w, tenant, &mut tally).await;
    }
    let after = snapshot(&t, &w).await;
    for (what, was) in &before {
        if after[what] != *was {
            let now = &after[what];
            tally
                .failures
                .push(format!("A's {what} changed:\n{was}\n→ {now}"));
        }
    }
    controls(&t, &w, &mut tally).await;
    report(&routes, &all_cases(&w.foreign), &tally);
    assert!(
        tally.failures.is_empty(),
        "{} failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
}
