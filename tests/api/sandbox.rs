//! The sandbox payment provider against a real database: Stripe-like idempotency, outcomes per
//! test method, fees and refunds.

use crowdfund::clock::Clock;
use crowdfund::db::{DatabaseUrl, Db};
use crowdfund::domain::{Currency, Money, UserId};
use crowdfund::payments::sandbox::Sandbox;
use crowdfund::payments::{ChargeOutcome, ChargeRequest, PaymentProvider, RefundRequest, SaveError};

use crate::helpers::spawn_app;

async fn sandbox() -> (crate::helpers::TestApp, Sandbox) {
    let app = spawn_app().await;
    let db = Db::connect(&DatabaseUrl::parse(&app.database_url).unwrap(), 2).unwrap();
    let sandbox = Sandbox::new(db, Clock::system());
    (app, sandbox)
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

#[tokio::test(flavor = "multi_thread")]
async fn test_methods_save_and_charge_as_documented() {
    let (_app, sandbox) = sandbox().await;
    let cases = [
        ("pm_card_visa", None),
        ("pm_card_chargeDeclined", Some("card_declined")),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            Some("insufficient_funds"),
        ),
        ("pm_card_authenticationRequired", Some("authentication_required")),
    ];
    for (i, (method, failure)) in cases.into_iter().enumerate() {
        assert_eq!(
            sandbox.save_payment_method(UserId(1), method).unwrap().reference,
            method
        );
        let key = format!("pledge-{i}-attempt-1");
        let outcome = sandbox
            .charge(&ChargeRequest {
                idempotency_key: &key,
                payment_method: method,
                amount: usd(10_000),
            })
            .unwrap();
        match (failure, outcome) {
            (None, ChargeOutcome::Succeeded { fee_minor, .. }) => assert_eq!(fee_minor, 320, "2.9 % + 0.30"),
            (Some(code), ChargeOutcome::Failed { code: got }) => assert_eq!(got, code),
            (expected, got) => panic!("{method}: expected {expected:?}, got {got:?}"),
        }
    }
    assert!(matches!(
        sandbox.save_payment_method(UserId(1), "pm_card_unknown"),
        Err(SaveError::Rejected(_))
    ));
    assert!(matches!(
        sandbox.save_payment_method(UserId(1), "4242424242424242"),
        Err(SaveError::Rejected(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_key_returns_the_same_charge_and_never_charges_twice() {
    let (app, sandbox) = sandbox().await;
    let request = ChargeRequest {
        idempotency_key: "pledge-7-attempt-1",
        payment_method: "pm_card_visa",
        amount: usd(2_500),
    };
    let first = sandbox.charge(&request).unwrap();
    let again = sandbox.charge(&request).unwrap();
    assert_eq!(first, again);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 1);

    let other_amount = ChargeRequest {
        amount: usd(2_600),
        ..request.clone()
    };
    assert!(
        sandbox.charge(&other_amount).is_err(),
        "a key reused with other parameters is refused"
    );
    let next_attempt = ChargeRequest {
        idempotency_key: "pledge-7-attempt-2",
        ..request
    };
    assert_ne!(
        sandbox.charge(&next_attempt).unwrap(),
        first,
        "another key is another charge"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 2);

    // Concurrent replays of one key: still one charge.
    let key = "pledge-8-attempt-1";
    let outcomes: Vec<ChargeOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    sandbox.charge(&ChargeRequest {
                        idempotency_key: key,
                        payment_method: "pm_card_visa",
                        amount: usd(999),
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().ok())
            .collect()
    });
    assert!(!outcomes.is_empty());
    assert!(outcomes.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM sandbox_charges WHERE idempotency_key = '{key}'"
        )),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refunds_are_idempotent_and_bounded_by_the_charge() {
    let (app, sandbox) = sandbox().await;
    let ChargeOutcome::Succeeded { charge_id, .. } = sandbox
        .charge(&ChargeRequest {
            idempotency_key: "pledge-1-attempt-1",
            payment_method: "pm_card_visa",
            amount: usd(5_000),
        })
        .unwrap()
    else {
        panic!("visa succeeds");
    };
    let refund = RefundRequest {
        idempotency_key: "refund-pledge-1",
        charge_id: &charge_id,
        amount: usd(5_000),
    };
    let first = sandbox.refund(&refund).unwrap();
    assert_eq!(
        sandbox.refund(&refund).unwrap(),
        first,
        "replayed, not refunded twice"
    );
    assert_eq!(
        app.count("SELECT refunded_minor AS n FROM sandbox_charges"),
        5_000
    );
    let more = RefundRequest {
        idempotency_key: "refund-pledge-1-again",
        charge_id: &charge_id,
        amount: usd(1),
    };
    assert!(
        sandbox.refund(&more).is_err(),
        "cannot refund more than was charged"
    );

    let ChargeOutcome::Failed { .. } = sandbox
        .charge(&ChargeRequest {
            idempotency_key: "pledge-2-attempt-1",
            payment_method: "pm_card_chargeDeclined",
            amount: usd(100),
        })
        .unwrap()
    else {
        panic!("declined");
    };
    let declined_id = format!(
        "ch_sandbox_{}",
        app.count("SELECT MAX(id) AS n FROM sandbox_charges")
    );
    let refund = RefundRequest {
        idempotency_key: "refund-pledge-2",
        charge_id: &declined_id,
        amount: usd(100),
    };
    assert!(
        sandbox.refund(&refund).is_err(),
        "a failed charge has nothing to refund"
    );
}
