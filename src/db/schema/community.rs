//! Comments on campaigns and updates, their reports, the creators' digests of them, and the
//! referral tags that tell which link brought which backer, and who follows which campaign.

diesel::table! {
    comments (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        update_id -> Nullable<BigInt>,
        parent_id -> Nullable<BigInt>,
        author_id -> BigInt,
        by_creator -> Bool,
        body -> Text,
        created_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        hidden_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    comment_reports (id) {
        id -> BigInt,
        comment_id -> BigInt,
        reporter_id -> BigInt,
        reason -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    comment_digests (campaign_id) {
        campaign_id -> BigInt,
        through_at -> Timestamp,
    }
}

diesel::table! {
    referral_tags (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    follows (campaign_id, user_id) {
        campaign_id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}
