//! Event shapes the event-driven functions receive, read at the edge into plain values. Samples
//! of each, in AWS's documented shapes, are in `tests/events/`.

use serde::Deserialize;
use serde_json::Value;

/// What an event handler fails with: the runtime reports it, and AWS retries the event.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An object named in an S3 `ObjectCreated` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    /// URL-decoded (S3 event keys are form-encoded: spaces as `+`).
    pub key: String,
    pub size: u64,
}

#[derive(Deserialize)]
struct S3Event {
    #[serde(rename = "Records", default)]
    records: Vec<S3Record>,
}
#[derive(Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}
#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}
#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}
#[derive(Deserialize)]
struct S3Object {
    key: String,
    #[serde(default)]
    size: u64,
}

fn form_decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// The created objects in an S3 event; other record kinds are skipped.
pub fn s3_created(event: &Value) -> Result<Vec<CreatedObject>, serde_json::Error> {
    let e: S3Event = serde_json::from_value(event.clone())?;
    Ok(e.records
        .into_iter()
        .filter(|r| r.event_name.starts_with("ObjectCreated"))
        .map(|r| CreatedObject {
            bucket: r.s3.bucket.name,
            key: form_decode(&r.s3.object.key),
            size: r.s3.object.size,
        })
        .collect())
}

/// A DynamoDB stream record, reduced to what notify needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamChange {
    pub event_name: String,
    pub pk: Option<String>,
    pub sk: Option<String>,
    pub item_type: Option<String>,
}

/// The changes in a DynamoDB stream event (`Records[].dynamodb.NewImage`).
pub fn stream_changes(event: &Value) -> Vec<StreamChange> {
    let s = |img: &Value, k: &str| {
        img.get(k)
            .and_then(|v| v.get("S"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    event
        .get("Records")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let keys = r.pointer("/dynamodb/Keys").cloned().unwrap_or(Value::Null);
                    let img = r
                        .pointer("/dynamodb/NewImage")
                        .cloned()
                        .unwrap_or(Value::Null);
                    StreamChange {
                        event_name: r
                            .get("eventName")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        pk: s(&keys, "PK"),
                        sk: s(&keys, "SK"),
                        item_type: s(&img, "type"),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_keys_are_form_decoded() {
        // S3 form-encodes keys in events: spaces as '+', a literal '+' as %2B.
        let aws = serde_json::json!({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"uploads/%EC%88%98%EB%A3%8C+a%2Bb+%281%29.csv","size":1}}}]});
        assert_eq!(s3_created(&aws).unwrap()[0].key, "uploads/수료 a+b (1).csv");
    }

    #[test]
    fn stream_records() {
        let ev = serde_json::json!({"Records":[{"eventName":"INSERT","dynamodb":{"Keys":{"PK":{"S":"AWARD#x"},"SK":{"S":"AWARD"}},"NewImage":{"type":{"S":"award"}}}}]});
        let c = stream_changes(&ev);
        assert_eq!(c[0].event_name, "INSERT");
        assert_eq!(c[0].pk.as_deref(), Some("AWARD#x"));
        assert_eq!(c[0].item_type.as_deref(), Some("award"));
    }
}
