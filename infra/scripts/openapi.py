#!/usr/bin/env python3
"""Writes shared/src/http/api/openapi.json. Edit the tables here, run `make openapi`, commit both.
A Rust test checks the document lists exactly the router's routes; `make test` runs schemathesis
against a local server with it (infra/scripts/api-conformance.sh), so every answer must match.

Requests and responses have their own schemas: a request body is what the parser accepts (unknown
fields are refused, so request objects are closed), a response is what the API answers (every
field the handler writes, the ones always present marked required). Published response objects
stay open, so a client generated today keeps working when a field is added; `--closed-responses
PATH` writes a variant whose response objects forbid unlisted fields, which the conformance run
uses, so an undocumented field fails `make test` all the same. `openapi.py PATH` writes the
published document elsewhere (the conformance run compares it with what the server serves)."""
import copy, json, pathlib, sys

# ---- schema helpers ------------------------------------------------------------------------------
S = lambda **kw: {"type": "string", **kw}
I = lambda **kw: {"type": "integer", **kw}
B = lambda **kw: {"type": "boolean", **kw}
R = lambda name: {"$ref": f"#/components/schemas/{name}"}
def arr(items, **kw): return {"type": "array", "items": items, **kw}
def nullable(s):
    """`s` or null (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    if not isinstance(s, Resp) and "type" in s and "$ref" not in s and "enum" not in s and "const" not in s:
        t = s["type"] if isinstance(s["type"], list) else [s["type"]]
        return s if "null" in t else {**s, "type": t + ["null"]}
    if {"type": "null"} in s.get("anyOf", []):
        return s
    return {"anyOf": [s, {"type": "null"}]}
def req_obj(props, required=(), **kw):
    """A request object: the parser refuses any other field."""
    o = {"type": "object", "additionalProperties": False, "properties": props, **kw}
    if required: o["required"] = list(required)
    return o
class Resp(dict):
    """A response object: `required` lists what every answer carries."""
def resp_obj(props, required=(), **kw):
    o = Resp(type="object", properties=props, **kw)
    if required == "all": required = list(props)
    if required: o["required"] = list(required)
    return o

def id_of(prefix, what): return S(pattern=f"^{prefix}[A-Za-z0-9_-]{{22}}$", description=f"{what} id")
TEMPLATE_ID, AWARD_ID, BATCH_ID, KEY_ID, ISSUER_ID = (id_of("tpl_", "template"), id_of("", "award"),
    id_of("bat_", "batch"), id_of("key_", "API key"), id_of("iss_", "issuer"))
WEBHOOK_ID, MESSAGE_ID = id_of("whk_", "webhook endpoint"), id_of("msg_", "message (webhook-id header)")
EVENT_TYPES = ["award.issued", "award.revoked", "award.reissued", "award.expired", "award.shared", "award.viewed",
               "batch.completed", "batch.failed", "email.bounced", "email.complained"]
# What the parsers accept (shared/src/domain/text.rs, url.rs, …), as far as a pattern can say it:
# a line is one line without control characters and not blank; a paragraph may hold line breaks
# and tabs; a URL is http(s) with a host and nothing that must be percent-encoded.
CC = "\\x00-\\x1f\\x7f-\\x9f"
LINE_RE = f"^[^{CC}]*[^\\s{CC}][^{CC}]*$"
PARA_CC = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"  # tab, LF and CR allowed
PARA_RE = f"^[^{PARA_CC}]*[^\\s{CC}][^{PARA_CC}]*$"
URL_TAIL = f"[^\\s{CC}<>\"\\\\`{{}}|^/?#@:.][^\\s{CC}<>\"\\\\`{{}}|^]*$"
URL = S(maxLength=2048, pattern="^[hH][tT][tT][pP][sS]?://" + URL_TAIL, description="http or https URL")
HTTPS_URL = S(maxLength=2048, pattern="^[hH][tT][tT][pP][sS]://" + URL_TAIL, description="https URL")
OUT_URL = S(pattern="^https?://", description="http or https URL")  # as stored: scheme lower-cased
INSTANT = S(format="date-time")
COLOR_IN = S(pattern="^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", description="#RRGGBB or #RGB")
LOCALE = S(enum=["ko", "en"])
SCOPE = S(enum=["integration", "admin"], default="integration",
          description="integration: issue, revoke, read, templates; admin: also API keys, issuer settings and the console")
SCOPE_OUT = S(enum=["integration", "admin"])
LINE = lambda n: S(maxLength=n, pattern=LINE_RE, description=f"one line, at most {n} characters")
TEXT = lambda n: S(maxLength=n, pattern=PARA_RE, description=f"text (line breaks allowed), at most {n} characters")
EMAIL = S(format="email")
DATE_OR_INSTANT = {"anyOf": [S(format="date"), S(format="date-time")], "description":
    "`2026-03-01` (midnight in the issuer's time zone) or RFC 3339; `2026/3/1`, `2026년 3월 1일` and the CSV's other forms are accepted too, except a year-last date that reads as two different dates (`01/03/2026`), which is refused"}

# ---- request bodies ------------------------------------------------------------------------------
def patch_of(schema):
    """A JSON merge patch (RFC 7396) of `schema`: every field optional, null removes it, nested
    objects are merged the same way. Fields the result needs are still needed after the merge."""
    s = copy.deepcopy(schema)
    def partial(x):
        if not isinstance(x, dict): return x
        x.pop("required", None)
        for k in ("anyOf", "oneOf"):
            if k in x: x[k] = [partial(v) for v in x[k]]
        if "properties" in x:
            x["properties"] = {k: nullable(partial(v)) for k, v in x["properties"].items()}
        return x
    return partial(s)

issuer_profile = {
    "name": LINE(200), "url": URL, "email": EMAIL, "description": TEXT(5000),
    "logo_url": URL, "seal_url": URL, "primary_color": COLOR_IN, "accent_color": COLOR_IN,
    "default_locale": LOCALE, "time_zone": S(description="IANA name, e.g. Asia/Seoul"),
    "linkedin_organization_id": S(pattern="^\\s*[0-9]{1,20}\\s*$"), "mask_recipient_names": B(default=False),
    "weekly_digest": B(default=True, description="email last week's analytics every Monday at 08:00 in the issuer's time zone"),
    "digest_recipients": arr(EMAIL, maxItems=10, description="who gets the digest; empty = the issuer's email"),
}
image_in = {"anyOf": [
    req_obj({"kind": S(const="generated")}, ["kind"], description="drawn from the name and the issuer's colours"),
    req_obj({"kind": S(const="url"), "url": URL}, ["kind", "url"]),
    req_obj({"kind": S(const="uploaded")}, ["kind"], description="keeps the uploaded image (PUT …/image uploads one)"),
]}
validity_in = {"anyOf": [
    req_obj({"kind": S(const="never")}, ["kind"]),
    req_obj({"kind": S(const="days_after_issue"), "days": I(minimum=1, maximum=36500)}, ["kind", "days"]),
    req_obj({"kind": S(const="fixed_date"), "date": S(format="date")}, ["kind", "date"]),
]}
localized_in = req_obj({"ko": TEXT(200), "en": TEXT(200)})
template_spec = {
    "name": LINE(200), "description": TEXT(5000),
    "criteria": req_obj({"narrative": TEXT(10000), "url": URL}, minProperties=1, description="at least one of narrative, url"),
    "skills": arr(LINE(60), maxItems=30),
    "image": image_in,
    "validity": validity_in,
    "reissue_policy": S(enum=["allow_multiple", "one_active_per_recipient"], default="allow_multiple"),
    "related": arr(req_obj({"template_id": TEMPLATE_ID, "label": LINE(60), "enabled": B(default=True)}, ["template_id"]),
                   maxItems=10, description="ordered recommendations: other templates of yours"),
    "banner": req_obj({
        "image": {"anyOf": [req_obj({"kind": S(const="url"), "url": HTTPS_URL}, ["kind", "url"]),
                            req_obj({"kind": S(const="uploaded")}, ["kind"], description="keeps the uploaded banner (PUT …/banner-image uploads one)")]},
        "alt": LINE(200), "target_url": URL, "enabled": B(default=True)}, ["alt", "target_url"],
        description="image is required unless one was uploaded"),
    "enrolment": req_obj({"program_type": LINE(60), "program_name": LINE(200), "program_url": URL, "period": LINE(60),
                          "enabled": B(default=True)}, ["program_url"]),
    "follow_ups": req_obj({"day3": B(default=True), "day7": B(default=True), "subject": localized_in, "intro": localized_in,
                           "expiry_reminder_days": nullable(I(minimum=1, maximum=365, default=30))}),
}
EXAMPLES = {
    "IssuerPatch": {"description": "한빛대학교 평생교육원의 디지털 배지", "primary_color": "#0b3d91", "weekly_digest": True},
    "TemplateCreate": {"name": "SQL 기초", "description": "SQL로 데이터를 조회하고 집계합니다.",
                       "criteria": {"narrative": "6주 과정 수료와 최종 과제 통과"}, "skills": ["SQL"],
                       "validity": {"kind": "days_after_issue", "days": 365}, "reissue_policy": "one_active_per_recipient"},
    "TemplatePatch": {"skills": ["SQL", "데이터 분석"], "enrolment": None},
    "ApiKeyCreate": {"name": "LMS integration"},
    "AwardCreate": {"template_id": "tpl_IDKFRo9dTAG2GIvXNeojdw", "recipient": {"email": "jiwoo.lee@example.com", "name": "이지우"},
                    "issued_on": "2026-03-01", "external_id": "S2026-001", "cohort": "2026-봄"},
    "Revoke": {"reason": "Issued in error"},
    "Reissue": {"expires_on": "2028-03-01"},
    "BatchCreate": {"filename": "cohort.csv", "mode": "skip_invalid", "size": 18342},
    "WebhookCreate": {"url": "https://lms.example.ac.kr/hooks/accolade", "events": ["award.issued", "award.revoked"], "description": "LMS"},
    "WebhookPatch": {"events": ["award.issued", "award.revoked", "award.shared"]},
}
webhook_spec = {
    "url": {**HTTPS_URL, "description": "https on port 443, a public address (checked again at every send); no user name, password or #fragment"},
    "events": arr(S(enum=EVENT_TYPES), minItems=1, maxItems=32, description="default: every type but award.viewed"),
    "description": LINE(200), "enabled": B(default=True),
}
request_schemas = {
    "IssuerPatch": patch_of(req_obj(issuer_profile, ["name", "url", "email"], description=
        "JSON merge patch of the profile: only the fields to change; null removes an optional field (name, url and email stay required)")),
    "TemplateCreate": req_obj(template_spec, ["name", "description", "criteria"]),
    "TemplatePatch": {**patch_of(req_obj(template_spec, ["name", "description", "criteria"])), "description":
        "JSON merge patch of the template: only the fields to change; null removes an optional field, nested objects are merged"},
    "ApiKeyCreate": req_obj({"name": LINE(200), "scope": SCOPE}),
    "AwardCreate": req_obj({
        "template_id": TEMPLATE_ID, "recipient": req_obj({"email": EMAIL, "name": LINE(200),
            "phone": S(maxLength=40, description="a Korean mobile number for KakaoTalk and SMS (010-1234-5678, +82 10-1234-5678); stored as E.164, never public")},
            ["email", "name"]),
        "issued_on": DATE_OR_INSTANT, "expires_on": nullable({**DATE_OR_INSTANT, "description": "defaults from the template's validity; null for never"}),
        "narrative": TEXT(10000),
        "evidence": arr(req_obj({"url": URL, "narrative": TEXT(10000)}, minProperties=1, description="a url, a narrative or both"), maxItems=20),
        "external_id": LINE(200), "locale": LOCALE, "notify": B(default=True), "cohort": LINE(100)},
        ["template_id", "recipient"]),
    "Revoke": req_obj({"reason": TEXT(500)}, ["reason"]),
    "KakaoSettings": req_obj({
        "enabled": B(default=True), "provider": S(enum=["sens"], default="sens"),
        "channel_id": S(pattern="^@", description="the KakaoTalk channel's search id (SENS plusFriendId)"),
        "alimtalk_service_id": S(pattern="^ncp:kkobizmsg:"), "sms_service_id": S(pattern="^ncp:sms:"),
        "day1_template_code": S(description="the approved day-1 AlimTalk template's code (README has the text to submit)"),
        "sms_sender": S(description="the sender number registered with the provider"),
        "opt_out_number": S(description="a free 080 number for promotional texts; without it, an opt-out link"),
        "stages": req_obj({"day1": B(default=True), "day3": B(default=True), "day7": B(default=True)}),
        "access_key": S(description="the provider's access key; required the first time, kept when left out"),
        "secret_key": S(description="the provider's secret key; stored encrypted, never returned")},
        ["channel_id", "alimtalk_service_id", "sms_service_id", "day1_template_code", "sms_sender"]),
    "Reissue": req_obj({"expires_on": nullable({**DATE_OR_INSTANT, "description": "defaults from the template's validity; null for never"})}),
    "WebhookCreate": req_obj(webhook_spec, ["url"]),
    "WebhookPatch": {**patch_of(req_obj(webhook_spec, ["url"])), "description":
        "JSON merge patch of the endpoint: only the fields to change (url stays required); enabled: true switches an endpoint we switched off back on"},
    "BatchCreate": req_obj({
        "filename": S(maxLength=200, pattern=f"^[^{CC}]*\\.([cC][sS][vV]|[tT][xX][tT]|[tT][sS][vV])$", description="the file's name: .csv (or .txt, .tsv)"), "template_id": {**TEMPLATE_ID, "description": "for rows without a template_id column"},
        "notify": B(default=True), "mode": S(enum=["skip_invalid", "all_or_nothing"], default="skip_invalid"),
        "size": {"type": "integer", "minimum": 1, "maximum": 50 * 1024 * 1024, "description": "the file's size in bytes: the upload URL then accepts exactly this many (S3 refuses any other length). Send it; without it the URL takes any size and ingest refuses files over 50 MB after upload"}}, ["filename"]),
}

for name, example in EXAMPLES.items():
    request_schemas[name]["examples"] = [example]

# ---- responses -----------------------------------------------------------------------------------
def urls(*names): return resp_obj({n: OUT_URL for n in names}, names)
image_out = resp_obj({"kind": S(enum=["generated", "url", "uploaded"]), "url": OUT_URL,
                      "content_type": S(description="uploaded images: image/png, image/jpeg, image/webp or image/svg+xml")}, ["kind"])
localized_out = resp_obj({"ko": S(), "en": S()})
metrics_props = {
    **{k: I() for k in ["issued", "revoked", "expired"]},
    "emails": resp_obj({st: resp_obj({e: I() for e in ["sent", "delivered", "bounced", "complained", "opened", "clicked", "rejected"]}, "all")
                        for st in ["day1", "day3", "day7", "expiry"]}, "all", description="per email stage: SES events"),
    "delivery_rate": nullable({"type": "number", "minimum": 0}),
    "kakao": resp_obj({st: resp_obj({e: I() for e in ["sent", "delivered", "fallback_sms", "failed"]}, "all")
                       for st in ["day1", "day3", "day7"]}, "all", description="per KakaoTalk/SMS stage: sent by the provider, then delivered, fell back to SMS, or failed"),
    "kakao_delivery_rate": nullable({"type": "number", "minimum": 0, "description": "day-1 KakaoTalk messages delivered (or by their SMS fallback) ÷ sent"}),
    "awards_shared": I(), "share_rate": nullable({"type": "number", "minimum": 0}), "shares": I(),
    "shares_by_network": resp_obj({n: I() for n in ["linkedin", "x", "facebook", "email", "native", "copy"]}, "all"),
    "linkedin_add_to_profile": I(), "views": I(), "previews": I(), "awards_viewed": I(),
    "clicks": resp_obj({"banner": I(), "enrol": I(), "related": arr(resp_obj({"template_id": S(), "clicks": I()}, "all")),
                        "from_page": I(), "from_email": I(), "from_text": I()}, "all"),
    "click_through_rate": nullable({"type": "number", "minimum": 0}),
    "follow_up_conversions": I(), "conversions_by_stage": resp_obj({"day3": I(), "day7": I()}, "all"),
}
response_schemas = {
    "RotatedKey": resp_obj({"key": S(pattern="^key-[0-9]+$"), "verification_method": S(pattern="^did:web:"),
                            "did": S(pattern="^did:web:"),
                            "signs_from": S(format="date-time", description="when the new key starts signing: two minutes on, so that verifiers' cached copies of the DID document (max-age 60 s) list it first; at once with retire_previous"),
                            "retired": arr(S(pattern="^key-[0-9]+$"), description="keys this rotation retired (with retire_previous)")},
                           ["key", "verification_method", "did", "signs_from", "retired"]),
    "Error": resp_obj({"error": resp_obj({"code": S(), "message": S(), "field": S(description="the request field, parameter or header at fault"), "existing_award_id": S(description="already_awarded: the recipient's active award of this template")}, ["code", "message"])}, ["error"]),
    "Issuer": resp_obj({
        "id": ISSUER_ID, **{k: v for k, v in issuer_profile.items()},
        "url": OUT_URL, "logo_url": OUT_URL, "seal_url": OUT_URL,
        "primary_color": S(pattern="^#[0-9a-f]{6}$"), "accent_color": S(pattern="^#[0-9a-f]{6}$"),
        "linkedin_organization_id": S(pattern="^[0-9]{1,20}$"),
        "version": I(minimum=1), "created_at": INSTANT, "updated_at": INSTANT,
        "did": S(pattern="^did:web:", description="the issuer's did:web, the issuer id of its Open Badges 3.0 credentials"),
        "urls": urls("open_badges_profile", "did_document")},
        ["id", "did", "name", "url", "email", "primary_color", "accent_color", "default_locale", "time_zone",
         "mask_recipient_names", "weekly_digest", "version", "created_at", "updated_at", "urls"]),
    "Template": resp_obj({
        "id": TEMPLATE_ID, "issuer_id": ISSUER_ID, "name": S(), "description": S(),
        "criteria": resp_obj({"narrative": S(), "url": OUT_URL}),
        "skills": arr(S()), "image": image_out,
        "validity": resp_obj({"kind": S(enum=["never", "days_after_issue", "fixed_date"]), "days": I(minimum=1), "date": S(format="date")}, ["kind"]),
        "reissue_policy": S(enum=["allow_multiple", "one_active_per_recipient"]),
        "related": arr(resp_obj({"template_id": TEMPLATE_ID, "label": S(), "enabled": B()}, ["template_id", "enabled"])),
        "banner": resp_obj({"image": image_out, "alt": S(), "target_url": OUT_URL, "enabled": B()}, ["image", "alt", "target_url", "enabled"]),
        "enrolment": resp_obj({"program_type": S(), "program_name": S(), "program_url": OUT_URL, "period": S(), "enabled": B()}, ["program_url", "enabled"]),
        "follow_ups": resp_obj({"day3": B(), "day7": B(), "subject": localized_out, "intro": localized_out,
                                "expiry_reminder_days": nullable(I(minimum=1))}, "all"),
        "status": S(enum=["active", "archived"]), "version": I(minimum=1), "created_at": INSTANT, "updated_at": INSTANT,
        "urls": urls("page", "open_badges_badge_class", "image")},
        ["id", "issuer_id", "name", "description", "criteria", "skills", "image", "validity", "reissue_policy",
         "related", "follow_ups", "status", "version", "created_at", "updated_at", "urls"]),
    "ApiKey": resp_obj({"id": KEY_ID, "name": S(), "scope": SCOPE_OUT, "hint": S(description="the key's first characters"), "created_at": INSTANT,
                        "revoked_at": nullable(INSTANT), "active": B()}, "all"),
    "ApiKeyCreated": resp_obj({"id": KEY_ID, "name": S(), "scope": SCOPE_OUT, "hint": S(), "created_at": INSTANT, "revoked_at": {"type": "null"},
                               "active": B(const=True), "key": S(pattern="^acc_", description="the key itself, shown once")}, "all"),
    "KakaoSettingsView": resp_obj({
        "enabled": B(), "provider": S(), "channel_id": S(), "alimtalk_service_id": S(), "sms_service_id": S(),
        "day1_template_code": S(), "sms_sender": S(), "opt_out_number": nullable(S()),
        "stages": resp_obj({"day1": B(), "day3": B(), "day7": B()}, "all"),
        "credentials": S(enum=["set", "not set"], description="the keys themselves are never returned")}, "all"),
    "Award": resp_obj({
        "id": AWARD_ID, "issuer_id": ISSUER_ID, "template_id": TEMPLATE_ID,
        "recipient": resp_obj({"email": EMAIL, "name": S(), "phone": nullable(S(pattern="^\\+82[0-9]{9,10}$"))}, "all"),
        "issued_on": INSTANT, "expires_on": nullable(INSTANT),
        "status": S(enum=["valid", "expired", "revoked", "superseded"]),
        "revocation": nullable(resp_obj({"reason": S(), "at": INSTANT}, "all")),
        "superseded_by": nullable(AWARD_ID), "supersedes": nullable(AWARD_ID),
        "narrative": nullable(S()), "evidence": arr(resp_obj({"url": OUT_URL, "narrative": S()})),
        "external_id": nullable(S()), "locale": nullable(LOCALE), "notify": B(), "cohort": nullable(S()),
        "batch_id": nullable(BATCH_ID), "created_at": INSTANT,
        "urls": resp_obj({"page": OUT_URL, "open_badges_assertion": OUT_URL, "qr_svg": OUT_URL, "qr_png": OUT_URL,
                          "verifiable_credential": OUT_URL, "baked_png": OUT_URL, "baked_svg": OUT_URL,
                          "linkedin_add_to_profile": S(pattern="^https://")},
                         ["page", "open_badges_assertion", "qr_svg", "qr_png", "verifiable_credential", "baked_png", "baked_svg"])},
        "all"),
}
batch_props = {
    "id": BATCH_ID, "template_id": nullable(TEMPLATE_ID), "filename": S(), "notify": B(),
    "mode": S(enum=["skip_invalid", "all_or_nothing"]),
    "status": S(enum=["awaiting_upload", "validating", "issuing", "completed", "failed"]),
    "failure_reason": nullable(S()),
    "failure_reason_ko": nullable(S(description="the failure reason in Korean (null for batches failed before 2026-12-07)")),
    "counts": resp_obj({k: I(minimum=0) for k in ["rows", "valid", "issued", "skipped_duplicate", "invalid"]}, "all"),
    "warnings": arr(S()),
    "warnings_ko": arr(S(), description="the warnings in Korean, one for each (empty for batches checked before 2026-12-07)"),
    "progress_row": I(minimum=0, description="data rows issued so far"),
    "created_at": INSTANT, "updated_at": INSTANT, "started_at": nullable(INSTANT), "completed_at": nullable(INSTANT),
    "stalled_since": nullable(S(format="date-time", description="set while the batch is validating or issuing and no worker has held it for 15 minutes (from when the last one let go): the import may have stopped (a worker that died on every try leaves no error behind; a throttled one may still come back); if it stays so, the operator can resume it (infra replay-failures), or the file can be uploaded again as a new batch (rows already issued are skipped)")),
    "error_report_url": nullable(S(description="a 15-minute download link, when any row was rejected or skipped")),
}
webhook_props = {
    "id": WEBHOOK_ID, "url": OUT_URL, "events": arr(S(enum=EVENT_TYPES)), "description": S(), "enabled": B(),
    "disabled_reason": nullable(S(description="why we switched it off (every delivery failed for 5 days)")),
    "failing_since": nullable(INSTANT), "secret_fingerprint": nullable(S(pattern="^[0-9a-f]{8}$", description="the first 8 hex digits of the current secret's SHA-256, to tell secrets apart (never part of the secret)")),
    "created_at": INSTANT, "version": I(minimum=1),
}
SECRET = S(pattern="^whsec_[A-Za-z0-9+/]+={0,2}$", description="the signing secret (Standard Webhooks), shown once")
response_schemas |= {
    "Webhook": resp_obj(webhook_props, "all"),
    "WebhookCreated": resp_obj({**webhook_props, "secret": SECRET}, "all"),
    "WebhookRotated": resp_obj({**webhook_props, "secret": SECRET,
                                "previous_secret_expires_at": nullable({**INSTANT, "description": "until then both secrets sign"})}, "all"),
    "WebhookDelivery": resp_obj({
        "id": MESSAGE_ID, "webhook_id": WEBHOOK_ID, "event_type": S(enum=EVENT_TYPES + ["webhook.test"]),
        "event": resp_obj({"type": S(), "timestamp": INSTANT, "data": {"type": "object"}}, "all", description="the body sent, as JSON"),
        "state": S(enum=["pending", "sending", "succeeded", "failed", "cancelled"]), "attempts": I(minimum=0),
        "created_at": INSTANT, "next_attempt_at": nullable(INSTANT),
        "last_attempt": nullable(resp_obj({"number": I(minimum=1), "at": INSTANT, "status_code": I(), "latency_ms": I(minimum=0),
                                           "response": S(description="the first 1 KB of the answer's body"),
                                           "error": S(description="why there was no 2xx (no answer, refused address, redirect)")},
                                          ["number", "at", "latency_ms", "response"]))}, "all"),
    "Batch": resp_obj(batch_props, "all"),
    "BatchCreated": resp_obj({**batch_props, "batch_id": BATCH_ID, "upload_url": nullable(S(description="presigned S3 URL, valid 15 minutes; null when the batch is not waiting for its file (a create sent again after the upload)")),
                              "upload_method": S(const="PUT"), "upload_size": nullable({"type": "integer", "description": "the byte length the upload URL accepts (the request's size), or null for any"}),
                              "expires_at": nullable({**INSTANT, "description": "when upload_url stops working"})}, "all"),
    "Metrics": resp_obj(metrics_props, "all", description="definitions in the README's Analytics section"),
    "Analytics": resp_obj({
        "scope": {"oneOf": [
            resp_obj({"kind": S(const="issuer"), "issuer_id": ISSUER_ID}, "all"),
            resp_obj({"kind": S(const="template"), "template_id": TEMPLATE_ID, "name": S()}, "all"),
            resp_obj({"kind": S(const="batch"), "batch_id": BATCH_ID}, "all"),
            resp_obj({"kind": S(const="cohort"), "cohort": S()}, "all")]},
        "from": S(format="date"), "to": S(format="date"), "time_zone": S(), "granularity": S(enum=["day", "week"]),
        "totals": R("Metrics"),
        "series": arr(resp_obj({**metrics_props, "start": S(format="date"), "end": S(format="date")}, "all")),
        "templates": arr(resp_obj({**metrics_props, "template_id": TEMPLATE_ID, "name": S()}, "all"), description="issuer scope only")},
        ["scope", "from", "to", "time_zone", "granularity", "totals", "series"]),
}
for name, item in [("TemplateList", "Template"), ("AwardList", "Award"), ("BatchList", "Batch"), ("ApiKeyList", "ApiKey"),
                   ("WebhookList", "Webhook"), ("WebhookDeliveryList", "WebhookDelivery")]:
    response_schemas[name] = resp_obj({"data": arr(R(item)), "next_cursor": nullable(S(description="pass as `cursor` for the next page"))}, "all")

# ---- operations ----------------------------------------------------------------------------------
ERROR_DOCS = {
    "400": "A field, parameter or header is invalid (`field` names it)",
    "401": "Missing, invalid or revoked API key",
    "403": "The API key's scope does not allow this (an integration key cannot manage keys or settings)",
    "404": "Not found (another issuer's objects are indistinguishable from absent ones)",
    "409": "A rule conflict (the message says which)",
    "412": "If-Match names a version that is no longer current",
    "413": "The body is too large",
    "415": "The body's type is not accepted",
    "422": "Creates: the Idempotency-Key (or an award's external_id) was used before for a different request; images: larger than 4096 pixels on a side",
    "503": "Throttled by the database: retry later",
}
ONCE = "With an Idempotency-Key, the same request sent again within 24 hours (its answer lost) answers 200 with what the first one made instead of making a second; the key with a different request is 422 idempotency_key_reused."
ETAG = {"ETag": {"description": "the version, for If-Match", "required": True, "schema": S(pattern='^"[0-9]+"$')}}
def json_answer(schema, desc="OK", headers=None, links=None):
    r = {"description": desc, "content": {"application/json": {"schema": R(schema)}}}
    if headers: r["headers"] = headers
    if links: r["links"] = links
    return r
def op(op_id, summary, tag, ok, errors, body=None, params=(), desc=None, security=True, body_required=True):
    """`ok`: {status: response}; `errors`: the error statuses this operation can answer."""
    o = {"operationId": op_id, "summary": summary, "tags": [tag]}
    if desc: o["description"] = desc
    o["security"] = [{"bearer": []}] if security else []
    if params: o["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in params]
    if body:
        o["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": R(body)}}}
    o["responses"] = {**ok, **{s: {"$ref": f"#/components/responses/E{s}"} for s in sorted(errors + ["401", "503"] * security)}}
    return o
def link(op_id, **kw):
    """An OpenAPI link: parameters as `path.id=…`, `query.template=…`; `body` a requestBody."""
    d = {"operationId": op_id}
    body = kw.pop("body", None)
    if kw: d["parameters"] = {k.replace("__", "."): v for k, v in kw.items()}
    if body is not None: d["requestBody"] = body
    return d
ID = "$response.body#/id"
template_links = {
    "GetTemplate": link("getTemplate", path__id=ID), "UpdateTemplate": link("updateTemplate", path__id=ID),
    "ArchiveTemplate": link("archiveTemplate", path__id=ID), "UploadTemplateImage": link("uploadTemplateImage", path__id=ID),
    "UploadBannerImage": link("uploadTemplateBannerImage", path__id=ID),
    "IssueAward": link("createAward", body={"template_id": ID}),
    "ListAwards": link("listAwards", query__template=ID),
    "CreateBatch": link("createBatch", body={"template_id": ID}),
    "TemplateAnalytics": link("getAnalytics", query__template=ID),
}
award_links = {
    "GetAward": link("getAward", path__id=ID), "RevokeAward": link("revokeAward", path__id=ID),
    "ReissueAward": link("reissueAward", path__id=ID),
}
# From a list to its first item (none when the page is empty). There is deliberately no link from
# listApiKeys to revokeApiKey: the list holds the caller's own key.
FIRST = "$response.body#/data/0/id"
first_template_links = {"GetTemplate": link("getTemplate", path__id=FIRST), "UpdateTemplate": link("updateTemplate", path__id=FIRST),
                        "IssueAward": link("createAward", body={"template_id": FIRST})}
first_award_links = {"GetAward": link("getAward", path__id=FIRST), "RevokeAward": link("revokeAward", path__id=FIRST),
                     "ReissueAward": link("reissueAward", path__id=FIRST)}
first_batch_links = {"GetBatch": link("getBatch", path__id=FIRST)}
webhook_links = {
    "GetWebhook": link("getWebhook", path__id=ID), "UpdateWebhook": link("updateWebhook", path__id=ID),
    "TestWebhook": link("testWebhook", path__id=ID), "ListDeliveries": link("listWebhookDeliveries", path__id=ID),
    "RotateSecret": link("rotateWebhookSecret", path__id=ID),
}
delivery_links = {"RetryDelivery": link("retryWebhookDelivery", path__id="$response.body#/webhook_id", path__delivery_id=ID)}
batch_links = {
    "GetBatch": link("getBatch", path__id="$response.body#/batch_id"),
    "ListAwards": link("listAwards", query__batch="$response.body#/batch_id"),
    "BatchAnalytics": link("getAnalytics", query__batch="$response.body#/batch_id"),
}
IMAGE_BODY = {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ["image/png", "image/jpeg", "image/webp", "image/svg+xml"]}}
CSV = lambda desc, headers=None: {"200": {"description": desc, **({"headers": headers} if headers else {}), "content": {"text/csv": {"schema": S()}}}}

paths = {
  "/v1/issuer": {
    "get": op("getIssuer", "Your issuer profile", "issuer", {"200": json_answer("Issuer", headers=ETAG)}, ["404"]),
    "patch": op("updateIssuer", "Update the profile (JSON merge patch; If-Match optional)", "issuer",
                {"200": json_answer("Issuer", headers=ETAG)}, ["400", "403", "404", "412", "413", "415"], body="IssuerPatch", params=["IfMatch"]),
  },
  "/v1/issuer/kakao": {
    "get": op("getKakaoSettings", "KakaoTalk/SMS settings (admin keys only; the credentials as set or not set)", "issuer",
              {"200": json_answer("KakaoSettingsView")}, ["403", "404"]),
    "put": op("putKakaoSettings", "Set the KakaoTalk/SMS settings (admin keys only)", "issuer",
              {"200": json_answer("KakaoSettingsView")}, ["400", "403", "413", "415"], body="KakaoSettings",
              desc="The provider keys are encrypted with KMS for this issuer before they are stored and are never returned. Without keys, the stored ones are kept; the first save needs them."),
  },
  "/v1/issuer/signing-keys/rotate": {
    "post": op("rotateSigningKey", "Rotate the credential-signing key (admin keys only)", "issuer",
               {"201": json_answer("RotatedKey", "Rotated")}, ["400", "403"], body_required=False, params=["RetirePrevious"],
               desc="A new Ed25519 key joins the issuer's DID document at once and signs Open Badges 3.0 credentials from signs_from, two minutes later (verifiers may hold the DID document for its 60 s max-age; until then the previous key signs). Older keys stay in the issuer's DID document, so credentials signed before keep verifying — unless retire_previous=true (after a suspected leak): then the older keys leave the DID document, the new key signs at once, nothing signed with them verifies any more, and each credential they signed is signed again with the new key the next time it is requested (baked images downloaded before carry the old proof)."),
  },
  "/v1/templates": {
    "get": op("listTemplates", "List templates, newest first; with `status`, the page is filled from as many reads as it takes, up to five (then it holds fewer and next_cursor goes on)", "templates", {"200": json_answer("TemplateList", links=first_template_links)}, ["400"],
              params=["Limit", "Cursor", "TemplateStatus"]),
    "post": op("createTemplate", "Create a template", "templates",
               {"201": json_answer("Template", "Created", headers=ETAG, links=template_links),
                "200": json_answer("Template", "Created before with this Idempotency-Key: that template as it is now", headers=ETAG, links=template_links)},
               ["400", "413", "415", "422"], body="TemplateCreate", params=["IdempotencyKey"], desc=ONCE),
  },
  "/v1/templates/{id}": {
    "get": op("getTemplate", "One template (ETag = version)", "templates", {"200": json_answer("Template", headers=ETAG)}, ["404"], params=["TemplateId"]),
    "patch": op("updateTemplate", "Update (JSON merge patch). With If-Match a stale version gets 412; without, concurrent edits are merged. A patch that changes nothing keeps the version", "templates",
                {"200": json_answer("Template", headers=ETAG)}, ["400", "404", "412", "413", "415"], body="TemplatePatch", params=["TemplateId", "IfMatch"]),
    "delete": op("archiveTemplate", "Archive: no new awards; issued awards stay verifiable", "templates",
                 {"200": json_answer("Template", headers=ETAG)}, ["404"], params=["TemplateId"]),
  },
  "/v1/templates/{id}/image": {
    "put": {**op("uploadTemplateImage", "Upload the badge image (PNG, JPEG, WebP or SVG, at most 1 MiB; a raster image at most 4096 pixels on a side) as the raw body", "templates",
                 {"200": json_answer("Template", headers=ETAG)}, ["404", "413", "415", "422"], params=["TemplateId"]), "requestBody": IMAGE_BODY},
  },
  "/v1/templates/{id}/banner-image": {
    "put": {**op("uploadTemplateBannerImage", "Upload the banner's image (set banner.alt and banner.target_url first); PNG, JPEG, WebP or SVG, at most 1 MiB", "templates",
                 {"200": json_answer("Template", headers=ETAG)}, ["404", "409", "413", "415"], params=["TemplateId"]), "requestBody": IMAGE_BODY},
  },
  "/v1/api-keys": {
    "get": op("listApiKeys", "List API keys (never the secret); admin keys only", "api-keys", {"200": json_answer("ApiKeyList")}, ["403"]),
    "post": op("createApiKey", "Create a key; the answer shows the key once", "api-keys",
               {"201": json_answer("ApiKeyCreated", "Created", links={"RevokeApiKey": link("revokeApiKey", path__id=ID)}),
                "200": json_answer("ApiKeyCreated", "Created before with this Idempotency-Key: that key, with a new secret (the earlier answer's secret stops working)", links={"RevokeApiKey": link("revokeApiKey", path__id=ID)})},
               ["400", "403", "409", "413", "415", "422"], body="ApiKeyCreate", body_required=False, params=["IdempotencyKey"],
               desc="With an Idempotency-Key, the same request from the same API key sent again within 24 hours (its answer lost) answers 200 with the key the first one made and a new secret in place of the lost one — a key's secret is never stored, so it cannot be shown again; the secret of the earlier answer stops working, and console sessions signed in with it end. One key is made, and the caller holds its only working secret. Within a minute of the secret's making (the first send may still be answering) the retry is 409 idempotency_key_in_use, its message saying how many seconds to wait. The key with a different request, or from another API key, is 422 idempotency_key_reused; 409 idempotency_key_used when that key has been revoked since."),
  },
  "/v1/api-keys/{id}": {
    "delete": op("revokeApiKey", "Revoke a key; it stops working at once (revoking it again is harmless)", "api-keys",
                 {"204": {"description": "Revoked"}}, ["403", "404"], params=["ApiKeyId"]),
  },
  "/v1/awards": {
    "get": op("listAwards", "List awards, newest first. One index is read (by recipient, template, batch or the whole issuer) and the other filters applied as it is read, until the page holds `limit` awards or five reads were made (then it holds fewer, even none, and next_cursor goes on): page on while next_cursor is not null", "awards",
              {"200": json_answer("AwardList", links=first_award_links)}, ["400", "404"], params=["Limit", "Cursor", "TemplateFilter", "RecipientFilter", "StatusFilter", "BatchFilter"]),
    "post": op("createAward", "Issue a badge", "awards",
               {"201": json_answer("Award", "Issued", links=award_links),
                "200": json_answer("Award", "Issued before: the Idempotency-Key or external_id was used for the same request, and this is that award", links=award_links)},
               ["400", "409", "413", "415", "422"], body="AwardCreate", params=["IdempotencyKey"],
               desc="201 with the new award; 200 with the same award when the Idempotency-Key or external_id was used before for the same request; 422 when it was used for a different one."),
  },
  "/v1/awards/{id}": {"get": op("getAward", "One award", "awards", {"200": json_answer("Award")}, ["404"], params=["AwardId"])},
  "/v1/awards/{id}/revoke": {"post": op("revokeAward", "Revoke with a reason (revoking again answers the award unchanged)", "awards",
                                        {"200": json_answer("Award")}, ["400", "404", "413", "415"], body="Revoke", params=["AwardId"])},
  "/v1/awards/{id}/reissue": {"post": op("reissueAward", "Issue a new award superseding this one", "awards",
                                         {"201": json_answer("Award", "Issued", links=award_links),
                                          "200": json_answer("Award", "Re-issued already: the award that replaced this one (a retry gets what the first call made)", links=award_links)},
                                         ["400", "404", "409", "413", "415"], body="Reissue", params=["AwardId"], body_required=False)},
  "/v1/batches": {
    "get": op("listBatches", "List CSV batches, newest first", "batches", {"200": json_answer("BatchList", links=first_batch_links)}, ["400"], params=["Limit", "Cursor"]),
    "post": op("createBatch", "Create a batch: answers a presigned PUT URL for the CSV; the upload starts ingest", "batches",
               {"201": json_answer("BatchCreated", "Created", links=batch_links),
                "200": json_answer("BatchCreated", "Created before with this Idempotency-Key: that batch as it is now (a fresh upload URL while it waits for its file)", links=batch_links)},
               ["400", "413", "415", "422"], body="BatchCreate", params=["IdempotencyKey"], desc=ONCE),
  },
  "/v1/batches/template.csv": {
    "get": op("getSampleCsv", "The sample CSV with every documented column", "batches", CSV("CSV (UTF-8 with BOM)"), []),
  },
  "/v1/batches/{id}": {
    "get": op("getBatch", "Batch status, counts, and a link to the error report", "batches", {"200": json_answer("Batch")}, ["404"], params=["BatchId"]),
  },
  "/v1/analytics": {
    "get": op("getAnalytics", "Metrics for the whole issuer (with a per-template breakdown), a template, a batch or a cohort: totals, rates (null when there is no denominator) and a day or week series in the issuer's time zone", "analytics",
              {"200": json_answer("Analytics")}, ["400", "404"], params=["AnalyticsTemplate", "AnalyticsBatch", "AnalyticsCohort", "From", "To", "Granularity"],
              desc="Any other query parameter is refused (400 naming it)."),
  },
  "/v1/analytics/export": {
    "get": op("exportAnalytics", "Every award in scope with its counters, as CSV (UTF-8 with BOM), newest first, up to `limit` awards per response (fewer when the body would pass 5 MB); a `Link: <…>; rel=\"next\"` header (and `X-Next-Cursor`) continues. from/to filter on the day each award was recorded", "analytics",
              CSV("CSV", {"Link": {"schema": S(), "description": "the next page, when there is one"},
                          "X-Next-Cursor": {"schema": S(), "description": "the next page's cursor, when there is one"}}),
              ["400", "404"], params=["AnalyticsTemplate", "AnalyticsBatch", "AnalyticsCohort", "From", "To", "ExportLimit", "Cursor"],
              desc="Any other query parameter is refused (400 naming it)."),
  },
  "/v1/webhooks": {
    "get": op("listWebhooks", "Your webhook endpoints (never their secrets); admin keys only", "webhooks", {"200": json_answer("WebhookList")}, ["403"]),
    "post": op("createWebhook", "Register an endpoint; the answer shows its signing secret once", "webhooks",
               {"201": json_answer("WebhookCreated", "Created", links=webhook_links),
                "200": json_answer("WebhookCreated", "Created before with this Idempotency-Key: that endpoint and its current secret", links=webhook_links)},
               ["400", "403", "409", "413", "415", "422"], body="WebhookCreate", params=["IdempotencyKey"],
               desc="409 when an endpoint of yours has this URL already (change its events instead; send the create with an Idempotency-Key so that a retry gets the secret again), or (idempotency_key_used) when the endpoint this Idempotency-Key made has been removed or its secret rotated since (a replay shows the secret the endpoint was made with, never a rotation's); 422 when the issuer has 20 endpoints already. " + ONCE + " Events are signed as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature); see the README."),
  },
  "/v1/webhooks/{id}": {
    "get": op("getWebhook", "One endpoint", "webhooks", {"200": json_answer("Webhook")}, ["403", "404"], params=["WebhookId"]),
    "patch": op("updateWebhook", "Change the URL, the events, the description, or switch it on or off (JSON merge patch)", "webhooks",
                {"200": json_answer("Webhook")}, ["400", "403", "404", "413", "415"], body="WebhookPatch", params=["WebhookId"]),
    "delete": op("deleteWebhook", "Remove an endpoint; deliveries still waiting are not sent", "webhooks",
                 {"204": {"description": "Removed"}}, ["403", "404"], params=["WebhookId"]),
  },
  "/v1/webhooks/{id}/rotate-secret": {
    "post": op("rotateWebhookSecret", "A new signing secret; the previous one keeps signing beside it for 24 hours", "webhooks",
               {"200": json_answer("WebhookRotated")}, ["400", "403", "404"], params=["WebhookId", "IdempotencyKey"],
               desc="Rotating again drops the oldest secret at once (to end a leaked one). A request sent again with the same Idempotency-Key within 24 hours, while the secret it made is current (its answer lost), answers that secret again and rotates nothing."),
  },
  "/v1/webhooks/{id}/test": {
    "post": op("testWebhook", "Queue a webhook.test event to this endpoint; its delivery shows how it went", "webhooks",
               {"202": json_answer("WebhookDelivery", "Queued", links=delivery_links)}, ["403", "404", "409"], params=["WebhookId"]),
  },
  "/v1/webhooks/{id}/deliveries": {
    "get": op("listWebhookDeliveries", "Deliveries, newest first: event, attempts, the last answer (status, latency, first 1 KB), next retry", "webhooks",
              {"200": json_answer("WebhookDeliveryList")}, ["400", "403", "404"], params=["WebhookId", "Limit", "Cursor"]),
  },
  "/v1/webhooks/{id}/deliveries/{delivery_id}/retry": {
    "post": op("retryWebhookDelivery", "One more attempt, now (same webhook-id, same body): of a finished delivery, or of one waiting for its next retry; 409 while an attempt is in flight", "webhooks",
               {"202": json_answer("WebhookDelivery", "Queued")}, ["403", "404", "409"], params=["WebhookId", "DeliveryId"]),
  },
  "/v1/openapi.json": {"get": op("getOpenApiDocument", "This document", "meta",
                                 {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}, [], security=False)},
}

q = lambda name, desc, **kw: {"name": name, "in": "query", "required": False, "description": desc, "schema": S(**kw)}
path_id = lambda schema: {"name": "id", "in": "path", "required": True, "schema": schema}
params = {
  "TemplateId": path_id(TEMPLATE_ID), "AwardId": path_id(AWARD_ID), "BatchId": path_id(BATCH_ID), "ApiKeyId": path_id(KEY_ID),
  "WebhookId": path_id(WEBHOOK_ID), "DeliveryId": {"name": "delivery_id", "in": "path", "required": True, "schema": MESSAGE_ID},
  "IfMatch": {"name": "If-Match", "in": "header", "required": False, "description": "the ETag of the version you edited, or a comma-separated list of them (any one current will do; a weak `W/` form, as a compressing proxy hands it on, is the same version; a tag that is no version of ours matches none), or `*` for no condition", "schema": S(pattern='^[*]$|^(W/)?("[!#-~]*"|[0-9]{1,18})( *, *(W/)?("[!#-~]*"|[0-9]{1,18}))*$')},
  "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": False, "description": "the same request sent again with the same key does it once (the same award, template, batch, webhook endpoint or API key; the same rotated secret). A key is its route's own. Awards remember a key for good; templates, batches, webhook endpoints and API keys for 24 hours", "schema": S(pattern="^[!-~]([ -~]{0,253}[!-~])?$", description="1 to 255 visible ASCII characters")},
  "Limit": {"name": "limit", "in": "query", "required": False, "schema": I(minimum=1, maximum=200, default=50)},
  "Cursor": q("cursor", "next_cursor from the previous page"),
  "TemplateStatus": q("status", "filter (default all)", enum=["active", "archived", "all"]),
  "TemplateFilter": q("template", "template id"),
  "RecipientFilter": q("recipient", "recipient email"),
  "StatusFilter": q("status", "filter", enum=["valid", "expired", "revoked", "superseded"]),
  "BatchFilter": q("batch", "batch id"),
  "AnalyticsTemplate": q("template", "one template (give at most one of template, batch, cohort)"),
  "AnalyticsBatch": q("batch", "one CSV batch"),
  "AnalyticsCohort": q("cohort", "the cohort label given when issuing", maxLength=100),
  "From": q("from", "first day, YYYY-MM-DD in the issuer's time zone (default: 4 weeks, or 12 weeks by week, before `to`)", format="date"),
  "To": q("to", "last day, inclusive (default: today)", format="date"),
  "ExportLimit": {"name": "limit", "in": "query", "required": False, "description": "awards read per response (fewer rows when cohort/from/to filter some out)", "schema": I(minimum=1, maximum=10000, default=10000)},
  "RetirePrevious": q("retire_previous", "true: retire every older key (a suspected leak)", type="boolean", default=False),
  "Granularity": q("granularity", "series periods; weeks run Monday to Sunday", enum=["day", "week"], default="day"),
}
error_responses = {f"E{s}": {"description": d, "content": {"application/json": {"schema": R("Error")}}} for s, d in ERROR_DOCS.items()}
error_responses["E401"]["headers"] = {"WWW-Authenticate": {"description": "Bearer", "required": True, "schema": S(const="Bearer")}}

def close_responses(schema):
    """Response objects forbid unlisted fields (the conformance run's variant)."""
    if isinstance(schema, Resp):
        schema["additionalProperties"] = False
    if isinstance(schema, dict):
        for v in schema.values(): close_responses(v)
    elif isinstance(schema, list):
        for v in schema: close_responses(v)

def document(closed):
    schemas = {**request_schemas, **response_schemas}
    if closed: close_responses(schemas)
    return {
      "openapi": "3.1.0",
      "info": {"title": "Accolade API", "version": "1", "description": "Issue and manage digital badges (Open Badges). Authenticate with `Authorization: Bearer acc_…`. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."},
      "paths": paths,
      "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                     "responses": error_responses, "parameters": params, "schemas": schemas},
    }

def write(path, doc):
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path}")

if __name__ == "__main__":
    args = sys.argv[1:]
    closed = args[:1] == ["--closed-responses"]
    args = args[1:] if closed else args
    if len(args) > 1 or (closed and not args):
        sys.exit("usage: openapi.py [PATH]  |  openapi.py --closed-responses PATH")
    default = pathlib.Path(__file__).resolve().parents[2] / "shared/src/http/api/openapi.json"
    write(pathlib.Path(args[0]) if args else default, document(closed))
