//! The units a pledge holds: a tier's and its add-ons', taken and given back by conditional
//! UPDATEs (never oversold), in the order every pledge locks their rows (tier, then add-ons by
//! id, then the campaign's totals), so that two concurrent changes cannot deadlock.

use chrono::{DateTime, Utc};

use crate::db::{DbConn, addons, tiers};
use crate::domain::addon::Holding;
use crate::domain::{CoreError, Refusal, TierId};

/// Takes a unit of the new tier and gives back one of the old, in tier-id order so that two
/// concurrent changes between the same tiers cannot deadlock.
pub(super) fn move_claim(
    conn: &mut DbConn,
    from: Option<TierId>,
    to: Option<TierId>,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    if from == to {
        return Ok(());
    }
    let now = now.naive_utc();
    let mut steps: Vec<(TierId, bool)> = from
        .map(|id| (id, false))
        .into_iter()
        .chain(to.map(|id| (id, true)))
        .collect();
    steps.sort_unstable();
    for (tier, claim) in steps {
        if claim {
            if !tiers::claim(conn, tier, now)? {
                return Err(Refusal::conflict("this reward is sold out").into());
            }
        } else {
            tiers::release(conn, tier, now)?;
        }
    }
    Ok(())
}

/// Takes the add-on units `to` holds beyond `from` and gives back the others, by add-on id (after
/// the tier's, before the campaign's totals: the order every pledge locks its rows in).
pub(super) fn move_addons(
    conn: &mut DbConn,
    from: &Holding,
    to: &Holding,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let now = now.naive_utc();
    for (addon, delta) in from.moves_to(to) {
        if delta > 0 {
            if !addons::claim(conn, addon, delta, now)? {
                return Err(
                    Refusal::conflict(format!("add-on {addon} has fewer units left than asked for")).into(),
                );
            }
        } else {
            addons::release(conn, addon, -delta, now)?;
        }
    }
    Ok(())
}
