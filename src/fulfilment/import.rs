//! Fulfilment in bulk: a CSV with the export's `pledge_id`, `fulfilment_status`, `carrier` and
//! `tracking_number` columns (others, such as the rest of an export, are ignored). Each row is
//! applied whole or not at all, and reported: an export imported back changes nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Applied, Change, apply};
use crate::campaigns::access;
use crate::db::{DbConn, campaigns, pledges};
use crate::domain::{Actor, CampaignId, CoreError, FulfilmentStatus, PledgeId, Refusal};

/// Rows one import may carry.
pub const MAX_ROWS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    /// The pledge was already so (an exported row, imported back).
    Unchanged,
    Refused,
}

/// What happened to one row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowReport {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    pub pledge_id: Option<i64>,
    pub outcome: Outcome,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub applied: usize,
    pub unchanged: usize,
    pub refused: usize,
    pub rows: Vec<RowReport>,
}

struct Columns {
    pledge_id: usize,
    status: usize,
    carrier: Option<usize>,
    tracking_number: Option<usize>,
}

fn columns(headers: &csv::StringRecord) -> Result<Columns, Refusal> {
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
    };
    let required = |name: &str| {
        find(name).ok_or_else(|| {
            Refusal::field(
                "file",
                format!("has no {name} column (the header is the first line)"),
            )
        })
    };
    Ok(Columns {
        pledge_id: required("pledge_id")?,
        status: required("fulfilment_status")?,
        carrier: find("carrier"),
        tracking_number: find("tracking_number"),
    })
}

/// Applies the file to `campaign_id`'s pledges (its creator only).
pub fn import(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
    file: &[u8],
    now: DateTime<Utc>,
) -> Result<ImportReport, CoreError> {
    let campaign = access::owned_by(campaigns::find(conn, campaign_id)?, actor)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| Refusal::field("file", format!("is not CSV: {e}")))?
        .clone();
    let columns = columns(&headers)?;
    let mut report = ImportReport {
        applied: 0,
        unchanged: 0,
        refused: 0,
        rows: Vec::new(),
    };
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_ROWS {
            return Err(Refusal::field("file", format!("has more than {MAX_ROWS} rows: split it")).into());
        }
        // The reader counts the line breaks before a record: its line, from 1, is one more.
        let line = i as u64 + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line() + 1);
                report.push(line, None, Err(format!("is not CSV: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(line, |p| p.line() + 1);
        let cell = |at: Option<usize>| {
            at.and_then(|at| record.get(at))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let Some(id) = cell(Some(columns.pledge_id)).and_then(|v| v.parse::<i64>().ok()) else {
            report.push(line, None, Err("pledge_id must be a pledge's id".into()));
            continue;
        };
        let outcome = row(
            conn,
            &campaign,
            PledgeId(id),
            cell(Some(columns.status)),
            cell(columns.carrier),
            cell(columns.tracking_number),
            now,
        )?;
        report.push(line, Some(id), outcome);
    }
    Ok(report)
}

impl ImportReport {
    fn push(&mut self, line: u64, pledge_id: Option<i64>, outcome: Result<Applied, String>) {
        let (outcome, reason) = match outcome {
            Ok(Applied::Changed) => (Outcome::Applied, None),
            Ok(Applied::Unchanged) => (Outcome::Unchanged, None),
            Err(reason) => (Outcome::Refused, Some(reason)),
        };
        match outcome {
            Outcome::Applied => self.applied += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Refused => self.refused += 1,
        }
        self.rows.push(RowReport {
            line,
            pledge_id,
            outcome,
            reason,
        });
    }
}

/// One row: `Err` with the reason when the rule refuses it; a failure underneath (the
/// database) fails the import.
fn row(
    conn: &mut DbConn,
    campaign: &crate::db::campaigns::CampaignRow,
    id: PledgeId,
    status: Option<&str>,
    carrier: Option<&str>,
    tracking_number: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<Applied, String>, CoreError> {
    let Some(pledge) = pledges::find(conn, id)?.filter(|p| p.campaign_id == campaign.id) else {
        return Ok(Err("is not a pledge of this campaign".into()));
    };
    let status = match status.map(str::parse::<FulfilmentStatus>) {
        None => return Ok(Err("fulfilment_status is required".into())),
        Some(Err(e)) => return Ok(Err(format!("fulfilment_status {e}"))),
        Some(Ok(status)) => status,
    };
    let ships = pledge.shipping_country.is_some();
    // An exported row as it was exported.
    if status == FulfilmentStatus::of(pledge.fulfilment_status, ships)
        && carrier == pledge.carrier.as_deref()
        && tracking_number == pledge.tracking_number.as_deref()
    {
        return Ok(Ok(Applied::Unchanged));
    }
    let change = match Change::parse(status, carrier, tracking_number, "fulfilment_status") {
        Ok(change) => change,
        Err(refusal) => return Ok(Err(reason(&refusal))),
    };
    match apply(conn, campaign, &pledge, &change, now) {
        Ok((_, applied)) => Ok(Ok(applied)),
        Err(CoreError::Refused(refusal)) => Ok(Err(reason(&refusal))),
        Err(other) => Err(other),
    }
}

fn reason(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Invalid(errors) => errors
            .iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        Refusal::Conflict(reason) | Refusal::Forbidden(reason) => reason.clone(),
        other => other.to_string(),
    }
}
