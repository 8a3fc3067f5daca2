//! `cargo run -p infra -- <command>`: the operator CLI and the local stack (`dev`).

use accolade::{app::App, config::Config, domain::ids::IssuerId, store::Store};
use clap::{Parser, Subcommand};
use infra::{gateway, moto::Moto, operator, provision, runner::Runner, sam, seed};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "infra", about = "Accolade operator tools and local stack")]
struct Cli {
    /// DynamoDB table (in AWS: the stack's TableName output).
    #[arg(long, env = "TABLE_NAME", global = true)]
    table: Option<String>,
    /// Endpoint override (the local emulator). Unset in AWS.
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    endpoint: Option<String>,
    /// Use the running local stack (reads .local/stack.json).
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

async fn store_for(cli: &Cli) -> Result<Store, BoxError> {
    let (endpoint, table) = if cli.local {
        let path = infra::repo_root().join(".local/stack.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (is `make dev` running?)", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)?;
        (
            v["endpoint_url"].as_str().map(str::to_owned),
            v["table_name"].as_str().map(str::to_owned),
        )
    } else {
        (cli.endpoint.clone(), cli.table.clone())
    };
    let table = table
        .ok_or("which table? pass --table (or set TABLE_NAME), or --local for the local stack")?;
    let sdk = accolade::aws::sdk_config(endpoint.as_deref()).await;
    Ok(Store::new(accolade::aws::dynamodb(&sdk), table))
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    match &cli.command {
        Command::Issuer {
            command:
                IssuerCommand::Create {
                    name,
                    url,
                    email,
                    locale,
                    time_zone,
                },
        } => {
            let store = store_for(&cli).await?;
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
        Command::Issuer {
            command: IssuerCommand::List,
        } => {
            let store = store_for(&cli).await?;
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
    }
    Ok(())
}

async fn dev(port: u16) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            format!("cannot listen on 127.0.0.1:{port}: {e} (set PORT to use another port)")
        })?;
    let moto = Moto::start(None).await?;
    tracing::info!(endpoint = %moto.endpoint, "moto started");
    let spec = sam::load(&infra::repo_root().join("template.yaml"), "local")?;
    let names = provision::Names {
        table: "accolade-local".into(),
        bucket: spec.bucket_name.clone(),
        schedule_group: spec.schedule_group.clone(),
    };
    let sender = "badges@accolade.local";
    let sdk = accolade::aws::local_sdk_config(&moto.endpoint);
    provision::create_all(&sdk, &spec, &names, Some(sender)).await?;
    let base_url = format!("http://127.0.0.1:{port}");
    let config = Config {
        table_name: names.table.clone(),
        uploads_bucket: names.bucket.clone(),
        public_base_url: base_url.clone(),
        sender_email: Some(sender.into()),
        schedule_group: Some(names.schedule_group.clone()),
        ses_configuration_set: None,
        aws_endpoint_url: Some(moto.endpoint.clone()),
    };
    let app = App::new(config, &sdk);
    let demo = seed::seed(&app).await?;

    let stack = serde_json::json!({
        "base_url": base_url,
        "api_key": demo.api_key.expose(),
        "issuer_id": demo.issuer_id,
        "template_id": demo.template_id,
        "award_id": demo.award_id,
        "endpoint_url": moto.endpoint,
        "table_name": names.table,
        "uploads_bucket": names.bucket,
        "schedule_group": names.schedule_group,
    });
    let dir: PathBuf = infra::repo_root().join(".local");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("stack.json"),
        serde_json::to_string_pretty(&stack)? + "\n",
    )?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(Runner::new(app.clone(), sdk.clone(), spec, names).run(stop_rx));

    println!();
    println!("  Accolade is running locally");
    println!("  ───────────────────────────");
    println!("  API            {base_url}/v1   (Authorization: Bearer <api key>)");
    println!("  OpenAPI        {base_url}/v1/openapi.json");
    println!("  Demo badge     {base_url}/b/{}", demo.award_id);
    println!("  Badge JSON     {base_url}/b/{}.json", demo.award_id);
    println!("  API key        {}", demo.api_key.expose());
    println!("  Issuer         {}", demo.issuer_id);
    println!("  Template       {}", demo.template_id);
    println!("  Emulator       {}  (moto)", moto.endpoint);
    println!("  Written to     .local/stack.json");
    println!();
    println!("  Try: curl -s -H \"Authorization: Bearer $(jq -r .api_key .local/stack.json)\" {base_url}/v1/templates");
    println!("  Ctrl-C stops everything.");
    println!();

    axum::serve(listener, gateway::router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop_tx.send(true);
    let _ = runner.await;
    moto.stop().await;
    let _ = std::fs::remove_file(dir.join("stack.json"));
    tracing::info!("stopped");
    Ok(())
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
