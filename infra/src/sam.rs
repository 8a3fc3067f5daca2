//! Reading `template.yaml`: the table's keys and indexes, the uploads bucket's name, the schedule
//! group's name and the stream filter, so the local stack never keeps a second copy of them.

use serde_yaml::Value;
use std::{collections::HashMap, path::Path};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub name: String,
    /// HASH or RANGE
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub keys: Vec<KeyElement>,
    pub projection: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// (name, type) pairs.
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<KeyElement>,
    pub indexes: Vec<IndexSpec>,
    pub stream_view: Option<String>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StackSpec {
    pub table: TableSpec,
    /// The bucket name with `${Stage}` etc. substituted.
    pub bucket_name: String,
    pub schedule_group: String,
    /// The uploads prefix of the bucket → ingest notification.
    pub uploads_prefix: String,
    /// The notify function's stream filter patterns (JSON).
    pub stream_filters: Vec<serde_json::Value>,
    /// Recurring Scheduler schedules (`AWS::Scheduler::Schedule` with a `cron(…)` expression).
    pub recurring: Vec<RecurringSchedule>,
}

/// A recurring schedule the local runner fires as Scheduler would.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurringSchedule {
    pub name: String,
    /// `cron(min hour day-of-month month day-of-week year)`.
    pub expression: String,
    pub time_zone: String,
    /// The target function's logical id (from `!GetAtt X.Arn`).
    pub target: String,
    pub input: serde_json::Value,
}

fn tag_name(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        _ => None,
    }
}

fn s(v: &Value, what: &str) -> Result<String, TemplateError> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| TemplateError::Shape(format!("{what} is not a string")))
}

/// Evaluates `!Sub "…${Param}…"` / `!Ref Param` with the given parameter values.
pub fn evaluate(v: &Value, params: &HashMap<String, String>) -> Result<String, TemplateError> {
    match tag_name(v).as_ref().map(|(t, inner)| (t.as_str(), *inner)) {
        Some(("Sub", inner)) => {
            let mut text = s(inner, "!Sub")?;
            for (k, val) in params {
                text = text.replace(&format!("${{{k}}}"), val);
            }
            if text.contains("${") {
                return Err(TemplateError::Shape(format!(
                    "unresolved reference in `{text}`"
                )));
            }
            Ok(text)
        }
        Some(("Ref", inner)) => {
            let name = s(inner, "!Ref")?;
            params
                .get(&name)
                .cloned()
                .ok_or_else(|| TemplateError::Shape(format!("unknown parameter {name}")))
        }
        Some((tag, _)) => Err(TemplateError::Shape(format!(
            "cannot evaluate {tag} locally"
        ))),
        None => s(v, "value"),
    }
}

fn key_schema(v: &Value) -> Result<Vec<KeyElement>, TemplateError> {
    v.as_sequence()
        .ok_or_else(|| TemplateError::Shape("KeySchema is not a list".into()))?
        .iter()
        .map(|k| {
            Ok(KeyElement {
                name: s(&k["AttributeName"], "AttributeName")?,
                key_type: s(&k["KeyType"], "KeyType")?,
            })
        })
        .collect()
}

pub fn load(path: &Path, stage: &str) -> Result<StackSpec, TemplateError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TemplateError::Read(path.display().to_string(), e))?;
    parse(&text, stage)
}

pub fn parse(text: &str, stage: &str) -> Result<StackSpec, TemplateError> {
    let doc: Value = serde_yaml::from_str(text)?;
    let resources = &doc["Resources"];
    let of_type = |ty: &str| -> Vec<&Value> {
        resources
            .as_mapping()
            .map(|m| {
                m.values()
                    .filter(|r| r["Type"].as_str() == Some(ty))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut params: HashMap<String, String> = HashMap::new();
    params.insert("Stage".into(), stage.into());
    params.insert("AWS::AccountId".into(), "123456789012".into());
    params.insert("AWS::Region".into(), "us-east-1".into());
    params.insert("AWS::Partition".into(), "aws".into());

    let tables = of_type("AWS::DynamoDB::Table");
    let [table] = tables.as_slice() else {
        return Err(TemplateError::Shape(format!(
            "expected exactly one DynamoDB table, found {}",
            tables.len()
        )));
    };
    let p = &table["Properties"];
    let attributes = p["AttributeDefinitions"]
        .as_sequence()
        .ok_or_else(|| TemplateError::Shape("AttributeDefinitions missing".into()))?
        .iter()
        .map(|a| {
            Ok((
                s(&a["AttributeName"], "AttributeName")?,
                s(&a["AttributeType"], "AttributeType")?,
            ))
        })
        .collect::<Result<Vec<_>, TemplateError>>()?;
    let indexes = match p["GlobalSecondaryIndexes"].as_sequence() {
        None => vec![],
        Some(seq) => seq
            .iter()
            .map(|g| {
                Ok(IndexSpec {
                    name: s(&g["IndexName"], "IndexName")?,
                    keys: key_schema(&g["KeySchema"])?,
                    projection: s(&g["Projection"]["ProjectionType"], "ProjectionType")?,
                })
            })
            .collect::<Result<_, TemplateError>>()?,
    };
    let table = TableSpec {
        attributes,
        keys: key_schema(&p["KeySchema"])?,
        indexes,
        stream_view: p["StreamSpecification"]["StreamViewType"]
            .as_str()
            .map(str::to_owned),
        ttl_attribute: p["TimeToLiveSpecification"]["AttributeName"]
            .as_str()
            .map(str::to_owned),
    };

    let buckets = of_type("AWS::S3::Bucket");
    let [bucket] = buckets.as_slice() else {
        return Err(TemplateError::Shape(
            "expected exactly one S3 bucket".into(),
        ));
    };
    let bucket_name = evaluate(&bucket["Properties"]["BucketName"], &params)?;
    let uploads_prefix = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
        [0]["Filter"]["S3Key"]["Rules"][0]["Value"]
        .as_str()
        .unwrap_or("uploads/")
        .to_owned();

    let groups = of_type("AWS::Scheduler::ScheduleGroup");
    let [group] = groups.as_slice() else {
        return Err(TemplateError::Shape(
            "expected exactly one schedule group".into(),
        ));
    };
    let schedule_group = evaluate(&group["Properties"]["Name"], &params)?;

    let mut stream_filters = Vec::new();
    for f in of_type("AWS::Serverless::Function") {
        if let Some(events) = f["Properties"]["Events"].as_mapping() {
            for e in events
                .values()
                .filter(|e| e["Type"].as_str() == Some("DynamoDB"))
            {
                for flt in e["Properties"]["FilterCriteria"]["Filters"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                {
                    let pat = s(&flt["Pattern"], "Pattern")?;
                    stream_filters.push(
                        serde_json::from_str(&pat)
                            .map_err(|e| TemplateError::Shape(format!("stream filter: {e}")))?,
                    );
                }
            }
        }
    }
    let mut recurring = Vec::new();
    if let Some(m) = resources.as_mapping() {
        for (name, r) in m {
            if r["Type"].as_str() != Some("AWS::Scheduler::Schedule") {
                continue;
            }
            let p = &r["Properties"];
            let target = match tag_name(&p["Target"]["Arn"]) {
                Some((tag, v)) if tag == "GetAtt" => v
                    .as_str()
                    .map(|x| x.split('.').next().unwrap_or(x).to_owned())
                    .or_else(|| v[0].as_str().map(str::to_owned))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let input = p["Target"]["Input"]
                .as_str()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| TemplateError::Shape(format!("schedule input: {e}")))?
                .unwrap_or(serde_json::Value::Null);
            recurring.push(RecurringSchedule {
                name: name.as_str().unwrap_or_default().to_owned(),
                expression: s(&p["ScheduleExpression"], "ScheduleExpression")?,
                time_zone: p["ScheduleExpressionTimezone"]
                    .as_str()
                    .unwrap_or("UTC")
                    .to_owned(),
                target,
                input,
            });
        }
    }
    Ok(StackSpec {
        table,
        bucket_name,
        schedule_group,
        uploads_prefix,
        stream_filters,
        recurring,
    })
}

/// Lambda event filtering, for the patterns template.yaml uses: every key of the pattern must
/// match; a list means "equals one of".
pub fn matches(pattern: &serde_json::Value, event: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match pattern {
        J::Object(m) => m
            .iter()
            .all(|(k, p)| matches(p, event.get(k).unwrap_or(&J::Null))),
        J::Array(options) => options.iter().any(|o| o == event),
        other => other == event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_real_template() {
        let spec = load(&crate::repo_root().join("template.yaml"), "local").unwrap();
        assert!(spec
            .table
            .keys
            .iter()
            .any(|k| k.name == "PK" && k.key_type == "HASH"));
        assert!(spec.table.indexes.iter().any(|i| i.name == "GSI1"));
        assert_eq!(spec.table.ttl_attribute.as_deref(), Some("expires_at"));
        assert!(spec.bucket_name.starts_with("accolade-local-uploads-"));
        assert_eq!(spec.schedule_group, "accolade-local-followups");
        assert_eq!(spec.uploads_prefix, "uploads/");
        assert_eq!(spec.stream_filters.len(), 1);
        let digest = spec
            .recurring
            .iter()
            .find(|r| r.name == "WeeklyDigestSchedule")
            .unwrap();
        assert_eq!(digest.target, "AnalyticsFunction");
        assert_eq!(digest.input["kind"], "weekly_digest");
        assert_eq!(
            digest.input["scheduled_time"],
            "<aws.scheduler.scheduled-time>"
        );
        assert!(crate::runner::cron_matches(
            &digest.expression,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
                .unwrap()
                .and_hms_opt(23, 0, 0)
                .unwrap()
        ));
    }

    #[test]
    fn filter_matching() {
        let pat = serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["award"]}}}});
        let yes = serde_json::json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "award"}}}});
        let no = serde_json::json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"type": {"S": "award"}}}});
        assert!(matches(&pat, &yes));
        assert!(!matches(&pat, &no));
    }
}
