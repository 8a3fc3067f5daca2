//! What AWS would do that moto does not: deliver S3 notifications to ingest, DynamoDB stream
//! records to notify (through the template's filter), due EventBridge schedules to their
//! targets, SES events to analytics and SQS messages to the function their queue triggers —
//! each in AWS's own event shape, through the local
//! Lambda service (so through the functions' real entry points, as their principals, under
//! Lambda's retry rules). The runner itself acts as those AWS services: it reads with the
//! emulator's administrator credentials.

use crate::{lambda::LocalLambda, sam::StackSpec};
use accolade::entry::FunctionName;
use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue as SAv, ShardIteratorType};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};
use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

pub struct Runner {
    lambda: LocalLambda,
    admin: SdkConfig,
    seen_uploads: HashSet<(String, String, String)>,
    shard_iterators: HashMap<String, Option<String>>,
    fired: HashSet<String>,
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
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let Some(inner) = expr.strip_prefix("cron(").and_then(|e| e.strip_suffix(')')) else {
        return false;
    };
    let f: Vec<&str> = inner.split_whitespace().collect();
    if f.len() != 6 {
        return false;
    }
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
    chrono::TimeZone::from_local_datetime(&tz, &local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// An S3 `ObjectCreated:Put` notification as S3 sends it to Lambda (event version 2.1; the key
/// URL-encoded the way S3 encodes it: `+` for a space, `%XX` for other bytes, `/` as is).
pub fn s3_event(bucket: &str, key: &str, size: u64, etag: &str) -> Value {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'*')
        .remove(b'/')
        .remove(b' ');
    let key = percent_encoding::utf8_percent_encode(key, KEEP)
        .to_string()
        .replace(' ', "+");
    json!({ "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": crate::iam::REGION,
        "eventTime": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:AIDALOCALUSER" },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL" },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "ingest",
            "bucket": { "name": bucket, "ownerIdentity": { "principalId": "LOCAL" }, "arn": format!("arn:aws:s3:::{bucket}") },
            "object": { "key": key, "size": size, "eTag": etag.trim_matches('"'), "sequencer": format!("{:016X}", Utc::now().timestamp_micros()) }
        }
    }]})
}

/// A stream record as Lambda's event source mapping delivers it.
pub(crate) fn stream_record(r: &aws_sdk_dynamodbstreams::types::Record, arn: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(d) = r.dynamodb.as_ref() {
        if let Some(t) = d.approximate_creation_date_time {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
        }
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
        if let Some(b) = d.size_bytes {
            dynamodb.insert("SizeBytes".into(), json!(b));
        }
        if let Some(v) = &d.stream_view_type {
            dynamodb.insert("StreamViewType".into(), json!(v.as_str()));
        }
    }
    json!({
        "eventID": r.event_id,
        "eventName": r.event_name.as_ref().map(|e| e.as_str().to_owned()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": arn.split(':').nth(3).filter(|r| !r.is_empty()).unwrap_or(crate::iam::REGION),
        "dynamodb": Value::Object(dynamodb),
        "eventSourceARN": arn,
    })
}

/// An SQS event source mapping's event: the messages as Lambda's poller hands them over.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                .collect();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": crate::iam::REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The function a Lambda ARN names (`…:function:accolade-{stage}-{binary}`).
fn function_of_arn(arn: &str) -> Option<FunctionName> {
    let name = arn.split(":function:").nth(1)?.split(':').next()?;
    FunctionName::parse(name.rsplit('-').next()?)
}

fn sdk_error(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Runner {
    /// `admin`: the emulator's administrator (the runner stands in for AWS's own services).
    pub fn new(lambda: LocalLambda, admin: SdkConfig) -> Self {
        Self {
            lambda,
            admin,
            seen_uploads: HashSet::new(),
            shard_iterators: HashMap::new(),
            fired: HashSet::new(),
            cron_fired: HashSet::new(),
        }
    }

    fn spec(&self) -> &StackSpec {
        &self.lambda.stack.spec
    }

    /// Fires the template's recurring schedules (the weekly digest) whose cron matches `now`, once
    /// per schedule and minute, as Scheduler would. Answers how many fired.
    pub async fn fire_recurring(&mut self, now: DateTime<Utc>) -> Result<usize, String> {
        let mut fired = 0;
        for r in self.spec().recurring.clone() {
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
            let target = self
                .spec()
                .functions
                .iter()
                .find(|f| f.logical_id == r.target)
                .and_then(|f| FunctionName::parse(&f.binary));
            match target {
                Some(f) => {
                    let _ = self.lambda.invoke_async(f, input).await;
                    fired += 1;
                }
                None => {
                    tracing::warn!(schedule = %r.name, target = %r.target, "no local function for this schedule's target");
                }
            }
        }
        Ok(fired)
    }

    /// What SES publishes through a configuration set for each message sent (see
    /// [`crate::ses_events`]), to the analytics function as EventBridge delivers it: the events
    /// of the types the configuration set publishes (its `MatchingEventTypes`) that its rules in
    /// template.yaml match (this stack's configuration set's), each once. Answers how many were
    /// delivered.
    pub async fn deliver_ses_events(&mut self) -> Result<usize, String> {
        let rules = self.event_rules(FunctionName::Analytics)?;
        let types = self.ses_event_types()?;
        let mut delivered = 0;
        for sent in self.lambda.outbox.take() {
            for event in crate::ses_events::events(&sent, crate::iam::ACCOUNT, crate::iam::REGION) {
                let kind = event["detail"]["eventType"].as_str().unwrap_or_default();
                if !types.contains(&kind.to_lowercase())
                    || !rules.iter().any(|r| crate::sam::matches(r, &event))
                {
                    continue;
                }
                let _ = self
                    .lambda
                    .invoke_async(FunctionName::Analytics, event)
                    .await;
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// The SES event types this stack's configuration set publishes.
    fn ses_event_types(&self) -> Result<Vec<String>, String> {
        let stack = &self.lambda.stack;
        let values =
            crate::iam::local_values(&stack.spec, &stack.names, &stack.stage, &stack.sender);
        stack
            .spec
            .ses_event_types(&values)
            .map_err(|e| e.to_string())
    }

    /// The patterns of `function`'s EventBridge rules, as deployed in this stack.
    fn event_rules(&self, function: FunctionName) -> Result<Vec<Value>, String> {
        let stack = &self.lambda.stack;
        let values =
            crate::iam::local_values(&stack.spec, &stack.names, &stack.stage, &stack.sender);
        self.lambda
            .spec(function)
            .event_rules
            .iter()
            .map(|p| crate::sam::evaluate_tree(p, &values).map_err(|e| e.to_string()))
            .collect()
    }

    /// New objects under the uploads prefix → one S3 event each to ingest. Returns how many.
    pub async fn deliver_uploads(&mut self) -> Result<usize, String> {
        let s3 = accolade::aws::s3(&self.admin);
        let bucket = self.lambda.stack.names.bucket.clone();
        let mut token = None;
        let mut delivered = 0;
        loop {
            let out = s3
                .list_objects_v2()
                .bucket(&bucket)
                .prefix(&self.spec().uploads_prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| sdk_error(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            for o in out.contents() {
                let key = o.key().unwrap_or_default().to_owned();
                let etag = o.e_tag().unwrap_or_default().to_owned();
                let modified = o
                    .last_modified()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if self
                    .seen_uploads
                    .insert((key.clone(), etag.clone(), modified))
                {
                    let size = o.size().unwrap_or(0).max(0) as u64;
                    let event = s3_event(&bucket, &key, size, &etag);
                    if let Err(e) = self.lambda.invoke_async(FunctionName::Ingest, event).await {
                        tracing::error!(error = %e, %key, "ingest failed on every attempt");
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

    /// Every new stream record that passes the mapping's filter → notify, in the mapping's batch
    /// size, until the shards have nothing more (as Lambda's poller keeps reading).
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

    async fn shards(&self) -> Result<(String, Vec<String>), String> {
        let ddb = aws_sdk_dynamodb::Client::new(&self.admin);
        let streams = aws_sdk_dynamodbstreams::Client::new(&self.admin);
        let arn = ddb
            .describe_table()
            .table_name(&self.lambda.stack.names.table)
            .send()
            .await
            .map_err(|e| sdk_error(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or("the table has no stream")?;
        let desc = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .map_err(|e| sdk_error(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
        let shards = desc
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.shard_id)
            .collect();
        Ok((arn, shards))
    }

    /// One `GetRecords` page per shard: (records delivered, records read).
    async fn deliver_stream_page(&mut self) -> Result<(usize, usize), String> {
        let streams = aws_sdk_dynamodbstreams::Client::new(&self.admin);
        let (arn, shards) = self.shards().await?;
        let (mut delivered, mut read) = (0, 0);
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
                    .map_err(|e| sdk_error(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?
                    .shard_iterator
                    .ok_or("no shard iterator")?,
            };
            let out = streams
                .get_records()
                .shard_iterator(&iter)
                .limit(1000)
                .send()
                .await
                .map_err(|e| sdk_error(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
            self.shard_iterators
                .insert(shard.clone(), out.next_shard_iterator.clone());
            let raw = out.records.unwrap_or_default();
            read += raw.len();
            for function in FunctionName::ALL {
                let Some(trigger) = self.lambda.spec(function).stream.clone() else {
                    continue;
                };
                let records: Vec<Value> = raw
                    .iter()
                    .map(|r| stream_record(r, &arn))
                    .filter(|r| {
                        trigger.filters.is_empty()
                            || trigger.filters.iter().any(|p| crate::sam::matches(p, r))
                    })
                    .collect();
                delivered += records.len();
                self.lambda.deliver_stream(function, &shard, records).await;
            }
        }
        Ok((delivered, read))
    }

    /// Schedules in the group whose `at()` time has come → their target, with their input, as
    /// Scheduler invokes it (asynchronously). `ActionAfterCompletion: DELETE` schedules are
    /// deleted after firing. Like Scheduler, a one-time schedule whose time had passed when it
    /// was created never fires (logged).
    pub async fn fire_due_schedules(&mut self, now: DateTime<Utc>) -> Result<usize, String> {
        let sched = aws_sdk_scheduler::Client::new(&self.admin);
        let group = self.lambda.stack.names.schedule_group.clone();
        let list = sched
            .list_schedules()
            .group_name(&group)
            .send()
            .await
            .map_err(|e| sdk_error(aws_sdk_scheduler::error::DisplayErrorContext(e)))?;
        let mut fired = 0;
        for s in list.schedules() {
            let Some(name) = s.name() else { continue };
            if self.fired.contains(name) {
                continue;
            }
            let got = sched
                .get_schedule()
                .group_name(&group)
                .name(name)
                .send()
                .await
                .map_err(|e| sdk_error(aws_sdk_scheduler::error::DisplayErrorContext(e)))?;
            let Some(at) = got
                .schedule_expression()
                .and_then(|e| parse_at(e, got.schedule_expression_timezone()))
            else {
                continue;
            };
            if at > now {
                continue;
            }
            self.fired.insert(name.to_owned());
            let created = got
                .creation_date()
                .map_or(i64::MIN, aws_smithy_types::DateTime::secs);
            if at.timestamp() + 60 < created {
                tracing::error!(
                    schedule = name,
                    "one-time schedule created after its time: Scheduler never fires it"
                );
                continue;
            }
            if self.fire(name, at, &got).await? {
                fired += 1;
            }
            self.delete_if_done(&sched, &group, name, &got).await;
        }
        Ok(fired)
    }

    /// One due schedule's target, as Scheduler delivers it: `<aws.scheduler.scheduled-time>` in
    /// its input filled in with `at`; a function invoked asynchronously, or the input sent as a
    /// message to the webhook queue (an SQS target). False when the target is neither.
    async fn fire(
        &self,
        name: &str,
        at: DateTime<Utc>,
        got: &aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput,
    ) -> Result<bool, String> {
        let scheduled = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let input: Value = got
            .target()
            .and_then(|t| t.input())
            .map(|i| i.replace("<aws.scheduler.scheduled-time>", &scheduled))
            .and_then(|i| serde_json::from_str(&i).ok())
            .unwrap_or(Value::Null);
        let arn = got.target().map(|t| t.arn().to_owned()).unwrap_or_default();
        if arn == accolade::schedules::SQS_SEND_MESSAGE {
            self.send_message(&input).await?;
            return Ok(true);
        }
        let Some(target) = function_of_arn(&arn) else {
            tracing::warn!(
                schedule = name,
                "schedule target is not a local function or queue"
            );
            return Ok(false);
        };
        let _ = self.lambda.invoke_async(target, input).await;
        Ok(true)
    }

    /// `ActionAfterCompletion: DELETE`: the schedule goes once it has fired.
    async fn delete_if_done(
        &self,
        sched: &aws_sdk_scheduler::Client,
        group: &str,
        name: &str,
        got: &aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput,
    ) {
        let action = got
            .action_after_completion()
            .map(aws_sdk_scheduler::types::ActionAfterCompletion::as_str);
        if action == Some("DELETE") {
            let _ = sched
                .delete_schedule()
                .group_name(group)
                .name(name)
                .send()
                .await;
        }
    }

    /// Scheduler's universal target for SQS `SendMessage`: the input is the request.
    async fn send_message(&self, input: &Value) -> Result<(), String> {
        let field = |k: &str| input[k].as_str().map(str::to_owned);
        aws_sdk_sqs::Client::new(&self.admin)
            .send_message()
            .set_queue_url(field("QueueUrl"))
            .set_message_body(field("MessageBody"))
            .set_message_group_id(field("MessageGroupId"))
            .send()
            .await
            .map_err(|e| sdk_error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Each SQS-triggered function's queue → that function, a batch (its `BatchSize`) at a time,
    /// as Lambda's poller does: after the invocation the messages it did not name in
    /// `batchItemFailures` are deleted (none, when the invocation failed: they come back after
    /// the visibility timeout); a message received more than the redrive policy's
    /// `maxReceiveCount` times goes to the dead-letter queue instead. Answers how many messages
    /// it handed over.
    pub async fn deliver_queue(&mut self) -> Result<usize, String> {
        let mut delivered = 0;
        for function in FunctionName::ALL {
            let Some(trigger) = self.lambda.spec(function).queue.clone() else {
                continue;
            };
            self.mapping_may_read(function)?;
            loop {
                let n = self.deliver_queue_batch(function, &trigger).await?;
                if n == 0 {
                    break;
                }
                delivered += n;
            }
        }
        Ok(delivered)
    }

    /// Lambda's SQS event source mapping reads the queue as the function's role: without these
    /// actions on the queue it cannot poll (AWS refuses to create or run the mapping).
    fn mapping_may_read(&self, function: FunctionName) -> Result<(), String> {
        let queue = crate::iam::queue_arn(&self.lambda.stack.names.webhook_queue);
        let policy = self.lambda.policy(function);
        for action in [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        ] {
            if !policy.allows(action, &queue, &crate::iam::Facts::default()) {
                return Err(format!(
                    "{}'s role may not {action} on {queue}: its SQS event source mapping cannot poll",
                    function.as_str()
                ));
            }
        }
        Ok(())
    }

    async fn deliver_queue_batch(
        &self,
        function: FunctionName,
        trigger: &crate::sam::QueueTrigger,
    ) -> Result<usize, String> {
        use aws_sdk_sqs::types::MessageSystemAttributeName as Attr;
        let sqs = aws_sdk_sqs::Client::new(&self.admin);
        let names = &self.lambda.stack.names;
        let url = names.webhook_queue_url.clone();
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(trigger.batch_size.clamp(1, 10) as i32)
            .message_system_attribute_names(Attr::All)
            .send()
            .await
            .map_err(|e| sdk_error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        let received = out.messages.unwrap_or_default();
        let count = received.len();
        let receives = |m: &aws_sdk_sqs::types::Message| {
            m.attributes()
                .and_then(|a| a.get(&Attr::ApproximateReceiveCount))
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(1)
        };
        let (dead, live): (Vec<_>, Vec<_>) = received.into_iter().partition(|m| {
            trigger
                .max_receive_count
                .is_some_and(|max| receives(m) > max)
        });
        let mut done: Vec<&aws_sdk_sqs::types::Message> = dead.iter().collect();
        for m in &dead {
            self.lambda
                .dead_letter(&url, m.body().unwrap_or_default())
                .await;
        }
        if !live.is_empty() {
            let event = sqs_event(&live, &crate::iam::queue_arn(&names.webhook_queue));
            let failed: HashSet<String> = match self.lambda.invoke(function, event).await {
                Ok(answer) => answer["batchItemFailures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                    .collect(),
                Err(_) => live.iter().filter_map(|m| m.message_id.clone()).collect(),
            };
            done.extend(
                live.iter()
                    .filter(|m| !m.message_id().is_some_and(|id| failed.contains(id))),
            );
        }
        for m in done {
            if let Some(handle) = m.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
        Ok(count)
    }

    /// Polls every source once a second until `stop` fires.
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
            if let Err(e) = self.deliver_queue().await {
                tracing::warn!(error = %e, "queue polling failed");
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
        let e = "cron(0 * ? * SUN,MON,TUE *)";
        assert!(cron_matches(e, at(22, 23, 0))); // Sunday
        assert!(cron_matches(e, at(23, 8, 0))); // Monday
        assert!(!cron_matches(e, at(23, 8, 1)));
        assert!(cron_matches(e, at(24, 8, 0))); // Tuesday
        assert!(!cron_matches(e, at(25, 8, 0))); // Wednesday
        assert!(cron_matches("cron(0 8 ? * 2 *)", at(23, 8, 0)));
        assert!(!cron_matches("rate(1 hour)", at(23, 8, 0)));
    }

    #[test]
    fn s3_keys_are_encoded_as_s3_does() {
        let e = s3_event("b", "uploads/i/b/수료자 명단 (1).csv", 3, "\"abc\"");
        let key = e["Records"][0]["s3"]["object"]["key"].as_str().unwrap();
        assert_eq!(
            key,
            "uploads/i/b/%EC%88%98%EB%A3%8C%EC%9E%90+%EB%AA%85%EB%8B%A8+%281%29.csv"
        );
        let read = accolade::events::s3_created(&e).unwrap();
        assert_eq!(read[0].key, "uploads/i/b/수료자 명단 (1).csv");
        assert_eq!(
            function_of_arn("arn:aws:lambda:us-east-1:1:function:accolade-local-notify"),
            Some(FunctionName::Notify)
        );
    }

    #[test]
    fn at_expressions() {
        let t = parse_at("at(2026-11-26T10:00:00)", Some("Asia/Seoul")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-26T01:00:00+00:00");
        assert!(parse_at("rate(5 minutes)", None).is_none());
    }
}
