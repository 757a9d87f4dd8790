//! `livecart-server`: run the server, manage accounts, and drive the host API
//! from a terminal (go live with an OBS stream, pin products, run sales).

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use livecart_protocol::rest::{
    CreateRoomRequest, HostRoomsResponse, NoticeRequest, PinRequest, Role, RoomSummary,
    StartFlashSaleRequest,
};
use livecart_protocol::{
    Money, PROTOCOL_HEADER, PROTOCOL_VERSION, ProductId, RoomId, SkuId, UserId,
};
use livecart_server::ServerConfig;
use std::path::PathBuf;

// Thousands of sockets allocate and free small buffers on every frame across
// threads; mimalloc beat glibc malloc there (docs/fanout.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "livecart-server",
    version,
    about = "The livecart live-room server"
)]
struct Cli {
    /// TOML config file (then LIVECART_* env vars override it).
    #[arg(long, global = true, default_value = "livecart-server.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve {
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Start without the demo world.
        #[arg(long)]
        no_demo: bool,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Accounts, written straight to the database.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The money ledger, read straight from the database.
    Ledger {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Rooms, through the host API of a running server.
    Room {
        #[arg(
            long,
            env = "LIVECART_SERVER_URL",
            default_value = "http://127.0.0.1:8787"
        )]
        server: String,
        /// The admin token, or a host's access token.
        #[arg(long, env = "LIVECART_HOST_TOKEN", hide_env_values = true)]
        token: String,
        #[command(subcommand)]
        command: RoomCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["viewer", "host", "admin"], default_value = "host")]
        role: String,
        /// Read from LIVECART_NEW_PASSWORD so it stays out of shell history.
        #[arg(long, env = "LIVECART_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Verify that debits equal credits, every transaction balances, every
    /// balance equals its entries and nothing is overdrawn. Exit code 1 if not.
    Check,
}

#[derive(Subcommand)]
enum RoomCommand {
    List,
    /// Create a room playing any stream URL (RTMP, HTTP-FLV, RTSP, SRT, HLS).
    Create {
        #[arg(long)]
        title: String,
        #[arg(long)]
        category: Option<String>,
        #[arg(long = "stream-url")]
        stream_urls: Vec<String>,
        #[arg(long)]
        host_id: Option<UserId>,
    },
    Start {
        room: RoomId,
    },
    End {
        room: RoomId,
    },
    Pin {
        room: RoomId,
        product: ProductId,
    },
    Unpin {
        room: RoomId,
    },
    FlashSale {
        room: RoomId,
        product: ProductId,
        sku: SkuId,
        /// Sale price in minor units (cents).
        #[arg(long)]
        price_minor: i64,
        #[arg(long, default_value = "USD")]
        currency: String,
        #[arg(long)]
        stock: u32,
        #[arg(long, default_value_t = 60)]
        duration_s: u32,
    },
    Notice {
        room: RoomId,
        text: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .init();
    let cli = Cli::parse();
    let config_file = cli.config.exists().then_some(cli.config.as_path());
    let mut config = ServerConfig::load(config_file).context("reading configuration")?;
    match cli.command.unwrap_or(Command::Serve {
        bind: None,
        data_dir: None,
        no_demo: false,
        seed: None,
    }) {
        Command::Serve {
            bind,
            data_dir,
            no_demo,
            seed,
        } => {
            if let Some(b) = bind {
                config.bind = b;
            }
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            if no_demo {
                config.demo.enabled = false;
            }
            if let Some(s) = seed {
                config.demo.seed = s;
            }
            let server = livecart_server::serve(config).await?;
            println!(
                "livecart server on {}  (feed: {}/v1/feed)",
                server.base_url, server.base_url
            );
            let token = server.state.shutdown.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                token.cancel();
            });
            server.wait().await
        }
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    name,
                    role,
                    password,
                },
        } => {
            let db = livecart_server::open_database(&config).await?;
            let role = match role.as_str() {
                "viewer" => Role::Viewer,
                "admin" => Role::Admin,
                _ => Role::Host,
            };
            let id = UserId::new();
            livecart_server::create_user(&db, id, &username, &name, role, &password).await?;
            println!("{id}");
            Ok(())
        }
        Command::Room {
            server,
            token,
            command,
        } => room_command(&server, &token, command).await,
        Command::Ledger {
            data_dir,
            command: LedgerCommand::Check,
        } => {
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            if !config.database_path().exists() {
                bail!("no database at {}", config.database_path().display());
            }
            let db = livecart_server::open_database(&config).await?;
            let report = livecart_server::check_ledger(&db).await?;
            db.close().await;
            println!("{report}");
            if !report.ok() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn room_command(server: &str, token: &str, command: RoomCommand) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let base = format!("{}/v1/host/rooms", server.trim_end_matches('/'));
    let send = |method: reqwest::Method, url: String| {
        http.request(method, url)
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
    };
    let req = match command {
        RoomCommand::List => {
            let res: HostRoomsResponse = check(send(reqwest::Method::GET, base).send().await?)
                .await?
                .json()
                .await?;
            for r in res.rooms {
                print_room(&r);
            }
            return Ok(());
        }
        RoomCommand::Create {
            title,
            category,
            stream_urls,
            host_id,
        } => {
            let body = CreateRoomRequest {
                title,
                category,
                stream_urls,
                host_id,
            };
            let r: RoomSummary = check(send(reqwest::Method::POST, base).json(&body).send().await?)
                .await?
                .json()
                .await?;
            print_room(&r);
            return Ok(());
        }
        RoomCommand::Start { room } => send(reqwest::Method::POST, format!("{base}/{room}/start")),
        RoomCommand::End { room } => send(reqwest::Method::POST, format!("{base}/{room}/end")),
        RoomCommand::Pin { room, product } => {
            send(reqwest::Method::POST, format!("{base}/{room}/pin")).json(&PinRequest {
                product_id: product,
                stream_time: None,
            })
        }
        RoomCommand::Unpin { room } => send(reqwest::Method::POST, format!("{base}/{room}/unpin")),
        RoomCommand::FlashSale {
            room,
            product,
            sku,
            price_minor,
            currency,
            stock,
            duration_s,
        } => {
            let price = Money::new(price_minor, currency.parse()?);
            send(reqwest::Method::POST, format!("{base}/{room}/flash-sales")).json(
                &StartFlashSaleRequest {
                    product_id: product,
                    sku_id: sku,
                    price,
                    stock,
                    duration_s,
                },
            )
        }
        RoomCommand::Notice { room, text } => {
            send(reqwest::Method::POST, format!("{base}/{room}/notices"))
                .json(&NoticeRequest { text })
        }
    };
    let res = check(req.send().await?).await?;
    let body = res.text().await?;
    if !body.is_empty() {
        println!("{body}");
    }
    Ok(())
}

async fn check(res: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    match serde_json::from_str::<livecart_protocol::Problem>(&body) {
        Ok(p) => bail!("{} ({}): {}", p.title, status, p.detail),
        Err(_) => bail!("{status}: {body}"),
    }
}

fn print_room(r: &RoomSummary) {
    let urls: Vec<&str> = r.streams.iter().map(|s| s.url.as_str()).collect();
    println!(
        "{}  {:?}  {}  [{}]  {}",
        r.id,
        r.status,
        r.title,
        r.host.name,
        urls.join(" ")
    );
}
