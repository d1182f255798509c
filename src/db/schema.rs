//! Tables shared by both backends. Maintained by hand (see `diesel.toml`): only types that
//! diesel's MultiConnection maps on SQLite and PostgreSQL alike.

mod community;
mod fulfilment;
mod media;
mod webhooks;

pub use community::{comment_digests, comment_reports, comments, follows, referral_tags};
pub use fulfilment::{survey_responses, surveys};
pub use media::{campaign_images, media_pending, update_images};
pub use webhooks::{webhook_deliveries, webhook_endpoints, webhook_events};

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        email_verified_at -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        totp_secret -> Nullable<Text>,
        totp_enabled_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
        failed_logins -> Integer,
        failed_logins_since -> Nullable<Timestamp>,
        login_locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        new_email -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    campaigns (id) {
        id -> BigInt,
        owner_id -> BigInt,
        slug -> Text,
        title -> Text,
        blurb -> Text,
        description -> Text,
        category -> Nullable<Text>,
        currency -> Text,
        goal_minor -> Nullable<BigInt>,
        duration_days -> Nullable<Integer>,
        status -> Text,
        launched_at -> Nullable<Timestamp>,
        deadline -> Nullable<Timestamp>,
        pledged_minor -> BigInt,
        backer_count -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        final_pledged_minor -> Nullable<BigInt>,
        final_backer_count -> Nullable<Integer>,
        closed_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        ending_notice_at -> Nullable<Timestamp>,
        ranked_pledged_minor -> BigInt,
        ranked_backer_count -> Integer,
        cover_image_id -> Nullable<BigInt>,
        prelaunch -> Bool,
        funding_model -> Text,
        late_pledges -> Bool,
        late_pledges_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reward_tiers (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        title -> Text,
        description -> Text,
        min_amount_minor -> BigInt,
        quantity -> Nullable<Integer>,
        claimed -> Integer,
        estimated_delivery -> Text,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        shipping -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        image_id -> Nullable<BigInt>,
        visibility -> Text,
        secret_token -> Nullable<Text>,
        late_price_minor -> Nullable<BigInt>,
    }
}

diesel::table! {
    addons (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        title -> Text,
        description -> Text,
        price_minor -> BigInt,
        quantity -> Nullable<Integer>,
        claimed -> Integer,
        max_per_pledge -> Integer,
        shipping -> Nullable<Text>,
        tier_ids -> Text,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        visibility -> Text,
        secret_token -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    campaign_events (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    campaign_updates (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        author_id -> BigInt,
        title -> Text,
        body -> Text,
        backers_only -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    pledges (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        backer_id -> BigInt,
        tier_id -> Nullable<BigInt>,
        amount_minor -> BigInt,
        shipping_country -> Nullable<Text>,
        shipping_fee_minor -> BigInt,
        status -> Text,
        payment_method -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        canceled_at -> Nullable<Timestamp>,
        released_at -> Nullable<Timestamp>,
        collected_at -> Nullable<Timestamp>,
        errored_at -> Nullable<Timestamp>,
        dropped_at -> Nullable<Timestamp>,
        refunded_at -> Nullable<Timestamp>,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        lease_until -> Nullable<Timestamp>,
        failure_code -> Nullable<Text>,
        fulfilment_status -> Text,
        carrier -> Nullable<Text>,
        tracking_number -> Nullable<Text>,
        shipped_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        referral -> Nullable<Text>,
        addons -> Text,
        late -> Bool,
    }
}

diesel::table! {
    charge_attempts (id) {
        id -> BigInt,
        pledge_id -> BigInt,
        attempt -> Integer,
        idempotency_key -> Text,
        payment_method -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        status -> Text,
        provider_charge_id -> Nullable<Text>,
        fee_minor -> Nullable<BigInt>,
        failure_code -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ledger_transactions (id) {
        id -> BigInt,
        kind -> Text,
        campaign_id -> BigInt,
        pledge_id -> Nullable<BigInt>,
        currency -> Text,
        reference -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> BigInt,
        transaction_id -> BigInt,
        account -> Text,
        amount_minor -> BigInt,
    }
}

diesel::table! {
    pledge_events (id) {
        id -> BigInt,
        pledge_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Text,
        amount_minor -> BigInt,
        tier_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        addons -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> BigInt,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sandbox_charges (id) {
        id -> BigInt,
        idempotency_key -> Text,
        payment_method -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        status -> Text,
        failure_code -> Nullable<Text>,
        fee_minor -> BigInt,
        refunded_minor -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sandbox_refunds (id) {
        id -> BigInt,
        idempotency_key -> Text,
        charge_id -> BigInt,
        amount_minor -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> BigInt,
        template -> Text,
        recipient -> Text,
        recipient_name -> Text,
        subject_id -> Text,
        context -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    stripe_customers (user_id) {
        user_id -> BigInt,
        customer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stripe_events (id) {
        id -> Text,
        #[sql_name = "type"]
        event_type -> Text,
        received_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(pledges -> campaigns (campaign_id));
diesel::joinable!(pledges -> users (backer_id));
diesel::joinable!(pledges -> reward_tiers (tier_id));
diesel::joinable!(pledge_events -> pledges (pledge_id));
diesel::joinable!(charge_attempts -> pledges (pledge_id));
diesel::joinable!(ledger_entries -> ledger_transactions (transaction_id));
diesel::joinable!(campaigns -> users (owner_id));
diesel::joinable!(reward_tiers -> campaigns (campaign_id));
diesel::joinable!(addons -> campaigns (campaign_id));
diesel::joinable!(campaign_events -> campaigns (campaign_id));
diesel::joinable!(webhook_endpoints -> users (owner_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(campaign_images -> campaigns (campaign_id));
diesel::joinable!(update_images -> campaign_images (image_id));
diesel::joinable!(update_images -> campaign_updates (update_id));
diesel::joinable!(surveys -> campaigns (campaign_id));
diesel::joinable!(survey_responses -> pledges (pledge_id));
diesel::joinable!(comments -> users (author_id));
diesel::joinable!(follows -> campaigns (campaign_id));
diesel::joinable!(comment_reports -> comments (comment_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    account_tokens,
    recovery_codes,
    refresh_tokens,
    campaigns,
    reward_tiers,
    addons,
    campaign_events,
    campaign_updates,
    pledges,
    pledge_events,
    idempotency_keys,
    sandbox_charges,
    sandbox_refunds,
    charge_attempts,
    ledger_transactions,
    ledger_entries,
    email_outbox,
    stripe_customers,
    stripe_events,
    webhook_endpoints,
    webhook_events,
    webhook_deliveries,
    campaign_images,
    update_images,
    media_pending,
    surveys,
    survey_responses,
    comments,
    comment_reports,
    comment_digests,
    referral_tags,
    follows,
);
