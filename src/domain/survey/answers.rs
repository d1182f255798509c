//! The answers a backer gives: checked against the questions their pledge is asked, and laid
//! out as export cells.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::{MAX_TEXT_CHARS, Question, QuestionKind, campaign_text};
use crate::domain::address::Address;
use crate::domain::{FieldErrors, Refusal, TierId};

/// What the pledge answering is: its tier, and the country its shipping was paid for.
#[derive(Debug, Clone, Copy)]
pub struct Respondent<'a> {
    pub tier: Option<TierId>,
    pub ships_to: Option<&'a str>,
}

impl Respondent<'_> {
    pub fn asked(self, question: &Question) -> bool {
        question.applies_to(self.tier, self.ships_to.is_some())
    }
}

/// Checks a backer's answers (keyed by question id) to the questions that apply to them, and
/// returns them normalised; errors name `answers.{id}` (and `answers.{id}.{field}`).
pub fn answers(
    questions: &[Question],
    respondent: Respondent<'_>,
    given: BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, Refusal> {
    let mut errors = FieldErrors::default();
    let asked: Vec<&Question> = questions.iter().filter(|q| respondent.asked(q)).collect();
    for key in given.keys() {
        if !asked.iter().any(|q| &q.id == key) {
            errors.push(format!("answers.{key}"), "is not a question this pledge is asked");
        }
    }
    let mut valid = BTreeMap::new();
    for q in asked {
        let at = format!("answers.{}", q.id);
        let answer = match given.get(&q.id).filter(|v| !v.is_null()) {
            None => Some(Value::Null),
            Some(value) => answer(q, value, respondent, &at, &mut errors),
        };
        match answer {
            // Invalid: recorded.
            None => {}
            Some(Value::Null) if q.is_required() => errors.push(at, "is required"),
            Some(Value::Null) => {}
            Some(answer) => {
                valid.insert(q.id.clone(), answer);
            }
        }
    }
    errors.finish()?;
    Ok(valid)
}

/// One answer checked; `Some(Null)` for an optional answer left empty, `None` when invalid
/// (the error is recorded).
fn answer(
    q: &Question,
    value: &Value,
    who: Respondent<'_>,
    at: &str,
    errors: &mut FieldErrors,
) -> Option<Value> {
    let options = q.options.as_deref().unwrap_or_default();
    match q.kind {
        QuestionKind::ShippingAddress => match serde_json::from_value::<Address>(value.clone()) {
            Ok(address) => address
                .check(who.ships_to, at, errors)
                .and_then(|a| serde_json::to_value(a).ok()),
            Err(e) => {
                errors.push(
                    at,
                    format!("must be an address: name, line1, line2?, city, region?, postal_code, country, phone? ({e})"),
                );
                None
            }
        },
        QuestionKind::SingleChoice => match value.as_str() {
            Some(choice) if options.iter().any(|o| o == choice) => Some(Value::from(choice)),
            _ => {
                errors.push(at, format!("must be one of: {}", options.join(", ")));
                None
            }
        },
        QuestionKind::MultipleChoice => {
            let chosen: Option<Vec<&str>> = value
                .as_array()
                .and_then(|items| items.iter().map(Value::as_str).collect());
            let Some(chosen) = chosen.filter(|c| c.iter().all(|c| options.iter().any(|o| o == c))) else {
                errors.push(
                    at,
                    format!("must be a list of choices among: {}", options.join(", ")),
                );
                return None;
            };
            let distinct: HashSet<&str> = chosen.iter().copied().collect();
            if distinct.len() != chosen.len() {
                errors.push(at, "lists a choice twice");
                return None;
            }
            if chosen.is_empty() {
                return Some(Value::Null);
            }
            Some(Value::from(chosen))
        }
        QuestionKind::Text => {
            let Some(raw) = value.as_str() else {
                errors.push(at, "must be text");
                return None;
            };
            if raw.trim().is_empty() {
                return Some(Value::Null);
            }
            errors
                .check(at, campaign_text(raw, 1, MAX_TEXT_CHARS, true))
                .map(Value::from)
        }
        QuestionKind::Number => {
            let Some(n) = value.as_f64() else {
                errors.push(at, "must be a number");
                return None;
            };
            if q.min.is_some_and(|min| n < min) || q.max.is_some_and(|max| n > max) {
                let bound = |b: Option<f64>| b.map_or("…".to_owned(), |b| b.to_string());
                errors.push(at, format!("must be from {} to {}", bound(q.min), bound(q.max)));
                return None;
            }
            Some(value.clone())
        }
    }
}

/// An answer as export cells: (column, text). An address is one column per field
/// (`{id}.{field}`), a multiple choice its choices joined by `; `.
pub fn cells(question: &Question, answer: Option<&Value>) -> Vec<(String, String)> {
    match question.kind {
        QuestionKind::ShippingAddress => {
            let address = answer.and_then(|a| serde_json::from_value::<Address>(a.clone()).ok());
            crate::domain::address::FIELDS
                .iter()
                .map(|field| {
                    let value = address.as_ref().and_then(|a| a.field(field)).unwrap_or_default();
                    (format!("{}.{field}", question.id), value.to_owned())
                })
                .collect()
        }
        _ => {
            let text = match answer {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(other) => other.to_string(),
            };
            vec![(question.id.clone(), text)]
        }
    }
}
