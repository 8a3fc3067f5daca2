//! The weekly digest: every Monday at 08:00 in each issuer's time zone, last week's numbers
//! against the week before, with the best and worst templates by share rate and click-through.
//!
//! One Scheduler cron schedule (template.yaml) invokes the analytics function hourly from Sunday
//! to Tuesday (UTC), which covers every zone's Monday 08:00 to Tuesday 08:00. Each run sends only
//! to issuers whose local time is in that window, after claiming `ISSUER#{iid}#DIGEST`/`{monday}` with a
//! conditional write, so a repeated or overlapping invocation sends nothing twice. A later run takes over a claim whose
//! run died; each admin's copy is claimed for good before it is sent, so the run that takes
//! over sends only the copies the dead one had not (at most once per admin). A copy SES refuses
//! for now (throttled, the account's sending paused) is given back and the week left unfinished,
//! so the next hourly run (until Tuesday 08:00 in the issuer's zone) sends it. One issuer whose
//! digest fails does not hold back the others: they are sent, then the run fails for a retry. Issuers switch it
//! off with `weekly_digest: false`.

use crate::{
    analytics::{self, Scope},
    app::App,
    domain::{
        email::Email,
        issuer::Issuer,
        locale::Locale,
        metrics::{week_start, Granularity, Metrics},
        template::Template,
    },
    email::mime,
    events::BoxError,
    mailer::SendError,
    store::StoreError,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};
use maud::{html, Markup, PreEscaped};
use serde_json::Value;

/// The local hour the digest goes out on Mondays.
pub const SEND_HOUR: u32 = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        issuer: String,
        recipients: usize,
    },
    AlreadySent {
        issuer: String,
    },
    Off {
        issuer: String,
    },
    /// Nothing happened in either week: no email (an inactive programme gets no noise).
    Quiet {
        issuer: String,
    },
    /// SES took some copies but not all (throttled, or the account's sending paused): the week
    /// stays claimed until its claim lapses, and the next hourly run sends the rest.
    Unfinished {
        issuer: String,
        recipients: usize,
    },
    /// Not started: the run was out of time (the function's 29 s, shared with the API). The next
    /// hourly run sends it.
    Later {
        issuer: String,
    },
}

fn anything(m: &Metrics) -> bool {
    m.issued > 0
        || m.revoked > 0
        || m.views > 0
        || m.shares > 0
        || m.page_clicks > 0
        || m.email_clicks > 0
        || m.emails
            .iter()
            .any(|s| s.events.iter().any(|(_, n)| *n > 0))
}

/// Runs the digest for every issuer due at `now` (all issuers when `force`, e.g. the operator
/// re-sending after an outage; the per-week claim still prevents a second copy). No issuer is
/// started after `until` (the invocation's deadline less a margin): a copy claimed and then cut
/// off by the timeout would be lost for the week, where one not started is the next run's.
pub async fn run(
    app: &App,
    now: DateTime<Utc>,
    force: bool,
    until: Option<DateTime<Utc>>,
) -> Result<Vec<Outcome>, StoreError> {
    let mut out = Vec::new();
    let mut failed = None;
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = app.store.list_issuers(200, cursor.as_deref()).await?;
        for issuer in page {
            if !(force || due_at(&issuer, now)) {
                continue;
            }
            if until.is_some_and(|u| Utc::now() >= u) {
                out.push(Outcome::Later {
                    issuer: issuer.id.to_string(),
                });
            } else {
                // One issuer's failure (a read that keeps failing) must not cost the issuers
                // after it their week: the others go on, and the run then fails, so that Lambda's
                // retries and the next hourly run try that issuer again (the claims skip the rest).
                match send_one(app, &issuer, now).await {
                    Ok(o) => out.push(o),
                    Err(e) => {
                        tracing::error!(issuer = %issuer.id, error = %e, "weekly digest failed for one issuer; the others go on");
                        failed.get_or_insert(e);
                    }
                }
            }
        }
        match (next, failed) {
            (Some(c), f) => {
                cursor = Some(c);
                failed = f;
            }
            (None, Some(e)) => return Err(e),
            (None, None) => {
                let later = out
                    .iter()
                    .filter(|o| matches!(o, Outcome::Later { .. }))
                    .count();
                if later > 0 {
                    // The next hourly run takes them (until Tuesday 08:00 local); logged so
                    // that a deployment whose issuers outgrow a run's time is seen.
                    tracing::warn!(
                        later,
                        "weekly digests left for the next hourly run: out of time"
                    );
                }
                return Ok(out);
            }
        }
    }
}

/// Whether the issuer's digest is due at `now`, in its time zone. From 08:00 on Monday: the
/// hourly runs after the first pick up a digest whose run timed out or failed (the per-week
/// claim keeps it to one copy). Through Tuesday 07:xx: a week left unfinished by Monday's last
/// run (out of time, SES refusing) is still sent, in every zone (the schedule runs Sunday to
/// Tuesday UTC).
fn due_at(issuer: &Issuer, now: DateTime<Utc>) -> bool {
    let local = now.with_timezone(&issuer.profile.time_zone.0);
    match local.weekday() {
        Weekday::Mon => local.hour() >= SEND_HOUR,
        Weekday::Tue => local.hour() < SEND_HOUR,
        _ => false,
    }
}

/// Last full week (Monday–Sunday before `now`'s week) in the issuer's zone.
pub fn last_week(issuer: &Issuer, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let this_monday = week_start(issuer.profile.time_zone.date_of(now));
    (
        this_monday - Duration::days(7),
        this_monday - Duration::days(1),
    )
}

async fn send_one(app: &App, issuer: &Issuer, now: DateTime<Utc>) -> Result<Outcome, StoreError> {
    let id = issuer.id.to_string();
    let to = issuer.profile.digest_to();
    if to.is_empty() {
        return Ok(Outcome::Off { issuer: id });
    }
    let Some(sender) = app.config.sender_email.clone() else {
        tracing::warn!(issuer = %id, "weekly digest not sent: no SENDER_EMAIL");
        return Ok(Outcome::Off { issuer: id });
    };
    let (from, to_day) = last_week(issuer, now);
    let claim_until = Utc::now() + Duration::minutes(15);
    if !app
        .store
        .claim_digest(&issuer.id, from, claim_until, Utc::now())
        .await?
    {
        return Ok(Outcome::AlreadySent { issuer: id });
    }
    let (week, before) = two_weeks(app, issuer, from, to_day, now).await?;
    if !anything(&week.totals) && !anything(&before.totals) {
        app.store
            .finish_digest(&issuer.id, from, "quiet", Utc::now())
            .await?;
        return Ok(Outcome::Quiet { issuer: id });
    }
    let digest = Digest {
        issuer,
        from,
        to: to_day,
        week: &week.totals,
        before: &before.totals,
        templates: &week.templates,
        console_url: format!(
            "{}/console",
            app.config.public_base_url.trim_end_matches('/')
        ),
    };
    let (sent, later) = send_to_admins(app, &digest, &sender, &to, now).await;
    if later {
        tracing::warn!(issuer = %id, recipients = sent, week = %from, "weekly digest unfinished: the next run sends the rest");
        return Ok(Outcome::Unfinished {
            issuer: id,
            recipients: sent,
        });
    }
    app.store
        .finish_digest(&issuer.id, from, "sent", Utc::now())
        .await?;
    tracing::info!(issuer = %id, recipients = sent, week = %from, "weekly digest sent");
    Ok(Outcome::Sent {
        issuer: id,
        recipients: sent,
    })
}

/// The issuer's report of the week `from`–`to` and of the week before it.
async fn two_weeks(
    app: &App,
    issuer: &Issuer,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(analytics::Report, analytics::Report), StoreError> {
    let today = issuer.profile.time_zone.date_of(now);
    let week = |from, to| {
        analytics::report(
            &app.store,
            issuer,
            &Scope::Issuer,
            from,
            to,
            Granularity::Week,
            today,
        )
    };
    let this = week(from, to).await?;
    let before = week(from - Duration::days(7), from - Duration::days(1)).await?;
    Ok((this, before))
}

/// Sends the digest to each admin address; answers how many SES accepted, and whether some are
/// left for a later run: a copy SES refused for now (throttled, the account's sending paused)
/// is given back. A copy SES rejected, or whose outcome is unknown, is not sent again.
async fn send_to_admins(
    app: &App,
    digest: &Digest<'_>,
    sender: &str,
    to: &[Email],
    now: DateTime<Utc>,
) -> (usize, bool) {
    let rendered = render(digest);
    let (mut sent, mut later) = (0, false);
    for rcpt in to {
        if !may_send(app, digest, rcpt).await {
            continue;
        }
        let raw = message(app, digest, &rendered, sender, rcpt, now);
        let issuer = &digest.issuer.id;
        match app
            .mailer
            .send_raw(sender, rcpt.as_str(), raw, &[("kind", "digest")])
            .await
        {
            Ok(_) => sent += 1,
            Err(e @ (SendError::Throttled(_) | SendError::Other(_) | SendError::Paused(_))) => {
                tracing::warn!(issuer = %issuer, error = %e, "digest copy not taken; a later run sends it");
                let back = app
                    .store
                    .release_digest_copy(issuer, digest.from, &rcpt.lookup_key())
                    .await;
                // A copy not given back stays claimed: that admin misses this week's (at most once).
                later |= back.is_ok();
            }
            Err(e) => {
                tracing::warn!(issuer = %issuer, error = %e, "digest not delivered to one admin");
            }
        }
    }
    (sent, later)
}

/// One admin's copy of the digest (`rendered`: subject, text, HTML).
fn message(
    app: &App,
    digest: &Digest<'_>,
    rendered: &(String, String, String),
    sender: &str,
    rcpt: &Email,
    now: DateTime<Utc>,
) -> Vec<u8> {
    let (subject, text, html) = rendered;
    // Where an admin can switch the digest off (their issuer's settings); there is no one-click
    // opt-out for one admin alone, so no `List-Unsubscribe-Post`.
    let settings = format!(
        "<{}/console/settings>",
        app.config.public_base_url.trim_end_matches('/')
    );
    mime::build(
        &mime::Message {
            from_name: "Accolade",
            from_address: sender,
            to: rcpt.as_str(),
            subject,
            text,
            html,
            headers: vec![
                ("X-Accolade-Digest", digest.from.to_string()),
                ("List-Unsubscribe", settings),
            ],
            message_id_domain: sender.rsplit('@').next().unwrap_or("accolade.invalid"),
        },
        now,
    )
}

/// Whether this admin is to get the digest now: not suppressed (an address that bounced hard or
/// complained gets no more mail from us, digests included), and its copy claimed by this run (a
/// run that died after sending it, or a repeated run, sends it no second time).
async fn may_send(app: &App, digest: &Digest<'_>, rcpt: &Email) -> bool {
    let lookup = rcpt.lookup_key();
    let claimed = match app.store.is_suppressed(&lookup).await {
        Ok(false) => {
            app.store
                .claim_digest_copy(&digest.issuer.id, digest.from, &lookup, Utc::now())
                .await
        }
        Ok(true) => return false,
        Err(e) => Err(e),
    };
    claimed.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "digest: suppression list or claim unreadable; not sending");
        false
    })
}

pub struct Digest<'a> {
    pub issuer: &'a Issuer,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub week: &'a Metrics,
    pub before: &'a Metrics,
    pub templates: &'a [(Template, Metrics)],
    pub console_url: String,
}

fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn change(now: i64, before: i64) -> String {
    match now - before {
        0 => "±0".into(),
        d if d > 0 => format!("+{d}"),
        d => d.to_string(),
    }
}

/// A change in percentage points: `pp` in English, `%p` as Korean writes it.
fn change_rate(l: Locale, now: Option<f64>, before: Option<f64>) -> String {
    let unit = l.t("%p", "pp");
    match (now, before) {
        (Some(a), Some(b)) => {
            let d = (a - b) * 100.0;
            if d.abs() < 0.05 {
                format!("±0.0{unit}")
            } else {
                format!("{d:+.1}{unit}")
            }
        }
        _ => "–".into(),
    }
}

/// A template's name and its rate.
pub type Rated<'a> = Option<(&'a str, f64)>;

/// A template is ranked by a rate only over at least this many of its denominator (badges
/// issued for the share rate, views for the click-through): one badge shared is not "the best
/// share rate, 100 %".
pub const RANKED_FROM: i64 = 10;

/// Best and worst template by a rate, among templates with at least [`RANKED_FROM`] of the
/// rate's `base` (its denominator); the worst is only named when it differs from the best.
pub fn best_and_worst(
    templates: &[(Template, Metrics)],
    rate: impl Fn(&Metrics) -> Option<f64>,
    base: impl Fn(&Metrics) -> i64,
) -> (Rated<'_>, Rated<'_>) {
    let mut rated: Vec<(&str, f64)> = templates
        .iter()
        .filter(|(_, m)| base(m) >= RANKED_FROM)
        .filter_map(|(t, m)| rate(m).map(|r| (t.spec.name.as_str(), r)))
        .collect();
    rated.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let best = rated.first().copied();
    let worst = if rated.len() > 1 {
        rated.last().copied()
    } else {
        None
    };
    (best, worst)
}

/// A label, this week's value, and its change since the week before.
type Row = (&'static str, String, String);

/// A count this week, and its change.
fn count_row(label: &'static str, now: i64, before: i64) -> Row {
    (label, now.to_string(), change(now, before))
}

/// A rate this week, and its change in percentage points.
fn rate_row(l: Locale, label: &'static str, now: Option<f64>, before: Option<f64>) -> Row {
    (label, pct(now), change_rate(l, now, before))
}

/// The week's numbers against the week before.
fn rows(l: Locale, w: &Metrics, b: &Metrics) -> Vec<Row> {
    vec![
        count_row(l.t("발급", "Issued"), w.issued, b.issued),
        rate_row(
            l,
            l.t("이메일 전달률", "Delivery rate"),
            w.delivery_rate,
            b.delivery_rate,
        ),
        rate_row(l, l.t("공유율", "Share rate"), w.share_rate, b.share_rate),
        count_row(l.t("검증 조회수", "Verification views"), w.views, b.views),
        rate_row(
            l,
            l.t("클릭률(CTR)", "Click-through rate"),
            w.click_through_rate,
            b.click_through_rate,
        ),
        count_row(
            l.t("후속 메시지 전환", "Follow-up conversions"),
            w.follow_up_conversions,
            b.follow_up_conversions,
        ),
        count_row(l.t("취소", "Revoked"), w.revoked, b.revoked),
    ]
}

/// The best and worst templates by share rate and click-through, as `(label, "name (rate)")`.
fn highlights(l: Locale, templates: &[(Template, Metrics)]) -> Vec<(&'static str, String)> {
    let (share_best, share_worst) = best_and_worst(templates, |m| m.share_rate, |m| m.issued);
    let (ctr_best, ctr_worst) = best_and_worst(templates, |m| m.click_through_rate, |m| m.views);
    [
        (l.t("공유율 최고", "Best share rate"), share_best),
        (l.t("공유율 최저", "Lowest share rate"), share_worst),
        (l.t("클릭률 최고", "Best click-through"), ctr_best),
        (l.t("클릭률 최저", "Lowest click-through"), ctr_worst),
    ]
    .into_iter()
    .filter_map(|(label, v)| v.map(|(name, r)| (label, format!("{name} ({})", pct(Some(r))))))
    .collect()
}

fn compared(l: Locale) -> &'static str {
    l.t("지난주 대비", "vs week before")
}

fn switch_off(l: Locale) -> &'static str {
    l.t(
        "이 메일을 그만 받으려면 콘솔의 설정에서 주간 리포트를 끄세요.",
        "To stop these emails, switch the weekly digest off in the console's settings.",
    )
}

/// Subject, plain text and HTML.
pub fn render(d: &Digest<'_>) -> (String, String, String) {
    let l = d.issuer.profile.default_locale;
    let range = l.t(
        format!(
            "{}월 {}일–{}월 {}일",
            d.from.month(),
            d.from.day(),
            d.to.month(),
            d.to.day()
        ),
        format!("{} – {}", d.from.format("%-d %b"), d.to.format("%-d %b %Y")),
    );
    let subject = l.t(
        format!("[{}] 주간 배지 리포트 ({range})", d.issuer.profile.name),
        format!("[{}] Weekly badge report ({range})", d.issuer.profile.name),
    );
    let rows = rows(l, d.week, d.before);
    let highlights = highlights(l, d.templates);
    let (vs, off) = (compared(l), switch_off(l));
    let mut text = format!("{subject}\n\n");
    for (label, value, delta) in &rows {
        text.push_str(&format!("{label}: {value} ({vs} {delta})\n"));
    }
    if !highlights.is_empty() {
        text.push('\n');
        for (label, value) in &highlights {
            text.push_str(&format!("{label}: {value}\n"));
        }
    }
    text.push_str(&format!("\n{}\n{off}\n", d.console_url));
    let page = html_part(d, &subject, &rows, &highlights);
    (subject, text, page.into_string())
}

fn html_part(d: &Digest<'_>, subject: &str, rows: &[Row], highlights: &[(&str, String)]) -> Markup {
    let l = d.issuer.profile.default_locale;
    let (vs, off) = (compared(l), switch_off(l));
    let color = d.issuer.profile.primary_color.as_str();
    html! {
        (PreEscaped("<!DOCTYPE html>"))
        html lang=(l.as_str()) {
            head { meta charset="utf-8"; title { (subject) } }
            body style="font-family:system-ui,-apple-system,'Noto Sans KR',sans-serif;color:#1b1b1b;max-width:560px;margin:0 auto;padding:16px" {
                h1 style=(format!("font-size:20px;color:{color}")) { (subject) }
                table style="border-collapse:collapse;width:100%" role="presentation" {
                    @for (label, value, delta) in rows {
                        tr {
                            th scope="row" style="text-align:left;padding:6px 8px;border-bottom:1px solid #ddd;font-weight:600" { (label) }
                            td style="text-align:right;padding:6px 8px;border-bottom:1px solid #ddd" { strong { (value) } }
                            td style="text-align:right;padding:6px 8px;border-bottom:1px solid #ddd;color:#555" { (vs) " " (delta) }
                        }
                    }
                }
                @if !highlights.is_empty() {
                    ul style="padding-left:20px" {
                        @for (label, value) in highlights { li { (label) ": " (value) } }
                    }
                }
                p { a href=(d.console_url) style=(format!("color:{color}")) { (l.t("콘솔에서 자세히 보기", "Open the console")) } }
                p style="font-size:12px;color:#555" { (off) }
            }
        }
    }
}

/// Whether an analytics-function event is the weekly digest schedule's
/// (`{"kind":"weekly_digest", "scheduled_time"?: RFC 3339, "force"?: true}`).
pub fn is_digest_event(event: &Value) -> bool {
    event.get("kind").and_then(Value::as_str) == Some("weekly_digest")
}

/// The weekly digest schedule's event: every issuer due at the scheduled hour.
pub async fn handle_event(
    app: &App,
    event: &Value,
    until: Option<DateTime<Utc>>,
) -> Result<Value, BoxError> {
    let force = event.get("force").and_then(Value::as_bool) == Some(true);
    // Scheduler fills in `<aws.scheduler.scheduled-time>`: the hour the run is for, even when
    // the flexible window starts it a few minutes later.
    let at = event
        .get("scheduled_time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    let outcomes = run(app, at, force, until).await?;
    Ok(serde_json::json!({ "digests": format!("{outcomes:?}") }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{email::Email, ids::IssuerId, issuer::IssuerProfile, url::WebUrl};

    #[test]
    fn last_week_is_monday_to_sunday_in_the_issuers_zone() {
        let mut p = IssuerProfile::new(
            "U".into(),
            WebUrl::parse("https://u.example").unwrap(),
            Email::parse("a@u.example").unwrap(),
        );
        p.time_zone = crate::domain::time::Zone::parse("Asia/Seoul").unwrap();
        let i = Issuer {
            id: IssuerId::generate(),
            profile: p,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        // Sunday 2026-11-22 23:30 UTC is Monday 08:30 in Seoul.
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 22, 23, 30, 0).unwrap();
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(last_week(&i, now), (d(11, 16), d(11, 22)));
    }

    #[test]
    fn changes_and_rates_read_well() {
        assert_eq!(change(5, 3), "+2");
        assert_eq!(change(3, 5), "-2");
        assert_eq!(change(3, 3), "±0");
        assert_eq!(pct(None), "–");
        assert_eq!(change_rate(Locale::En, Some(0.5), None), "–");
        assert_eq!(change_rate(Locale::En, Some(0.5), Some(0.25)), "+25.0pp");
        assert_eq!(change_rate(Locale::Ko, Some(0.25), Some(0.5)), "-25.0%p");
    }
}

#[cfg(test)]
mod ranking_tests {
    use super::*;
    use crate::domain::{ids::IssuerId, json::Obj, metrics::Counts, template::TemplateSpec};
    use serde_json::json;

    fn template(name: &str, issued: i64, shared: i64) -> (Template, Metrics) {
        let doc = json!({"name": name, "description": "d", "criteria": {"narrative": "n"}});
        let spec = TemplateSpec::parse(&Obj::root(doc.as_object().unwrap()), None).unwrap();
        let t = Template::new(IssuerId::generate(), spec, Utc::now());
        let counts = Counts(
            [("issued".into(), issued), ("awards_shared".into(), shared)]
                .into_iter()
                .collect(),
        );
        (t, Metrics::from_counts(&counts))
    }

    #[test]
    fn templates_with_too_few_badges_are_not_ranked() {
        let templates = vec![
            template("한 장", 1, 1),
            template("잘 나가는", 10, 5),
            template("조용한", 12, 0),
        ];
        let (best, worst) = best_and_worst(&templates, |m| m.share_rate, |m| m.issued);
        assert_eq!(best, Some(("잘 나가는", 0.5)));
        assert_eq!(worst, Some(("조용한", 0.0)));
        let few = vec![template("한 장", 1, 1), template("두 장", 2, 0)];
        let (best, worst) = best_and_worst(&few, |m| m.share_rate, |m| m.issued);
        assert_eq!((best, worst), (None, None));
    }
}
