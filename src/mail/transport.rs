//! Where rendered messages go: an SMTP server (lettre, rustls) or, in development, `.eml` files.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::render::Rendered;
use crate::config::{MailSettings, MailTransport};

/// How long one SMTP exchange may take; well inside the worker's lease.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Why a message was not handed over.
#[derive(Debug)]
pub struct SendError {
    /// The server refused it for good (5xx) or it cannot be built: retrying will not help.
    pub permanent: bool,
    pub message: String,
}

impl Transport {
    /// Builds the configured transport. Must run inside a Tokio runtime (the SMTP pool lives
    /// there). Connects lazily: a server that is down delays mail, it does not stop start-up.
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        match &settings.transport {
            MailTransport::Smtp {
                url,
                username,
                password,
            } => {
                let url = std::str::from_utf8(url.expose())?;
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.timeout(Some(SMTP_TIMEOUT));
                if let (Some(username), Some(password)) = (username, password) {
                    builder = builder.credentials(Credentials::new(
                        username.clone(),
                        String::from_utf8(password.expose().to_vec())?,
                    ));
                }
                Ok(Self::Smtp(builder.build()))
            }
            MailTransport::Files(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("MAIL_DIR {}: {e}", dir.display()))?;
                Ok(Self::Files(dir.clone()))
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Smtp(_) => "SMTP".into(),
            Self::Files(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    /// Hands one message over. `file_stem` names the `.eml` file of the file transport.
    pub async fn send(&self, message: Message, file_stem: &str) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: format!("{e}"),
            }),
            Self::Files(dir) => {
                // Written whole, then renamed: a reader never sees half a message.
                let partial = dir.join(format!("{file_stem}.eml.partial"));
                let done = dir.join(format!("{file_stem}.eml"));
                let transient = |e: std::io::Error| SendError {
                    permanent: false,
                    message: format!("writing {}: {e}", done.display()),
                };
                tokio::fs::write(&partial, message.formatted())
                    .await
                    .map_err(transient)?;
                tokio::fs::rename(&partial, &done).await.map_err(transient)
            }
        }
    }
}

/// The message for one outbox row: `From`, `To`, subject, a stable `Message-ID`, and the text
/// and HTML parts as alternatives.
pub fn compose(
    from: &Mailbox,
    to_name: &str,
    to_address: &str,
    message_id: &str,
    rendered: Rendered,
) -> Result<Message, SendError> {
    let permanent = |what: &str, e: &dyn std::fmt::Display| SendError {
        permanent: true,
        message: format!("{what}: {e}"),
    };
    let to = Mailbox::new(
        Some(to_name.to_owned()),
        to_address
            .parse()
            .map_err(|e| permanent("recipient address", &e))?,
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(message_id.to_owned()))
        .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html))
        .map_err(|e| permanent("building the message", &e))
}
