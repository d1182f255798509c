//! `/api/v1/campaigns/{id}/survey` (the creator's) and `/api/v1/pledges/{id}/survey` (the
//! backer's).

pub mod answer;
pub mod define;
pub mod send;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::survey::Question;
use crate::surveys::{PledgeSurvey, Survey};

/// A campaign's survey, as its creator wrote it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyResponse {
    pub campaign_id: i64,
    pub questions: Vec<Question>,
    /// Null until sent; the questions cannot change after.
    pub sent_at: Option<DateTime<Utc>>,
    /// When answers stop being accepted.
    pub lock_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<Survey> for SurveyResponse {
    fn from(s: Survey) -> Self {
        Self {
            campaign_id: s.campaign_id.0,
            questions: s.questions,
            sent_at: s.sent_at.map(|t| t.and_utc()),
            lock_at: s.lock_at.map(|t| t.and_utc()),
            updated_at: s.updated_at.and_utc(),
        }
    }
}

/// A pledge's survey: the questions it is asked and its answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeSurveyResponse {
    pub pledge_id: i64,
    pub questions: Vec<Question>,
    /// Keyed by question id; null before the first answer (and once erased after delivery).
    #[schema(value_type = Option<Object>)]
    pub answers: Option<BTreeMap<String, serde_json::Value>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub lock_at: Option<DateTime<Utc>>,
    /// Past `lock_at`: answers can no longer change.
    pub locked: bool,
}

impl From<PledgeSurvey> for PledgeSurveyResponse {
    fn from(s: PledgeSurvey) -> Self {
        Self {
            pledge_id: s.pledge_id.0,
            questions: s.questions,
            answers: s.answers,
            answered_at: s.answered_at.map(|t| t.and_utc()),
            lock_at: s.lock_at.map(|t| t.and_utc()),
            locked: s.locked,
        }
    }
}
