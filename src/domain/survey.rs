//! A campaign's backer survey: the questions a creator asks after the campaign, which of them
//! apply to a pledge, and the answers a backer may give. Stored as JSON; every value that
//! reaches the database went through [`questions`] or [`answers`].

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod answers;

pub use answers::{Respondent, answers, cells};

use super::campaign::text as campaign_text;
use super::{FieldErrors, Refusal, TierId};

pub const MAX_QUESTIONS: usize = 50;
pub const MAX_OPTIONS: usize = 50;
pub const MAX_TEXT_CHARS: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Where to send the reward; at most one per survey, asked of pledges whose tier ships and
    /// always required of them.
    ShippingAddress,
    SingleChoice,
    MultipleChoice,
    /// Free text, up to 2 000 characters.
    Text,
    /// A number, within `min` and `max` when given.
    Number,
}

/// One question, as the creator writes it and as it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// 1–40 of `a-z 0-9 _`, starting with a letter; the answers' key and the export's column.
    #[schema(example = "size")]
    pub id: String,
    pub kind: QuestionKind,
    /// 1–500 characters.
    #[schema(example = "Which T-shirt size?")]
    pub prompt: String,
    #[serde(default)]
    pub required: bool,
    /// Asked only of pledges on these tiers (omitted: every pledge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub tiers: Option<Vec<TierId>>,
    /// The choices of a `single_choice` or `multiple_choice` question: 2–50 distinct texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    /// Bounds of a `number` answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Question {
    /// Whether a pledge on `tier` (shipping when `ships`) is asked this question.
    pub fn applies_to(&self, tier: Option<TierId>, ships: bool) -> bool {
        let on_tier = match &self.tiers {
            None => true,
            Some(tiers) => tier.is_some_and(|t| tiers.contains(&t)),
        };
        on_tier && (self.kind != QuestionKind::ShippingAddress || ships)
    }

    pub fn is_required(&self) -> bool {
        self.required || self.kind == QuestionKind::ShippingAddress
    }
}

fn question_id(raw: &str) -> Result<(), String> {
    let well_formed = (1..=40).contains(&raw.len())
        && raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err("must be 1–40 of a-z, 0-9 and _, starting with a letter".into());
    }
    if super::fulfilment::EXPORT_COLUMNS.contains(&raw) {
        return Err(format!("{raw:?} is a column of the fulfilment export already"));
    }
    Ok(())
}

/// Checks a survey's questions against the campaign's tiers; errors name `questions[i].field`.
pub fn questions(
    mut list: Vec<Question>,
    campaign_tiers: &HashSet<TierId>,
) -> Result<Vec<Question>, Refusal> {
    let mut errors = FieldErrors::default();
    if list.is_empty() || list.len() > MAX_QUESTIONS {
        return Err(Refusal::field(
            "questions",
            format!("must list 1 to {MAX_QUESTIONS} questions"),
        ));
    }
    let mut ids = HashSet::new();
    let mut addresses = 0;
    for (i, q) in list.iter_mut().enumerate() {
        let at = |field: &str| format!("questions[{i}].{field}");
        if errors.check(&at("id"), question_id(&q.id)).is_some() && !ids.insert(q.id.clone()) {
            errors.push(at("id"), "is the id of an earlier question");
        }
        if let Some(prompt) = errors.check(&at("prompt"), campaign_text(&q.prompt, 1, 500, true)) {
            q.prompt = prompt;
        }
        let choice = matches!(q.kind, QuestionKind::SingleChoice | QuestionKind::MultipleChoice);
        match (&mut q.options, choice) {
            (Some(options), true) => {
                if !(2..=MAX_OPTIONS).contains(&options.len()) {
                    errors.push(at("options"), format!("must list 2 to {MAX_OPTIONS} choices"));
                }
                let mut seen = HashSet::new();
                for (j, option) in options.iter_mut().enumerate() {
                    let field = format!("questions[{i}].options[{j}]");
                    if let Some(valid) = errors.check(&field, campaign_text(option, 1, 200, false)) {
                        if !seen.insert(valid.clone()) {
                            errors.push(field, "is listed twice");
                        }
                        *option = valid;
                    }
                }
            }
            (None, true) => errors.push(at("options"), "is required for a choice"),
            (Some(_), false) => errors.push(at("options"), "is only for single_choice and multiple_choice"),
            (None, false) => {}
        }
        if q.kind == QuestionKind::Number {
            if q.min.zip(q.max).is_some_and(|(min, max)| min > max) {
                errors.push(at("min"), "must not be above max");
            }
        } else {
            for (field, value) in [("min", q.min), ("max", q.max)] {
                if value.is_some() {
                    errors.push(at(field), "is only for number questions");
                }
            }
        }
        if q.kind == QuestionKind::ShippingAddress {
            addresses += 1;
            if addresses > 1 {
                errors.push(at("kind"), "a survey asks for one shipping address at most");
            }
            q.required = true;
        }
        if let Some(tiers) = &q.tiers {
            if tiers.is_empty() {
                errors.push(at("tiers"), "must list at least one tier, or be omitted");
            }
            let mut seen = HashSet::new();
            for (j, tier) in tiers.iter().enumerate() {
                if !campaign_tiers.contains(tier) {
                    errors.push(
                        format!("questions[{i}].tiers[{j}]"),
                        "is not a reward tier of this campaign",
                    );
                } else if !seen.insert(*tier) {
                    errors.push(format!("questions[{i}].tiers[{j}]"), "is listed twice");
                }
            }
        }
    }
    errors.finish()?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use serde_json::{Value, json};

    fn parse(value: Value) -> Result<Vec<Question>, Refusal> {
        let list: Vec<Question> = serde_json::from_value(value).unwrap();
        questions(list, &[TierId(1), TierId(2)].into_iter().collect())
    }

    fn fields(refusal: Refusal) -> Vec<String> {
        match refusal {
            Refusal::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn survey() -> Vec<Question> {
        parse(json!([
            {"id": "address", "kind": "shipping_address", "prompt": "Where to?"},
            {"id": "size", "kind": "single_choice", "prompt": "Size", "required": true,
             "options": ["S", "M", "L"], "tiers": [2]},
            {"id": "colours", "kind": "multiple_choice", "prompt": "Colours", "options": ["red", "blue"]},
            {"id": "note", "kind": "text", "prompt": "Anything else?"},
            {"id": "age", "kind": "number", "prompt": "Age", "min": 0, "max": 130},
        ]))
        .unwrap()
    }

    #[test]
    fn questions_are_checked() {
        assert!(survey()[0].required, "an address is always required");
        let bad = parse(json!([
            {"id": "Size", "kind": "text", "prompt": "x"},
            {"id": "a", "kind": "single_choice", "prompt": "x", "options": ["one"]},
            {"id": "a", "kind": "text", "prompt": " ", "options": ["x", "y"]},
            {"id": "n", "kind": "number", "prompt": "x", "min": 5, "max": 1},
            {"id": "s1", "kind": "shipping_address", "prompt": "x"},
            {"id": "s2", "kind": "shipping_address", "prompt": "x", "tiers": [9]},
            {"id": "tier", "kind": "text", "prompt": "x"},
        ]))
        .unwrap_err();
        assert_eq!(
            fields(bad),
            [
                "questions[0].id",
                "questions[1].options",
                "questions[2].id",
                "questions[2].prompt",
                "questions[2].options",
                "questions[3].min",
                "questions[5].kind",
                "questions[5].tiers[0]",
                "questions[6].id",
            ]
        );
        assert_eq!(fields(parse(json!([])).unwrap_err()), ["questions"]);
    }

    #[test]
    fn which_questions_apply() {
        let qs = survey();
        let digital = Respondent {
            tier: Some(TierId(1)),
            ships_to: None,
        };
        let apparel = Respondent {
            tier: Some(TierId(2)),
            ships_to: Some("US"),
        };
        let ids = |who: Respondent<'_>| {
            qs.iter()
                .filter(|q| who.asked(q))
                .map(|q| q.id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(digital), ["colours", "note", "age"]);
        assert_eq!(ids(apparel), ["address", "size", "colours", "note", "age"]);
    }

    #[test]
    fn answers_are_checked_per_kind() {
        let qs = survey();
        let who = Respondent {
            tier: Some(TierId(2)),
            ships_to: Some("US"),
        };
        let given: BTreeMap<String, Value> = serde_json::from_value(json!({
            "address": {"name": "Ana", "line1": "1 Main St", "city": "Springfield",
                        "region": "il", "postal_code": "62701", "country": "US"},
            "size": "M", "colours": ["blue"], "note": "  ", "age": 42,
        }))
        .unwrap();
        let valid = answers(&qs, who, given).unwrap();
        assert_eq!(valid["address"]["region"], "IL");
        assert_eq!(valid["size"], "M");
        assert!(
            !valid.contains_key("note"),
            "an empty optional answer is no answer"
        );

        let bad: BTreeMap<String, Value> = serde_json::from_value(json!({
            "address": {"name": "Ana", "line1": "1", "city": "X", "postal_code": "75008", "country": "FR"},
            "colours": ["green"], "note": 5, "age": 200, "shoe": "42",
        }))
        .unwrap();
        assert_eq!(
            fields(answers(&qs, who, bad).unwrap_err()),
            [
                "answers.shoe",
                "answers.address.country",
                "answers.size",
                "answers.colours",
                "answers.note",
                "answers.age",
            ]
        );
        let digital = Respondent {
            tier: Some(TierId(1)),
            ships_to: None,
        };
        let asked_nothing: BTreeMap<String, Value> =
            serde_json::from_value(json!({"size": "M", "address": {}})).unwrap();
        assert_eq!(
            fields(answers(&qs, digital, asked_nothing).unwrap_err()),
            ["answers.address", "answers.size"]
        );
    }

    #[test]
    fn cells_split_addresses() {
        let qs = survey();
        let address = json!({"name": "Ana", "line1": "1 Main St", "city": "Paris", "postal_code": "75008", "country": "FR"});
        let cells = cells(&qs[0], Some(&address));
        assert_eq!(cells.len(), 8);
        assert_eq!(cells[0], ("address.name".into(), "Ana".into()));
        assert_eq!(cells[2], ("address.line2".into(), String::new()));
        assert_eq!(
            super::cells(&qs[2], Some(&json!(["red", "blue"])))[0].1,
            "red; blue"
        );
        assert_eq!(super::cells(&qs[4], Some(&json!(42)))[0].1, "42");
    }
}
