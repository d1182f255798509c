use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crowdfund::clock::Clock;
use crowdfund::config::Settings;
use crowdfund::routes::{app, openapi};
use crowdfund::{commands, demo, telemetry};

/// Backend for reward-based, all-or-nothing crowdfunding.
///
/// Configuration comes from environment variables and `.env`; see `.env.example`.
#[derive(Parser)]
#[command(name = "crowdfund", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (JSON) to standard output.
    Openapi,
    /// Run one settlement pass (what POST /api/v1/settlement/run does) and print its summary.
    Settle {
        /// Report what the pass would do, changing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Verify the ledger; exit status 1 if it does not hold.
    Audit,
    /// Compare the payment provider's charges and refunds with the ledger and the pledges;
    /// exit status 1 if they differ.
    Reconcile {
        /// Only charges made from then on: a date (2026-12-01) or an RFC 3339 instant.
        #[arg(long)]
        since: Option<String>,
    },
    /// Deliver every email that is due, once (for cron; `serve` does it continuously).
    SendMail,
    /// Render an email template with sample data; without a name, list the templates.
    MailPreview {
        /// Template name, e.g. payment_failed.
        template: Option<String>,
        /// Which part to print.
        #[arg(long, value_enum, default_value = "text")]
        part: commands::Part,
    },
    /// Make an account an admin, creating it if it does not exist.
    ///
    /// A new account's password is read from CROWDFUND_ADMIN_PASSWORD or standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Display name for a new account.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Make a demo: a verified creator with two live campaigns (tiers, add-ons) and a backer
    /// with a pledge; prints their logins. Refused with APP_ENV=production, and on a database
    /// it has seeded already.
    SeedDemo,
    /// Mark accounts' email addresses verified, for an operator who confirmed them another way
    /// (a support request, seeded staging accounts).
    VerifyEmail {
        /// One or more account addresses.
        #[arg(required = true)]
        emails: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::MailPreview { template, part }) = &cli.command {
        return match commands::mail_preview(template.as_deref(), *part) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    if let Some(Command::Openapi) = cli.command {
        return match openapi::document_json() {
            Ok(json) => {
                print!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }

    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, None | Some(Command::Serve)) {
        telemetry::init(settings.log_format);
    } else {
        telemetry::init_for_command(settings.log_format);
    }
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => app::serve(settings),
        Command::Migrate => commands::migrate(&settings),
        Command::Settle { dry_run } => commands::settle(&settings, &Clock::system(), dry_run),
        Command::Audit => commands::audit(&settings),
        Command::Reconcile { since } => commands::reconcile(&settings, since.as_deref()),
        Command::SendMail => commands::send_mail(&settings),
        Command::CreateAdmin { email, display_name } => {
            commands::create_admin(&settings, &email, display_name.as_deref())
        }
        Command::VerifyEmail { emails } => commands::verify_email(&settings, &emails),
        Command::SeedDemo => demo::seed(&settings, &Clock::system()),
        Command::Openapi | Command::MailPreview { .. } => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    tracing::error!(error = ?e, "the command did not succeed");
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}
