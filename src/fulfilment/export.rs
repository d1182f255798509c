//! The creator's list of what to send: each pledge with its backer, tier, add-ons, fulfilment and the
//! survey's answers (one column per question, an address one column per field). CSV through
//! the `csv` crate, with a leading `'` before `= + - @` so that spreadsheet programs do not run
//! a backer-chosen text as a formula.

use std::collections::HashMap;

use serde_json::Value;

use crate::db::DbConn;
use crate::db::addons::AddonRow;
use crate::db::fulfilment::{self, FulfilmentRow};
use crate::db::pledges::PledgeRow;
use crate::db::surveys;
use crate::domain::fulfilment::EXPORT_COLUMNS;
use crate::domain::survey::{Question, Respondent, cells};
use crate::domain::{
    AddonId, CampaignId, CoreError, Currency, FulfilmentStatus, Money, PledgeId, PledgeStatus,
};
use crate::pledges::lifecycle::holding;
use crate::surveys::Survey;

/// Which pledges a listing shows: one status, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Status(PledgeStatus),
}

impl Filter {
    pub fn parse(raw: Option<&str>, default: Filter) -> Result<Self, String> {
        match raw {
            None => Ok(default),
            Some("all") => Ok(Self::All),
            Some(status) => status
                .parse()
                .map(Self::Status)
                .map_err(|_| "must be all or a pledge status (collected, active, ...)".to_owned()),
        }
    }

    pub fn status(self) -> Option<PledgeStatus> {
        match self {
            Self::All => None,
            Self::Status(s) => Some(s),
        }
    }
}

/// A pledge's survey answers, keyed by question id.
pub type Answers = serde_json::Map<String, Value>;

/// One page of the export: the rows, each with its answers.
pub fn page(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    filter: Filter,
    after: Option<PledgeId>,
    limit: i64,
) -> Result<Vec<(FulfilmentRow, Option<Answers>)>, CoreError> {
    let rows = fulfilment::for_campaign(conn, campaign_id, filter.status(), after, limit)?;
    let ids: Vec<PledgeId> = rows.iter().map(|r| r.pledge.id).collect();
    let mut answers: HashMap<PledgeId, Answers> = HashMap::new();
    for (id, stored) in surveys::answers_for(conn, &ids)? {
        if let Some(stored) = stored {
            let parsed = serde_json::from_str(&stored)
                .map_err(|e| CoreError::unexpected(format!("stored answers of pledge {id}: {e}")))?;
            answers.insert(id, parsed);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let answers = answers.remove(&row.pledge.id);
            (row, answers)
        })
        .collect())
}

/// Writes CSV rows: the header, then a page at a time.
pub struct CsvSheet {
    questions: Vec<Question>,
    currency: Currency,
    /// The campaign's add-ons' titles, for the `addons` column.
    addon_titles: HashMap<AddonId, String>,
}

impl CsvSheet {
    pub fn new(survey: Option<Survey>, currency: Currency, addons: &[AddonRow]) -> Self {
        Self {
            questions: survey.map(|s| s.questions).unwrap_or_default(),
            currency,
            addon_titles: addons.iter().map(|a| (a.id, a.title.clone())).collect(),
        }
    }

    /// `2 × Sticker pack; 1 × Poster`: what to pack beside the reward.
    fn addons_cell(&self, pledge: &PledgeRow) -> Result<String, CoreError> {
        let held = holding(pledge.id, &pledge.addons)?;
        Ok(held
            .items()
            .iter()
            .map(|h| {
                let title = self.addon_titles.get(&h.addon_id).map_or("?", String::as_str);
                format!("{} × {title}", h.quantity)
            })
            .collect::<Vec<_>>()
            .join("; "))
    }

    pub fn header(&self) -> Vec<u8> {
        let mut names: Vec<String> = EXPORT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        for q in &self.questions {
            names.extend(cells(q, None).into_iter().map(|(column, _)| column));
        }
        write(&[names])
    }

    pub fn rows(&self, page: &[(FulfilmentRow, Option<Answers>)]) -> Result<Vec<u8>, CoreError> {
        let records: Vec<Vec<String>> = page
            .iter()
            .map(|(row, answers)| self.record(row, answers.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(write(&records))
    }

    fn record(&self, row: &FulfilmentRow, answers: Option<&Answers>) -> Result<Vec<String>, CoreError> {
        let pledge = &row.pledge;
        let ships = pledge.shipping_country.is_some();
        let mut fields = vec![
            pledge.id.to_string(),
            row.backer_name.clone(),
            row.backer_email.clone(),
            row.tier_title.clone().unwrap_or_default(),
            self.addons_cell(pledge)?,
            Money::from_minor(pledge.amount_minor, self.currency).to_decimal_string(),
            self.currency.code().to_owned(),
            pledge.shipping_country.clone().unwrap_or_default(),
            pledge.status.as_str().to_owned(),
            pledge
                .created_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            FulfilmentStatus::of(pledge.fulfilment_status, ships)
                .as_str()
                .to_owned(),
            pledge.carrier.clone().unwrap_or_default(),
            pledge.tracking_number.clone().unwrap_or_default(),
            pledge.referral.clone().unwrap_or_default(),
        ];
        let who = Respondent {
            tier: pledge.tier_id,
            ships_to: pledge.shipping_country.as_deref(),
        };
        for q in &self.questions {
            let answer = answers.filter(|_| who.asked(q)).and_then(|a| a.get(&q.id));
            fields.extend(cells(q, answer).into_iter().map(|(_, value)| value));
        }
        Ok(fields)
    }
}

/// A value as a cell that no spreadsheet evaluates.
pub fn defused(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

fn write(records: &[Vec<String>]) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for record in records {
        // Writing to memory fails only on a bug: the record is dropped and logged.
        if let Err(e) = out.write_record(record.iter().map(|f| defused(f).into_owned())) {
            tracing::error!(error = %e, "writing a CSV record");
        }
    }
    out.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_defuses() {
        let out = write(&[vec![
            "Ana".into(),
            "López, Ana".into(),
            "say \"hi\"".into(),
            "=HYPERLINK(1)".into(),
            "-2".into(),
        ]]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Ana,\"López, Ana\",\"say \"\"hi\"\"\",'=HYPERLINK(1),'-2\r\n"
        );
    }

    #[test]
    fn filters() {
        assert_eq!(Filter::parse(None, Filter::All), Ok(Filter::All));
        assert_eq!(
            Filter::parse(Some("collected"), Filter::All),
            Ok(Filter::Status(PledgeStatus::Collected))
        );
        assert!(Filter::parse(Some("shipped"), Filter::All).is_err());
    }
}
