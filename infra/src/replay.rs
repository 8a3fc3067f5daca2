//! `infra replay-failures`: what Lambda, Scheduler or EventBridge gave up on, handed to its
//! function again once the cause is mended. The stack's failure queue (`FailureQueueUrl`)
//! receives four kinds of message:
//!
//! - a **stream batch** given up on (`DDBStreamBatchInfo`): Lambda sends where the records are,
//!   not the records. They are read back from the table's stream (which keeps them 24 hours),
//!   passed through the mapping's filters and handed to the function in order, in batches of the
//!   mapping's size, as the mapping would have;
//! - an **asynchronous invocation** given up on (`requestPayload`: a follow-up bucket's run, an
//!   SES event, a CSV's S3 event): the same payload, invoked again;
//! - a **dead-letter event** of Scheduler or of an EventBridge rule (the event as the body, the
//!   target in the message attribute `TARGET_ARN`): the event, given to its target;
//! - a **dead letter of the webhook queue** (a delivery the webhooks function gave up on): not
//!   replayed; the note says which delivery to retry through the API.
//!
//! Only the stack's own functions are invoked and only its table's stream is read ([`Scope`]),
//! whatever a message names. Messages are taken one at a time, hidden while one is handled.
//!
//! Replaying is safe because every handler is idempotent on redelivery (ARCHITECTURE.md,
//! "Invariants"): a day-1 email is claimed once, due items and webhook deliveries have fixed keys,
//! and the rollup skips records its spans already hold (and adds those it never added). A
//! message is deleted only once its function has answered without error; anything else is left
//! in the queue, and said why. Stream records are handed on in the event the mapping sends
//! (with its tumbling window: the shard named, as the rollup needs).

use crate::sam::StackSpec;
use accolade::entry::FunctionName;
use serde_json::Value;

/// The stack whose failures are replayed: only its functions are invoked, only its table's
/// stream is read, whatever a message names (anything that can send to the queue could write
/// one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Functions are `accolade-{stage}-{binary}`.
    pub stage: String,
    /// The stack's table (its `TableName` output).
    pub table: String,
    /// The stack's account and region: a stream is read only there.
    pub account: String,
    pub region: String,
}

impl Scope {
    /// The stack of failure queue `url` (`https://sqs.{region}.amazonaws.com/{account}/accolade-
    /// {stage}-failures`) in `region`, and its table.
    pub fn of_queue_url(url: &str, table: &str, region: &str) -> Result<Scope, String> {
        let mut path = url.trim_end_matches('/').rsplit('/');
        let (name, account) = (
            path.next().unwrap_or_default(),
            path.next().unwrap_or_default(),
        );
        let stage = name
            .strip_prefix("accolade-")
            .and_then(|n| n.strip_suffix("-failures"))
            .filter(|s| !s.is_empty() && account.len() == 12)
            .ok_or_else(|| {
                format!("{url} is not a stack's failure queue (…/{{account}}/accolade-{{Stage}}-failures)")
            })?;
        Ok(Scope {
            stage: stage.to_owned(),
            table: table.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
        })
    }

    /// The stack's function that `arn` names (`…:function:accolade-{stage}-{binary}`, with or
    /// without a qualifier).
    pub fn function(&self, arn: &str) -> Result<FunctionName, String> {
        let name = arn
            .split(":function:")
            .nth(1)
            .and_then(|n| n.split(':').next())
            .unwrap_or(arn);
        name.strip_prefix(&format!("accolade-{}-", self.stage))
            .and_then(FunctionName::parse)
            .ok_or_else(|| {
                format!(
                    "{arn} is not a function of stage {}: not invoked",
                    self.stage
                )
            })
    }

    /// Whether `arn` is a stream of the stack's table, in its account and region
    /// (`arn:{partition}:dynamodb:{region}:{account}:table/{table}/stream/{label}`).
    fn stream(&self, arn: &str) -> Result<(), String> {
        let own = format!(
            ":dynamodb:{}:{}:table/{}/stream/",
            self.region, self.account, self.table
        );
        let partition = arn.strip_prefix("arn:").and_then(|a| a.split_once(':'));
        match partition {
            Some((p, rest)) if !p.is_empty() && format!(":{rest}").starts_with(&own) => Ok(()),
            _ => Err(format!(
                "{arn} is not a stream of table {} in {} {}: not read",
                self.table, self.account, self.region
            )),
        }
    }
}

/// Who runs a function: the deployed one in AWS (`lambda:InvokeFunction`), or the local stack's.
pub enum Invoker {
    Aws(aws_sdk_lambda::Client),
    Local(Box<crate::lambda::LocalLambda>),
}

impl Invoker {
    /// One synchronous invocation of the stack's function `name`: its answer, or its error.
    async fn invoke(
        &self,
        scope: &Scope,
        name: FunctionName,
        payload: &Value,
    ) -> Result<Value, String> {
        match self {
            Invoker::Local(lambda) => lambda
                .invoke(name, payload.clone())
                .await
                .map_err(|e| e.to_string()),
            Invoker::Aws(client) => {
                let function = format!("accolade-{}-{}", scope.stage, name.as_str());
                invoke_aws(client, &function, payload).await
            }
        }
    }
}

async fn invoke_aws(
    client: &aws_sdk_lambda::Client,
    function: &str,
    payload: &Value,
) -> Result<Value, String> {
    let out = client
        .invoke()
        .function_name(function)
        .payload(aws_smithy_types::Blob::new(payload.to_string()))
        .send()
        .await
        .map_err(|e| aws_sdk_lambda::error::DisplayErrorContext(e).to_string())?;
    let body = out.payload.map(|b| b.into_inner()).unwrap_or_default();
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match out.function_error {
        Some(kind) => Err(format!("{kind}: {answer}")),
        None => Ok(answer),
    }
}

/// What a failure-queue message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    Stream(StreamBatch),
    Async {
        function: String,
        payload: Value,
    },
    /// Not replayed here; says what it is.
    Other(String),
}

/// Where a given-up stream batch's records are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamBatch {
    pub function: String,
    pub stream_arn: String,
    pub shard: String,
    pub start: String,
    pub end: String,
}

impl Given {
    /// Reads one message of the failure queue: its body, and the target its sender names in the
    /// message attribute `TARGET_ARN` (the dead-letter events of EventBridge Scheduler and of an
    /// EventBridge rule, whose body is the event the target did not get).
    pub fn of(body: &str, target: Option<&str>, truncated: bool) -> Given {
        let parsed = serde_json::from_str::<Value>(body);
        if let Some(target) = target {
            return dead_letter_event(target, parsed.ok(), truncated);
        }
        let Ok(v) = parsed else {
            return Given::Other("not JSON: a dead letter of the webhook queue?".into());
        };
        let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let function = text("/requestContext/functionArn");
        if let (Some(function), Some(info)) = (&function, v.get("DDBStreamBatchInfo")) {
            let field = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_owned);
            let batch = (|| {
                Some(StreamBatch {
                    function: function.clone(),
                    stream_arn: field("streamArn")?,
                    shard: field("shardId")?,
                    start: field("startSequenceNumber")?,
                    end: field("endSequenceNumber")?,
                })
            })();
            return batch.map_or_else(
                || Given::Other("a stream batch without its shard or range".into()),
                Given::Stream,
            );
        }
        match (function, v.get("requestPayload")) {
            (Some(function), Some(payload)) => Given::Async {
                function,
                payload: payload.clone(),
            },
            _ => Given::Other(webhook_dead_letter(&v).unwrap_or_else(|| {
                "neither a Lambda record, a dead-letter event nor a webhook delivery".into()
            })),
        }
    }
}

/// A dead-letter event of Scheduler or EventBridge for `target`: the event it did not deliver
/// (`IS_PAYLOAD_TRUNCATED`: Scheduler cut it short, so it cannot be given as it was).
fn dead_letter_event(target: &str, payload: Option<Value>, truncated: bool) -> Given {
    match payload {
        _ if truncated => Given::Other(format!("a dead-letter event for {target}, truncated")),
        // A webhook retry's schedule sends its message to the webhook queue (Scheduler's
        // universal target `aws-sdk:sqs:sendMessage`): the delivery is retried through the API.
        Some(p) if p.get("MessageBody").is_some() => {
            let message: Option<Value> = p["MessageBody"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok());
            Given::Other(
                message
                    .as_ref()
                    .and_then(webhook_dead_letter)
                    .unwrap_or_else(|| format!("a message Scheduler could not send ({target})")),
            )
        }
        Some(payload) if payload.is_object() => Given::Async {
            function: target.to_owned(),
            payload,
        },
        _ => Given::Other(format!(
            "a dead-letter event for {target}, not a JSON object"
        )),
    }
}

/// What to do with a dead letter of the webhook queue (`webhooks::message`: the delivery its
/// function gave up on): retry it as the issuer would, then discard the message.
fn webhook_dead_letter(v: &Value) -> Option<String> {
    let field = |k: &str| v.get(k).and_then(Value::as_str);
    let (issuer, webhook, delivery) = (
        field("issuer_id")?,
        field("webhook_id")?,
        field("message_id")?,
    );
    Some(format!(
        "a webhook delivery given up on: retry it (issuer {issuer}'s API key) with POST \
         /v1/webhooks/{webhook}/deliveries/{delivery}/retry, or in the console's webhook \
         settings, then --discard this message"
    ))
}

/// The clients and settings of one run.
pub struct Replay<'a> {
    sqs: aws_sdk_sqs::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    queue_url: String,
    spec: &'a StackSpec,
    scope: Scope,
    invoker: Invoker,
    /// Only say what each message is: replay nothing, delete nothing.
    pub dry_run: bool,
    /// Messages (by id) to delete without replaying: dealt with by hand, or past replaying.
    pub discard: Vec<String>,
    /// Each receive's long poll, in seconds. A short poll (0) samples some of SQS's servers and
    /// may answer empty while messages wait, so in AWS the run ends only on a long poll's empty
    /// answer; the emulator is one server.
    pub poll_seconds: i32,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub message_id: String,
    pub replayed: bool,
    pub note: String,
}

/// How long the message this run is working on stays hidden from others: longer than a
/// function may run (900 s at most), so that it cannot reappear while being replayed.
const WORKING_SECS: i32 = 960;

impl<'a> Replay<'a> {
    /// A run as `sdk`'s principal over the failure queue `queue_url` of the stack `scope`, with
    /// the mappings' settings of `spec` (template.yaml), handing events to `invoker`.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        queue_url: &str,
        spec: &'a StackSpec,
        scope: Scope,
        invoker: Invoker,
    ) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(sdk),
            queue_url: queue_url.to_owned(),
            spec,
            scope,
            invoker,
            dry_run: false,
            discard: Vec::new(),
            poll_seconds: 1,
        }
    }

    /// Every message the queue holds now, once each, one at a time: replayed and deleted, or
    /// left (visible again at the end, for the next run) with why.
    pub async fn run(&self) -> Result<Vec<Outcome>, String> {
        let mut seen = std::collections::HashMap::new();
        let mut outcomes = Vec::new();
        loop {
            let m = match self.receive().await {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    self.show_again(seen.into_values()).await;
                    return Err(e);
                }
            };
            let id = m.message_id().unwrap_or_default().to_owned();
            let handle = m.receipt_handle().unwrap_or_default().to_owned();
            if seen.insert(id, handle).is_some() {
                break; // Round again: a message left earlier in this run came back.
            }
            let outcome = self.one(&m).await;
            if outcome.replayed {
                seen.remove(&outcome.message_id);
            }
            outcomes.push(outcome);
        }
        self.show_again(seen.into_values()).await;
        Ok(outcomes)
    }

    /// Makes the messages of `handles` visible again at once. Should that fail, they are when
    /// their visibility timeout ends.
    async fn show_again(&self, handles: impl Iterator<Item = String>) {
        for handle in handles {
            let _ = self
                .sqs
                .change_message_visibility()
                .queue_url(&self.queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await;
        }
    }

    /// The next message, hidden from others while this run works on it.
    async fn receive(&self) -> Result<Option<aws_sdk_sqs::types::Message>, String> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(1)
            .visibility_timeout(WORKING_SECS)
            .wait_time_seconds(self.poll_seconds)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        Ok(received.messages.unwrap_or_default().into_iter().next())
    }

    /// One message: replayed, discarded or left. Never an error: an error is why it is left.
    async fn one(&self, m: &aws_sdk_sqs::types::Message) -> Outcome {
        let attribute = |name: &str| {
            m.message_attributes()
                .and_then(|a| a.get(name))
                .and_then(|v| v.string_value())
        };
        let truncated = attribute("IS_PAYLOAD_TRUNCATED") == Some("true");
        let given = Given::of(
            m.body().unwrap_or_default(),
            attribute("TARGET_ARN"),
            truncated,
        );
        let id = m.message_id().unwrap_or_default().to_owned();
        let result = if self.dry_run {
            Err(format!("dry run: {}", describe(&given)))
        } else if self.discard.contains(&id) {
            Ok(format!("discarded: {}", describe(&given)))
        } else {
            self.hand_on(&given).await.map_err(|e| format!("left: {e}"))
        };
        let (replayed, note) = match result {
            Ok(note) => match self.delete(m).await {
                Ok(()) => (true, note),
                Err(e) => (
                    false,
                    format!("left: handled, but not deleted ({e}): {note}"),
                ),
            },
            Err(note) => (false, note),
        };
        Outcome {
            message_id: id,
            replayed,
            note,
        }
    }

    async fn hand_on(&self, given: &Given) -> Result<String, String> {
        match given {
            Given::Stream(batch) => self.stream(batch).await,
            Given::Async { function, payload } => {
                let name = self.scope.function(function)?;
                // Only what template.yaml invokes asynchronously (S3, Scheduler, EventBridge)
                // and sends to this queue: never the API's functions.
                if !self
                    .spec
                    .function(name.as_str())
                    .is_some_and(|f| f.async_on_failure)
                {
                    return Err(format!("{} is not invoked asynchronously", name.as_str()));
                }
                self.invoker
                    .invoke(&self.scope, name, payload)
                    .await
                    .map(|_| format!("{}: invoked again, answered", name.as_str()))
            }
            Given::Other(what) => Err(what.clone()),
        }
    }

    async fn delete(&self, m: &aws_sdk_sqs::types::Message) -> Result<(), String> {
        self.sqs
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(m.receipt_handle().unwrap_or_default())
            .send()
            .await
            .map(drop)
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }

    /// Reads the batch's records back and hands them on as the mapping would.
    async fn stream(&self, batch: &StreamBatch) -> Result<String, String> {
        let name = self.scope.function(&batch.function)?;
        self.scope.stream(&batch.stream_arn)?;
        let trigger = self
            .spec
            .function(name.as_str())
            .and_then(|f| f.stream.clone())
            .ok_or_else(|| format!("{} reads no stream in template.yaml", name.as_str()))?;
        let read = stream_records(&self.streams, batch).await?;
        let records: Vec<Value> = read
            .iter()
            .filter(|r| {
                trigger.filters.is_empty()
                    || trigger.filters.iter().any(|p| crate::sam::matches(p, r))
            })
            .cloned()
            .collect();
        for chunk in records.chunks(trigger.batch_size.max(1)) {
            let event = crate::lambda::stream_event(&trigger, &batch.shard, chunk);
            let answer = self.invoker.invoke(&self.scope, name, &event).await?;
            let failed = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
            if failed > 0 {
                return Err(format!(
                    "{} reported {failed} records failed again: {answer}",
                    name.as_str()
                ));
            }
        }
        Ok(format!(
            "{}: {} records of shard {} ({} through the mapping's filters) handed on",
            name.as_str(),
            read.len(),
            batch.shard,
            records.len()
        ))
    }
}

fn describe(given: &Given) -> String {
    match given {
        Given::Stream(b) => format!(
            "stream batch of {}, shard {}, records {} to {}",
            b.function, b.shard, b.start, b.end
        ),
        Given::Async { function, .. } => format!("asynchronous invocation of {function}"),
        Given::Other(what) => what.clone(),
    }
}

/// The records of `batch`'s range, as Lambda delivers them. Fails when the stream no longer
/// holds them all (older than 24 hours, the shard closed before the range's end, or the table's
/// stream replaced).
async fn stream_records(
    streams: &aws_sdk_dynamodbstreams::Client,
    batch: &StreamBatch,
) -> Result<Vec<Value>, String> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&batch.stream_arn)
        .shard_id(&batch.shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&batch.start)
        .send()
        .await
        .map_err(stream_error)?
        .shard_iterator;
    let (mut out, mut empty_pages) = (Vec::new(), 0);
    while let Some(it) = iterator.take() {
        let page = streams
            .get_records()
            .shard_iterator(it)
            .limit(1000)
            .send()
            .await
            .map_err(stream_error)?;
        let records = page.records.unwrap_or_default();
        if take_range(&records, batch, &mut out)? {
            return Ok(out);
        }
        empty_pages = if records.is_empty() {
            empty_pages + 1
        } else {
            0
        };
        if empty_pages >= MAX_EMPTY_PAGES {
            break;
        }
        if records.is_empty() {
            // Within GetRecords' five calls a second per shard, beside the mapping's own reads.
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        iterator = page.next_shard_iterator;
    }
    Err(format!(
        "record {} not found in shard {} ({} records of the range read): the stream no longer \
         holds the rest",
        batch.end,
        batch.shard,
        out.len()
    ))
}

/// Adds `records` (one page, in order) to `out` while they are in `batch`'s range: whether its
/// last record was reached. The range's first record is where the iterator starts, and its last
/// is in the shard: anything else means records of the range are gone.
fn take_range(
    records: &[aws_sdk_dynamodbstreams::types::Record],
    batch: &StreamBatch,
    out: &mut Vec<Value>,
) -> Result<bool, String> {
    for r in records {
        let seq = r.dynamodb.as_ref().and_then(|d| d.sequence_number.clone());
        let seq = seq.unwrap_or_default();
        if out.is_empty() && !same_sequence(&seq, &batch.start) || !sequence_le(&seq, &batch.end) {
            return Err(format!(
                "the stream no longer holds records {} to {} of shard {} (read {seq} after {} of them)",
                batch.start,
                batch.end,
                batch.shard,
                out.len()
            ));
        }
        out.push(crate::runner::stream_record(r, &batch.stream_arn));
        if same_sequence(&seq, &batch.end) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A stream read's error, saying when it means the records are gone.
fn stream_error<E, R>(e: aws_sdk_dynamodbstreams::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodbstreams::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata as _;
    let gone = matches!(
        e.code(),
        Some(
            "TrimmedDataAccessException" | "ExpiredIteratorException" | "ResourceNotFoundException"
        )
    );
    let detail = aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string();
    if gone {
        format!("the stream no longer holds these records ({detail})")
    } else {
        format!("the stream could not be read: {detail}")
    }
}

/// Empty `GetRecords` pages in a row before the end of a range is taken as not there (a shard
/// may take several calls to reach the part that holds records; DynamoDB Streams documents no
/// bound).
const MAX_EMPTY_PAGES: usize = 100;

/// Whether `a` and `b` are the same stream sequence number.
fn same_sequence(a: &str, b: &str) -> bool {
    sequence_le(a, b) && sequence_le(b, a)
}

/// Whether stream sequence number `a` comes at or before `b` (decimal strings of any length).
fn sequence_le(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) <= (b.len(), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        let path = crate::repo_root().join("tests/events").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn awss_own_samples_read_as_what_they_ask_for() {
        let Given::Stream(b) = Given::of(&sample("dynamodb-stream-on-failure.json"), None, false)
        else {
            panic!("not a stream batch");
        };
        assert_eq!(b.shard, "shardId-00000001573689847184-864758bb");
        assert_eq!(
            (b.start.as_str(), b.end.as_str()),
            ("800000000003126276362", "800000000003126276362")
        );
        assert!(b.function.ends_with(":function:myfunction"));
        let Given::Async { function, payload } =
            Given::of(&sample("lambda-async-on-failure.json"), None, false)
        else {
            panic!("not an asynchronous invocation");
        };
        assert!(function.contains(":function:"));
        assert!(payload.is_object());
        assert!(matches!(
            Given::of("{\"delivery\":\"x\"}", None, false),
            Given::Other(_)
        ));
        assert!(matches!(
            Given::of("plain text", None, false),
            Given::Other(_)
        ));
        let no_shard = r#"{"requestContext":{"functionArn":"arn:aws:lambda:us-east-1:1:function:f"},"DDBStreamBatchInfo":{}}"#;
        assert!(matches!(Given::of(no_shard, None, false), Given::Other(_)));
    }

    #[test]
    fn a_dead_letter_event_is_its_targets_event() {
        let target = "arn:aws:lambda:ap-northeast-2:111122223333:function:accolade-prod-analytics";
        let event = r#"{"source":"aws.ses","detail-type":"Email Delivered","detail":{}}"#;
        let Given::Async { function, payload } = Given::of(event, Some(target), false) else {
            panic!("not replayable");
        };
        assert_eq!(function, target);
        assert_eq!(payload["source"], "aws.ses");
        assert!(matches!(
            Given::of("not json", Some(target), false),
            Given::Other(_)
        ));
        assert!(matches!(
            Given::of(event, Some(target), true),
            Given::Other(_)
        ));
        // A webhook retry Scheduler could not send: the delivery to retry, not an invocation.
        let sqs = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage";
        let retry = serde_json::json!({"QueueUrl": "https://sqs.ap-northeast-2.amazonaws.com/111122223333/accolade-prod-webhooks",
            "MessageGroupId": "iss_1",
            "MessageBody": r#"{"issuer_id":"iss_1","webhook_id":"whk_2","message_id":"msg_3"}"#});
        let Given::Other(why) = Given::of(&retry.to_string(), Some(sqs), false) else {
            panic!("a webhook retry is not invoked");
        };
        assert!(
            why.contains("/v1/webhooks/whk_2/deliveries/msg_3/retry"),
            "{why}"
        );
    }

    #[test]
    fn schedulers_dead_letter_sample_is_its_schedules_input_for_notify() {
        let m: Value = serde_json::from_str(&sample("sqs-scheduler-dead-letter.json")).unwrap();
        let attribute = |k: &str| m["MessageAttributes"][k]["StringValue"].as_str();
        let given = Given::of(
            m["Body"].as_str().unwrap(),
            attribute("TARGET_ARN"),
            attribute("IS_PAYLOAD_TRUNCATED") == Some("true"),
        );
        let Given::Async { function, payload } = given else {
            panic!("not replayable: {given:?}");
        };
        assert!(function.ends_with(":function:accolade-prod-notify"));
        assert_eq!(payload["kind"], "due");
    }

    #[test]
    fn only_the_stacks_own_functions_and_stream_are_used() {
        let url = "https://sqs.ap-northeast-2.amazonaws.com/111122223333/accolade-prod-failures";
        let scope = Scope::of_queue_url(url, "accolade-prod-Table-1ABC", "ap-northeast-2").unwrap();
        assert_eq!(scope.account, "111122223333");
        assert_eq!(scope.stage, "prod");
        let own = "arn:aws:lambda:ap-northeast-2:111122223333:function:accolade-prod-notify";
        assert_eq!(scope.function(own), Ok(FunctionName::Notify));
        assert_eq!(
            scope.function(&format!("{own}:$LATEST")),
            Ok(FunctionName::Notify)
        );
        for other in [
            "arn:aws:lambda:ap-northeast-2:999999999999:function:evil-notify",
            "arn:aws:lambda:ap-northeast-2:111122223333:function:accolade-dev-notify",
            "arn:aws:lambda:ap-northeast-2:111122223333:function:accolade-prod-notify-x",
        ] {
            assert!(scope.function(other).is_err(), "{other}");
        }
        let stream = "arn:aws:dynamodb:ap-northeast-2:111122223333:table/accolade-prod-Table-1ABC/stream/2026-01-01T00:00:00.000";
        assert!(scope.stream(stream).is_ok());
        for other in [
            "arn:aws:dynamodb:ap-northeast-2:111122223333:table/other/stream/2026-01-01T00:00:00.000",
            "arn:aws:dynamodb:ap-northeast-2:999999999999:table/accolade-prod-Table-1ABC/stream/2026-01-01T00:00:00.000",
            "arn:aws:dynamodb:us-east-1:111122223333:table/accolade-prod-Table-1ABC/stream/2026-01-01T00:00:00.000",
            "arn:aws:dynamodb:ap-northeast-2:111122223333:table/accolade-prod-Table-1ABCD/stream/2026-01-01T00:00:00.000",
        ] {
            assert!(scope.stream(other).is_err(), "{other}");
        }
        assert!(Scope::of_queue_url("https://sqs.x/111122223333/some-queue", "t", "r").is_err());
        assert!(Scope::of_queue_url("accolade-prod-failures", "t", "r").is_err());
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(sequence_le("9", "10"));
        assert!(!sequence_le("10", "9"));
        assert!(sequence_le(
            "800000000003126276362",
            "800000000003126276362"
        ));
        assert!(sequence_le("000100", "100"));
        assert!(!sequence_le(
            "800000000003126276363",
            "800000000003126276362"
        ));
    }
}
