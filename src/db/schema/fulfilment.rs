//! Backer surveys and each surveyed pledge's invitation and answers.

diesel::table! {
    surveys (campaign_id) {
        campaign_id -> BigInt,
        questions -> Text,
        sent_at -> Nullable<Timestamp>,
        lock_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    survey_responses (pledge_id) {
        pledge_id -> BigInt,
        campaign_id -> BigInt,
        answers -> Nullable<Text>,
        invited_at -> Timestamp,
        reminders -> Integer,
        last_sent_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
    }
}
