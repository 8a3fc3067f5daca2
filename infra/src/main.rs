//! `cargo run -p infra -- <command>`: the operator CLI and the local stack (`dev`).

use accolade::{aws::SdkRoots, domain::ids::IssuerId, store::Store};
use clap::{Parser, Subcommand};
use infra::{
    gateway,
    lambda::{LocalLambda, Stack},
    moto::Moto,
    operator, provision,
    runner::Runner,
    sam, seed,
};
use std::path::PathBuf;

mod bench;
mod cost;

#[derive(Parser)]
#[command(name = "infra", about = "Accolade operator tools and local stack")]
struct Cli {
    /// DynamoDB table (in AWS: the stack's TableName output).
    #[arg(long, env = "TABLE_NAME", global = true)]
    table: Option<String>,
    /// Endpoint override (the local emulator). Unset in AWS.
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    endpoint: Option<String>,
    /// Use the running local stack (reads .local/stack.json, or $ACCOLADE_STACK_DIR/stack.json).
    #[arg(long, global = true)]
    local: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Issuers (institutions).
    Issuer {
        #[command(subcommand)]
        command: IssuerCommand,
    },
    /// API keys.
    ApiKey {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Run the whole product locally: emulator, resources from template.yaml, demo data, server.
    Dev {
        /// HTTP port (default: $PORT or 3000).
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
    },
    /// Benchmark CSV ingest end to end on a private emulator: wall time, AWS requests by
    /// operation, peak RSS. Prints a Markdown table row.
    BenchIngest {
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
        /// Make the last row invalid and use all_or_nothing: only the streaming validation pass
        /// runs (the whole file is read and checked, nothing is written).
        #[arg(long)]
        validate_only: bool,
        /// What the rows hold: `roster` (valid rows with Korean names), `short` (the shortest
        /// distinct valid rows: the most rows the limits allow), `invalid` (every cell of seven
        /// columns wrong: the most row errors), `long-cells` (10,000-character narratives).
        #[arg(long, default_value = "roster")]
        shape: String,
        /// The whole path instead: `POST /v1/batches`, a presigned `PUT`, the S3 events
        /// delivered by the local runner until the batch is finished (roster rows).
        #[arg(long)]
        via_upload: bool,
        /// With `--via-upload`: then the table's stream delivered to notify until it is drained
        /// (each badge's day-1 email and its follow-up scheduling), at template.yaml's send rate.
        #[arg(long, requires = "via_upload")]
        then_notify: bool,
    },
    /// What each operation costs in AWS (request units, invocations, dollars): docs/performance.md.
    BenchCost {
        /// Rows of the CSV file (the day-1 and follow-up phases are its badges').
        #[arg(long, default_value_t = 1000)]
        badges: usize,
        /// Badge views, and as many tracked clicks, over 100 badges issued by API.
        #[arg(long, default_value_t = 500)]
        views: usize,
    },
    /// Once after upgrading from a release before 2026-12-03: moves the follow-ups still due in
    /// the old `DUE` index into their buckets' partitions (safe beside running functions, and to
    /// run again). Prints how many it moved.
    MoveDueItems,
    /// Once after upgrading from a release before 2026-12-04: adds the issuers and templates
    /// written before the `CATALOGUE` index existed to it (safe beside running functions, and to
    /// run again). Prints how many it added.
    IndexCatalogue,
    /// Hands what Lambda, Scheduler or EventBridge gave up on (the failure queue's messages:
    /// stream batches, asynchronous invocations, dead-letter events) to its function again, once
    /// the cause is mended; deletes each message its function then handled, and says why it left
    /// any other. Runs as the operator (README,
    /// "When something fails"): `sqs:ReceiveMessage`/`DeleteMessage`/`ChangeMessageVisibility`,
    /// `dynamodb:GetShardIterator`/`GetRecords` on the table's stream, `lambda:InvokeFunction`.
    ReplayFailures {
        /// The stack's `FailureQueueUrl` output.
        #[arg(long, env = "FAILURE_QUEUE_URL")]
        queue_url: String,
        /// Only say what each message is: replay nothing, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Delete this message (by its id, as a run prints it) without replaying it: one you
        /// have dealt with by hand, or one past replaying. Repeatable.
        #[arg(long, value_name = "MESSAGE_ID")]
        discard: Vec<String>,
    },
    /// Cold starts: each built function binary (and an empty `lambda_runtime` function) started
    /// as Lambda starts it, `--runs` times; medians of init, cold and warm response. Build first:
    /// `cargo build --release --workspace --bins`.
    BenchColdStart(bench::ColdOptions),
}

#[derive(Subcommand)]
enum IssuerCommand {
    /// Create an issuer and its first API key (printed once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        url: String,
        #[arg(long)]
        email: String,
        /// ko or en (default ko).
        #[arg(long)]
        locale: Option<String>,
        /// IANA time zone (default Asia/Seoul).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// List issuers.
    List,
    /// Rotate an issuer's Open Badges 3.0 signing key: a new key (wrapped by the KMS key) joins
    /// its DID document and signs from two minutes later (verifiers cache the document for
    /// 60 s); the old ones stay in it, so earlier credentials still verify.
    RotateSigningKey {
        #[arg(long)]
        issuer: String,
        /// After a suspected leak: the new key signs at once, and every older key leaves the DID
        /// document (nothing it signs verifies any more); the credentials it signed are signed
        /// again when next requested.
        #[arg(long)]
        retire_previous: bool,
        /// The stack's KMS key (template.yaml `CredentialKey`; with --local, from stack.json).
        #[arg(long, env = "SIGNING_KEY_ARN")]
        signing_key_arn: Option<String>,
        /// The deployment's public URL, e.g. https://badges.example.ac.kr (for the DID printed).
        #[arg(long, env = "PUBLIC_BASE_URL")]
        public_base_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create another API key for an issuer (printed once).
    Create {
        #[arg(long)]
        issuer: String,
        #[arg(long, default_value = "operator key")]
        name: String,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    accolade::telemetry::init_local();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The local stack's `stack.json`, when `--local`.
fn local_stack() -> Result<serde_json::Value, BoxError> {
    let path = stack_dir().join("stack.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (is `make dev` running?)", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// An App for operator actions that sign or need KMS: the table, the KMS key and the public URL.
async fn app_for(
    cli: &Cli,
    signing_key_arn: Option<&str>,
    public_base_url: Option<&str>,
) -> Result<accolade::app::App, BoxError> {
    let local = if cli.local {
        Some(local_stack()?)
    } else {
        None
    };
    let pick = |given: Option<&str>, key: &str| {
        given.map(str::to_owned).or_else(|| {
            local
                .as_ref()
                .and_then(|v| v[key].as_str().map(str::to_owned))
        })
    };
    let vars: std::collections::HashMap<&str, Option<String>> = [
        ("TABLE_NAME", pick(cli.table.as_deref(), "table_name")),
        (
            "UPLOADS_BUCKET",
            pick(None, "uploads_bucket").or(Some("unused".into())),
        ),
        ("PUBLIC_BASE_URL", pick(public_base_url, "base_url")),
        ("SIGNING_KEY_ARN", pick(signing_key_arn, "signing_key_arn")),
        (
            "AWS_ENDPOINT_URL",
            pick(cli.endpoint.as_deref(), "endpoint_url"),
        ),
    ]
    .into_iter()
    .collect();
    let config = accolade::config::Config::from_vars(&|n| vars.get(n).cloned().flatten())?;
    if config.signing_key_arn.is_none() {
        return Err("which KMS key? pass --signing-key-arn (or set SIGNING_KEY_ARN)".into());
    }
    let sdk = match (&config.aws_endpoint_url, cli.local) {
        (Some(e), true) => infra::moto::admin_sdk_config(e),
        // An operator's machine: its own roots (a proxy or a VPN may stand in front of AWS).
        _ => {
            let endpoint = config.aws_endpoint_url.as_deref();
            accolade::aws::sdk_config(endpoint, SdkRoots::System).await
        }
    };
    Ok(accolade::app::App::new(config, &sdk))
}

/// `infra issuer rotate-signing-key`: the issuer's next key; prints the verification method (and
/// the keys retired).
async fn rotate_signing_key(
    app: &accolade::app::App,
    issuer: &str,
    retire_previous: bool,
) -> Result<(), BoxError> {
    let id = IssuerId::parse(issuer).map_err(|e| format!("--issuer: {e}"))?;
    if app.store.get_issuer(&id).await?.is_none() {
        return Err(format!("issuer {issuer} does not exist").into());
    }
    let rotated = accolade::credentials::rotate_key(app, &id, retire_previous).await?;
    let n = rotated.key;
    let method = accolade::ob3::verification_method(&app.urls(), &id, n);
    if rotated.signs_from <= chrono::Utc::now() {
        println!("{}\tnow signs as {method}", n.fragment());
    } else {
        let at = rotated
            .signs_from
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        println!("{}\tsigns from {at} as {method}", n.fragment());
    }
    for k in rotated.retired {
        println!("{}\tretired", k.fragment());
    }
    Ok(())
}

/// `infra replay-failures` against AWS (the local stack's failures are at `/_local/failures`, and
/// the tests replay them with the local Lambda service).
async fn replay_failures(
    cli: &Cli,
    queue_url: &str,
    dry_run: bool,
    discard: &[String],
) -> Result<(), BoxError> {
    if cli.local {
        return Err("replay-failures runs against AWS; locally, see /_local/failures".into());
    }
    let table = cli
        .table
        .as_deref()
        .ok_or("--table (the stack's TableName output) is needed: only its stream is read")?;
    let sdk = accolade::aws::sdk_config(cli.endpoint.as_deref(), SdkRoots::System).await;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let scope = infra::replay::Scope::of_queue_url(queue_url, table, &region)?;
    let spec = sam::load(&infra::repo_root().join("template.yaml"), &scope.stage)?;
    let invoker = infra::replay::Invoker::Aws(aws_sdk_lambda::Client::new(&sdk));
    let mut replay = infra::replay::Replay::new(&sdk, queue_url, &spec, scope, invoker);
    replay.dry_run = dry_run;
    replay.discard = discard.to_vec();
    let outcomes = replay.run().await?;
    for o in &outcomes {
        println!("{}\t{}", o.message_id, o.note);
    }
    let left = outcomes.iter().filter(|o| !o.replayed).count();
    println!(
        "{} replayed and deleted, {left} left in the queue",
        outcomes.len() - left
    );
    if left > 0 && !dry_run {
        return Err(format!("{left} messages left in the failure queue (see above)").into());
    }
    Ok(())
}

async fn store_for(cli: &Cli) -> Result<Store, BoxError> {
    let (endpoint, table) = if cli.local {
        let v = local_stack()?;
        (
            v["endpoint_url"].as_str().map(str::to_owned),
            v["table_name"].as_str().map(str::to_owned),
        )
    } else {
        (cli.endpoint.clone(), cli.table.clone())
    };
    let table = table
        .ok_or("which table? pass --table (or set TABLE_NAME), or --local for the local stack")?;
    let sdk = match (&endpoint, cli.local) {
        // The local stack's emulator enforces IAM: the operator acts as its administrator.
        (Some(e), true) => infra::moto::admin_sdk_config(e),
        _ => accolade::aws::sdk_config(endpoint.as_deref(), SdkRoots::System).await,
    };
    Ok(Store::new(accolade::aws::dynamodb(&sdk), table))
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    match &cli.command {
        Command::Issuer { command } => issuer_command(&cli, command).await?,
        Command::ApiKey {
            command: KeyCommand::Create { issuer, name },
        } => {
            let store = store_for(&cli).await?;
            let id = IssuerId::parse(issuer).map_err(|e| format!("--issuer: {e}"))?;
            let key = operator::create_key(&store, &id, name).await?;
            println!(
                "api_key: {}   (shown once; only its hash is stored)",
                key.expose()
            );
        }
        Command::Dev { port } => dev(*port).await?,
        Command::MoveDueItems => {
            let done = store_for(&cli).await?.move_legacy_due_items().await?;
            println!(
                "moved {} follow-ups out of the DUE index; it holds {} now{}",
                done.moved,
                done.left,
                if done.left > 0 { " (run it again)" } else { "" }
            );
        }
        Command::IndexCatalogue => {
            let done = store_for(&cli).await?.index_catalogue().await?;
            println!(
                "added {} issuers and templates to the catalogue; {} were in it{}",
                done.added,
                done.present,
                match done.unreadable {
                    0 => String::new(),
                    n => format!("; {n} listed items named no readable id (logged)"),
                }
            );
        }
        Command::BenchIngest {
            rows,
            via_upload: true,
            then_notify,
            ..
        } => bench::ingest_via_upload(*rows, *then_notify).await?,
        Command::BenchIngest {
            rows,
            validate_only,
            shape,
            ..
        } => bench::ingest(*rows, *validate_only, shape).await?,
        Command::BenchColdStart(options) => bench::cold_start(options).await?,
        Command::ReplayFailures {
            queue_url,
            dry_run,
            discard,
        } => {
            replay_failures(&cli, queue_url, *dry_run, discard).await?;
        }
        Command::BenchCost { badges, views } => cost::run(*badges, *views).await?,
    }
    Ok(())
}

/// `infra issuer …`.
async fn issuer_command(cli: &Cli, command: &IssuerCommand) -> Result<(), BoxError> {
    match command {
        IssuerCommand::Create {
            name,
            url,
            email,
            locale,
            time_zone,
        } => {
            let store = store_for(cli).await?;
            let (issuer, key) = operator::create_issuer(
                &store,
                &operator::NewIssuer {
                    name,
                    url,
                    email,
                    locale: locale.as_deref(),
                    time_zone: time_zone.as_deref(),
                },
            )
            .await?;
            println!("issuer_id: {}", issuer.id);
            println!(
                "api_key:   {}   (shown once; only its hash is stored)",
                key.expose()
            );
        }
        IssuerCommand::RotateSigningKey {
            issuer,
            retire_previous,
            signing_key_arn,
            public_base_url,
        } => {
            let app = app_for(cli, signing_key_arn.as_deref(), public_base_url.as_deref()).await?;
            rotate_signing_key(&app, issuer, *retire_previous).await?;
        }
        IssuerCommand::List => {
            let store = store_for(cli).await?;
            let mut cursor = None;
            loop {
                let (list, next) = store.list_issuers(100, cursor.as_deref()).await?;
                for i in list {
                    println!("{}\t{}\t{}", i.id, i.profile.name, i.profile.email);
                }
                match next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
        }
    }
    Ok(())
}

/// Where `dev` writes `stack.json` and the emulator's log, and where `--local` reads them:
/// `.local/`, or `ACCOLADE_STACK_DIR` (the browser and conformance tests run their own stacks
/// without touching `.local/`).
fn stack_dir() -> PathBuf {
    std::env::var_os("ACCOLADE_STACK_DIR")
        .map_or_else(|| infra::repo_root().join(".local"), PathBuf::from)
}

async fn dev(port: u16) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            format!("cannot listen on 127.0.0.1:{port}: {e} (set PORT to use another port)")
        })?;
    let dir = stack_dir();
    let moto = Moto::start(None, &dir.join("moto.log")).await?;
    tracing::info!(endpoint = %moto.endpoint, "moto started");
    let spec = sam::load(&infra::repo_root().join("template.yaml"), "local")?;
    let names = provision::Names::of_stage("local", &spec);
    let base_url = format!("http://127.0.0.1:{port}");
    let mut stack = Stack {
        endpoint: moto.endpoint.clone(),
        spec: std::sync::Arc::new(spec),
        names: names.clone(),
        stage: "local".into(),
        sender: "badges@accolade.local".into(),
        public_base_url: base_url.clone(),
    };
    let admin = infra::moto::admin_sdk_config(&moto.endpoint);
    stack.provision(&admin).await?;
    let names = &stack.names;
    let lambda = LocalLambda::deploy(stack.clone(), Default::default()).await?;
    let demo = seed::seed(&infra::lambda::admin_app(&stack, &admin)).await?;

    write_stack_json(&dir, &base_url, &demo, &moto.endpoint, names)?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(Runner::new(lambda.clone(), admin).run(stop_rx));
    print_banner(&base_url, &demo, &moto.endpoint);
    let app = gateway::router(
        lambda.clone(),
        infra::outbox::routes(moto.endpoint.clone(), lambda),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop_tx.send(true);
    let _ = runner.await;
    moto.stop().await;
    let _ = std::fs::remove_file(dir.join("stack.json"));
    tracing::info!("stopped");
    Ok(())
}

/// `.local/stack.json`: what `--local` and the scripts read of the running local stack.
fn write_stack_json(
    dir: &std::path::Path,
    base_url: &str,
    demo: &seed::Demo,
    endpoint: &str,
    names: &provision::Names,
) -> Result<(), BoxError> {
    let json = serde_json::json!({
        "base_url": base_url,
        "api_key": demo.api_key.expose(),
        "issuer_id": demo.issuer_id,
        "template_id": demo.template_id,
        "award_id": demo.award_id,
        "endpoint_url": endpoint,
        "table_name": names.table,
        "uploads_bucket": names.bucket,
        "signing_key_arn": names.credential_key,
        "schedule_group": names.schedule_group,
        "failure_queue_url": names.failure_queue_url,
        "emulator_log": dir.join("moto.log"),
        "admin_access_key_id": infra::moto::ADMIN_KEY_ID,
        "admin_secret_access_key": infra::moto::ADMIN_SECRET,
    });
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("stack.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    Ok(())
}

fn print_banner(base_url: &str, demo: &seed::Demo, endpoint: &str) {
    println!();
    println!("  Accolade is running locally");
    println!("  ───────────────────────────");
    println!("  Console        {base_url}/console   (sign in with the API key below)");
    println!("  API            {base_url}/v1   (Authorization: Bearer <api key>)");
    println!("  OpenAPI        {base_url}/v1/openapi.json");
    println!("  Demo badge     {base_url}/b/{}", demo.award_id);
    println!("  Badge JSON     {base_url}/b/{}.json", demo.award_id);
    println!("  API key        {}", demo.api_key.expose());
    println!("  Issuer         {}", demo.issuer_id);
    println!("  Template       {}", demo.template_id);
    println!("  Outbox         {base_url}/_local/outbox   (emails the local SES received)");
    println!("  KakaoTalk/SMS  {base_url}/_local/outbox/kakao   (messages the local NAVER SENS stand-in accepted)");
    println!("  Failures       {base_url}/_local/failures   (events Lambda gave up on: the on-failure destinations)");
    println!("  Webhooks       {base_url}/_local/webhooks   (every webhook delivery and its last attempt)");
    println!("  Emulator       {endpoint}  (moto, IAM enforced; log in .local/moto.log)");
    println!("  Written to     .local/stack.json");
    println!();
    println!("  Try: curl -s -H \"Authorization: Bearer $(jq -r .api_key .local/stack.json)\" {base_url}/v1/templates");
    println!("  Ctrl-C stops everything.");
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
