//! `infra replay-failures`: what Lambda gave up on, handed to its function again once the cause
//! is mended. The stack's failure queue (`FailureQueueUrl`) receives three kinds of message:
//!
//! - a **stream batch** given up on (`DDBStreamBatchInfo`): Lambda sends where the records are,
//!   not the records. They are read back from the table's stream (which keeps them 24 hours),
//!   passed through the mapping's filters and handed to the function in order, in batches of the
//!   mapping's size, as the mapping would have;
//! - an **asynchronous invocation** given up on (`requestPayload`: a follow-up bucket's run, an
//!   SES event, a CSV's S3 event): the same payload, invoked again;
//! - a **dead letter** of the webhook queue (a bare message body): not replayed here; SQS's own
//!   redrive ("Start DLQ redrive" in the console) moves it back to its queue.
//!
//! Replaying is safe because every handler is idempotent on redelivery (ARCHITECTURE.md,
//! "Invariants"): a day-1 email is claimed once, due items and webhook deliveries have fixed keys,
//! and the rollup skips records its watermarks already hold. A message is deleted only once its
//! function has answered without error; anything else is left in the queue, and said why.

use crate::sam::StackSpec;
use serde_json::{json, Value};

/// Who runs a function: the deployed one in AWS (`lambda:InvokeFunction`), or the local stack's.
pub enum Invoker {
    Aws(aws_sdk_lambda::Client),
    Local(Box<crate::lambda::LocalLambda>),
}

impl Invoker {
    /// One synchronous invocation of `function` (an ARN or name): its answer, or its error.
    async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, String> {
        match self {
            Invoker::Local(lambda) => {
                let name = crate::runner::function_of_arn(function)
                    .ok_or_else(|| format!("{function} is not a function of this stack"))?;
                lambda
                    .invoke(name, payload.clone())
                    .await
                    .map_err(|e| e.to_string())
            }
            Invoker::Aws(client) => invoke_aws(client, function, payload).await,
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
    /// Reads one message body of the failure queue.
    pub fn of(body: &str) -> Given {
        let Ok(v) = serde_json::from_str::<Value>(body) else {
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
            _ => Given::Other("a message body (a dead letter of the webhook queue?)".into()),
        }
    }
}

/// The clients and settings of one run.
pub struct Replay<'a> {
    sqs: aws_sdk_sqs::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    queue_url: String,
    spec: &'a StackSpec,
    invoker: Invoker,
    /// Only say what each message is: replay nothing, delete nothing.
    pub dry_run: bool,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub message_id: String,
    pub replayed: bool,
    pub note: String,
}

/// How long a message this run is working on stays hidden from others (a stream batch's day-1
/// emails go at the configured send rate: 100 at 50 a second take 2 s).
const WORKING_SECS: i32 = 300;

impl<'a> Replay<'a> {
    /// A run as `sdk`'s principal over the failure queue `queue_url`, with the mappings' settings
    /// of `spec` (template.yaml), handing events to `invoker`.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        queue_url: &str,
        spec: &'a StackSpec,
        invoker: Invoker,
    ) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(sdk),
            queue_url: queue_url.to_owned(),
            spec,
            invoker,
            dry_run: false,
        }
    }

    /// Every message the queue holds now, once each: replayed and deleted, or left (visible
    /// again at once, for the next run) with why.
    pub async fn run(&self) -> Result<Vec<Outcome>, String> {
        let mut seen = std::collections::HashSet::new();
        let (mut outcomes, mut left) = (Vec::new(), Vec::new());
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(WORKING_SECS)
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
            let fresh: Vec<_> = received
                .messages
                .unwrap_or_default()
                .into_iter()
                .filter(|m| seen.insert(m.message_id().unwrap_or_default().to_owned()))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for m in fresh {
                let outcome = self.one(&m).await?;
                if !outcome.replayed {
                    left.push(m.receipt_handle().unwrap_or_default().to_owned());
                }
                outcomes.push(outcome);
            }
        }
        for handle in left {
            self.sqs
                .change_message_visibility()
                .queue_url(&self.queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        }
        Ok(outcomes)
    }

    async fn one(&self, m: &aws_sdk_sqs::types::Message) -> Result<Outcome, String> {
        let given = Given::of(m.body().unwrap_or_default());
        let outcome = |replayed: bool, note: String| Outcome {
            message_id: m.message_id().unwrap_or_default().to_owned(),
            replayed,
            note,
        };
        if self.dry_run {
            return Ok(outcome(false, format!("dry run: {}", describe(&given))));
        }
        let result = match &given {
            Given::Stream(batch) => self.stream(batch).await,
            Given::Async { function, payload } => self
                .invoker
                .invoke(function, payload)
                .await
                .map(|_| format!("{function}: invoked again, answered")),
            Given::Other(what) => return Ok(outcome(false, format!("left: {what}"))),
        };
        match result {
            Ok(note) => {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
                Ok(outcome(true, note))
            }
            Err(e) => Ok(outcome(false, format!("left: {e}"))),
        }
    }

    /// Reads the batch's records back and hands them on as the mapping would.
    async fn stream(&self, batch: &StreamBatch) -> Result<String, String> {
        let name = crate::runner::function_of_arn(&batch.function)
            .ok_or_else(|| format!("{} is not a function of this stack", batch.function))?;
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
            let answer = self
                .invoker
                .invoke(&batch.function, &json!({ "Records": chunk }))
                .await?;
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

/// Sends `body` to the queue at `url`, as Lambda sends an invocation record to its on-failure
/// destination (the local stack's Lambda service does, and the tests).
pub async fn send_to_queue(
    sdk: &aws_config::SdkConfig,
    url: &str,
    body: &str,
) -> Result<(), String> {
    aws_sdk_sqs::Client::new(sdk)
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .map(drop)
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
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
/// holds them (older than 24 hours, or the table's stream was replaced).
async fn stream_records(
    streams: &aws_sdk_dynamodbstreams::Client,
    batch: &StreamBatch,
) -> Result<Vec<Value>, String> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let gone = |e: String| format!("the stream no longer holds these records ({e})");
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&batch.stream_arn)
        .shard_id(&batch.shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&batch.start)
        .send()
        .await
        .map_err(|e| gone(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string()))?
        .shard_iterator;
    let mut out = Vec::new();
    let mut empty_pages = 0;
    while let Some(it) = iterator.take() {
        let page = streams
            .get_records()
            .shard_iterator(it)
            .limit(1000)
            .send()
            .await
            .map_err(|e| {
                gone(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())
            })?;
        let records = page.records.unwrap_or_default();
        empty_pages = if records.is_empty() {
            empty_pages + 1
        } else {
            0
        };
        for r in &records {
            let seq = r.dynamodb.as_ref().and_then(|d| d.sequence_number.clone());
            let seq = seq.unwrap_or_default();
            if !sequence_le(&seq, &batch.end) {
                return Ok(out);
            }
            out.push(crate::runner::stream_record(r, &batch.stream_arn));
            if seq == batch.end {
                return Ok(out);
            }
        }
        if empty_pages >= MAX_EMPTY_PAGES {
            return Err(format!(
                "record {} not found in shard {}: {} records read",
                batch.end,
                batch.shard,
                out.len()
            ));
        }
        iterator = page.next_shard_iterator;
    }
    Ok(out)
}

/// Empty `GetRecords` pages in a row before the end of a range is taken as not there (a shard
/// may take several calls to reach the part that holds records; DynamoDB Streams documents no
/// bound).
const MAX_EMPTY_PAGES: usize = 100;

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
        let Given::Stream(b) = Given::of(&sample("dynamodb-stream-on-failure.json")) else {
            panic!("not a stream batch");
        };
        assert_eq!(b.shard, "shardId-00000001573689847184-864758bb");
        assert_eq!(
            (b.start.as_str(), b.end.as_str()),
            ("800000000003126276362", "800000000003126276362")
        );
        assert!(b.function.ends_with(":function:myfunction"));
        let Given::Async { function, payload } = Given::of(&sample("lambda-async-on-failure.json"))
        else {
            panic!("not an asynchronous invocation");
        };
        assert!(function.contains(":function:"));
        assert!(payload.is_object());
        assert!(matches!(Given::of("{\"delivery\":\"x\"}"), Given::Other(_)));
        assert!(matches!(Given::of("plain text"), Given::Other(_)));
        let no_shard = r#"{"requestContext":{"functionArn":"arn:aws:lambda:us-east-1:1:function:f"},"DDBStreamBatchInfo":{}}"#;
        assert!(matches!(Given::of(no_shard), Given::Other(_)));
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
