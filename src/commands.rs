//! The command-line subcommands other than `serve`.

use std::io::BufRead;

use crate::auth::password;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{Db, run_migrations, users, write_transaction};
use crate::domain::{CoreError, DisplayName, Email, NewPassword, Role};
use crate::media::{Media, MediaLinks};
use crate::settlement::Settlement;

/// `crowdfund migrate`: applies pending migrations and reports them.
pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, 1)?;
    let applied = run_migrations(&mut *db.get_blocking()?)?;
    if applied.is_empty() {
        println!("{} database is up to date", settings.database_url.backend());
    } else {
        for version in applied {
            println!("applied {version}");
        }
    }
    Ok(())
}

/// `crowdfund settle`: one settlement pass at `clock`'s now; prints its summary as JSON.
pub fn settle(settings: &Settings, clock: &Clock, dry_run: bool) -> anyhow::Result<()> {
    // One connection for the pass and one per charging thread, which may take half the pool.
    let db = Db::connect(&settings.database_url, 2 * (settings.settlement_concurrency + 1))?;
    run_migrations(&mut *db.get_blocking()?)?;
    let provider = crate::payments::from_settings(settings, &db, clock);
    let links = MediaLinks::from_settings(
        &settings.media,
        &crate::routes::app::served_at(settings.bind_addr, settings.bind_addr.port()),
    );
    let media = Media::new(&settings.media, links)?;
    let settlement = Settlement::from_settings(settings, db, provider, media, clock.clone());
    let summary = if dry_run {
        settlement.dry_run()?
    } else {
        settlement.run()?
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// `crowdfund audit`: verifies the ledger; fails (exit status 1) when it does not hold.
pub fn audit(settings: &Settings) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, 1)?;
    let report = crate::ledger::verify::run(&mut *db.get_blocking()?)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    anyhow::ensure!(report.ok, "the ledger does not hold");
    Ok(())
}

/// `crowdfund reconcile`: compares the payment provider's records with the books; fails (exit
/// status 1) when they differ. `since` is a date (`2026-12-01`) or an RFC 3339 instant.
pub fn reconcile(settings: &Settings, since: Option<&str>) -> anyhow::Result<()> {
    let since = since
        .map(crate::ledger::reconcile::parse_since)
        .transpose()
        .map_err(|m| anyhow::anyhow!("--since {m}"))?;
    let db = Db::connect(&settings.database_url, 1)?;
    run_migrations(&mut *db.get_blocking()?)?;
    let provider = crate::payments::from_settings(settings, &db, &Clock::system());
    let report = crate::ledger::reconcile::run(&db, provider.as_ref(), since)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    anyhow::ensure!(
        report.ok,
        "the provider's records and the books differ ({} differences)",
        report.differences.len()
    );
    Ok(())
}

/// `crowdfund create-admin`: makes an account an admin, creating it if needed.
///
/// An existing account keeps its password. A new one takes its password from the
/// `CROWDFUND_ADMIN_PASSWORD` variable or, failing that, the first line of standard input,
/// so it never appears in the process list or the shell history.
pub fn create_admin(settings: &Settings, email: &str, display_name: Option<&str>) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|m| anyhow::anyhow!("--email {m}"))?;
    let db = Db::connect(&settings.database_url, 1)?;
    let mut conn = db.get_blocking()?;
    run_migrations(&mut conn)?;
    let now = Clock::system().now().naive_utc();

    if let Some(user) = users::find_by_email(&mut conn, email.as_str())? {
        users::set_role(&mut conn, user.id, Role::Admin, now)?;
        users::mark_verified(&mut conn, user.id, now)?;
        println!("{email} is now an admin (user id {})", user.id);
        return Ok(());
    }

    let name = display_name.unwrap_or("Administrator");
    let name = DisplayName::parse(name).map_err(|m| anyhow::anyhow!("--display-name {m}"))?;
    let raw = match std::env::var("CROWDFUND_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("password for the new admin account (one line on standard input):");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password =
        NewPassword::parse(&raw, Some(email.as_str())).map_err(|m| anyhow::anyhow!("password {m}"))?;
    let hash = password::hash(password.expose())?;
    let user = write_transaction(&mut conn, |conn| {
        users::insert(
            conn,
            &users::NewUser {
                email: email.as_str(),
                display_name: name.as_str(),
                password_hash: &hash,
                role: Role::Admin,
                created_at: now,
                updated_at: now,
                // The operator vouches for the address.
                email_verified_at: Some(now),
            },
        )
        .map_err(CoreError::from)
    })?;
    println!("created admin {email} (user id {})", user.id);
    Ok(())
}

/// `crowdfund verify-email`: marks each account's address verified. Every address must belong
/// to an account; otherwise nothing changes.
pub fn verify_email(settings: &Settings, emails: &[String]) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, 1)?;
    let mut conn = db.get_blocking()?;
    run_migrations(&mut conn)?;
    let now = Clock::system().now().naive_utc();
    let verified = write_transaction(&mut conn, |conn| {
        let mut verified = Vec::new();
        for raw in emails {
            let email = Email::parse(raw).map_err(|m| anyhow::anyhow!("{raw:?} {m}"))?;
            let user = users::find_by_email(conn, email.as_str())?
                .ok_or_else(|| anyhow::anyhow!("no account has the address {email}"))?;
            users::mark_verified(conn, user.id, now)?;
            verified.push((email, user.id));
        }
        Ok::<_, CoreError>(verified)
    })?;
    for (email, id) in verified {
        println!("{email} is verified (user id {id})");
    }
    Ok(())
}

/// `crowdfund send-mail`: delivers every email that is due, once, and prints what it did. For
/// set-ups that run it from cron instead of the worker inside `serve` (`MAIL_WORKER=off`); the
/// two can also run side by side, since rows are claimed with a lease.
pub fn send_mail(settings: &Settings) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, 2)?;
    run_migrations(&mut *db.get_blocking()?)?;
    // The SMTP transport runs on Tokio; one thread is enough for one delivery run.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let delivery = runtime.block_on(async {
        let mailer = crate::mail::worker::Mailer::new(db, Clock::system(), &settings.mail, None)?;
        Ok::<_, anyhow::Error>(mailer.deliver_due().await?)
    })?;
    println!("{}", serde_json::to_string_pretty(&delivery)?);
    Ok(())
}

/// Which part of an email `mail-preview` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Part {
    Subject,
    Text,
    Html,
}

/// `crowdfund mail-preview`: renders a template with sample data, or lists the templates.
pub fn mail_preview(template: Option<&str>, part: Part) -> anyhow::Result<()> {
    use crate::mail::Template;
    use crate::mail::render::{Common, render, sample_context};
    let Some(name) = template else {
        for template in Template::ALL {
            println!("{template}");
        }
        return Ok(());
    };
    let template: Template = name.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let base_url = std::env::var("APP_BASE_URL").unwrap_or_else(|_| "http://localhost:8080".into());
    let rendered = render(
        template,
        &sample_context(template),
        &Common {
            recipient_name: "Ada Lovelace",
            base_url: &base_url,
        },
    )?;
    match part {
        Part::Subject => println!("{}", rendered.subject),
        Part::Text => print!("Subject: {}\n\n{}", rendered.subject, rendered.text),
        Part::Html => print!("{}", rendered.html),
    }
    Ok(())
}
