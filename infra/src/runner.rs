//! What AWS would do that moto does not: deliver S3 notifications to ingest, DynamoDB stream
//! records to notify (through the template's filter), and due EventBridge schedules to notify.

use crate::{provision::Names, sam::StackSpec};
use accolade::{app::App, events};
use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue as SAv, ShardIteratorType};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};
use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

pub struct Runner {
    app: App,
    sdk: SdkConfig,
    spec: StackSpec,
    names: Names,
    seen_uploads: HashSet<(String, String, String)>,
    shard_iterators: HashMap<String, Option<String>>,
    fired: HashSet<String>,
    ses_seen: usize,
    /// `(schedule, minute)` of recurring schedules already fired.
    cron_fired: HashSet<(String, String)>,
}

fn cron_field(field: &str, value: u32, names: &[&str]) -> bool {
    if field == "*" || field == "?" {
        return true;
    }
    field.split(',').any(|part| {
        let n = names
            .iter()
            .position(|x| x.eq_ignore_ascii_case(part))
            .map(|i| i as u32 + 1)
            .or_else(|| part.parse().ok());
        n == Some(value)
    })
}

/// Whether a Scheduler `cron(min hour dom month dow year)` expression fires at this minute (local
/// time of the schedule's zone). Supports `*`, `?`, numbers, comma lists and day names: what
/// template.yaml uses (a unit test reads it).
pub fn cron_matches(expr: &str, at: NaiveDateTime) -> bool {
    use chrono::{Datelike, Timelike};
    let Some(inner) = expr.strip_prefix("cron(").and_then(|e| e.strip_suffix(')')) else {
        return false;
    };
    let f: Vec<&str> = inner.split_whitespace().collect();
    if f.len() != 6 {
        return false;
    }
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    cron_field(f[0], at.minute(), &[])
        && cron_field(f[1], at.hour(), &[])
        && cron_field(f[2], at.day(), &[])
        && cron_field(f[3], at.month(), &[])
        && cron_field(f[4], at.weekday().num_days_from_sunday() + 1, &DAYS)
        && cron_field(f[5], at.year() as u32, &[])
}

/// A stream attribute value as the DynamoDB JSON a Lambda receives.
pub fn av_json(v: &SAv) -> Value {
    match v {
        SAv::S(s) => json!({ "S": s }),
        SAv::N(n) => json!({ "N": n }),
        SAv::Bool(b) => json!({ "BOOL": b }),
        SAv::Null(_) => json!({ "NULL": true }),
        SAv::Ss(v) => json!({ "SS": v }),
        SAv::Ns(v) => json!({ "NS": v }),
        SAv::M(m) => json!({ "M": map_json(m) }),
        SAv::L(l) => json!({ "L": l.iter().map(av_json).collect::<Vec<_>>() }),
        SAv::B(b) => {
            use base64::Engine;
            json!({ "B": base64::engine::general_purpose::STANDARD.encode(b.as_ref()) })
        }
        _ => Value::Null,
    }
}

fn map_json(m: &HashMap<String, SAv>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), av_json(v)))
            .collect::<Map<_, _>>(),
    )
}

/// `at(2026-11-26T10:00:00)` in `zone` → the instant.
pub fn parse_at(expr: &str, zone: Option<&str>) -> Option<DateTime<Utc>> {
    let inner = expr.strip_prefix("at(")?.strip_suffix(')')?;
    let local = NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M:%S").ok()?;
    let tz: chrono_tz::Tz = zone.unwrap_or("UTC").parse().ok()?;
    use chrono::TimeZone;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

impl Runner {
    pub fn new(app: App, sdk: SdkConfig, spec: StackSpec, names: Names) -> Self {
        Self {
            app,
            sdk,
            spec,
            names,
            seen_uploads: HashSet::new(),
            shard_iterators: HashMap::new(),
            fired: HashSet::new(),
            ses_seen: 0,
            cron_fired: HashSet::new(),
        }
    }

    /// Fires the template's recurring schedules (the weekly digest) whose cron matches `now`, once
    /// per schedule and minute, as Scheduler would. Answers how many fired.
    pub async fn fire_recurring(&mut self, now: DateTime<Utc>) -> Result<usize, String> {
        let mut fired = 0;
        for r in self.spec.recurring.clone() {
            let tz: chrono_tz::Tz = r.time_zone.parse().unwrap_or(chrono_tz::UTC);
            let local = now.with_timezone(&tz).naive_local();
            let minute = local.format("%Y-%m-%dT%H:%M").to_string();
            if !cron_matches(&r.expression, local)
                || !self.cron_fired.insert((r.name.clone(), minute))
            {
                continue;
            }
            // Scheduler's context attribute, as AWS fills it in.
            let input: Value = serde_json::from_str(&r.input.to_string().replace(
                "<aws.scheduler.scheduled-time>",
                &now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ))
            .map_err(|e| e.to_string())?;
            match r.target.as_str() {
                "AnalyticsFunction" => {
                    accolade::analytics::handle_event(self.app.clone(), input)
                        .await
                        .map_err(|e| e.to_string())?;
                    fired += 1;
                }
                other => {
                    tracing::warn!(schedule = %r.name, target = %other, "no local handler for this schedule's target")
                }
            }
        }
        Ok(fired)
    }

    /// What SES would publish through the configuration set for each message the local SES
    /// accepted: a `Send` and a `Delivery` event (moto delivers everything), tagged with the
    /// award and stage our messages carry, handed to the analytics function's handler. Each
    /// message once (moto's list only grows).
    pub async fn deliver_ses_events(&mut self) -> Result<usize, String> {
        let Some(endpoint) = self.app.config.aws_endpoint_url.clone() else {
            return Ok(0);
        };
        let mut mails = crate::outbox::fetch(&endpoint).await?;
        mails.reverse(); // oldest first, as received
        let mut delivered = 0;
        for (i, m) in mails.iter().enumerate().skip(self.ses_seen) {
            let (Some(award), Some(stage)) = (
                m.parsed.header("X-Accolade-Award"),
                m.parsed.header("X-Accolade-Stage"),
            ) else {
                continue;
            };
            for kind in ["Send", "Delivery"] {
                let event = json!({
                    "version": "0",
                    "id": format!("local-ses-{i}-{kind}"),
                    "detail-type": format!("Email {kind}"),
                    "source": "aws.ses",
                    "detail": {
                        "eventType": kind,
                        "mail": {"messageId": format!("local-{i}"), "destination": m.destinations,
                                 "tags": {"award": [award], "stage": [stage]}},
                    },
                });
                accolade::email_events::record(&self.app, &event)
                    .await
                    .map_err(|e| e.to_string())?;
                delivered += 1;
            }
        }
        self.ses_seen = mails.len();
        Ok(delivered)
    }

    /// New objects under the uploads prefix → one S3 event each to ingest. Returns how many.
    pub async fn deliver_uploads(&mut self) -> Result<usize, String> {
        let s3 = accolade::aws::s3(&self.sdk);
        let mut token = None;
        let mut delivered = 0;
        loop {
            let out = s3
                .list_objects_v2()
                .bucket(&self.names.bucket)
                .prefix(&self.spec.uploads_prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
            for o in out.contents() {
                let key = o.key().unwrap_or_default().to_owned();
                let etag = o.e_tag().unwrap_or_default().to_owned();
                let modified = o.last_modified().map(|t| t.to_string()).unwrap_or_default();
                if self.seen_uploads.insert((key.clone(), etag, modified)) {
                    let size = o.size().unwrap_or(0).max(0) as u64;
                    let event = events::s3_created_event(&self.names.bucket, &key, size);
                    if let Err(e) = accolade::ingest::handle_event(self.app.clone(), event).await {
                        tracing::error!(error = %e, %key, "ingest failed");
                    }
                    delivered += 1;
                }
            }
            token = out.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(delivered)
    }

    /// Every new stream record that passes the template's filter → notify, in batches of up to
    /// 100 per shard, until the shards have nothing more (as Lambda's poller keeps reading).
    pub async fn deliver_stream(&mut self) -> Result<usize, String> {
        let mut total = 0;
        loop {
            let (delivered, read) = self.deliver_stream_page().await?;
            total += delivered;
            if read == 0 {
                return Ok(total);
            }
        }
    }

    /// One `GetRecords` page per shard: (records delivered, records read).
    async fn deliver_stream_page(&mut self) -> Result<(usize, usize), String> {
        let ddb = aws_sdk_dynamodb::Client::new(&self.sdk);
        let streams = aws_sdk_dynamodbstreams::Client::new(&self.sdk);
        let arn = ddb
            .describe_table()
            .table_name(&self.names.table)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or("the table has no stream")?;
        let desc = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())?;
        let shards: Vec<String> = desc
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.shard_id)
            .collect();
        let mut delivered = 0;
        let mut read = 0;
        for shard in shards {
            let iter = match self.shard_iterators.get(&shard) {
                Some(Some(i)) => i.clone(),
                Some(None) => continue,
                None => streams
                    .get_shard_iterator()
                    .stream_arn(&arn)
                    .shard_id(&shard)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .map_err(|e| {
                        aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string()
                    })?
                    .shard_iterator
                    .ok_or("no shard iterator")?,
            };
            let out = streams
                .get_records()
                .shard_iterator(&iter)
                .limit(100)
                .send()
                .await
                .map_err(|e| aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())?;
            self.shard_iterators
                .insert(shard.clone(), out.next_shard_iterator.clone());
            let raw_records = out.records.unwrap_or_default();
            read += raw_records.len();
            let records: Vec<Value> = raw_records
                .iter()
                .map(|r| {
                    let d = r.dynamodb.as_ref();
                    let mut dynamodb = Map::new();
                    if let Some(d) = d {
                        if let Some(k) = &d.keys {
                            dynamodb.insert("Keys".into(), map_json(k));
                        }
                        if let Some(n) = &d.new_image {
                            dynamodb.insert("NewImage".into(), map_json(n));
                        }
                        if let Some(o) = &d.old_image {
                            dynamodb.insert("OldImage".into(), map_json(o));
                        }
                        if let Some(s) = &d.sequence_number {
                            dynamodb.insert("SequenceNumber".into(), json!(s));
                        }
                    }
                    json!({
                        "eventID": r.event_id,
                        "eventName": r.event_name.as_ref().map(|e| e.as_str().to_owned()),
                        "eventSource": "aws:dynamodb",
                        "awsRegion": "us-east-1",
                        "eventSourceARN": arn,
                        "dynamodb": Value::Object(dynamodb),
                    })
                })
                .filter(|r| {
                    self.spec.stream_filters.is_empty()
                        || self
                            .spec
                            .stream_filters
                            .iter()
                            .any(|p| crate::sam::matches(p, r))
                })
                .collect();
            if records.is_empty() {
                continue;
            }
            delivered += records.len();
            let event = json!({ "Records": records });
            if let Err(e) = accolade::notify::handle_event(self.app.clone(), event).await {
                tracing::error!(error = %e, "notify failed on a stream batch");
            }
        }
        Ok((delivered, read))
    }

    /// Schedules in the group whose `at()` time has come → notify with their input. Schedules
    /// marked `ActionAfterCompletion: DELETE` are deleted after firing, as Scheduler does.
    pub async fn fire_due_schedules(&mut self, now: DateTime<Utc>) -> Result<usize, String> {
        let sched = aws_sdk_scheduler::Client::new(&self.sdk);
        let list = sched
            .list_schedules()
            .group_name(&self.names.schedule_group)
            .send()
            .await
            .map_err(|e| aws_sdk_scheduler::error::DisplayErrorContext(e).to_string())?;
        let mut fired = 0;
        for s in list.schedules() {
            let Some(name) = s.name() else { continue };
            if self.fired.contains(name) {
                continue;
            }
            let got = sched
                .get_schedule()
                .group_name(&self.names.schedule_group)
                .name(name)
                .send()
                .await
                .map_err(|e| aws_sdk_scheduler::error::DisplayErrorContext(e).to_string())?;
            let due = got
                .schedule_expression()
                .and_then(|e| parse_at(e, got.schedule_expression_timezone()))
                .is_some_and(|at| at <= now);
            if !due {
                continue;
            }
            let input: Value = got
                .target()
                .and_then(|t| t.input())
                .and_then(|i| serde_json::from_str(i).ok())
                .unwrap_or(Value::Null);
            if let Err(e) = accolade::notify::handle_event(self.app.clone(), input).await {
                tracing::error!(error = %e, schedule = name, "notify failed on a schedule");
                continue;
            }
            self.fired.insert(name.to_owned());
            fired += 1;
            if got.action_after_completion().map(|a| a.as_str()) == Some("DELETE") {
                let _ = sched
                    .delete_schedule()
                    .group_name(&self.names.schedule_group)
                    .name(name)
                    .send()
                    .await;
            }
        }
        Ok(fired)
    }

    /// Polls all three sources once a second until `stop` fires.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.deliver_uploads().await {
                tracing::warn!(error = %e, "upload polling failed");
            }
            if let Err(e) = self.deliver_stream().await {
                tracing::warn!(error = %e, "stream polling failed");
            }
            if let Err(e) = self.fire_due_schedules(Utc::now()).await {
                tracing::warn!(error = %e, "schedule polling failed");
            }
            if let Err(e) = self.deliver_ses_events().await {
                tracing::warn!(error = %e, "SES event delivery failed");
            }
            if let Err(e) = self.fire_recurring(Utc::now()).await {
                tracing::warn!(error = %e, "recurring schedule failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_expressions() {
        let at = |d, h, m| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, d)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
        };
        let e = "cron(0 * ? * SUN,MON *)";
        assert!(cron_matches(e, at(22, 23, 0))); // Sunday
        assert!(cron_matches(e, at(23, 8, 0))); // Monday
        assert!(!cron_matches(e, at(23, 8, 1)));
        assert!(!cron_matches(e, at(24, 8, 0))); // Tuesday
        assert!(cron_matches("cron(0 8 ? * 2 *)", at(23, 8, 0)));
        assert!(!cron_matches("rate(1 hour)", at(23, 8, 0)));
    }

    #[test]
    fn at_expressions() {
        let t = parse_at("at(2026-11-26T10:00:00)", Some("Asia/Seoul")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-26T01:00:00+00:00");
        assert!(parse_at("rate(5 minutes)", None).is_none());
    }
}
