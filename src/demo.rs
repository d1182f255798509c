//! `crowdfund seed-demo`: what a newcomer needs to see the product in a minute: a verified
//! creator with two live campaigns (tiers, add-ons), and a backer who has pledged. Never in
//! production; never twice on one database.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Utc};

use crate::auth::password;
use crate::campaigns::{addons, edit, lifecycle, tiers};
use crate::clock::Clock;
use crate::config::{AppEnv, Settings};
use crate::db::{Db, DbConn, run_migrations, users, write_transaction};
use crate::domain::addon::DEFAULT_MAX_PER_PLEDGE;
use crate::domain::{
    Actor, CampaignId, Category, CoreError, Currency, NewPassword, Role, TierId, Visibility,
};
use crate::media::MediaLinks;
use crate::pledges::service::{self, NewTerms};
use crate::pledges::terms::AddonAsk;

pub const CREATOR_EMAIL: &str = "demo-creator@example.com";
pub const BACKER_EMAIL: &str = "demo-backer@example.com";

/// A login the command made.
struct Login {
    email: &'static str,
    password: String,
}

pub fn seed(settings: &Settings, clock: &Clock) -> anyhow::Result<()> {
    if settings.app_env == AppEnv::Production {
        anyhow::bail!("seed-demo does not run with APP_ENV=production");
    }
    let db = Db::connect(&settings.database_url, 1)?;
    let mut conn = db.get_blocking()?;
    run_migrations(&mut conn)?;
    for email in [CREATOR_EMAIL, BACKER_EMAIL] {
        if users::find_by_email(&mut conn, email)?.is_some() {
            anyhow::bail!(
                "this database is seeded already ({email} exists); start from an empty one to seed it again"
            );
        }
    }
    let provider = crate::payments::from_settings(settings, &db, clock);
    if !provider.saves_without_io() {
        anyhow::bail!(
            "seed-demo pledges with the sandbox's test cards: run it with PAYMENT_PROVIDER=sandbox"
        );
    }
    let base = crate::routes::app::served_at(settings.bind_addr, settings.bind_addr.port());
    let links = MediaLinks::from_settings(&settings.media, &base);
    let (creator, backer) = (login(CREATOR_EMAIL)?, login(BACKER_EMAIL)?);
    let hashes = (
        password::hash(&creator.password)?,
        password::hash(&backer.password)?,
    );
    let now = clock.now();
    let campaigns = write_transaction(&mut conn, |conn| {
        let creator_id = user(conn, CREATOR_EMAIL, "Ana Maker", &hashes.0, now)?;
        let backer_id = user(conn, BACKER_EMAIL, "Bo Backer", &hashes.1, now)?;
        let creator = Actor {
            id: creator_id,
            role: Role::User,
        };
        let backer = Actor {
            id: backer_id,
            role: Role::User,
        };
        let lamp = campaign(conn, &links, &creator, &LAMP, now)?;
        let board = campaign(conn, &links, &creator, &BOARD, now)?;
        let reference = provider
            .save_payment_method(backer.id, "pm_card_visa")
            .map_err(|e| CoreError::unexpected(e.to_string()))?
            .reference;
        let addons = [AddonAsk {
            addon_id: lamp.addon,
            quantity: 2,
            secret: None,
        }];
        service::create(
            conn,
            lamp.id,
            &backer,
            &NewTerms {
                tier_id: Some(lamp.tier),
                amount: "65.00",
                shipping_country: Some("FR"),
                referral: Some("direct"),
                secret: None,
                addons: &addons,
            },
            &reference,
            now,
        )?;
        Ok::<_, CoreError>([lamp.id, board.id])
    })?;
    println!("Seeded two live campaigns and a pledge. Log in (POST /api/v1/auth/login) as:");
    for (who, login) in [("creator", &creator), ("backer", &backer)] {
        println!("  {who:<8} {}  password {}", login.email, login.password);
    }
    for id in campaigns {
        println!("  campaign {base}/api/v1/campaigns/{id}");
    }
    Ok(())
}

/// A fresh random password, printed once.
fn login(email: &'static str) -> anyhow::Result<Login> {
    let bytes: [u8; 12] = rand::random();
    let raw = URL_SAFE_NO_PAD.encode(bytes);
    let password = NewPassword::parse(&raw, Some(email)).map_err(|m| anyhow::anyhow!("demo password {m}"))?;
    Ok(Login {
        email,
        password: password.expose().to_owned(),
    })
}

fn user(
    conn: &mut DbConn,
    email: &str,
    name: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<crate::domain::UserId, CoreError> {
    let now = now.naive_utc();
    let row = users::insert(
        conn,
        &users::NewUser {
            email,
            display_name: name,
            password_hash: hash,
            role: Role::User,
            created_at: now,
            updated_at: now,
            // Made by the operator, for the operator.
            email_verified_at: Some(now),
        },
    )?;
    Ok(row.id)
}

/// A demo campaign as it is written.
struct Plan {
    title: &'static str,
    blurb: &'static str,
    description: &'static str,
    category: Category,
    goal: &'static str,
    /// (title, minimum, units, ships)
    tiers: [(&'static str, &'static str, Option<i64>, bool); 2],
    /// (title, price, units)
    addon: (&'static str, &'static str, Option<i64>),
}

const LAMP: Plan = Plan {
    title: "Solar bike lamp",
    blurb: "A lamp that charges while you ride",
    description: "A rear and front lamp pair that charges from a dynamo hub.\nShips in spring.",
    category: Category::Technology,
    goal: "10000.00",
    tiers: [
        ("Early bird", "25.00", Some(100), true),
        ("Lamp pair", "40.00", None, true),
    ],
    addon: ("Spare battery", "12.00", Some(500)),
};

const BOARD: Plan = Plan {
    title: "Tiny Robots board game",
    blurb: "Program your robots, race your friends",
    description: "A board game for two to five players, about forty minutes a game.",
    category: Category::Games,
    goal: "25000.00",
    tiers: [
        ("Print and play", "10.00", None, false),
        ("Boxed game", "49.00", Some(1000), true),
    ],
    addon: ("Sleeve pack", "6.00", None),
};

/// What a seeded campaign is made of.
struct Seeded {
    id: CampaignId,
    tier: TierId,
    addon: crate::domain::AddonId,
}

fn campaign(
    conn: &mut DbConn,
    links: &MediaLinks,
    creator: &Actor,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Seeded, CoreError> {
    let draft = edit::Draft::parse(&edit::Input {
        title: Some(plan.title),
        blurb: Some(plan.blurb),
        description: Some(plan.description),
        category: Some(plan.category),
        currency: Some(Currency::USD),
        goal: Some(plan.goal),
        duration_days: Some(30),
        ..edit::Input::default()
    })?;
    let row = edit::create(conn, creator, &draft, now)?;
    let delivery = format!("{}-06", now.year() + 1);
    let shipping: BTreeMap<String, String> = [
        ("US".to_owned(), "5.00".to_owned()),
        ("*".to_owned(), "12.00".to_owned()),
    ]
    .into();
    let mut first_tier = None;
    for (title, minimum, units, ships) in plan.tiers {
        let (tier, _) = tiers::create(
            conn,
            row.id,
            creator,
            tiers::Input {
                title,
                description: "",
                min_amount: minimum,
                quantity: units,
                estimated_delivery: &delivery,
                starts_at: None,
                ends_at: None,
                shipping: ships.then_some(&shipping),
                image_id: None,
                visibility: Visibility::Public,
                late_price: None,
            },
            now,
        )?;
        first_tier.get_or_insert(tier.id);
    }
    let per_unit: BTreeMap<String, String> = [("*".to_owned(), "2.00".to_owned())].into();
    let (title, price, units) = plan.addon;
    let (addon, _) = addons::create(
        conn,
        row.id,
        creator,
        addons::Input {
            title,
            description: "",
            price,
            quantity: units,
            max_per_pledge: DEFAULT_MAX_PER_PLEDGE,
            shipping: Some(&per_unit),
            tiers: &[],
            starts_at: None,
            ends_at: None,
            visibility: Visibility::Public,
        },
        now,
    )?;
    lifecycle::launch(conn, links, row.id, creator, now)?;
    Ok(Seeded {
        id: row.id,
        tier: first_tier.ok_or_else(|| CoreError::unexpected("a demo campaign without tiers"))?,
        addon: addon.id,
    })
}
