//! The application: pool, migrations, listener, middleware, routes and the email worker.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_http::{HttpService, KeepAlive};
use actix_service::{IntoServiceFactory, ServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::AppConfig;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::{Method, header};
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use tokio::net::TcpStream;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtKeys;
use crate::auth::password::Hashing;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::group_commit::GroupCommit;
use crate::db::{Db, run_migrations};
use crate::http::AppState;
use crate::http::cache::forget_views_on_write;
use crate::http::fallback::{RouteIndex, fallback};
use crate::http::metrics::Metrics;
use crate::http::middleware::{REQUEST_ID_HEADER, problem_bodies, request_id, track};
use crate::http::path_config;
use crate::http::rate_limit::RateLimiter;
use crate::http::wire::ProblemStream;
use crate::mail::worker::{Mailer, Worker};
use crate::media::{Media, MediaLinks};

/// Seconds a stopping server gives in-flight requests to finish.
const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

pub struct Application {
    port: u16,
    server: Server,
    mail_worker: Option<Worker>,
    webhook_worker: Option<crate::webhooks::worker::Worker>,
}

impl Application {
    /// Connects to the database, applies pending migrations and binds the listener
    /// (`BIND_ADDR`; port 0 picks a free port, see [`Application::port`]).
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let db = open_database(&settings).await?;
        let listener = TcpListener::bind(settings.bind_addr)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind_addr))?;
        let port = listener.local_addr()?.port();
        let links = MediaLinks::from_settings(&settings.media, &served_at(settings.bind_addr, port));
        let media = Media::new(&settings.media, links)?;
        tracing::info!(store = %media.store.describe(), "media store");
        let payments = crate::payments::from_settings(&settings, &db, &clock);
        let metrics = Metrics::new()?;
        let mail_worker = if settings.mail.worker {
            let mailer = Mailer::new(
                db.clone(),
                clock.clone(),
                &settings.mail,
                Some(metrics.emails.clone()),
            )?;
            tracing::info!(transport = %mailer.describe(), "email delivery worker started");
            let interval = std::time::Duration::from_millis(u64::from(settings.mail.poll_interval_ms));
            Some(Worker::spawn(Arc::new(mailer), interval))
        } else {
            tracing::info!("email delivery worker off (MAIL_WORKER=off): run `crowdfund send-mail`");
            None
        };
        let webhook_worker = if settings.webhooks.worker {
            let dispatcher = crate::webhooks::delivery::Dispatcher::new(
                db.clone(),
                clock.clone(),
                &settings.webhooks,
                Some(metrics.webhooks.clone()),
            )?;
            let interval = std::time::Duration::from_millis(u64::from(settings.webhooks.poll_interval_ms));
            Some(crate::webhooks::worker::Worker::spawn(
                Arc::new(dispatcher),
                interval,
            ))
        } else {
            tracing::info!("webhook delivery worker off (WEBHOOK_WORKER=off)");
            None
        };
        let group_commit = Arc::new(GroupCommit::for_backend(&settings.database_url));
        let state = web::Data::new(AppState {
            payments,
            media,
            upload_limiter: RateLimiter::per_hour(settings.media.uploads_per_hour),
            db,
            clock,
            jwt: JwtKeys::new(
                settings.jwt_secret.expose(),
                i64::from(settings.access_token_ttl_seconds),
            ),
            auth_limiter: RateLimiter::per_minute(settings.auth_rate_limit_per_minute),
            pledge_change_limiter: RateLimiter::per_minute(settings.pledge_change_rate_limit_per_minute),
            hashing: Hashing::new(settings.password_hash_concurrency, settings.password_hash_queue),
            metrics,
            settings,
            settlement_turn: tokio::sync::Mutex::new(()),
            views: Default::default(),
            group_commit,
        });
        let openapi = super::openapi::document();
        let routes = web::Data::new(RouteIndex::from_document(&openapi));
        let app = move || {
            let (app, _) = App::new()
                .app_data(state.clone())
                .app_data(path_config())
                .app_data(routes.clone())
                .wrap(cors(&state.settings.cors_allowed_origins))
                // Outside CORS: its refusals of a preflight become problems too.
                .wrap(from_fn(problem_bodies))
                .wrap(from_fn(forget_views_on_write))
                .wrap(from_fn(track))
                .wrap(from_fn(request_id))
                .wrap(TracingLogger::default())
                .into_utoipa_app()
                .configure(super::configure)
                .split_for_parts();
            app.service(SwaggerUi::new("/docs/{_:.*}").url("/api-docs/openapi.json", openapi.clone()))
                .service(web::redirect("/docs", "/docs/"))
                .default_service(web::to(fallback))
        };
        let server = serve_http1(listener, app)?;
        Ok(Self {
            port,
            server,
            mail_worker,
            webhook_worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from another task (tests); SIGINT and SIGTERM do the same.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM, then stops accepting and lets in-flight requests finish;
    /// the email worker finishes the message it is sending.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(worker) = self.mail_worker {
            worker.stop().await;
        }
        if let Some(worker) = self.webhook_worker {
            worker.stop().await;
        }
        served
    }
}

/// This server's own address as clients on this machine reach it: the default base of media
/// URLs with the file store.
pub fn served_at(bind: std::net::SocketAddr, port: u16) -> String {
    match bind.ip() {
        ip if ip.is_unspecified() => format!("http://localhost:{port}"),
        std::net::IpAddr::V4(ip) => format!("http://{ip}:{port}"),
        std::net::IpAddr::V6(ip) => format!("http://[{ip}]:{port}"),
    }
}

/// Opens the pool and brings the schema up to date, off the async runtime.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database_url.clone();
    let size = settings.database_pool_size;
    tokio::task::spawn_blocking(move || {
        let db = Db::connect_serving(&url, size)?;
        let applied = run_migrations(&mut *db.get_blocking()?)?;
        if !applied.is_empty() {
            tracing::info!(backend = url.backend(), ?applied, "applied migrations");
        }
        Ok::<_, anyhow::Error>(db)
    })
    .await?
}

/// What `actix_web::HttpServer` does for one plain listener, with the connection wrapped in
/// [`ProblemStream`] so that even requests the HTTP parser refuses are answered with a problem.
/// HTTP/1.1 only (no TLS: a proxy in front terminates it).
fn serve_http1<F, I, S, B>(listener: TcpListener, app: F) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, actix_http::Request>,
    S: ServiceFactory<actix_http::Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<actix_http::Response<B>> + 'static,
    <S::Service as actix_service::Service<actix_http::Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    Ok(builder
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen("crowdfund-http", listener, move || {
            let shutdown = shutdown.clone();
            let factory = app().into_factory().map_err(|err| err.into().error_response());
            let http = HttpService::<ProblemStream<TcpStream>, _, _>::build()
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(std::time::Duration::from_secs(5))
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .local_addr(addr)
                .h1(map_config(factory, |_| AppConfig::default()));
            fn_service(|io: TcpStream| {
                let peer = io.peer_addr().ok();
                std::future::ready(Ok::<_, actix_http::error::DispatchError>((
                    ProblemStream::new(io),
                    peer,
                )))
            })
            .and_then(http)
        })?
        .run())
}

/// `crowdfund serve`: serves until SIGINT or SIGTERM, on the system clock.
pub fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let backend = settings.database_url.backend();
        let app = Application::build(settings, Clock::system()).await?;
        tracing::info!(port = app.port(), backend, "crowdfund listening");
        app.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// CORS for the backers' SPA: only the configured origins, with the headers the API uses.
/// A request from any other origin is served without CORS headers, so browsers refuse it.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("idempotency-key"),
            header::IF_NONE_MATCH,
        ])
        .expose_headers([
            REQUEST_ID_HEADER,
            header::RETRY_AFTER,
            header::LOCATION,
            header::ETAG,
        ])
        .max_age(3600)
        // The refresh cookie (`refresh_token_transport: "cookie"`) travels only on credentialed
        // requests, which browsers allow solely for the origins listed here.
        .supports_credentials()
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
