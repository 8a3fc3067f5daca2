#!/usr/bin/env python3
"""Writes shared/src/http/api/openapi.json. Edit the tables here, run `make openapi`, commit both.
A Rust test checks the document lists exactly the router's routes."""
import json, pathlib

ERR = {"$ref": "#/components/responses/Error"}
def op(summary, tag, body=None, ok="200", ok_schema="Object", params=(), extra=None, desc=None):
    o = {"summary": summary, "tags": [tag], "security": [{"bearer": []}],
         "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in params],
         "responses": {ok: {"description": "OK", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok_schema}"}}}} if ok != "204" else {"description": "No content"},
                       "400": ERR, "401": ERR, "404": ERR, "413": ERR}}
    if desc: o["description"] = desc
    if body:
        o["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if extra: o["responses"].update({k: ERR for k in extra})
    return o

paths = {
  "/v1/issuer": {
    "get": op("Your issuer profile", "issuer", ok_schema="Issuer"),
    "patch": op("Update the profile (JSON merge patch; If-Match optional)", "issuer", body="IssuerPatch", ok_schema="Issuer", params=["IfMatch"], extra=["412"]),
  },
  "/v1/templates": {
    "get": op("List templates, newest first", "templates", ok_schema="TemplateList", params=["Limit", "Cursor", "TemplateStatus"]),
    "post": op("Create a template", "templates", body="TemplateSpec", ok="201", ok_schema="Template"),
  },
  "/v1/templates/{id}": {
    "get": op("One template (ETag = version)", "templates", ok_schema="Template", params=["Id"]),
    "patch": op("Update (JSON merge patch). With If-Match a stale version gets 412; without, concurrent edits are merged", "templates", body="TemplatePatch", ok_schema="Template", params=["Id", "IfMatch"], extra=["412"]),
    "delete": op("Archive: no new awards; issued awards stay verifiable", "templates", ok_schema="Template", params=["Id"]),
  },
  "/v1/templates/{id}/image": {
    "put": {**op("Upload the badge image (PNG, JPEG, WebP or SVG, at most 1 MiB) as the raw body", "templates", ok_schema="Template", params=["Id"], extra=["415"]),
            "requestBody": {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ["image/png", "image/jpeg", "image/webp", "image/svg+xml"]}}},
  },
  "/v1/templates/{id}/banner-image": {
    "put": {**op("Upload the banner's image (set banner.alt and banner.target_url first); PNG, JPEG, WebP or SVG, at most 1 MiB", "templates", ok_schema="Template", params=["Id"], extra=["409", "415"]),
            "requestBody": {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ["image/png", "image/jpeg", "image/webp", "image/svg+xml"]}}},
  },
  "/v1/api-keys": {
    "get": op("List API keys (never the secret)", "api-keys", ok_schema="ApiKeyList"),
    "post": op("Create a key; the answer shows the key once", "api-keys", body="ApiKeyCreate", ok="201", ok_schema="ApiKeyCreated"),
  },
  "/v1/api-keys/{id}": {
    "delete": op("Revoke a key; it stops working at once", "api-keys", ok="204", params=["Id"]),
  },
  "/v1/awards": {
    "get": op("List awards, newest first", "awards", ok_schema="AwardList", params=["Limit", "Cursor", "TemplateFilter", "RecipientFilter", "StatusFilter", "BatchFilter"]),
    "post": op("Issue a badge. 201 created; 200 when the Idempotency-Key or external_id was used before for the same request", "awards", body="AwardCreate", ok="201", ok_schema="Award", params=["IdempotencyKey"], extra=["409", "422"]),
  },
  "/v1/awards/{id}": {"get": op("One award", "awards", ok_schema="Award", params=["Id"])},
  "/v1/awards/{id}/revoke": {"post": op("Revoke with a reason (idempotent)", "awards", body="Revoke", ok_schema="Award", params=["Id"])},
  "/v1/awards/{id}/reissue": {"post": op("Issue a new award superseding this one", "awards", body="Reissue", ok="201", ok_schema="Award", params=["Id"], extra=["409"])},
  "/v1/batches": {
    "get": op("List CSV batches, newest first", "batches", ok_schema="BatchList", params=["Limit", "Cursor"]),
    "post": op("Create a batch: answers a presigned PUT URL for the CSV; the upload starts ingest", "batches", body="BatchCreate", ok="201", ok_schema="BatchCreated"),
  },
  "/v1/batches/template.csv": {
    "get": {**op("The sample CSV with every documented column", "batches"), "responses": {"200": {"description": "CSV (UTF-8 with BOM)", "content": {"text/csv": {"schema": {"type": "string"}}}}, "401": ERR}},
  },
  "/v1/batches/{id}": {
    "get": op("Batch status, counts, and a link to the error report", "batches", ok_schema="Batch", params=["Id"]),
  },
  "/v1/analytics": {
    "get": op("Metrics for the whole issuer (with a per-template breakdown), a template, a batch or a cohort: totals, rates (null when there is no denominator) and a day or week series in the issuer's time zone", "analytics", ok_schema="Analytics", params=["AnalyticsTemplate", "AnalyticsBatch", "AnalyticsCohort", "From", "To", "Granularity"]),
  },
  "/v1/analytics/export": {
    "get": {**op("Every award in scope with its counters, as CSV (UTF-8 with BOM), streamed, newest first, up to `limit` awards per response; a `Link: <…>; rel=\"next\"` header (and `X-Next-Cursor`) continues. from/to filter on the day each award was recorded", "analytics", params=["AnalyticsTemplate", "AnalyticsBatch", "AnalyticsCohort", "From", "To", "ExportLimit", "Cursor"]), "responses": {"200": {"description": "CSV", "headers": {"Link": {"schema": {"type": "string"}, "description": "the next page, when there is one"}}, "content": {"text/csv": {"schema": {"type": "string"}}}}, "400": ERR, "401": ERR, "404": ERR}},
  },
  "/v1/openapi.json": {"get": {"summary": "This document", "tags": ["meta"], "security": [], "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
}

S = lambda **kw: {"type": "string", **kw}
url = S(format="uri", maxLength=2048, description="http or https only")
schemas = {
  "Object": {"type": "object"},
  "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": S(), "message": S(), "field": S()}}}},
  "IssuerPatch": {"type": "object", "additionalProperties": False, "properties": {
      "name": S(maxLength=200), "url": url, "email": S(format="email"), "description": S(maxLength=5000),
      "logo_url": url, "seal_url": url, "primary_color": S(pattern="^#?[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$"),
      "accent_color": S(pattern="^#?[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$"), "default_locale": S(enum=["ko", "en"]),
      "time_zone": S(description="IANA name, e.g. Asia/Seoul"), "linkedin_organization_id": S(pattern="^[0-9]{1,20}$"),
      "mask_recipient_names": {"type": "boolean"},
      "weekly_digest": {"type": "boolean", "default": True, "description": "email last week's analytics every Monday at 08:00 in the issuer's time zone"},
      "digest_recipients": {"type": "array", "maxItems": 10, "items": S(format="email"), "description": "who gets the digest; empty = the issuer's email"}}},
  "Issuer": {"allOf": [{"$ref": "#/components/schemas/IssuerPatch"}, {"type": "object", "properties": {"id": S(), "version": {"type": "integer"}, "created_at": S(format="date-time"), "updated_at": S(format="date-time"), "urls": {"type": "object"}}}]},
  "TemplateSpec": {"type": "object", "required": ["name", "description", "criteria"], "additionalProperties": False, "properties": {
      "name": S(maxLength=200), "description": S(maxLength=5000),
      "criteria": {"type": "object", "properties": {"narrative": S(maxLength=10000), "url": url}, "description": "at least one of narrative, url"},
      "skills": {"type": "array", "maxItems": 30, "items": S(maxLength=60)},
      "image": {"type": "object", "required": ["kind"], "properties": {"kind": S(enum=["generated", "url", "uploaded"]), "url": url}},
      "validity": {"type": "object", "required": ["kind"], "properties": {"kind": S(enum=["never", "days_after_issue", "fixed_date"]), "days": {"type": "integer", "minimum": 1, "maximum": 36500}, "date": S(format="date")}},
      "reissue_policy": S(enum=["allow_multiple", "one_active_per_recipient"]),
      "related": {"type": "array", "maxItems": 10, "description": "ordered recommendations: other templates of yours", "items": {"type": "object", "required": ["template_id"], "properties": {"template_id": S(), "label": S(maxLength=60), "enabled": {"type": "boolean", "default": True}}}},
      "banner": {"type": "object", "required": ["alt", "target_url"], "properties": {"image": {"type": "object", "properties": {"kind": S(enum=["url", "uploaded"]), "url": S(format="uri", description="https only")}}, "alt": S(maxLength=200), "target_url": url, "enabled": {"type": "boolean", "default": True}}},
      "enrolment": {"type": "object", "required": ["program_url"], "properties": {"program_type": S(maxLength=60), "program_name": S(maxLength=200), "program_url": url, "period": S(maxLength=60), "enabled": {"type": "boolean", "default": True}}},
      "follow_ups": {"type": "object", "properties": {"day3": {"type": "boolean", "default": True}, "day7": {"type": "boolean", "default": True}, "subject": {"type": "object", "properties": {"ko": S(), "en": S()}}, "intro": {"type": "object", "properties": {"ko": S(), "en": S()}}, "expiry_reminder_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 365, "default": 30}}}}},
  "TemplatePatch": {"type": "object", "description": "Any subset of TemplateSpec; null removes an optional field"},
  "Template": {"allOf": [{"$ref": "#/components/schemas/TemplateSpec"}, {"type": "object", "properties": {"id": S(), "issuer_id": S(), "status": S(enum=["active", "archived"]), "version": {"type": "integer"}, "urls": {"type": "object"}}}]},
  "TemplateList": {"type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Template"}}, "next_cursor": {"type": ["string", "null"]}}},
  "ApiKeyCreate": {"type": "object", "additionalProperties": False, "properties": {"name": S(maxLength=200)}},
  "ApiKey": {"type": "object", "properties": {"id": S(), "name": S(), "hint": S(), "created_at": S(format="date-time"), "revoked_at": {"type": ["string", "null"]}, "active": {"type": "boolean"}}},
  "ApiKeyCreated": {"allOf": [{"$ref": "#/components/schemas/ApiKey"}, {"type": "object", "properties": {"key": S(description="shown once")}}]},
  "ApiKeyList": {"type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/ApiKey"}}, "next_cursor": {"type": ["string", "null"]}}},
  "AwardCreate": {"type": "object", "required": ["template_id", "recipient"], "additionalProperties": False, "properties": {
      "template_id": S(), "recipient": {"type": "object", "required": ["email", "name"], "properties": {"email": S(format="email"), "name": S(maxLength=200)}},
      "issued_on": S(description="date or date-time; a date is midnight in the issuer's time zone"), "expires_on": {"type": ["string", "null"], "description": "defaults from the template's validity; null for never"},
      "narrative": S(maxLength=10000), "evidence": {"type": "array", "maxItems": 20, "items": {"type": "object", "properties": {"url": url, "narrative": S()}}},
      "external_id": S(maxLength=200), "locale": S(enum=["ko", "en"]), "notify": {"type": "boolean", "default": True}, "cohort": S(maxLength=100)}},
  "Award": {"type": "object", "properties": {"id": S(), "template_id": S(), "issuer_id": S(), "recipient": {"type": "object"}, "issued_on": S(format="date-time"), "expires_on": {"type": ["string", "null"]}, "status": S(enum=["valid", "expired", "revoked", "superseded"]), "revocation": {"type": ["object", "null"]}, "superseded_by": {"type": ["string", "null"]}, "urls": {"type": "object", "properties": {"page": url, "open_badges_assertion": url, "qr_svg": url, "qr_png": url, "linkedin_add_to_profile": url}}}},
  "AwardList": {"type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Award"}}, "next_cursor": {"type": ["string", "null"]}}},
  "BatchCreate": {"type": "object", "required": ["filename"], "additionalProperties": False, "properties": {
      "filename": S(maxLength=200, description=".csv"), "template_id": S(description="for rows without a template_id column"),
      "notify": {"type": "boolean", "default": True}, "mode": S(enum=["skip_invalid", "all_or_nothing"], default="skip_invalid")}},
  "Batch": {"type": "object", "properties": {"id": S(), "status": S(enum=["awaiting_upload", "validating", "issuing", "completed", "failed"]), "failure_reason": {"type": ["string", "null"]},
      "counts": {"type": "object", "properties": {k: {"type": "integer"} for k in ["rows", "valid", "issued", "skipped_duplicate", "invalid"]}},
      "warnings": {"type": "array", "items": S()}, "error_report_url": {"type": ["string", "null"]}}},
  "BatchCreated": {"allOf": [{"$ref": "#/components/schemas/Batch"}, {"type": "object", "properties": {"batch_id": S(), "upload_url": url, "upload_method": S(enum=["PUT"]), "expires_at": S(format="date-time")}}]},
  "BatchList": {"type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Batch"}}, "next_cursor": {"type": ["string", "null"]}}},
  "Metrics": {"type": "object", "description": "definitions in the README's Analytics section", "properties": {
      **{k: {"type": "integer"} for k in ["issued", "revoked", "expired", "awards_shared", "shares", "linkedin_add_to_profile", "views", "previews", "awards_viewed", "follow_up_conversions"]},
      **{k: {"type": ["number", "null"], "minimum": 0} for k in ["delivery_rate", "share_rate", "click_through_rate"]},
      "emails": {"type": "object", "description": "per stage (day1, day3, day7, expiry): sent, delivered, bounced, complained, opened, clicked, rejected"},
      "shares_by_network": {"type": "object"}, "clicks": {"type": "object"}, "conversions_by_stage": {"type": "object"}}},
  "Analytics": {"type": "object", "properties": {"scope": {"type": "object"}, "from": S(format="date"), "to": S(format="date"), "time_zone": S(), "granularity": S(enum=["day", "week"]),
      "totals": {"$ref": "#/components/schemas/Metrics"},
      "series": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Metrics"}, {"type": "object", "properties": {"start": S(format="date"), "end": S(format="date")}}]}},
      "templates": {"type": "array", "description": "issuer scope only", "items": {"allOf": [{"$ref": "#/components/schemas/Metrics"}, {"type": "object", "properties": {"template_id": S(), "name": S()}}]}}}},
  "Revoke": {"type": "object", "required": ["reason"], "additionalProperties": False, "properties": {"reason": S(maxLength=500)}},
  "Reissue": {"type": "object", "additionalProperties": False, "properties": {"expires_on": {"type": ["string", "null"]}}},
}
q = lambda name, desc, **kw: {"name": name, "in": "query", "required": False, "description": desc, "schema": S(**kw)}
params = {
  "Id": {"name": "id", "in": "path", "required": True, "schema": S()},
  "IfMatch": {"name": "If-Match", "in": "header", "required": False, "description": "the ETag of the version you edited", "schema": S()},
  "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": False, "description": "same key, same award", "schema": S(maxLength=255)},
  "Limit": {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
  "Cursor": q("cursor", "next_cursor from the previous page"),
  "TemplateStatus": q("status", "filter", enum=["active", "archived", "all"]),
  "TemplateFilter": q("template", "template id"),
  "RecipientFilter": q("recipient", "recipient email"),
  "StatusFilter": q("status", "filter", enum=["valid", "expired", "revoked", "superseded"]),
  "BatchFilter": q("batch", "batch id"),
  "AnalyticsTemplate": q("template", "one template (give at most one of template, batch, cohort)"),
  "AnalyticsBatch": q("batch", "one CSV batch"),
  "AnalyticsCohort": q("cohort", "the cohort label given when issuing", maxLength=100),
  "From": q("from", "first day, YYYY-MM-DD in the issuer's time zone (default: 4 weeks, or 12 weeks by week, before `to`)", format="date"),
  "To": q("to", "last day, inclusive (default: today)", format="date"),
  "ExportLimit": {"name": "limit", "in": "query", "required": False, "description": "awards read per response (fewer rows when cohort/from/to filter some out)", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10000}},
  "Granularity": q("granularity", "series periods; weeks run Monday to Sunday", enum=["day", "week"], default="day"),
}
doc = {
  "openapi": "3.1.0",
  "info": {"title": "Accolade API", "version": "1", "description": "Issue and manage digital badges (Open Badges). Authenticate with `Authorization: Bearer acc_…`. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."},
  "paths": paths,
  "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                 "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
                 "parameters": params, "schemas": schemas},
}
out = pathlib.Path(__file__).resolve().parents[2] / "shared/src/http/api/openapi.json"
out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {out}")
