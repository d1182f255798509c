//! Access tokens: HS256 JWTs, 15 minutes unless `ACCESS_TOKEN_TTL_SECONDS` says otherwise, with `iss`, `aud`, `sub`, `exp` and `iat` required.
//!
//! Time claims are checked against the application [`Clock`] (not the library's own reading of
//! the system time) so that one notion of "now" governs the whole server, with 30 s leeway.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::domain::{Role, UserId};

pub const ISSUER: &str = "crowdfund";
pub const AUDIENCE: &str = "crowdfund-api";
/// The default lifetime of an access token.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;
pub const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub role: Role,
    /// The session (refresh-token family) the token was issued in, so that a change of
    /// password can end every *other* session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// What a valid access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user: UserId,
    pub role: Role,
    pub session: Option<String>,
}

pub struct JwtKeys {
    ttl_secs: i64,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// Why a token was refused; the HTTP answer is the same 401 for all of them.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
    NotYetValid,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        // Only HS256: a token that names another algorithm (`none`, RS256, HS512) is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
        validation.validate_exp = false; // checked below against the application clock
        validation.validate_nbf = false;
        validation.leeway = 0;
        Self {
            ttl_secs,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Issues an access token; returns it with its lifetime in seconds.
    pub fn issue(&self, user: UserId, role: Role, now: DateTime<Utc>) -> anyhow::Result<(String, i64)> {
        self.issue_in(user, role, None, now)
    }

    /// [`JwtKeys::issue`] naming the session it belongs to.
    pub fn issue_in(
        &self,
        user: UserId,
        role: Role,
        session: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, i64)> {
        let iat = now.timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.to_string(),
            exp: iat + self.ttl_secs,
            iat,
            nbf: None,
            role,
            sid: session.map(str::to_owned),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, self.ttl_secs))
    }

    pub fn verify(&self, token: &str, clock: &Clock) -> Result<(UserId, Role), TokenError> {
        self.verify_claims(token, clock).map(|v| (v.user, v.role))
    }

    pub fn verify_claims(&self, token: &str, clock: &Clock) -> Result<Verified, TokenError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        let now = clock.now().timestamp();
        if claims.exp + LEEWAY_SECS <= now {
            return Err(TokenError::Expired);
        }
        if claims.iat - LEEWAY_SECS > now || claims.nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > now) {
            return Err(TokenError::NotYetValid);
        }
        let user = claims.sub.parse().map(UserId).map_err(|_| TokenError::Invalid)?;
        Ok(Verified {
            user,
            role: claims.role,
            session: claims.sid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn forge(claims: serde_json::Value, alg: Algorithm, secret: &[u8]) -> String {
        jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn valid_claims(now: i64) -> serde_json::Value {
        serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "7", "exp": now + 900, "iat": now, "role": "user"})
    }

    #[test]
    fn round_trip() {
        let clock = Clock::manual(Utc::now());
        let keys = JwtKeys::new(SECRET, ACCESS_TOKEN_TTL_SECS);
        let (token, ttl) = keys.issue(UserId(7), Role::Admin, clock.now()).unwrap();
        assert_eq!(ttl, 900);
        assert_eq!(keys.verify(&token, &clock), Ok((UserId(7), Role::Admin)));
    }

    #[test]
    fn expiry_honours_the_leeway() {
        let clock = Clock::manual(Utc::now());
        let keys = JwtKeys::new(SECRET, ACCESS_TOKEN_TTL_SECS);
        let (token, _) = keys.issue(UserId(7), Role::User, clock.now()).unwrap();
        clock.advance(Duration::seconds(ACCESS_TOKEN_TTL_SECS + LEEWAY_SECS - 1));
        assert!(keys.verify(&token, &clock).is_ok());
        clock.advance(Duration::seconds(1));
        assert_eq!(keys.verify(&token, &clock), Err(TokenError::Expired));
    }

    #[test]
    fn refuses_tokens_from_the_future() {
        let clock = Clock::manual(Utc::now());
        let keys = JwtKeys::new(SECRET, ACCESS_TOKEN_TTL_SECS);
        let (token, _) = keys
            .issue(UserId(7), Role::User, clock.now() + Duration::seconds(60))
            .unwrap();
        assert_eq!(keys.verify(&token, &clock), Err(TokenError::NotYetValid));
    }

    #[test]
    fn refuses_other_algorithms_keys_and_missing_claims() {
        let clock = Clock::manual(Utc::now());
        let now = clock.now().timestamp();
        let keys = JwtKeys::new(SECRET, ACCESS_TOKEN_TTL_SECS);
        assert!(
            keys.verify(&forge(valid_claims(now), Algorithm::HS256, SECRET), &clock)
                .is_ok()
        );
        assert!(
            keys.verify(&forge(valid_claims(now), Algorithm::HS512, SECRET), &clock)
                .is_err()
        );
        assert!(
            keys.verify(
                &forge(
                    valid_claims(now),
                    Algorithm::HS256,
                    b"another-secret-another-secret-xx"
                ),
                &clock
            )
            .is_err()
        );
        for missing in ["iss", "aud", "sub", "exp", "iat"] {
            let mut claims = valid_claims(now);
            claims.as_object_mut().unwrap().remove(missing);
            let token = forge(claims, Algorithm::HS256, SECRET);
            assert!(
                keys.verify(&token, &clock).is_err(),
                "token without {missing} accepted"
            );
        }
    }
}
