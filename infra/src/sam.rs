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
    /// `MatchingEventTypes` of the configuration set's event destinations, as written (a list,
    /// or an `!If` on one of `conditions`): [`StackSpec::ses_event_types`] reads them.
    pub ses_event_types: Vec<Value>,
    /// The template's `Conditions`, as written.
    pub conditions: serde_yaml::Mapping,
    /// The template's parameters that have a `Default`, with it.
    pub parameter_defaults: HashMap<String, String>,
    /// The Lambda functions (`AWS::Serverless::Function`), as the local Lambda service runs them.
    pub functions: Vec<FunctionSpec>,
    /// The uploads bucket's CORS rules (browsers PUT CSV files straight to it).
    pub bucket_cors: Vec<CorsRule>,
}

/// One CORS rule of the bucket. `origins` that name `${PublicDomainName}` are the deployment's
/// public origin (locally: the local server's).
#[derive(Debug, Clone, PartialEq)]
pub struct CorsRule {
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub origins: Vec<String>,
    pub max_age: Option<i64>,
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Tagged(t) => t.value.as_str().map(str::to_owned),
            _ => None,
        })
        .collect()
}

fn cors_rules(bucket: &Value) -> Vec<CorsRule> {
    bucket["Properties"]["CorsConfiguration"]["CorsRules"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|r| CorsRule {
            methods: string_list(&r["AllowedMethods"]),
            headers: string_list(&r["AllowedHeaders"]),
            origins: string_list(&r["AllowedOrigins"]),
            max_age: num(&r["MaxAge"]),
        })
        .collect()
}

/// One function of the template: what the local stack needs to run it as Lambda would.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the binary (and `functions/` crate) name.
    pub binary: String,
    pub timeout_secs: u64,
    pub memory_mb: u64,
    /// `Globals.Function.Environment` merged with the function's own, intrinsics unevaluated.
    pub environment: Vec<(String, Value)>,
    /// The inline policy statements (`Policies: - Statement: [...]`), intrinsics unevaluated.
    pub statements: Vec<Value>,
    /// HttpApi events: (method, path) with `ANY` and `$default` as API Gateway reads them.
    pub routes: Vec<(String, String)>,
    pub stream: Option<StreamTrigger>,
    /// An SQS event source mapping.
    pub queue: Option<QueueTrigger>,
    /// `EventInvokeConfig.MaximumRetryAttempts` (Lambda's default for asynchronous invocations: 2).
    pub async_retries: u32,
    /// Whether asynchronous invocations that fail every attempt go to an on-failure destination.
    pub async_on_failure: bool,
    /// The `Pattern`s of its EventBridge rules (`Type: EventBridgeRule`), intrinsics unevaluated
    /// ([`evaluate_tree`] evaluates them).
    pub event_rules: Vec<Value>,
}

/// A DynamoDB stream event source mapping.
#[derive(Debug, Clone)]
pub struct StreamTrigger {
    pub batch_size: usize,
    /// `MaximumRetryAttempts` (-1: until the record expires from the stream).
    pub max_retries: i64,
    pub bisect: bool,
    pub report_item_failures: bool,
    pub filters: Vec<serde_json::Value>,
    pub on_failure: bool,
    /// `TumblingWindowInSeconds` (0: none). With a window, Lambda's event names the shard and
    /// the window, and a response without `state` is a failed invocation.
    pub tumbling_window_secs: u64,
}

/// An SQS event source mapping, with what the local runner needs of its queue.
#[derive(Debug, Clone)]
pub struct QueueTrigger {
    /// The queue's logical id (`Queue: !GetAtt X.Arn`).
    pub queue: String,
    pub batch_size: usize,
    pub report_item_failures: bool,
    /// The queue's `VisibilityTimeout` (SQS's default: 30 s).
    pub visibility_timeout_secs: i32,
    /// The queue's `RedrivePolicy.maxReceiveCount`: receives before a message goes to its
    /// dead-letter queue (none: kept until it expires).
    pub max_receive_count: Option<u32>,
}

fn reports_item_failures(p: &Value) -> bool {
    p["FunctionResponseTypes"].as_sequence().is_some_and(|t| {
        t.iter()
            .any(|x| x.as_str() == Some("ReportBatchItemFailures"))
    })
}

/// An SQS event source mapping of a function (a SAM `SQS` event's `Properties`, or an
/// `AWS::Lambda::EventSourceMapping`'s), its queue read from the template's resources.
fn queue_trigger(p: &Value, resources: &Value) -> Result<QueueTrigger, TemplateError> {
    let queue = tag_name(&p["Queue"])
        .or_else(|| tag_name(&p["EventSourceArn"]))
        .and_then(|(_, v)| v.as_str().map(|s| s.trim_end_matches(".Arn").to_owned()))
        .ok_or_else(|| TemplateError::Shape("SQS event: `Queue: !GetAtt X.Arn` expected".into()))?;
    let q = &resources[queue.as_str()]["Properties"];
    Ok(QueueTrigger {
        batch_size: num(&p["BatchSize"]).unwrap_or(10) as usize,
        report_item_failures: reports_item_failures(p),
        visibility_timeout_secs: num(&q["VisibilityTimeout"]).unwrap_or(30) as i32,
        max_receive_count: num(&q["RedrivePolicy"]["maxReceiveCount"]).map(|n| n as u32),
        queue,
    })
}

fn num(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn env_of(v: &Value) -> Vec<(String, Value)> {
    v["Variables"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

fn stream_trigger(e: &Value) -> Result<StreamTrigger, TemplateError> {
    let p = &e["Properties"];
    let mut filters = Vec::new();
    for f in p["FilterCriteria"]["Filters"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let pat = s(&f["Pattern"], "Pattern")?;
        filters.push(
            serde_json::from_str(&pat)
                .map_err(|e| TemplateError::Shape(format!("stream filter: {e}")))?,
        );
    }
    if num(&p["ParallelizationFactor"]).unwrap_or(1) != 1 {
        return Err(TemplateError::Shape(
            "a stream mapping's ParallelizationFactor must stay 1: the counters rollup keeps \
             exactly once per shard, one batch at a time (and the local runner delivers so)"
                .into(),
        ));
    }
    Ok(StreamTrigger {
        batch_size: num(&p["BatchSize"]).unwrap_or(100) as usize,
        max_retries: num(&p["MaximumRetryAttempts"]).unwrap_or(-1),
        bisect: p["BisectBatchOnFunctionError"].as_bool() == Some(true),
        report_item_failures: reports_item_failures(p),
        filters,
        on_failure: !p["DestinationConfig"]["OnFailure"].is_null(),
        tumbling_window_secs: num(&p["TumblingWindowInSeconds"]).unwrap_or(0).max(0) as u64,
    })
}

fn function_spec(
    id: &str,
    f: &Value,
    globals: &Value,
    resources: &Value,
) -> Result<FunctionSpec, TemplateError> {
    let p = &f["Properties"];
    let mut environment = env_of(&globals["Environment"]);
    for (k, v) in env_of(&p["Environment"]) {
        environment.retain(|(name, _)| *name != k);
        environment.push((k, v));
    }
    let mut statements = Vec::new();
    for policy in p["Policies"].as_sequence().into_iter().flatten() {
        let list = policy["Statement"].as_sequence().ok_or_else(|| {
            TemplateError::Shape(format!(
                "{id}: only inline `- Statement:` policies are read"
            ))
        })?;
        statements.extend(list.iter().cloned());
    }
    let mut routes = Vec::new();
    let (mut stream, mut queue, mut event_rules) = (None, None, Vec::new());
    for e in p["Events"]
        .as_mapping()
        .into_iter()
        .flat_map(|m| m.values())
    {
        match e["Type"].as_str() {
            Some("HttpApi") => routes.push((
                e["Properties"]["Method"]
                    .as_str()
                    .unwrap_or("ANY")
                    .to_ascii_uppercase(),
                e["Properties"]["Path"]
                    .as_str()
                    .unwrap_or("$default")
                    .to_owned(),
            )),
            Some("DynamoDB") => stream = Some(stream_trigger(e)?),
            Some("SQS") => queue = Some(queue_trigger(&e["Properties"], resources)?),
            Some("EventBridgeRule") => event_rules.push(e["Properties"]["Pattern"].clone()),
            _ => {}
        }
    }
    let invoke = &p["EventInvokeConfig"];
    // Lambda sends what it gives up on to an on-failure destination as the function.
    let stream_destination = p["Events"]
        .as_mapping()
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|e| e["Type"].as_str() == Some("DynamoDB"))
        .map(|e| &e["Properties"]["DestinationConfig"]);
    for config in stream_destination.chain([&invoke["DestinationConfig"]]) {
        statements.extend(implied_destination_statement(config));
    }
    let pick = |k: &str, default: i64| num(&p[k]).or_else(|| num(&globals[k])).unwrap_or(default);
    Ok(FunctionSpec {
        logical_id: id.to_owned(),
        binary: s(
            &f["Metadata"]["BuildProperties"]["Binary"],
            "BuildProperties.Binary",
        )?,
        timeout_secs: pick("Timeout", 3) as u64,
        memory_mb: pick("MemorySize", 128) as u64,
        environment,
        statements,
        routes,
        stream,
        queue,
        async_retries: num(&invoke["MaximumRetryAttempts"]).unwrap_or(2) as u32,
        async_on_failure: !invoke["DestinationConfig"]["OnFailure"].is_null(),
        event_rules,
    })
}

/// The statement SAM adds to the function's role for an `OnFailure` destination of `Type: SQS`
/// (SAM developer guide, "OnFailure": "SAM will add any necessary permissions to the
/// auto-generated IAM Role associated with this function"): `sqs:SendMessage` on the queue.
fn implied_destination_statement(destination_config: &Value) -> Option<Value> {
    let on_failure = &destination_config["OnFailure"];
    if on_failure["Type"].as_str() != Some("SQS") || on_failure["Destination"].is_null() {
        return None;
    }
    let mut statement = serde_yaml::Mapping::new();
    statement.insert("Effect".into(), "Allow".into());
    statement.insert("Action".into(), "sqs:SendMessage".into());
    statement.insert("Resource".into(), on_failure["Destination"].clone());
    Some(Value::Mapping(statement))
}

/// `AWS::Lambda::EventSourceMapping` resources from an SQS queue: (function logical id, trigger).
fn queue_mappings(resources: &Value) -> Result<Vec<(String, QueueTrigger)>, TemplateError> {
    let mut out = Vec::new();
    for r in resources.as_mapping().into_iter().flat_map(|m| m.values()) {
        if r["Type"].as_str() != Some("AWS::Lambda::EventSourceMapping") {
            continue;
        }
        let p = &r["Properties"];
        let function = tag_name(&p["FunctionName"])
            .and_then(|(_, v)| v.as_str().map(|s| s.trim_end_matches(".Arn").to_owned()));
        let from_queue = tag_name(&p["EventSourceArn"])
            .and_then(|(_, v)| v.as_str().map(|s| s.trim_end_matches(".Arn").to_owned()))
            .is_some_and(|q| resources[q.as_str()]["Type"].as_str() == Some("AWS::SQS::Queue"));
        if let (Some(f), true) = (function, from_queue) {
            out.push((f, queue_trigger(p, resources)?));
        }
    }
    Ok(out)
}

fn functions(doc: &Value) -> Result<Vec<FunctionSpec>, TemplateError> {
    let globals = &doc["Globals"]["Function"];
    let mappings = queue_mappings(&doc["Resources"])?;
    let mut out = Vec::new();
    for (name, r) in doc["Resources"].as_mapping().into_iter().flatten() {
        if r["Type"].as_str() == Some("AWS::Serverless::Function") {
            let id = name.as_str().unwrap_or_default();
            let mut spec = function_spec(id, r, globals, &doc["Resources"])?;
            if let Some((_, q)) = mappings.iter().find(|(f, _)| f == id) {
                spec.queue = Some(q.clone());
            }
            out.push(spec);
        }
    }
    Ok(out)
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
        Some(("Sub", Value::Sequence(form))) => {
            // `!Sub [text, {Name: value, …}]`: the variables first, then the parameters.
            let mut scoped = params.clone();
            for (k, v) in form
                .get(1)
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
            {
                scoped.insert(s(k, "!Sub variable")?, evaluate(v, params)?);
            }
            let text = form.first().cloned().unwrap_or(Value::Null);
            evaluate(
                &Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                    tag: serde_yaml::value::Tag::new("Sub"),
                    value: text,
                })),
                &scoped,
            )
        }
        Some(("Select", Value::Sequence(args))) => {
            let index = args.first().and_then(Value::as_u64).unwrap_or(0) as usize;
            let list = match args.get(1).and_then(tag_name) {
                Some((t, Value::Sequence(split))) if t == "Split" => {
                    let delimiter = s(split.first().unwrap_or(&Value::Null), "!Split delimiter")?;
                    let text = evaluate(split.get(1).unwrap_or(&Value::Null), params)?;
                    text.split(delimiter.as_str())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                }
                _ => {
                    return Err(TemplateError::Shape(
                        "!Select is read only over !Split".into(),
                    ))
                }
            };
            list.get(index)
                .cloned()
                .ok_or_else(|| TemplateError::Shape(format!("!Select {index}: out of range")))
        }
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
        Some(("GetAtt", inner)) => {
            let name = s(inner, "!GetAtt")?;
            params.get(&name).cloned().ok_or_else(|| {
                TemplateError::Shape(format!("cannot resolve !GetAtt {name} locally"))
            })
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
    let table = table_spec(table)?;

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

    let stream_filters = stream_filters(&of_type("AWS::Serverless::Function"))?;
    let recurring = recurring_schedules(resources)?;
    let ses_event_types = of_type("AWS::SES::ConfigurationSetEventDestination")
        .iter()
        .map(|d| d["Properties"]["EventDestination"]["MatchingEventTypes"].clone())
        .collect();
    Ok(StackSpec {
        ses_event_types,
        conditions: doc["Conditions"].as_mapping().cloned().unwrap_or_default(),
        parameter_defaults: parameter_defaults(&doc["Parameters"]),
        table,
        bucket_name,
        schedule_group,
        uploads_prefix,
        stream_filters,
        recurring,
        functions: functions(&doc)?,
        bucket_cors: cors_rules(bucket),
    })
}

/// The table's keys, attributes, indexes, stream and TTL.
fn table_spec(table: &Value) -> Result<TableSpec, TemplateError> {
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
    Ok(TableSpec {
        attributes,
        keys: key_schema(&p["KeySchema"])?,
        indexes,
        stream_view: p["StreamSpecification"]["StreamViewType"]
            .as_str()
            .map(str::to_owned),
        ttl_attribute: p["TimeToLiveSpecification"]["AttributeName"]
            .as_str()
            .map(str::to_owned),
    })
}

/// The template's parameters that have a `Default`, with it (numbers as written).
fn parameter_defaults(parameters: &Value) -> HashMap<String, String> {
    let default = |p: &Value| match &p["Default"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    parameters
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, p)| Some((k.as_str()?.to_owned(), default(p)?)))
        .collect()
}

/// A value compared by `!Equals`: a number or boolean as written, else evaluated.
fn scalar(v: &Value, params: &HashMap<String, String>) -> Result<String, TemplateError> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => evaluate(v, params),
    }
}

impl StackSpec {
    /// The SES event types the configuration set publishes to EventBridge with these parameter
    /// values, lower case as SES spells them (`delivery`, `bounce`, …).
    pub fn ses_event_types(
        &self,
        params: &HashMap<String, String>,
    ) -> Result<Vec<String>, TemplateError> {
        let mut out = Vec::new();
        for v in &self.ses_event_types {
            for t in self.chosen(v, params)?.as_sequence().into_iter().flatten() {
                out.push(s(t, "event type")?.to_lowercase());
            }
        }
        Ok(out)
    }

    /// `v`, or for `!If [condition, a, b]` the branch the condition picks.
    fn chosen<'a>(
        &self,
        v: &'a Value,
        params: &HashMap<String, String>,
    ) -> Result<&'a Value, TemplateError> {
        match tag_name(v) {
            Some((t, Value::Sequence(args))) if t == "If" && args.len() == 3 => {
                let pick = if self.condition(&args[0], params)? {
                    1
                } else {
                    2
                };
                self.chosen(&args[pick], params)
            }
            _ => Ok(v),
        }
    }

    /// A condition, by its name in `Conditions` or as an expression: `!Equals`, `!Not`,
    /// `!Condition`.
    fn condition(
        &self,
        v: &Value,
        params: &HashMap<String, String>,
    ) -> Result<bool, TemplateError> {
        if let Some(name) = v.as_str() {
            let expr = self
                .conditions
                .get(name)
                .ok_or_else(|| TemplateError::Shape(format!("unknown condition {name}")))?;
            return self.condition(expr, params);
        }
        match tag_name(v) {
            Some((t, Value::Sequence(a))) if t == "Equals" && a.len() == 2 => {
                Ok(scalar(&a[0], params)? == scalar(&a[1], params)?)
            }
            Some((t, Value::Sequence(a))) if t == "Not" && a.len() == 1 => {
                Ok(!self.condition(&a[0], params)?)
            }
            Some((t, name)) if t == "Condition" => self.condition(name, params),
            _ => Err(TemplateError::Shape(format!(
                "condition not read locally: {v:?}"
            ))),
        }
    }
}

/// The event filters of the functions' DynamoDB stream triggers.
fn stream_filters(functions: &[&Value]) -> Result<Vec<serde_json::Value>, TemplateError> {
    let mut stream_filters = Vec::new();
    for f in functions {
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
    Ok(stream_filters)
}

/// The template's own recurring schedules (e.g. the weekly digest).
fn recurring_schedules(resources: &Value) -> Result<Vec<RecurringSchedule>, TemplateError> {
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
    Ok(recurring)
}

impl StackSpec {
    pub fn function(&self, binary: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.binary == binary)
    }
}

/// A YAML tree as JSON, each intrinsic (`!Ref`, `!Sub`, …) evaluated to its string: an
/// EventBridge rule's `Pattern` as the rule holds it once deployed.
pub fn evaluate_tree(
    v: &Value,
    params: &HashMap<String, String>,
) -> Result<serde_json::Value, TemplateError> {
    use serde_json::Value as J;
    Ok(match v {
        Value::Tagged(_) => J::String(evaluate(v, params)?),
        Value::Mapping(m) => J::Object(
            m.iter()
                .map(|(k, v)| Ok((s(k, "pattern key")?, evaluate_tree(v, params)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        Value::Sequence(items) => J::Array(
            items
                .iter()
                .map(|v| evaluate_tree(v, params))
                .collect::<Result<_, _>>()?,
        ),
        other => serde_json::to_value(other)
            .map_err(|e| TemplateError::Shape(format!("pattern value: {e}")))?,
    })
}

/// Lambda event filtering and EventBridge rules, for the patterns template.yaml uses: every key
/// of the pattern must match; a list means "equals one of", where `{"exists": true|false}`
/// matches a leaf that is there or not (AWS: exists works on leaf nodes only); where the event
/// holds a list (SES's `mail.tags`), one of its values matching is enough.
pub fn matches(pattern: &serde_json::Value, event: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match pattern {
        J::Object(m) => m
            .iter()
            .all(|(k, p)| matches(p, event.get(k).unwrap_or(&J::Null))),
        J::Array(options) => options.iter().any(|o| match (o.get("exists"), event) {
            (Some(J::Bool(wanted)), _) => *wanted != (event.is_null() || event.is_object()),
            (_, J::Array(values)) => values.contains(o),
            _ => o == event,
        }),
        other => other == event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytics function's SES events rule, as deployed with configuration set
    /// `accolade-local`, takes that set's events and no other's (another stage's or
    /// application's in the same account), nor other sources'.
    #[test]
    fn the_ses_events_rule_takes_only_this_stacks_configuration_sets_events() {
        let spec = load(&crate::repo_root().join("template.yaml"), "local").unwrap();
        let rules = &spec.function("analytics").unwrap().event_rules;
        assert_eq!(rules.len(), 1);
        let params: HashMap<String, String> = [(
            "EmailConfigurationSet".to_owned(),
            "accolade-local".to_owned(),
        )]
        .into();
        let rule = evaluate_tree(&rules[0], &params).unwrap();
        let events = |set: &str| {
            let sent = crate::ses_events::Sent {
                message_id: "m".into(),
                source: "badges@example.ac.kr".into(),
                destination: vec!["a@example.com".into()],
                tags: vec![("award".into(), "x".into())],
                configuration_set: Some(set.into()),
                subject: "s".into(),
                at: chrono::Utc::now(),
            };
            crate::ses_events::events(&sent, "123456789012", "us-east-1")
        };
        let ours = events("accolade-local");
        assert_eq!(ours.len(), 2);
        assert!(ours.iter().all(|e| matches(&rule, e)), "{rule}");
        assert!(events("accolade-prod").iter().all(|e| !matches(&rule, e)));
        let mut other_source = ours[0].clone();
        other_source["source"] = "aws.other".into();
        assert!(!matches(&rule, &other_source));
    }

    /// Every function sees paths as routed: lambda_http would put a named stage in front of
    /// them (`/prod/b/…`) unless told not to.
    #[test]
    fn no_function_sees_the_api_stage_in_its_paths() {
        let spec = load(&crate::repo_root().join("template.yaml"), "local").unwrap();
        for name in ["api", "verify"] {
            let f = spec.function(name).unwrap();
            let set = f.environment.iter().any(|(k, v)| {
                k == "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH" && v.as_str() == Some("true")
            });
            assert!(set, "{name}: {:?}", f.environment);
        }
    }

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
        // Lambda allows five filters on one event source mapping unless the quota is raised.
        assert_eq!(spec.stream_filters.len(), 5);
        // An email's mark counts it sent: SES's Send events are not published — unless the
        // stack is told to count sends by them, or to publish them while marks count (the
        // first and second deploys of an upgrade).
        let mut params = spec.parameter_defaults.clone();
        assert_eq!(params["CountSentEmailsBy"], "mark");
        let published = ["delivery", "bounce", "complaint", "open", "click", "reject"];
        assert_eq!(spec.ses_event_types(&params).unwrap(), published);
        let mut with_send = vec!["send"];
        with_send.extend(published);
        for step in ["send-event", "both"] {
            params.insert("CountSentEmailsBy".into(), step.into());
            assert_eq!(spec.ses_event_types(&params).unwrap(), with_send, "{step}");
        }
        // A number compared as written.
        let reserved = Value::String("HasIngestReservedConcurrency".into());
        assert!(!spec.condition(&reserved, &params).unwrap());
        params.insert("IngestReservedConcurrency".into(), "10".into());
        assert!(spec.condition(&reserved, &params).unwrap());
        // The template's other conditions are read the same way.
        params.insert("AlarmEmail".into(), String::new());
        let has_alarm = Value::String("HasAlarmEmail".into());
        assert!(!spec.condition(&has_alarm, &params).unwrap());
        params.insert("AlarmEmail".into(), "ops@example.ac.kr".into());
        assert!(spec.condition(&has_alarm, &params).unwrap());
        // The rollup's spans need each batch to name its shard (a tumbling window) and one batch
        // of a shard at a time (no ParallelizationFactor: a larger one is refused below).
        let notify = spec.function("notify").unwrap().stream.clone().unwrap();
        assert!(notify.tumbling_window_secs > 0);
        let webhooks = spec.function("webhooks").unwrap().queue.clone().unwrap();
        assert_eq!(
            (webhooks.queue.as_str(), webhooks.batch_size),
            ("WebhookQueue", 10)
        );
        assert!(webhooks.report_item_failures);
        assert_eq!(
            (webhooks.visibility_timeout_secs, webhooks.max_receive_count),
            (360, Some(5))
        );
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

    /// The operator's alarms watch this stack's own resources: the backlog and throttle alarms the
    /// SAM grants each function with an SQS on-failure destination `sqs:SendMessage` on it:
    /// the local stack's policies hold that statement, and only those functions'.
    #[test]
    fn an_sqs_on_failure_destination_implies_send_message_on_it() {
        let spec = load(&crate::repo_root().join("template.yaml"), "local").unwrap();
        for f in &spec.functions {
            let sends = f.statements.iter().any(|st| {
                st["Action"].as_str() == Some("sqs:SendMessage")
                    && tag_name(&st["Resource"]).is_some_and(|(t, v)| {
                        t == "GetAtt" && v.as_str() == Some("FailureQueue.Arn")
                    })
            });
            let has_destination =
                f.async_on_failure || f.stream.as_ref().is_some_and(|s| s.on_failure);
            assert_eq!(sends, has_destination, "{}", f.binary);
        }
        for binary in ["notify", "ingest", "analytics"] {
            assert!(spec.function(binary).unwrap().async_on_failure, "{binary}");
        }
    }

    /// function that reads the table's stream, the failure alarm the queue every on-failure
    /// destination and dead-letter queue names (messages in flight too); all notify the topic.
    #[test]
    fn the_alarms_watch_the_stream_reader_and_the_failure_queue() {
        let text = std::fs::read_to_string(crate::repo_root().join("template.yaml")).unwrap();
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let resources = doc["Resources"].as_mapping().unwrap();
        let named = |ty: &str| -> Vec<String> {
            let of = |r: &Value| r["Type"].as_str() == Some(ty);
            resources
                .iter()
                .filter(|(_, r)| of(r))
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                .collect()
        };
        let reader: Vec<String> = named("AWS::Serverless::Function")
            .into_iter()
            .filter(|f| {
                let events = resources[f.as_str()]["Properties"]["Events"].as_mapping();
                events.is_some_and(|e| e.values().any(|e| e["Type"].as_str() == Some("DynamoDB")))
            })
            .collect();
        assert_eq!(reader, ["NotifyFunction"]);
        // Every on-failure destination and dead-letter queue is the one queue.
        let mut given_up = Vec::new();
        failure_targets(&doc["Resources"], &mut given_up);
        given_up.sort();
        given_up.dedup();
        assert_eq!(given_up, ["FailureQueue.Arn"]);
        let alarms: Vec<&Value> = named("AWS::CloudWatch::Alarm")
            .iter()
            .map(|a| &resources[a.as_str()]["Properties"])
            .collect();
        let backlog = watched(&alarms, "AWS/Lambda", "IteratorAge");
        assert_eq!(backlog, ["FunctionName = !Ref NotifyFunction"]);
        let throttled = watched(&alarms, "AWS/Lambda", "Throttles");
        assert_eq!(throttled, ["FunctionName = !Ref NotifyFunction"]);
        // A message being read still counts: reading the queue does not clear the alarm.
        for metric in [
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
        ] {
            let queue = watched(&alarms, "AWS/SQS", metric);
            assert_eq!(queue, ["QueueName = !GetAtt FailureQueue.QueueName"]);
        }
        assert_eq!(alarms.len(), 3);
        for a in alarms {
            let action = a["AlarmActions"][0].clone();
            let (tag, topic) = tag_name(&action).unwrap();
            assert_eq!((tag.as_str(), topic.as_str()), ("Ref", Some("AlarmTopic")));
            assert_eq!(
                resources["AlarmTopic"]["Type"].as_str(),
                Some("AWS::SNS::Topic")
            );
        }
    }

    /// The dimensions (`Name = !Tag target`) of `namespace`/`metric` in the alarms that watch it,
    /// whether an alarm names one metric or sums several (`Metrics`).
    fn watched(alarms: &[&Value], namespace: &str, metric: &str) -> Vec<String> {
        let metrics = alarms.iter().flat_map(|a| {
            let math = a["Metrics"].as_sequence().into_iter().flatten();
            std::iter::once(*a).chain(math.map(|m| &m["MetricStat"]["Metric"]))
        });
        let dims = metrics
            .filter(|m| m["Namespace"].as_str() == Some(namespace))
            .filter(|m| m["MetricName"].as_str() == Some(metric))
            .flat_map(|m| m["Dimensions"].as_sequence().into_iter().flatten());
        let found: Vec<_> = dims
            .map(|d| {
                let (tag, v) = tag_name(&d["Value"]).unwrap();
                format!(
                    "{} = !{tag} {}",
                    d["Name"].as_str().unwrap(),
                    v.as_str().unwrap()
                )
            })
            .collect();
        assert!(!found.is_empty(), "no alarm on {metric}");
        found
    }

    /// The `!GetAtt` targets of every `OnFailure.Destination` and `DeadLetterConfig.Arn` under `v`.
    fn failure_targets(v: &Value, out: &mut Vec<String>) {
        let target = |v: &Value| tag_name(v).and_then(|(_, t)| t.as_str().map(str::to_owned));
        match v {
            Value::Mapping(m) => {
                out.extend(target(&v["OnFailure"]["Destination"]));
                out.extend(target(&v["DeadLetterConfig"]["Arn"]));
                m.values().for_each(|v| failure_targets(v, out));
            }
            Value::Sequence(s) => s.iter().for_each(|v| failure_targets(v, out)),
            Value::Tagged(t) => failure_targets(&t.value, out),
            _ => {}
        }
    }

    #[test]
    fn a_stream_read_by_several_batches_of_a_shard_at_once_is_refused() {
        let mapping = |factor: &str| -> Value {
            serde_yaml::from_str(&format!(
                "Properties: {{BatchSize: 100, TumblingWindowInSeconds: 900{factor}}}"
            ))
            .unwrap()
        };
        let t = stream_trigger(&mapping("")).unwrap();
        assert_eq!((t.batch_size, t.tumbling_window_secs), (100, 900));
        assert!(stream_trigger(&mapping(", ParallelizationFactor: 1")).is_ok());
        let e = stream_trigger(&mapping(", ParallelizationFactor: 2")).unwrap_err();
        assert!(e.to_string().contains("ParallelizationFactor"), "{e}");
    }

    #[test]
    fn filter_matching() {
        let pat = serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["award"]}}}});
        let yes = serde_json::json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "award"}}}});
        let no = serde_json::json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"type": {"S": "award"}}}});
        assert!(matches(&pat, &yes));
        assert!(!matches(&pat, &no));
        let revoked = serde_json::json!({"dynamodb": {"NewImage": {"revocation": {"M": {"at": {"S": [{"exists": true}]}}}}}});
        let with = serde_json::json!({"dynamodb": {"NewImage": {"revocation": {"M": {"at": {"S": "2026-11-30T00:00:00Z"}}}}}});
        let without = serde_json::json!({"dynamodb": {"NewImage": {"type": {"S": "award"}}}});
        assert!(matches(&revoked, &with));
        assert!(!matches(&revoked, &without));
    }
}
