//! The backer survey: the creator defines it and sends it once the campaign has collected;
//! each collected pledge is invited (also when it is collected later), reminded by the
//! settlement pass, and answered by its backer until the survey locks. Answers are private to
//! the backer, the campaign's creator and admins, and erased after delivery (`retention`).

pub mod retention;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::Value;

use crate::campaigns::access;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::pledges::PledgeRow;
use crate::db::surveys::{self, SurveyRow};
use crate::db::{DbConn, tiers};
use crate::domain::survey::{self, Question, Respondent};
use crate::domain::{Actor, CampaignId, CampaignStatus, CoreError, PledgeId, PledgeStatus, Refusal};
use crate::mail::queue::fulfilment as mail;
use crate::pledges::service;

/// How far ahead the answers may lock: at least a day for backers to answer, at most a year.
pub const MIN_LOCK_AHEAD: Duration = Duration::days(1);
pub const MAX_LOCK_AHEAD: Duration = Duration::days(365);
/// Pledges invited per statement when a survey is sent.
const INVITE_CHUNK: i64 = 500;

/// A survey as stored, its questions parsed.
#[derive(Debug, Clone)]
pub struct Survey {
    pub campaign_id: CampaignId,
    pub questions: Vec<Question>,
    pub sent_at: Option<NaiveDateTime>,
    pub lock_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

impl Survey {
    pub fn from_row(row: SurveyRow) -> Result<Self, CoreError> {
        let questions = serde_json::from_str(&row.questions).map_err(|e| {
            CoreError::unexpected(format!("stored survey of campaign {}: {e}", row.campaign_id))
        })?;
        Ok(Self {
            campaign_id: row.campaign_id,
            questions,
            sent_at: row.sent_at,
            lock_at: row.lock_at,
            updated_at: row.updated_at,
        })
    }

    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.lock_at.is_some_and(|at| now.naive_utc() >= at)
    }
}

pub fn find(conn: &mut DbConn, campaign_id: CampaignId) -> Result<Option<Survey>, CoreError> {
    surveys::find(conn, campaign_id)?
        .map(Survey::from_row)
        .transpose()
}

/// The survey is the creator's (and admins' to read): anyone else is told it does not exist,
/// since it leads to the backers' answers. An admin may read it but not change it.
fn creators(campaign: Option<CampaignRow>, actor: &Actor, to_change: bool) -> Result<CampaignRow, Refusal> {
    let campaign = access::visible(campaign, Some(actor))?;
    if campaign.owner_id == actor.id {
        Ok(campaign)
    } else if actor.is_admin() {
        if to_change {
            Err(Refusal::forbidden(
                "only the campaign's creator can change its survey",
            ))
        } else {
            Ok(campaign)
        }
    } else {
        Err(Refusal::NotFound)
    }
}

/// A campaign with rewards still to come can have a survey; an ended one that collected
/// nothing cannot.
fn may_survey(campaign: &CampaignRow) -> Result<(), Refusal> {
    if matches!(
        campaign.status,
        CampaignStatus::Failed | CampaignStatus::Canceled | CampaignStatus::Suspended
    ) {
        return Err(Refusal::conflict(format!(
            "a {} campaign has no rewards to survey",
            campaign.status.as_str()
        )));
    }
    Ok(())
}

/// Writes the survey's questions (the creator's; until it is sent).
pub fn define(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
    questions: Vec<Question>,
    now: DateTime<Utc>,
) -> Result<Survey, CoreError> {
    let campaign = creators(campaigns::find(conn, campaign_id)?, actor, true)?;
    may_survey(&campaign)?;
    let tier_ids: HashSet<_> = tiers::for_campaign(conn, campaign.id)?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let questions = survey::questions(questions, &tier_ids)?;
    let stored = serde_json::to_string(&questions).map_err(CoreError::unexpected)?;
    if !surveys::save_questions(conn, campaign.id, &stored, now.naive_utc())? {
        return Err(Refusal::conflict("the survey has been sent: its questions can no longer change").into());
    }
    find(conn, campaign.id)?.ok_or_else(|| CoreError::unexpected("a survey just written is missing"))
}

/// The survey, for its campaign's creator and admins (404 when there is none).
pub fn for_creator(conn: &mut DbConn, campaign_id: CampaignId, actor: &Actor) -> Result<Survey, CoreError> {
    let campaign = creators(campaigns::find(conn, campaign_id)?, actor, false)?;
    Ok(find(conn, campaign.id)?.ok_or(Refusal::NotFound)?)
}

/// Sends the survey to every collected pledge, answers locking at `lock_at`: once, on a
/// campaign that has collected (funded or successful). Returns it and the pledges invited.
pub fn send(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
    lock_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(Survey, usize), CoreError> {
    let campaign = creators(campaigns::find(conn, campaign_id)?, actor, true)?;
    if !matches!(
        campaign.status,
        CampaignStatus::Funded | CampaignStatus::Successful
    ) {
        return Err(Refusal::conflict(format!(
            "a survey is sent once the campaign has collected; this one is {}",
            campaign.status.as_str()
        ))
        .into());
    }
    if lock_at < now + MIN_LOCK_AHEAD || lock_at > now + MAX_LOCK_AHEAD {
        return Err(Refusal::field("lock_at", "must be from 1 to 365 days ahead").into());
    }
    if find(conn, campaign.id)?.is_none() {
        return Err(Refusal::conflict("define the survey's questions first (PUT .../survey)").into());
    }
    let lock_at = lock_at.naive_utc();
    if !surveys::mark_sent(conn, campaign.id, lock_at, now.naive_utc())? {
        return Err(Refusal::conflict("the survey has been sent already").into());
    }
    let mut invited = 0;
    loop {
        let batch = surveys::uninvited(conn, campaign.id, INVITE_CHUNK)?;
        if batch.is_empty() {
            break;
        }
        let refs: Vec<&PledgeRow> = batch.iter().collect();
        invited += invite(conn, &campaign, &refs, lock_at, now)?;
    }
    let survey = find(conn, campaign.id)?.ok_or_else(|| CoreError::unexpected("a sent survey is missing"))?;
    Ok((survey, invited))
}

/// Notes the invitations and queues their emails, for those not invited before.
fn invite(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledges: &[&PledgeRow],
    lock_at: NaiveDateTime,
    now: DateTime<Utc>,
) -> Result<usize, CoreError> {
    let new: HashSet<PledgeId> = surveys::invite(conn, pledges, now.naive_utc())?
        .into_iter()
        .collect();
    let due: Vec<&PledgeRow> = pledges.iter().copied().filter(|p| new.contains(&p.id)).collect();
    mail::survey_invitations(conn, campaign, &due, lock_at, now)?;
    Ok(due.len())
}

/// Pledges collected after their campaign's survey was sent are invited as they are
/// collected, in the same transaction.
pub fn invite_collected(
    conn: &mut DbConn,
    collected: &[(&CampaignRow, &PledgeRow)],
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let mut by_campaign: HashMap<CampaignId, (&CampaignRow, Vec<&PledgeRow>)> = HashMap::new();
    for (campaign, pledge) in collected {
        by_campaign
            .entry(campaign.id)
            .or_insert_with(|| (campaign, Vec::new()))
            .1
            .push(pledge);
    }
    let ids: Vec<CampaignId> = by_campaign.keys().copied().collect();
    for open in surveys::open_among(conn, &ids, now.naive_utc())? {
        if let (Some((campaign, pledges)), Some(lock_at)) = (by_campaign.get(&open.campaign_id), open.lock_at)
        {
            invite(conn, campaign, pledges, lock_at, now)?;
        }
    }
    Ok(())
}

/// A pledge's survey as its backer (or the campaign's creator, or an admin) sees it: the
/// questions it is asked and its answers.
#[derive(Debug)]
pub struct PledgeSurvey {
    pub pledge_id: PledgeId,
    pub questions: Vec<Question>,
    pub answers: Option<BTreeMap<String, Value>>,
    pub answered_at: Option<NaiveDateTime>,
    pub lock_at: Option<NaiveDateTime>,
    pub locked: bool,
}

/// The pledge and its campaign's sent survey, if the viewer may see them; 404 otherwise (and
/// for a pledge that is not collected: it is not surveyed).
fn surveyed(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    viewer: &Actor,
) -> Result<(CampaignRow, PledgeRow, bool, Survey), CoreError> {
    let (campaign, pledge, is_backer) = service::view(conn, pledge_id, viewer)?;
    let survey = find(conn, campaign.id)?
        .filter(|s| s.sent_at.is_some())
        .filter(|_| pledge.status == PledgeStatus::Collected)
        .ok_or(Refusal::NotFound)?;
    Ok((campaign, pledge, is_backer, survey))
}

fn respondent(pledge: &PledgeRow) -> Respondent<'_> {
    Respondent {
        tier: pledge.tier_id,
        ships_to: pledge.shipping_country.as_deref(),
    }
}

pub fn for_pledge(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    viewer: &Actor,
    now: DateTime<Utc>,
) -> Result<PledgeSurvey, CoreError> {
    let (_, pledge, _, survey) = surveyed(conn, pledge_id, viewer)?;
    pledge_survey(conn, &pledge, survey, now)
}

fn pledge_survey(
    conn: &mut DbConn,
    pledge: &PledgeRow,
    survey: Survey,
    now: DateTime<Utc>,
) -> Result<PledgeSurvey, CoreError> {
    let who = respondent(pledge);
    let locked = survey.is_locked(now);
    let response = surveys::response(conn, pledge.id)?;
    let answers = response
        .as_ref()
        .and_then(|r| r.answers.as_deref())
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| CoreError::unexpected(format!("stored answers of pledge {}: {e}", pledge.id)))?;
    Ok(PledgeSurvey {
        pledge_id: pledge.id,
        questions: survey.questions.into_iter().filter(|q| who.asked(q)).collect(),
        answers,
        answered_at: response.and_then(|r| r.answered_at),
        lock_at: survey.lock_at,
        locked,
    })
}

/// The backer's answers, replacing earlier ones, until the survey locks.
pub fn answer(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    actor: &Actor,
    given: BTreeMap<String, Value>,
    now: DateTime<Utc>,
) -> Result<PledgeSurvey, CoreError> {
    let (_, pledge, is_backer, survey) = surveyed(conn, pledge_id, actor)?;
    if !is_backer {
        return Err(Refusal::forbidden("only the backer answers their survey").into());
    }
    if survey.is_locked(now) {
        return Err(Refusal::conflict("the survey is locked: answers can no longer change").into());
    }
    let valid = survey::answers(&survey.questions, respondent(&pledge), given)?;
    let stored = serde_json::to_string(&valid).map_err(CoreError::unexpected)?;
    surveys::save_answers(conn, &pledge, &stored, now.naive_utc())?;
    pledge_survey(conn, &pledge, survey, now)
}

/// Unanswered surveys are reminded this long after the last email, at most [`MAX_REMINDERS`]
/// times.
pub const REMIND_EVERY: Duration = Duration::days(7);
pub const MAX_REMINDERS: i32 = 3;

/// Reminds up to `limit` backers whose survey is unanswered; returns how many.
pub fn remind(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<usize, CoreError> {
    let cutoff = (now - REMIND_EVERY).naive_utc();
    let due = surveys::due_reminders(conn, cutoff, MAX_REMINDERS, now.naive_utc(), limit)?;
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<PledgeId> = due.iter().map(|(p, _, _)| p.id).collect();
    let marked: HashSet<PledgeId> = surveys::mark_reminded(conn, &ids, cutoff, now.naive_utc())?
        .into_iter()
        .collect();
    let mut campaigns_by_id = HashMap::new();
    for (pledge, _, _) in &due {
        if let std::collections::hash_map::Entry::Vacant(e) = campaigns_by_id.entry(pledge.campaign_id)
            && let Some(campaign) = campaigns::find(conn, pledge.campaign_id)?
        {
            e.insert(campaign);
        }
    }
    let reminders: Vec<mail::Reminder<'_>> = due
        .iter()
        .filter(|(p, _, _)| marked.contains(&p.id))
        .filter_map(|(pledge, lock_at, n)| {
            Some(mail::Reminder {
                campaign: campaigns_by_id.get(&pledge.campaign_id)?,
                pledge,
                lock_at: (*lock_at)?,
                n: n + 1,
            })
        })
        .collect();
    mail::survey_reminders(conn, &reminders, now)?;
    Ok(reminders.len())
}
