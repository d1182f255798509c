//! Backer surveys, each surveyed pledge's invitation and answers, and the pledges' fulfilment.

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::DbConn;
use super::pledges::PledgeRow;
use super::schema::{pledges, survey_responses, surveys, users};
use crate::domain::{CampaignId, FulfilmentStatus, PledgeId, PledgeStatus, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = surveys)]
pub struct SurveyRow {
    pub campaign_id: CampaignId,
    pub questions: String,
    pub sent_at: Option<NaiveDateTime>,
    pub lock_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = survey_responses)]
pub struct ResponseRow {
    pub pledge_id: PledgeId,
    pub campaign_id: CampaignId,
    pub answers: Option<String>,
    pub invited_at: NaiveDateTime,
    pub reminders: i32,
    pub last_sent_at: NaiveDateTime,
    pub answered_at: Option<NaiveDateTime>,
    pub erased_at: Option<NaiveDateTime>,
}

pub fn find(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Option<SurveyRow>> {
    surveys::table
        .find(campaign_id)
        .select(SurveyRow::as_select())
        .first(conn)
        .optional()
}

/// Writes the questions of a survey not sent yet; false when it has been sent. Conditional
/// writes only, so a concurrent send is never overwritten.
pub fn save_questions(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    questions: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    for _ in 0..2 {
        let updated = diesel::update(
            surveys::table
                .find(campaign_id)
                .filter(surveys::sent_at.is_null()),
        )
        .set((surveys::questions.eq(questions), surveys::updated_at.eq(now)))
        .execute(conn)?;
        if updated == 1 {
            return Ok(true);
        }
        if find(conn, campaign_id)?.is_some() {
            return Ok(false);
        }
        let inserted = super::on_backend!(conn, |c| diesel::insert_into(surveys::table)
            .values((
                surveys::campaign_id.eq(campaign_id),
                surveys::questions.eq(questions),
                surveys::created_at.eq(now),
                surveys::updated_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        if inserted == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Marks the survey sent, answers locking at `lock_at`; false if it was sent already.
pub fn mark_sent(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    lock_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        surveys::table
            .find(campaign_id)
            .filter(surveys::sent_at.is_null()),
    )
    .set((
        surveys::sent_at.eq(now),
        surveys::lock_at.eq(lock_at),
        surveys::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Of `campaign_ids`, those whose survey is sent and still open at `now`.
pub fn open_among(
    conn: &mut DbConn,
    campaign_ids: &[CampaignId],
    now: NaiveDateTime,
) -> QueryResult<Vec<SurveyRow>> {
    surveys::table
        .filter(surveys::campaign_id.eq_any(campaign_ids))
        .filter(surveys::sent_at.is_not_null())
        .filter(surveys::lock_at.gt(now))
        .select(SurveyRow::as_select())
        .load(conn)
}

/// A campaign's collected pledges that have no invitation yet, in id order.
pub fn uninvited(conn: &mut DbConn, campaign_id: CampaignId, limit: i64) -> QueryResult<Vec<PledgeRow>> {
    pledges::table
        .filter(pledges::campaign_id.eq(campaign_id))
        .filter(pledges::status.eq(PledgeStatus::Collected))
        .filter(not(exists(
            survey_responses::table.filter(survey_responses::pledge_id.eq(pledges::id)),
        )))
        .order(pledges::id)
        .limit(limit)
        .select(PledgeRow::as_select())
        .load(conn)
}

/// Notes the pledges as invited now; returns those not invited before (whose email is due).
pub fn invite(conn: &mut DbConn, invited: &[&PledgeRow], now: NaiveDateTime) -> QueryResult<Vec<PledgeId>> {
    if invited.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = invited
        .iter()
        .map(|p| {
            (
                survey_responses::pledge_id.eq(p.id),
                survey_responses::campaign_id.eq(p.campaign_id),
                survey_responses::invited_at.eq(now),
                survey_responses::last_sent_at.eq(now),
            )
        })
        .collect();
    super::on_backend!(conn, |c| diesel::insert_into(survey_responses::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .returning(survey_responses::pledge_id)
        .get_results(c))
}

pub fn response(conn: &mut DbConn, pledge_id: PledgeId) -> QueryResult<Option<ResponseRow>> {
    survey_responses::table
        .find(pledge_id)
        .select(ResponseRow::as_select())
        .first(conn)
        .optional()
}

/// Stores a pledge's answers (inviting it, if its invitation has not been written yet).
pub fn save_answers(
    conn: &mut DbConn,
    pledge: &PledgeRow,
    answers: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    super::on_backend!(conn, |c| diesel::insert_into(survey_responses::table)
        .values((
            survey_responses::pledge_id.eq(pledge.id),
            survey_responses::campaign_id.eq(pledge.campaign_id),
            survey_responses::answers.eq(answers),
            survey_responses::invited_at.eq(now),
            survey_responses::last_sent_at.eq(now),
            survey_responses::answered_at.eq(now),
        ))
        .on_conflict(survey_responses::pledge_id)
        .do_update()
        .set((
            survey_responses::answers.eq(answers),
            survey_responses::answered_at.eq(now),
        ))
        .execute(c))?;
    Ok(())
}

/// Unanswered invitations of open surveys last sent at or before `sent_before`, with fewer
/// than `max_reminders` reminders: (the pledge, when its survey locks, reminders so far).
pub fn due_reminders(
    conn: &mut DbConn,
    sent_before: NaiveDateTime,
    max_reminders: i32,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(PledgeRow, Option<NaiveDateTime>, i32)>> {
    survey_responses::table
        .inner_join(pledges::table)
        .inner_join(surveys::table.on(surveys::campaign_id.eq(survey_responses::campaign_id)))
        .filter(survey_responses::answered_at.is_null())
        .filter(survey_responses::last_sent_at.le(sent_before))
        .filter(survey_responses::reminders.lt(max_reminders))
        .filter(surveys::lock_at.gt(now))
        .filter(pledges::status.eq(PledgeStatus::Collected))
        .order(survey_responses::pledge_id)
        .limit(limit)
        .select((
            PledgeRow::as_select(),
            surveys::lock_at,
            survey_responses::reminders,
        ))
        .load(conn)
}

/// Counts one more reminder for each of the pledges, if still unanswered and due.
pub fn mark_reminded(
    conn: &mut DbConn,
    pledge_ids: &[PledgeId],
    sent_before: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<PledgeId>> {
    diesel::update(
        survey_responses::table
            .filter(survey_responses::pledge_id.eq_any(pledge_ids))
            .filter(survey_responses::answered_at.is_null())
            .filter(survey_responses::last_sent_at.le(sent_before)),
    )
    .set((
        survey_responses::reminders.eq(survey_responses::reminders + 1),
        survey_responses::last_sent_at.eq(now),
    ))
    .returning(survey_responses::pledge_id)
    .get_results(conn)
}

/// Answers to erase: of pledges delivered at or before `delivered_before`, and of deleted
/// accounts' pledges that have nothing left to ship. With `backer`: of that backer's only.
pub fn erasable(
    conn: &mut DbConn,
    delivered_before: NaiveDateTime,
    backer: Option<UserId>,
    limit: i64,
) -> QueryResult<Vec<PledgeId>> {
    let nothing_to_ship = pledges::status
        .ne(PledgeStatus::Collected)
        .or(pledges::shipping_country.is_null())
        .or(pledges::fulfilment_status.eq(FulfilmentStatus::Delivered));
    let mut query = survey_responses::table
        .inner_join(pledges::table.inner_join(users::table))
        .filter(survey_responses::answers.is_not_null())
        .filter(
            pledges::delivered_at
                .le(delivered_before)
                .or(users::deleted_at.is_not_null().and(nothing_to_ship)),
        )
        .select(survey_responses::pledge_id)
        .into_boxed();
    if let Some(backer) = backer {
        query = query.filter(pledges::backer_id.eq(backer));
    }
    query.order(survey_responses::pledge_id).limit(limit).load(conn)
}

pub fn erase(conn: &mut DbConn, pledge_ids: &[PledgeId], now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        survey_responses::table
            .filter(survey_responses::pledge_id.eq_any(pledge_ids))
            .filter(survey_responses::answers.is_not_null()),
    )
    .set((
        survey_responses::answers.eq(None::<String>),
        survey_responses::erased_at.eq(now),
    ))
    .execute(conn)
}

/// A campaign's surveyed pledges' answers, for its export: (pledge id, answers).
pub fn answers_for(
    conn: &mut DbConn,
    pledge_ids: &[PledgeId],
) -> QueryResult<Vec<(PledgeId, Option<String>)>> {
    survey_responses::table
        .filter(survey_responses::pledge_id.eq_any(pledge_ids))
        .select((survey_responses::pledge_id, survey_responses::answers))
        .load(conn)
}

/// A backer's answers, for the account export.
pub fn responses_of(conn: &mut DbConn, pledge_ids: &[PledgeId]) -> QueryResult<Vec<ResponseRow>> {
    survey_responses::table
        .filter(survey_responses::pledge_id.eq_any(pledge_ids))
        .order(survey_responses::pledge_id)
        .select(ResponseRow::as_select())
        .load(conn)
}

/// (invited, answered) for a campaign.
pub fn response_counts(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<(i64, i64)> {
    let invited = survey_responses::table
        .filter(survey_responses::campaign_id.eq(campaign_id))
        .count()
        .get_result(conn)?;
    let answered = survey_responses::table
        .filter(survey_responses::campaign_id.eq(campaign_id))
        .filter(survey_responses::answered_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((invited, answered))
}
