use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::campaign_events;
use crate::domain::{CampaignId, CampaignStatus, UserId};

#[derive(Insertable)]
#[diesel(table_name = campaign_events)]
pub struct NewCampaignEvent<'a> {
    pub campaign_id: CampaignId,
    pub actor_id: Option<UserId>,
    pub from_status: Option<CampaignStatus>,
    pub to_status: CampaignStatus,
    pub reason: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaign_events)]
pub struct CampaignEventRow {
    pub id: i64,
    pub campaign_id: CampaignId,
    pub actor_id: Option<UserId>,
    pub from_status: Option<CampaignStatus>,
    pub to_status: CampaignStatus,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn append(conn: &mut DbConn, event: &NewCampaignEvent<'_>) -> QueryResult<usize> {
    diesel::insert_into(campaign_events::table)
        .values(event)
        .execute(conn)
}

pub fn for_campaign(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<CampaignEventRow>> {
    campaign_events::table
        .filter(campaign_events::campaign_id.eq(campaign_id))
        .order(campaign_events::id)
        .select(CampaignEventRow::as_select())
        .load(conn)
}
