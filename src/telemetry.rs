//! Structured logs with `tracing`. `LOG_FORMAT=json` for production, `pretty` for people.

use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// Installs the global subscriber, writing to standard output (the server's log). `RUST_LOG`
/// filters (default `info`).
pub fn init(format: LogFormat) {
    init_to(format, BoxMakeWriter::new(std::io::stdout));
}

/// [`init`] for a command whose standard output is its report (`audit`, `reconcile`, ...):
/// the log goes to standard error, so the report can be piped and parsed.
pub fn init_for_command(format: LogFormat) {
    init_to(format, BoxMakeWriter::new(std::io::stderr));
}

fn init_to(format: LogFormat, writer: BoxMakeWriter) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(writer);
    // A second call (tests, embedded use) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// `ana@example.com` → `a***@example.com`: enough to correlate, not enough to harvest.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_email;

    #[test]
    fn masks_the_local_part() {
        assert_eq!(mask_email("ana.lopez@example.com"), "a***@example.com");
        assert_eq!(mask_email("nonsense"), "***");
    }
}
