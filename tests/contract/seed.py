"""Seeds a running server for the contract run and prints the users' tokens as shell exports.

Usage: CROWDFUND_BIN=... DATABASE_URL=... python3 seed.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD

Registers a creator and a backer (their addresses verified with `crowdfund verify-email`, as
an operator would: launching takes a verified address), logs in the admin that
`crowdfund create-admin` made, and
gives the fuzzer something real to find: a live campaign with a tier and a pledge on it, a
draft, a second live campaign to cancel, and the backer's comment. Only the standard library, so it runs with any
Python 3.
"""

import datetime
import json
import os
import subprocess
import sys
import urllib.request


def call(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def main():
    base, admin_email, admin_password = sys.argv[1:4]
    password = "contract-run-password"
    tokens = {}
    for role in ("creator", "backer"):
        session = call(base, "POST", "/api/v1/auth/register", {
            "email": f"{role}@example.com",
            "password": password,
            "display_name": role.title(),
        })
        tokens[role] = session["access_token"]
    subprocess.run([os.environ["CROWDFUND_BIN"], "verify-email", "creator@example.com",
                    "backer@example.com"], check=True, stdout=subprocess.DEVNULL)
    tokens["admin"] = call(base, "POST", "/api/v1/auth/login", {
        "email": admin_email, "password": admin_password,
    })["access_token"]

    campaign = {
        "title": "Contract lamp",
        "currency": "USD",
        "blurb": "A lamp that charges while you ride",
        "description": "Long description",
        "category": "technology",
        "goal": "1000.00",
        "duration_days": 30,
    }
    live = call(base, "POST", "/api/v1/campaigns", campaign, tokens["creator"])["id"]
    tier = call(base, "POST", f"/api/v1/campaigns/{live}/tiers", {
        "title": "Early bird", "min_amount": "25.00", "quantity": 100,
        "estimated_delivery": f"{datetime.date.today().year + 1}-01",
    }, tokens["creator"])["id"]
    addon = call(base, "POST", f"/api/v1/campaigns/{live}/addons", {
        "title": "Spare battery", "price": "12.00", "quantity": 50,
    }, tokens["creator"])["id"]
    call(base, "POST", f"/api/v1/campaigns/{live}/launch", {}, tokens["creator"])
    pledge = call(base, "POST", f"/api/v1/campaigns/{live}/pledges", {
        "tier_id": tier, "amount": "30.00", "payment_method": "pm_card_visa",
    }, tokens["backer"])["id"]
    draft = call(base, "POST", "/api/v1/campaigns", dict(campaign, title="Contract draft"),
                 tokens["creator"])["id"]
    doomed = call(base, "POST", "/api/v1/campaigns", dict(campaign, title="Contract doomed"),
                  tokens["creator"])["id"]
    call(base, "POST", f"/api/v1/campaigns/{doomed}/launch", {}, tokens["creator"])
    comment = call(base, "POST", f"/api/v1/campaigns/{live}/comments",
                   {"body": "Contract comment"}, tokens["backer"])["id"]

    made = {"live campaign": live, "draft": draft, "doomed campaign": doomed,
            "tier": tier, "addon": addon, "pledge": pledge, "comment": comment}
    named = {"live campaign": 1, "draft": 2, "doomed campaign": 3, "tier": 1, "addon": 1,
             "pledge": 1, "comment": 1}
    if made != named:
        sys.exit(f"schemathesis.toml names the ids {named}, but the database made {made}")

    for role in ("creator", "backer", "admin"):
        print(f"export {role.upper()}_TOKEN={tokens[role]}")


if __name__ == "__main__":
    main()
