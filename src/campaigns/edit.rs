//! A campaign's own fields: what a draft may hold, what freezes at launch, slugs, deletion.
//!
//! A draft changes freely, except that its currency cannot change while it has tiers (their
//! prices are in that currency) and a goal already set must be restated when the currency
//! changes; a draft may be made `prelaunch`, public as coming soon. The funding model is
//! chosen in draft. A live campaign changes only its title, blurb, description and category,
//! and only before its deadline. Its late-pledge settings (`super::late`) change on their own
//! in any status that may take late pledges; otherwise any other status changes nothing.

use chrono::{DateTime, Utc};

use super::{access, late, lifecycle};
use crate::db::DbConn;
use crate::db::campaigns::{self, CampaignChanges, CampaignRow, NewCampaign};
use crate::db::tiers;
use crate::domain::campaign as fields;
use crate::domain::{
    Actor, CampaignId, CampaignStatus, Category, CoreError, Currency, FieldErrors, FundingModel, ImageId,
    Refusal, Resource,
};

/// A campaign's fields as sent; absent ones are left as they are (or empty, for a new draft).
#[derive(Debug, Default, Clone, Copy)]
pub struct Input<'a> {
    pub title: Option<&'a str>,
    pub slug: Option<&'a str>,
    pub blurb: Option<&'a str>,
    pub description: Option<&'a str>,
    pub category: Option<Category>,
    pub currency: Option<Currency>,
    pub goal: Option<&'a str>,
    pub duration_days: Option<i64>,
    /// `Some(None)` removes the cover.
    pub cover_image_id: Option<Option<ImageId>>,
    /// Draft only: shown to everyone as coming soon.
    pub prelaunch: Option<bool>,
    /// Draft only: frozen at launch, since backers pledge on its terms.
    pub funding_model: Option<FundingModel>,
    /// Whether the campaign takes late pledges once successful, and until when.
    pub late: late::Settings,
}

impl Input<'_> {
    /// Only the late-pledge settings: what a campaign past its deadline may still change.
    fn only_late(&self) -> bool {
        let Input { late, .. } = *self;
        !late.is_empty()
            && Input {
                late: late::Settings::default(),
                ..*self
            }
            .is_empty()
    }

    fn is_empty(&self) -> bool {
        let Input {
            title,
            slug,
            blurb,
            description,
            category,
            currency,
            goal,
            duration_days,
            cover_image_id,
            prelaunch,
            funding_model,
            late,
        } = *self;
        title.is_none()
            && slug.is_none()
            && blurb.is_none()
            && description.is_none()
            && category.is_none()
            && currency.is_none()
            && goal.is_none()
            && duration_days.is_none()
            && cover_image_id.is_none()
            && prelaunch.is_none()
            && funding_model.is_none()
            && late.is_empty()
    }
}

/// The fields of an [`Input`], each validated, in the campaign's currency.
struct Fields {
    title: Option<String>,
    slug: Option<String>,
    blurb: Option<String>,
    description: Option<String>,
    goal_minor: Option<i64>,
    duration_days: Option<i32>,
}

impl Fields {
    /// Every invalid field is named in one refusal.
    fn parse(input: &Input<'_>, currency: Currency) -> Result<Self, Refusal> {
        let mut errors = FieldErrors::default();
        let parsed = Self {
            title: input.title.and_then(|t| errors.check("title", fields::title(t))),
            slug: input.slug.and_then(|s| errors.check("slug", fields::slug(s))),
            blurb: input.blurb.and_then(|b| errors.check("blurb", fields::blurb(b))),
            description: input
                .description
                .and_then(|d| errors.check("description", fields::description(d))),
            goal_minor: input
                .goal
                .and_then(|g| errors.check("goal", fields::goal(g, currency).map(|m| m.minor()))),
            duration_days: input
                .duration_days
                .and_then(|d| errors.check("duration_days", fields::duration_days(d))),
        };
        errors.finish()?;
        Ok(parsed)
    }
}

/// A new draft, valid: `title` and `currency` are required, the rest may come later
/// (launching needs more).
pub struct Draft {
    title: String,
    currency: Currency,
    category: Option<Category>,
    funding_model: FundingModel,
    fields: Fields,
}

impl Draft {
    pub fn parse(input: &Input<'_>) -> Result<Self, Refusal> {
        let currency = input
            .currency
            .ok_or_else(|| Refusal::field("currency", "is required"))?;
        let mut fields = Fields::parse(input, currency)?;
        let title = fields
            .title
            .take()
            .ok_or_else(|| Refusal::field("title", "is required"))?;
        Ok(Self {
            title,
            currency,
            category: input.category,
            funding_model: input.funding_model.unwrap_or_default(),
            fields,
        })
    }
}

/// Creates a draft owned by `actor`. The slug is derived from the title unless given.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    draft: &Draft,
    now: DateTime<Utc>,
) -> Result<CampaignRow, CoreError> {
    let fields = &draft.fields;
    let slug = match &fields.slug {
        Some(slug) if campaigns::slug_taken(conn, slug)? => {
            return Err(Refusal::Conflict(format!("the slug {slug:?} is taken")).into());
        }
        Some(slug) => slug.clone(),
        None => free_slug(conn, &fields::slugify(&draft.title))?,
    };
    let row = campaigns::insert(
        conn,
        &NewCampaign {
            owner_id: actor.id,
            slug: &slug,
            title: &draft.title,
            blurb: fields.blurb.as_deref().unwrap_or_default(),
            description: fields.description.as_deref().unwrap_or_default(),
            category: draft.category,
            currency: draft.currency,
            goal_minor: fields.goal_minor,
            duration_days: fields.duration_days,
            funding_model: draft.funding_model,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        },
    )?;
    lifecycle::record_created(conn, &row, actor.id, now)?;
    Ok(row)
}

/// Applies the owner's changes, within what the campaign's status still allows.
pub fn update(
    conn: &mut DbConn,
    id: CampaignId,
    actor: &Actor,
    input: &Input<'_>,
    now: DateTime<Utc>,
) -> Result<CampaignRow, CoreError> {
    let row = access::owned_by(campaigns::find(conn, id)?, actor)?;
    if !input.only_late() {
        check_editable(&row, input)?;
        super::check_before_deadline(&row, now)?;
    }
    if !input.late.is_empty() {
        late::check(&row, &input.late, now)?;
    }
    let currency = input.currency.unwrap_or(row.currency);
    if currency != row.currency {
        if tiers::count_for_campaign(conn, row.id)? > 0 {
            return Err(Refusal::conflict("the currency cannot change while the campaign has tiers").into());
        }
        if row.goal_minor.is_some() && input.goal.is_none() {
            return Err(Refusal::field("goal", "must be sent again when the currency changes").into());
        }
    }
    let fields = Fields::parse(input, currency)?;
    if let Some(slug) = fields.slug.as_deref()
        && slug != row.slug
        && campaigns::slug_taken(conn, slug)?
    {
        return Err(Refusal::Conflict(format!("the slug {slug:?} is taken")).into());
    }
    if let Some(Some(image)) = input.cover_image_id {
        crate::media::images::check_usable(conn, row.id, "cover_image_id", image)?;
    }
    if input.cover_image_id == Some(None) && row.status == CampaignStatus::Live {
        return Err(Refusal::field(
            "cover_image_id",
            "a live campaign keeps a cover: send another image's id",
        )
        .into());
    }
    let changes = CampaignChanges {
        slug: fields.slug,
        title: fields.title,
        blurb: fields.blurb,
        description: fields.description,
        category: input.category,
        currency: input.currency,
        goal_minor: fields.goal_minor,
        duration_days: fields.duration_days,
        cover_image_id: input.cover_image_id,
        prelaunch: input.prelaunch,
        funding_model: input.funding_model,
        late_pledges: input.late.enabled,
        late_pledges_until: input.late.until_column(),
        updated_at: Some(now.naive_utc()),
    };
    Ok(campaigns::update(conn, row.id, row.status, &changes)?.ok_or(Refusal::Stale(Resource::Campaign))?)
}

/// What a campaign in its status refuses to change.
fn check_editable(campaign: &CampaignRow, input: &Input<'_>) -> Result<(), Refusal> {
    let frozen: Vec<&str> = [
        ("slug", input.slug.is_some()),
        ("currency", input.currency.is_some()),
        ("goal", input.goal.is_some()),
        ("duration_days", input.duration_days.is_some()),
        ("prelaunch", input.prelaunch.is_some()),
        ("funding_model", input.funding_model.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    match campaign.status {
        CampaignStatus::Draft => Ok(()),
        CampaignStatus::Live if frozen.is_empty() => Ok(()),
        CampaignStatus::Live => Err(Refusal::Conflict(format!(
            "{} cannot change once the campaign is live",
            frozen.join(", ")
        ))),
        other => Err(Refusal::Conflict(format!(
            "a {} campaign can no longer be edited",
            other.as_str()
        ))),
    }
}

/// Deletes the owner's draft with its tiers, images and history; a launched campaign is
/// canceled instead. Returns the keys of the images' objects, for the caller to collect.
pub fn delete(
    conn: &mut DbConn,
    id: CampaignId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<String>, CoreError> {
    let row = access::owned_by(campaigns::find(conn, id)?, actor)?;
    if row.status != CampaignStatus::Draft {
        return Err(Refusal::conflict("only drafts can be deleted; cancel a live campaign instead").into());
    }
    let keys = crate::media::images::delete_all(conn, row.id, now)?;
    if campaigns::delete_draft(conn, row.id)? {
        Ok(keys)
    } else {
        Err(Refusal::Stale(Resource::Campaign).into())
    }
}

/// `base`, or `base-2`, `base-3`, ... whichever is free first.
fn free_slug(conn: &mut DbConn, base: &str) -> Result<String, CoreError> {
    if !campaigns::slug_taken(conn, base)? {
        return Ok(base.to_owned());
    }
    for n in 2..100 {
        let candidate = format!("{base}-{n}");
        if !campaigns::slug_taken(conn, &candidate)? {
            return Ok(candidate);
        }
    }
    let suffix: u32 = rand::random();
    Ok(format!("{base}-{suffix:08x}"))
}
