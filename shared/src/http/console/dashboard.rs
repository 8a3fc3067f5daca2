//! The dashboard: the last 4–52 weeks (8 by default; weeks in the issuer's time zone) — totals,
//! small inline SVG charts per week, the top templates — the same numbers as `/v1/analytics`,
//! from one issuer report.

use super::{
    page::{failed, respond},
    session::Session,
    ui,
};
use crate::{
    analytics::{self, Report, Scope},
    app::App,
    domain::{
        locale::Locale,
        metrics::{week_start, Granularity, Metrics},
    },
};
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::{Duration, NaiveDate, Utc};
use maud::{html, Markup};
use std::collections::HashMap;

/// The periods the dashboard offers, in weeks.
const WEEKS: [i64; 5] = [4, 8, 12, 26, 52];

pub async fn page(
    State(app): State<App>,
    s: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let l = s.lang;
    let zone = s.issuer.profile.time_zone;
    let today = zone.date_of(Utc::now());
    let weeks = q
        .get("weeks")
        .and_then(|w| w.parse::<i64>().ok())
        .filter(|w| WEEKS.contains(w))
        .unwrap_or(8);
    let from = week_start(today) - Duration::weeks(weeks - 1);
    let rep = match analytics::report(
        &app.store,
        &s.issuer,
        &Scope::Issuer,
        from,
        today,
        Granularity::Week,
        today,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let body = page_body(&s, weeks, from, today, &rep);
    respond(
        &app,
        StatusCode::OK,
        ui::page(&s, "/console", l.t("대시보드", "Dashboard"), body),
    )
}

fn page_body(s: &Session, weeks: i64, from: NaiveDate, today: NaiveDate, rep: &Report) -> Markup {
    let l = s.lang;
    let zone = s.issuer.profile.time_zone;
    html! {
        (period_form(l, weeks))
        p class="muted" { (from) " – " (today) " (" (zone.name()) ")" }
        (totals(l, &rep.totals))
        h2 { (l.t("주별 추이", "Week by week")) }
        (weekly_charts(l, rep))
        h2 { (l.t("상위 템플릿", "Top templates")) }
        (top_templates(l, rep))
        p {
            a class="btn" href="/console/export.csv" download { (l.t("배지별 지표 CSV로 내보내기", "Export badges with their numbers (CSV)")) }
            " " span class="muted" { (l.t("최근 발급된 10,000개까지. 전체는 API(/v1/analytics/export)로 페이지별로 받습니다.", "The newest 10,000; the API (/v1/analytics/export) pages through all of them.")) }
        }
    }
}

fn period_form(l: Locale, weeks: i64) -> Markup {
    let period: Vec<(String, String)> = WEEKS
        .iter()
        .map(|w| (w.to_string(), format!("{w} {}", l.t("주", "weeks"))))
        .collect();
    html! {
        form method="get" action="/console" class="search" {
            (ui::select("weeks", l.t("기간", "Period"), &weeks.to_string(), &period, None))
            button class="btn" type="submit" { (l.t("보기", "Show")) }
        }
    }
}

fn totals(l: Locale, m: &Metrics) -> Markup {
    html! {
        div class="grid" {
            div class="kpi" { span class="n" { (m.issued) } span class="l" { (l.t("발급", "Issued")) } }
            div class="kpi" { span class="n" { (ui::pct(m.delivery_rate)) } span class="l" { (l.t("이메일 전달률", "Delivery rate")) } }
            div class="kpi" { span class="n" { (ui::pct(m.kakao_delivery_rate)) } span class="l" { (l.t("카카오톡 전달률", "KakaoTalk delivery")) } }
            div class="kpi" { span class="n" { (ui::pct(m.share_rate)) } span class="l" { (l.t("공유율", "Share rate")) } }
            div class="kpi" { span class="n" { (m.views) } span class="l" { (l.t("검증 조회", "Verification views")) } }
            div class="kpi" { span class="n" { (ui::pct(m.click_through_rate)) } span class="l" { (l.t("클릭률(CTR)", "Click-through rate")) } }
            div class="kpi" { span class="n" { (m.follow_up_conversions) } span class="l" { (l.t("후속 메시지 전환", "Follow-up conversions")) } }
        }
    }
}

fn weekly_charts(l: Locale, rep: &Report) -> Markup {
    let labels: Vec<String> = rep
        .series
        .iter()
        .map(|p| p.start.format("%m/%d").to_string())
        .collect();
    let series = |f: &dyn Fn(&Metrics) -> Option<f64>| -> Vec<Option<f64>> {
        rep.series.iter().map(|p| f(&p.metrics)).collect()
    };
    let count = |v: f64| format!("{v:.0}");
    let pct = |v: f64| format!("{:.1}%", v * 100.0);
    html! {
        div class="grid" {
            (ui::bars(l.t("발급", "Issued"), &series(&|m| Some(m.issued as f64)), &labels, &count))
            (ui::bars(l.t("이메일 전달률", "Delivery rate"), &series(&|m| m.delivery_rate), &labels, &pct))
            (ui::bars(l.t("공유율", "Share rate"), &series(&|m| m.share_rate), &labels, &pct))
            (ui::bars(l.t("검증 조회", "Views"), &series(&|m| Some(m.views as f64)), &labels, &count))
            (ui::bars(l.t("클릭률", "Click-through"), &series(&|m| m.click_through_rate), &labels, &pct))
        }
    }
}

/// The five templates with the most awards in the period.
fn top_templates(l: Locale, rep: &Report) -> Markup {
    html! {
        @if rep.templates.is_empty() {
            p { (l.t("아직 활동이 없습니다. ", "No activity yet. ")) a href="/console/templates/new" { (l.t("템플릿 만들기", "Create a template")) } }
        } @else {
            div class="table-wrap" {
                table {
                    (ui::thead(l.t("상위 템플릿", "Top templates"), &[l.t("템플릿", "Template"), l.t("발급", "Issued"), l.t("전달률", "Delivery"), l.t("공유율", "Share rate"), l.t("조회", "Views"), l.t("클릭률", "CTR")]))
                    tbody {
                        @for (tpl, tm) in rep.templates.iter().take(5) {
                            tr {
                                th scope="row" { a href={"/console/templates/" (tpl.id)} { (tpl.spec.name) } }
                                td { (tm.issued) }
                                td { (ui::pct(tm.delivery_rate)) }
                                td { (ui::pct(tm.share_rate)) }
                                td { (tm.views) }
                                td { (ui::pct(tm.click_through_rate)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
