//! Share pages: `GET /c/{slug}`, a small server-rendered page for crawlers and link previews
//! (Open Graph and Twitter Card tags), which sends people on to the campaign in the web app.
//! Rendered by minijinja with HTML auto-escaping: a campaign's text is always text.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use minijinja::{Environment, context};

use crate::db::DbConn;
use crate::db::campaigns;
use crate::domain::referral::{self, Ref};
use crate::domain::{CampaignStatus, CoreError, Money};
use crate::media::MediaLinks;
use crate::shapes::image;

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Names ending in .html are auto-escaped; a template that does not parse fails the
    // `pages_render` test, never a request.
    for (name, source) in [
        ("share.html", include_str!("templates/share.html")),
        ("not_found.html", include_str!("templates/not_found.html")),
    ] {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(error = %e, template = name, "share page template");
        }
    }
    env
});

/// What a share page says of its campaign.
#[derive(Debug, serde::Serialize)]
pub struct Share {
    pub title: String,
    pub blurb: String,
    /// The cover's large variant.
    pub image_url: Option<String>,
    /// "1250.00 USD of 1000.00 USD".
    pub raised: String,
    pub percent_funded: i64,
    /// Days to the deadline while live, a part of a day counted as one.
    pub days_left: Option<i64>,
    /// `{APP_BASE_URL}/campaigns/{slug}`.
    pub canonical_url: String,
    /// The canonical URL with the `ref` carried along, where the page sends people.
    pub target_url: String,
}

/// The share page of a launched campaign; `None` for drafts and unknown slugs. A `ref` that
/// is not a channel or code-shaped is dropped rather than carried into the link.
pub fn share(
    conn: &mut DbConn,
    links: &MediaLinks,
    base_url: &str,
    slug: &str,
    raw_ref: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Share>, CoreError> {
    let Some(row) = campaigns::find_by_slug(conn, slug)?.filter(|c| c.status != CampaignStatus::Draft) else {
        return Ok(None);
    };
    let image_url = image::by_id(conn, row.cover_image_id, links)?
        .into_values()
        .next()
        .map(|i| i.variants.large);
    let money = |minor| Money::from_minor(minor, row.currency);
    let raised = match row.goal_minor {
        Some(goal) => format!("{} of {}", money(row.pledged_minor), money(goal)),
        None => money(row.pledged_minor).to_string(),
    };
    let days_left = match (row.status, row.deadline) {
        (CampaignStatus::Live, Some(deadline)) => {
            let seconds = (deadline.and_utc() - now).num_seconds().max(0);
            Some((seconds + 86_399) / 86_400)
        }
        _ => None,
    };
    let canonical_url = format!("{}/campaigns/{}", base_url.trim_end_matches('/'), row.slug);
    let target_url = match raw_ref.map(referral::parse) {
        Some(Ok(Ref::Channel(channel))) => format!("{canonical_url}?ref={channel}"),
        Some(Ok(Ref::Code(code))) => format!("{canonical_url}?ref={code}"),
        _ => canonical_url.clone(),
    };
    Ok(Some(Share {
        title: row.title,
        blurb: row.blurb,
        image_url,
        raised,
        percent_funded: crate::db::campaign_list::funded_bps(row.pledged_minor, row.goal_minor) / 100,
        days_left,
        canonical_url,
        target_url,
    }))
}

pub fn render(share: &Share) -> Result<String, CoreError> {
    PAGES
        .get_template("share.html")
        .and_then(|t| t.render(context! { page => share }))
        .map_err(|e| CoreError::unexpected(format!("rendering a share page: {e:#}")))
}

pub fn render_not_found() -> Result<String, CoreError> {
    PAGES
        .get_template("not_found.html")
        .and_then(|t| t.render(context! {}))
        .map_err(|e| CoreError::unexpected(format!("rendering the share 404: {e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_render_and_escape() {
        let share = Share {
            title: "Tiny <script>alert(1)</script> \"Robots\"".into(),
            blurb: "It's <b>bold</b> & fun".into(),
            image_url: None,
            raised: "10.00 USD of 100.00 USD".into(),
            percent_funded: 10,
            days_left: Some(3),
            canonical_url: "https://app.example.com/campaigns/tiny".into(),
            target_url: "https://app.example.com/campaigns/tiny?ref=direct".into(),
        };
        let html = render(&share).unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("\"Robots\""), "{html}");
        assert!(render_not_found().unwrap().contains("<title>"));
    }
}
