//! The HTTP surface: the route table, the application that serves it (`app`) and its OpenAPI
//! document (`openapi`). Every route is registered here through `utoipa-actix-web`, which also
//! puts it in the document: a route cannot be served without being documented. A handler
//! extracts its input, calls one rule, and answers.

pub(crate) mod addons;
mod admin;
pub mod app;
mod auth;
pub mod campaigns;
pub(crate) mod comments;
mod fulfilment;
mod health;
pub(crate) mod images;
mod me;
mod metrics;
pub mod openapi;
pub mod pledges;
mod settlement;
mod share;
mod surveys;
mod tiers;
mod updates;
mod webhooks;

use actix_web::middleware::from_fn;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::middleware::rate_limit_auth;

pub use me::UserResponse;

pub fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(health::live)
        .service(health::ready)
        .service(metrics::metrics)
        .service(images::serve::serve)
        .service(share::share_page)
        .service(
            scope::scope("/api/v1")
                .service(
                    scope::scope("/auth")
                        .wrap(from_fn(rate_limit_auth))
                        .service(auth::register::register)
                        .service(auth::login::login)
                        .service(auth::refresh::refresh)
                        .service(auth::logout::logout)
                        .service(auth::verify_email::verify_email)
                        .service(auth::password_reset::request_password_reset)
                        .service(auth::password_reset::confirm_password_reset),
                )
                .service(me::me)
                .service(me::delete_account)
                .service(me::resend_verification)
                .service(me::password::change_password)
                .service(me::email::change_email)
                .service(me::two_factor::enrol_two_factor)
                .service(me::two_factor::confirm_two_factor)
                .service(me::two_factor::disable_two_factor)
                .service(me::export::export)
                .service(me::webhooks::create)
                .service(me::webhooks::list)
                .service(me::webhooks::get)
                .service(me::webhooks::update)
                .service(me::webhooks::remove)
                .service(me::webhooks::rotate_secret)
                .service(me::webhooks::deliveries)
                .service(me::webhooks::redeliver)
                .service(me::webhooks::ping)
                .service(campaigns::mine::mine)
                .service(campaigns::list::list)
                .service(campaigns::create::create)
                .service(campaigns::get::get)
                .service(campaigns::update::update)
                .service(campaigns::delete::delete)
                .service(campaigns::launch::launch)
                .service(campaigns::cancel::cancel)
                .service(images::upload::upload)
                .service(images::list::list)
                .service(images::delete::delete)
                .service(images::gallery::set_gallery)
                .service(tiers::list::list)
                .service(tiers::create::create)
                .service(tiers::update::update)
                .service(tiers::delete::delete)
                .service(addons::list::list)
                .service(addons::create::create)
                .service(addons::update::update)
                .service(addons::delete::delete)
                .service(pledges::create::create)
                .service(pledges::fulfilment::list)
                .service(pledges::mine::mine)
                .service(pledges::get::get)
                .service(pledges::update::update)
                .service(pledges::cancel::cancel)
                .service(pledges::payment_method::replace)
                .service(pledges::refund::refund)
                .service(surveys::define::put_survey)
                .service(surveys::define::get_survey)
                .service(surveys::send::send_survey)
                .service(surveys::answer::get_answers)
                .service(surveys::answer::put_answers)
                .service(fulfilment::set::set_fulfilment)
                .service(fulfilment::import::import_fulfilment)
                .service(campaigns::stats::stats)
                .service(campaigns::referrals::create_referral)
                .service(campaigns::referrals::list_referrals)
                .service(campaigns::follow::follow)
                .service(campaigns::follow::unfollow)
                .service(campaigns::follow::following)
                .service(campaigns::settlement::settlement_view)
                .service(updates::list::list)
                .service(updates::create::create)
                .service(comments::list::campaign_comments)
                .service(comments::post::comment_on_campaign)
                .service(comments::list::update_comments)
                .service(comments::post::comment_on_update)
                .service(comments::change::edit_comment)
                .service(comments::change::delete_comment)
                .service(comments::change::report_comment)
                .service(admin::suspend::suspend)
                .service(admin::ledger::verify_ledger)
                .service(admin::ledger::reconciliation)
                .service(admin::users::search_users)
                .service(admin::comments::reports)
                .service(admin::comments::hide_comment)
                .service(admin::comments::unhide_comment)
                .service(admin::users::disable_user)
                .service(admin::users::enable_user)
                .service(admin::webhooks::webhook_create)
                .service(admin::webhooks::webhook_list)
                .service(admin::webhooks::webhook_get)
                .service(admin::webhooks::webhook_update)
                .service(admin::webhooks::webhook_remove)
                .service(admin::webhooks::webhook_rotate_secret)
                .service(admin::webhooks::webhook_deliveries)
                .service(admin::webhooks::webhook_redeliver)
                .service(admin::webhooks::webhook_ping)
                .service(settlement::run)
                .service(webhooks::stripe::stripe),
        );
}
