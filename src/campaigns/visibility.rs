//! Who sees which rewards. A campaign's creator and admins see every reward, with the secret
//! tokens; anyone else sees the public ones, and a secret one only with its token (`?secret=`
//! on the tier list, `"secret"` in a pledge). Without it a secret reward is answered as if it
//! did not exist, so its id tells nothing either.

use crate::db::campaigns::CampaignRow;
use crate::domain::tier::opens;
use crate::domain::{Actor, Visibility};

#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// The campaign's creator or an admin.
    Manager,
    /// Anyone else, holding this token if any.
    Public { secret: Option<&'a str> },
}

impl<'a> Viewer<'a> {
    pub fn of(campaign: &CampaignRow, actor: Option<&Actor>, secret: Option<&'a str>) -> Self {
        match actor {
            Some(actor) if actor.id == campaign.owner_id || actor.is_admin() => Self::Manager,
            _ => Self::Public { secret },
        }
    }

    /// Whether this viewer sees a reward of `visibility` whose token is `token`.
    pub fn sees(&self, visibility: Visibility, token: Option<&str>) -> bool {
        match self {
            Self::Manager => true,
            Self::Public { secret } => opens(visibility, token, *secret),
        }
    }

    /// Whether this viewer is shown the secret tokens, to share.
    pub fn sees_tokens(&self) -> bool {
        matches!(self, Self::Manager)
    }
}
