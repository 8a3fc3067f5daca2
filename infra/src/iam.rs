//! Each function's IAM policy, read from template.yaml and enforced locally, so a call that AWS
//! would refuse is refused here too.
//!
//! Two layers, because moto checks only part of a policy (`../shared/facts/local-aws.md`):
//! - moto (started with `--iam`) authenticates every request and checks S3 actions and object
//!   ARNs itself; DynamoDB, SES and Scheduler it checks by action only, so the policy given to
//!   moto has `"Resource": "*"` for those (and `dynamodb:TransactWriteItems`, the name moto checks,
//!   which is not an IAM action in AWS).
//! - [`PolicyCheck`], an SDK interceptor on each function's clients, checks what moto does not,
//!   against the same statements: DynamoDB table and index ARNs, per-item actions of transactions
//!   and `dynamodb:LeadingKeys`; SES identities and configuration sets; Scheduler schedule ARNs;
//!   SQS queue ARNs;
//!   and S3's rule that a missing object is `403 AccessDenied` to a caller without
//!   `s3:ListBucket`. A refused request never reaches the emulator: it is sent to the launcher's
//!   deny endpoint, which answers as AWS does (`AccessDeniedException`).

use crate::{provision::Names, sam::StackSpec};
use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::context::{
            BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
        },
        interceptors::Intercept,
        orchestrator::Metadata,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{json, Value as Json};
use serde_yaml::Value;
use std::{collections::HashMap, sync::Arc};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// One `Allow` statement with its intrinsics evaluated for a local stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// (operator, condition key, values), e.g. (`ForAllValues:StringLike`, `dynamodb:LeadingKeys`, …).
    pub conditions: Vec<(String, String, Vec<String>)>,
}

/// What a request says about itself, for conditions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Partition-key values the request touches (`dynamodb:LeadingKeys`).
    pub leading_keys: Vec<String>,
    /// The object key asked for (`s3:prefix`, as S3 uses it to choose between 403 and 404).
    pub prefix: Option<String>,
    /// A KMS request's encryption context (`kms:EncryptionContext:{key}`).
    pub encryption_context: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

/// `*` and `?` wildcards, as IAM matches actions (case-insensitively) and resources.
pub fn glob(pattern: &str, value: &str) -> bool {
    fn go(p: &[u8], v: &[u8]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), value.as_bytes())
}

fn condition_holds(op: &str, key: &str, values: &[String], facts: &Facts) -> bool {
    let (set_op, op) = match op.split_once(':') {
        Some((set, op)) => (Some(set), op),
        None => (None, op),
    };
    let matches = |v: &str| match op {
        "StringEquals" => values.iter().any(|x| x == v),
        "StringLike" => values.iter().any(|x| glob(x, v)),
        _ => false,
    };
    let asked: Vec<&str> = match key {
        "dynamodb:LeadingKeys" => facts.leading_keys.iter().map(String::as_str).collect(),
        "s3:prefix" => facts.prefix.iter().map(String::as_str).collect(),
        k if k.starts_with("kms:EncryptionContext:") => {
            let name = &k["kms:EncryptionContext:".len()..];
            facts
                .encryption_context
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect()
        }
        _ => return false, // a condition this checker does not model never grants
    };
    if op == "Null" {
        // `"true"`: the key is absent from the request; `"false"`: present.
        return values.iter().any(|v| (v == "true") == asked.is_empty());
    }
    match set_op {
        // True for an empty set too, as in AWS (why no statement here grants Scan).
        Some("ForAllValues") => asked.iter().all(|v| matches(v)),
        Some("ForAnyValue") => asked.iter().any(|v| matches(v)),
        _ => asked.len() == 1 && matches(asked[0]),
    }
}

impl Policy {
    pub fn allows(&self, action: &str, resource: &str, facts: &Facts) -> bool {
        self.statements.iter().any(|s| {
            s.actions
                .iter()
                .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && s.resources.iter().any(|r| glob(r, resource))
                && s.conditions
                    .iter()
                    .all(|(op, key, values)| condition_holds(op, key, values, facts))
        })
    }

    /// The policy as moto can enforce it: S3 statements as written (moto checks object ARNs),
    /// every other service by action only.
    pub fn for_moto(&self) -> Json {
        let statements: Vec<Json> = self
            .statements
            .iter()
            .map(|s| {
                let s3 = s.actions.iter().all(|a| a.starts_with("s3:"));
                let mut actions = s.actions.clone();
                let transactional = ["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"];
                if actions
                    .iter()
                    .any(|a| transactional.iter().any(|t| a == &format!("dynamodb:{t}")))
                {
                    actions.push("dynamodb:TransactWriteItems".into());
                }
                // moto checks the batch operation's own name; in IAM it is the single action.
                for single in ["sqs:SendMessage", "sqs:DeleteMessage"] {
                    if actions.iter().any(|a| a == single) {
                        actions.push(format!("{single}Batch"));
                    }
                }
                let resources = if s3 { json!(s.resources) } else { json!("*") };
                json!({ "Effect": "Allow", "Action": actions, "Resource": resources })
            })
            .collect();
        json!({ "Version": "2012-10-17", "Statement": statements })
    }
}

/// The values `!Ref`, `!GetAtt` and `!Sub` take in a local stack named `names`.
pub fn local_values(
    spec: &StackSpec,
    names: &Names,
    stage: &str,
    sender: &str,
) -> HashMap<String, String> {
    let table_arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}", names.table);
    let mut v: HashMap<String, String> = [
        ("Stage", stage.to_owned()),
        ("AWS::AccountId", ACCOUNT.into()),
        ("AWS::Region", REGION.into()),
        ("AWS::Partition", "aws".into()),
        ("AWS::URLSuffix", "amazonaws.com".into()),
        ("SenderEmail", sender.into()),
        ("Table", names.table.clone()),
        ("Table.StreamArn", format!("{table_arn}/stream/local")),
        ("Table.Arn", table_arn),
        ("UploadsBucket", names.bucket.clone()),
        (
            "UploadsBucket.Arn",
            format!("arn:aws:s3:::{}", names.bucket),
        ),
        ("FollowUpScheduleGroup", names.schedule_group.clone()),
        ("EmailConfigurationSet", names.configuration_set.clone()),
        ("CredentialKey.Arn", names.credential_key.clone()),
        (
            "SchedulerInvokeNotifyRole.Arn",
            format!("arn:aws:iam::{ACCOUNT}:role/accolade-{stage}-scheduler"),
        ),
        ("FailureQueue.Arn", queue_arn(&names.failure_queue)),
        ("WebhookQueue", names.webhook_queue_url.clone()),
        ("WebhookQueue.Arn", queue_arn(&names.webhook_queue)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for f in &spec.functions {
        v.insert(
            format!("{}.Arn", f.logical_id),
            format!(
                "arn:aws:lambda:{REGION}:{ACCOUNT}:function:accolade-{stage}-{}",
                f.binary
            ),
        );
    }
    // Every other parameter takes its default, as a deploy that does not set it.
    for (k, d) in &spec.parameter_defaults {
        v.entry(k.clone()).or_insert_with(|| d.clone());
    }
    v
}

pub fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
}

/// The queue an SQS request names (`QueueUrl`, whose last segment is the queue's name).
fn sqs_accesses(op: &str, body: &Json) -> Vec<Vec<Access>> {
    let name = body["QueueUrl"]
        .as_str()
        .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
        .unwrap_or("(no queue named)");
    // One IAM action covers the batch form of each operation.
    let action = op.trim_end_matches("Batch");
    vec![vec![Access {
        action: format!("sqs:{action}"),
        resource: queue_arn(name),
        facts: Facts::default(),
    }]]
}

/// One template value, evaluated for a local stack (the template's bucket name is this stack's).
pub fn resolve(
    v: &Value,
    values: &HashMap<String, String>,
    spec: &StackSpec,
    names: &Names,
) -> Result<String, String> {
    crate::sam::evaluate(v, values)
        .map(|s| s.replace(&spec.bucket_name, &names.bucket))
        .map_err(|e| e.to_string())
}

fn strings(
    v: &Value,
    values: &HashMap<String, String>,
    spec: &StackSpec,
    names: &Names,
) -> Result<Vec<String>, String> {
    let one = |x: &Value| resolve(x, values, spec, names);
    match v {
        Value::Sequence(items) => items.iter().map(one).collect(),
        Value::Null => Ok(vec![]),
        other => Ok(vec![one(other)?]),
    }
}

/// The function's policy (by binary name) for a local stack.
pub fn policy_of(
    spec: &StackSpec,
    names: &Names,
    stage: &str,
    sender: &str,
    binary: &str,
) -> Result<Policy, String> {
    let f = spec
        .function(binary)
        .ok_or_else(|| format!("template.yaml has no function with binary {binary}"))?;
    let values = local_values(spec, names, stage, sender);
    let mut statements = Vec::new();
    for st in &f.statements {
        if st["Effect"].as_str() != Some("Allow") {
            return Err(format!("{binary}: only Allow statements are modelled"));
        }
        let mut conditions = Vec::new();
        for (op, keys) in st["Condition"].as_mapping().into_iter().flatten() {
            for (key, vals) in keys.as_mapping().into_iter().flatten() {
                conditions.push((
                    op.as_str().unwrap_or_default().to_owned(),
                    key.as_str().unwrap_or_default().to_owned(),
                    strings(vals, &values, spec, names)?,
                ));
            }
        }
        statements.push(Statement {
            actions: strings(&st["Action"], &values, spec, names)?,
            resources: strings(&st["Resource"], &values, spec, names)?,
            conditions,
        });
    }
    Ok(Policy { statements })
}

/// One authorisation a request needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub action: String,
    pub resource: String,
    pub facts: Facts,
}

fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

fn pk_of(item: &Json) -> Vec<String> {
    item.get("PK")
        .and_then(|v| v.get("S"))
        .and_then(Json::as_str)
        .map(|s| vec![s.to_owned()])
        .unwrap_or_default()
}

fn access(action: &str, table: &str, leading_keys: Vec<String>) -> Access {
    Access {
        action: format!("dynamodb:{action}"),
        resource: table_arn(table),
        facts: Facts {
            leading_keys,
            ..Facts::default()
        },
    }
}

/// The partition-key value a Query asks for: the value compared with `=` to the key attribute
/// (`PK` on the table, the index's own partition key on an index).
fn query_leading_key(body: &Json, key_attribute: &str) -> Vec<String> {
    let expr = body["KeyConditionExpression"].as_str().unwrap_or_default();
    let names = &body["ExpressionAttributeNames"];
    for clause in expr.split(" AND ").flat_map(|c| c.split(" and ")) {
        let Some((l, r)) = clause.split_once('=') else {
            continue;
        };
        if l.ends_with(['<', '>', '!']) {
            continue;
        }
        let (l, r) = (
            l.trim().trim_start_matches('('),
            r.trim().trim_end_matches(')'),
        );
        let name = names.get(l).and_then(Json::as_str).unwrap_or(l);
        if name == key_attribute {
            if let Some(v) = body["ExpressionAttributeValues"][r]["S"].as_str() {
                return vec![v.to_owned()];
            }
        }
    }
    vec![]
}

/// What a DynamoDB request (operation name, JSON body) needs, item by item.
pub fn dynamodb_accesses(op: &str, body: &Json, spec: &StackSpec) -> Vec<Access> {
    let table = body["TableName"].as_str().unwrap_or_default();
    match op {
        "GetItem" | "UpdateItem" | "DeleteItem" => vec![access(op, table, pk_of(&body["Key"]))],
        "PutItem" => vec![access(op, table, pk_of(&body["Item"]))],
        "Query" => vec![query_access(body, spec, table)],
        "BatchGetItem" | "BatchWriteItem" => batch_accesses(op, body),
        // No TransactWriteItems action in IAM: each item is authorised as its own operation.
        "TransactWriteItems" | "TransactGetItems" => transact_accesses(body),
        other => vec![access(other, table, vec![])],
    }
}

/// A Query: on the table, or on an index (its own ARN; the leading key is the index's).
fn query_access(body: &Json, spec: &StackSpec, table: &str) -> Access {
    let (resource, key) = match body["IndexName"].as_str() {
        Some(index) => {
            let key = spec
                .table
                .indexes
                .iter()
                .find(|i| i.name == index)
                .and_then(|i| i.keys.iter().find(|k| k.key_type == "HASH"))
                .map(|k| k.name.clone())
                .unwrap_or_default();
            (format!("{}/index/{index}", table_arn(table)), key)
        }
        None => (table_arn(table), "PK".to_owned()),
    };
    Access {
        action: "dynamodb:Query".into(),
        resource,
        facts: Facts {
            leading_keys: query_leading_key(body, &key),
            ..Facts::default()
        },
    }
}

/// `BatchGetItem` / `BatchWriteItem`: the operation itself, on each table, with every key.
fn batch_accesses(op: &str, body: &Json) -> Vec<Access> {
    let keys_of = |req: &Json| -> Vec<String> {
        let items = req.as_array().or_else(|| req["Keys"].as_array());
        items
            .into_iter()
            .flatten()
            .flat_map(|r| {
                let mut k = pk_of(&r["PutRequest"]["Item"]);
                k.extend(pk_of(&r["DeleteRequest"]["Key"]));
                k.extend(pk_of(r));
                k
            })
            .collect()
    };
    body["RequestItems"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(t, req)| access(op, t, keys_of(req)))
        .collect()
}

/// `TransactWriteItems` / `TransactGetItems`: each item as its own operation.
fn transact_accesses(body: &Json) -> Vec<Access> {
    body["TransactItems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let (kind, inner) = item.as_object()?.iter().next()?;
            let action = match kind.as_str() {
                "Put" => "PutItem",
                "Update" => "UpdateItem",
                "Delete" => "DeleteItem",
                "ConditionCheck" => "ConditionCheckItem",
                _ => "GetItem",
            };
            let keys = pk_of(if kind == "Put" {
                &inner["Item"]
            } else {
                &inner["Key"]
            });
            Some(access(
                action,
                inner["TableName"].as_str().unwrap_or_default(),
                keys,
            ))
        })
        .collect()
}

/// What an SESv2 `SendEmail` needs: the sending identity (address or its domain) and the
/// configuration set, if named.
fn ses_accesses(body: &Json) -> Vec<Vec<Access>> {
    let from = body["FromEmailAddress"].as_str().unwrap_or_default();
    let address = from
        .rsplit_once('<')
        .map_or(from, |(_, a)| a.trim_end_matches('>'))
        .trim();
    let domain = address.rsplit('@').next().unwrap_or(address);
    let identity = |who: &str| Access {
        action: "ses:SendEmail".into(),
        resource: format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{who}"),
        facts: Facts::default(),
    };
    let mut all = vec![vec![identity(address), identity(domain)]];
    if let Some(set) = body["ConfigurationSetName"].as_str() {
        all.push(vec![Access {
            action: "ses:SendEmail".into(),
            resource: format!("arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{set}"),
            facts: Facts::default(),
        }]);
    }
    all
}

/// Checks each request of a function's clients against its policy (see the module's doc).
#[derive(Debug, Clone)]
pub struct PolicyCheck {
    pub principal: String,
    pub policy: Arc<Policy>,
    pub spec: Arc<StackSpec>,
    /// The launcher's deny endpoint (`{emulator}/_accolade/deny`).
    pub deny_url: String,
}

impl PolicyCheck {
    /// The first authorisation the policy does not grant, if any.
    fn refused(&self, service: &str, op: &str, uri: &str, body: &Json) -> Option<Access> {
        let needs: Vec<Vec<Access>> = match service {
            "dynamodb" => dynamodb_accesses(op, body, &self.spec)
                .into_iter()
                .map(|a| vec![a])
                .collect(),
            "sesv2" if op == "SendEmail" => ses_accesses(body),
            "sqs" => sqs_accesses(op, body),
            // The key named in the request (the code always names it, by ARN, even for Decrypt).
            "kms" => vec![vec![Access {
                action: format!("kms:{op}"),
                resource: body["KeyId"]
                    .as_str()
                    .unwrap_or("(no key named)")
                    .to_owned(),
                facts: Facts {
                    encryption_context: body["EncryptionContext"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect(),
                    ..Facts::default()
                },
            }]],
            "scheduler" => {
                let name = uri.split("/schedules/").nth(1).unwrap_or_default();
                let name = name.split(['?', '/']).next().unwrap_or_default();
                let group = body["GroupName"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| {
                        uri.split("groupName=")
                            .nth(1)
                            .map(|g| g.split('&').next().unwrap_or_default().to_owned())
                    })
                    .unwrap_or_else(|| "default".into());
                vec![vec![Access {
                    action: format!("scheduler:{op}"),
                    resource: format!(
                        "arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{name}"
                    ),
                    facts: Facts::default(),
                }]]
            }
            _ => vec![],
        };
        needs.into_iter().find_map(|any_of| {
            if any_of
                .iter()
                .any(|a| self.policy.allows(&a.action, &a.resource, &a.facts))
            {
                None
            } else {
                any_of.into_iter().next()
            }
        })
    }
}

/// The bucket and key of an S3 request, from before it was sent.
#[derive(Debug, Clone)]
struct S3Object {
    bucket: String,
    key: String,
}

impl aws_smithy_types::config_bag::Storable for S3Object {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

fn operation(cfg: &ConfigBag) -> (String, String) {
    cfg.load::<Metadata>()
        .map(|m| (m.service().to_ascii_lowercase(), m.name().to_owned()))
        .unwrap_or_default()
}

impl Intercept for PolicyCheck {
    fn name(&self) -> &'static str {
        "PolicyCheck"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, op) = operation(cfg);
        let request = context.request_mut();
        if service == "s3" {
            // Path-style: /{bucket}/{key}; kept for the 404 → 403 rule after the answer.
            let path = request.uri().split("://").nth(1).unwrap_or_default();
            let mut parts = path.splitn(3, '/').skip(1);
            let bucket = parts.next().unwrap_or_default().to_owned();
            let key = parts
                .next()
                .unwrap_or_default()
                .split('?')
                .next()
                .unwrap_or_default();
            let key = crate::gateway::percent_decode(key);
            cfg.interceptor_state().store_put(S3Object { bucket, key });
        }
        let body: Json = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Json::Null);
        if let Some(refused) = self.refused(&service, &op, request.uri(), &body) {
            let query = format!(
                "?principal={}&action={}&resource={}",
                accolade::urls::encode(&self.principal),
                accolade::urls::encode(&refused.action),
                accolade::urls::encode(&refused.resource)
            );
            tracing::warn!(principal = %self.principal, action = %refused.action, resource = %refused.resource, keys = ?refused.facts.leading_keys, "denied by the function's policy in template.yaml");
            request.set_uri(format!("{}{query}", self.deny_url))?;
        }
        Ok(())
    }

    /// S3 answers a missing object with 403, not 404, to a caller without `s3:ListBucket`.
    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, op) = operation(cfg);
        if service != "s3" || !matches!(op.as_str(), "GetObject" | "HeadObject") {
            return Ok(());
        }
        if context.response().status().as_u16() != 404 {
            return Ok(());
        }
        let Some(S3Object { bucket, key }) = cfg.load::<S3Object>().cloned() else {
            return Ok(());
        };
        let facts = Facts {
            prefix: Some(key),
            ..Facts::default()
        };
        if !self
            .policy
            .allows("s3:ListBucket", &format!("arn:aws:s3:::{bucket}"), &facts)
        {
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
            let mut resp = aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(403u16)?,
                aws_smithy_types::body::SdkBody::from(body),
            );
            resp.headers_mut().insert("content-type", "application/xml");
            *context.response_mut() = resp;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(
            "arn:aws:s3:::b/uploads/*",
            "arn:aws:s3:::b/uploads/x/y.csv"
        ));
        assert!(!glob(
            "arn:aws:s3:::b/reports/*",
            "arn:aws:s3:::b/uploads/x"
        ));
        assert!(glob("ISSUER#*#UNSUB#*", "ISSUER#abc#UNSUB#def"));
        assert!(!glob("ISSUER#*#UNSUB#*", "ISSUER#abc"));
    }

    /// An issuer's webhook endpoints (their signing secrets) and its credential-signing keys are
    /// partitions of their own: only the functions that manage them may touch them, though every
    /// function that reads an issuer's profile still may read that ("ISSUER#*" would match all),
    /// and only api and analytics (its digest claims) may write the issuer's own partition.
    #[test]
    fn only_their_managers_touch_an_issuers_webhooks_and_signing_keys() {
        use accolade::{domain::ids::IssuerId, store::keys};
        let spec = crate::sam::load(&crate::repo_root().join("template.yaml"), "local").unwrap();
        let names = Names::derived("iam");
        let iid = IssuerId::generate();
        let actions = [
            "GetItem",
            "BatchGetItem",
            "Query",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "ConditionCheckItem",
        ];
        let may = |binary: &str, pk: &str| -> Vec<&str> {
            let policy = policy_of(&spec, &names, "local", "s@example.com", binary).unwrap();
            let facts = Facts {
                leading_keys: vec![pk.to_owned()],
                ..Facts::default()
            };
            let table = table_arn(&names.table);
            let allowed = |a: &&&str| policy.allows(&format!("dynamodb:{a}"), &table, &facts);
            actions.iter().filter(allowed).copied().collect()
        };
        let hooks = keys::webhooks_of(&iid);
        let signing = keys::signing_keys(&iid);
        for (binary, on_hooks, on_signing) in [
            ("api", &actions[..], &actions[..]),
            ("verify", &[][..], &["Query", "PutItem"][..]),
            ("ingest", &[], &[]),
            ("notify", &["Query"], &[]),
            ("analytics", &[], &[]),
            ("webhooks", &["GetItem", "UpdateItem"], &[]),
        ] {
            assert_eq!(may(binary, &hooks), on_hooks, "{binary} on {hooks}");
            assert_eq!(may(binary, &signing), on_signing, "{binary} on {signing}");
            let profile = keys::issuer(&iid).0;
            let on_profile = may(binary, &profile);
            assert!(on_profile.contains(&"GetItem"), "{binary}");
            // Only api writes an issuer's own items. Analytics' digest claims have their own
            // partition: besides api, which manages every issuer partition, only analytics
            // writes there.
            let reads = ["GetItem", "BatchGetItem", "Query"];
            if binary != "api" {
                assert!(
                    on_profile.iter().all(|a| reads.contains(a)),
                    "{binary}: {on_profile:?}"
                );
            }
            let digests = keys::digest(&iid, chrono::NaiveDate::MIN).0;
            let on_digests = may(binary, &digests);
            let writes = on_digests.iter().any(|a| !reads.contains(a));
            let should = matches!(binary, "api" | "analytics");
            assert_eq!(writes, should, "{binary} on {digests}: {on_digests:?}");
        }
    }

    #[test]
    fn leading_keys_and_transactions() {
        let spec = crate::sam::load(&crate::repo_root().join("template.yaml"), "local").unwrap();
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "AWARD#1"}, "SK": {"S": "AWARD"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "TEMPLATE#2"}}}}]});
        let a = dynamodb_accesses("TransactWriteItems", &body, &spec);
        assert_eq!(a[0].action, "dynamodb:PutItem");
        assert_eq!(a[0].facts.leading_keys, vec!["AWARD#1"]);
        assert_eq!(a[1].action, "dynamodb:ConditionCheckItem");
        let q = json!({"TableName": "t", "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :p AND GSI1SK > :s",
            "ExpressionAttributeValues": {":p": {"S": "ISSUERS"}, ":s": {"S": "x"}}});
        let a = dynamodb_accesses("Query", &q, &spec);
        assert!(a[0].resource.ends_with("table/t/index/GSI1"));
        assert_eq!(a[0].facts.leading_keys, vec!["ISSUERS"]);
        let policy = Policy {
            statements: vec![Statement {
                actions: vec!["dynamodb:PutItem".into()],
                resources: vec![table_arn("t")],
                conditions: vec![(
                    "ForAllValues:StringLike".into(),
                    "dynamodb:LeadingKeys".into(),
                    vec!["AWARD#*".into()],
                )],
            }],
        };
        let ok = access("PutItem", "t", vec!["AWARD#1".into()]);
        let config = access("PutItem", "t", vec!["CONFIG".into()]);
        assert!(policy.allows(&ok.action, &ok.resource, &ok.facts));
        assert!(!policy.allows(&config.action, &config.resource, &config.facts));
        assert!(!policy.allows("dynamodb:PutItem", &table_arn("other"), &ok.facts));
    }
}
