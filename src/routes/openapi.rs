//! The OpenAPI 3.1 document. Paths are collected from the route table by `utoipa-actix-web`;
//! this module adds what is common to all of them: the bearer scheme and the problem+json body
//! of every error response, so each route lists only its statuses.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::domain::{EventType, FieldError};
use crate::http::error::Problem;
use crate::webhooks::events::{
    WebhookCampaignEvent, WebhookPingEvent, WebhookPledgeEvent, WebhookUpdateEvent,
};

pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "crowdfund",
        description = "Reward-based, all-or-nothing crowdfunding. Amounts are decimal strings in \
                       the campaign's currency; errors are RFC 9457 `application/problem+json`; \
                       authenticated routes take `Authorization: Bearer <access token>`.",
        license(name = "MIT")
    ),
    // Schemas referenced only from query parameters, which utoipa-actix-web does not collect.
    components(schemas(
        Problem,
        FieldError,
        super::campaigns::list::SortParam,
        WebhookCampaignEvent,
        WebhookPledgeEvent,
        WebhookUpdateEvent,
        WebhookPingEvent,
    )),
    modifiers(&Common),
    tags(
        (name = "auth", description = "Registration, logins, sessions, email verification and password reset"),
        (name = "account", description = "The caller's own account: password, address, two-factor authentication, export, deletion"),
        (name = "campaigns", description = "Campaigns: drafts, launch, listing, cancel"),
        (name = "media", description = "Images of a campaign: uploads, the gallery, and the variants `/media` serves"),
        (name = "tiers", description = "Reward tiers of a campaign"),
        (name = "addons", description = "Add-ons: extra items a pledge buys beside its reward"),
        (name = "pledges", description = "Backing campaigns; the creator's fulfilment view"),
        (name = "surveys", description = "After the campaign: the backer survey, its answers (addresses) and reminders"),
        (name = "fulfilment", description = "After the campaign: rewards marked shipped and delivered, one at a time or by CSV"),
        (name = "updates", description = "The creator's posts; some for backers only"),
        (name = "comments", description = "What backers and the creator say on a campaign and its updates"),
        (name = "stats", description = "Figures for the creator and admins"),
        (name = "webhooks", description = "Signed outbound webhooks for the events of your campaigns; payloads under `webhooks`"),
        (name = "admin", description = "Admin-only moderation, audit and platform-wide webhooks"),
        (name = "settlement", description = "The cron-driven settlement pass"),
        (name = "operations", description = "Health, readiness and metrics, outside /api/v1"),
    )
)]
struct ApiDoc;

struct Common;

impl Modify for Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from /api/v1/auth/login, valid 15 minutes"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cron_secret",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("CRON_SECRET, for the settlement pass"))
                    .build(),
            ),
        );
    }
}

/// Gives every 4xx/5xx response the problem+json body, and every operation a 500.
fn add_problem_bodies(openapi: &mut utoipa::openapi::OpenApi) {
    let problem = ContentBuilder::new()
        .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
        .build();
    for operation in operations_mut(openapi) {
        let responses = &mut operation.responses.responses;
        responses.entry("500".into()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description("Unexpected error (logged under the request id)")
                    .build(),
            )
        });
        for (status, response) in responses.iter_mut() {
            let is_error = status.starts_with('4') || status.starts_with('5');
            if let (true, RefOr::T(response)) = (is_error, response)
                && response.content.is_empty()
            {
                response
                    .content
                    .insert("application/problem+json".into(), RefOr::T(problem.clone()));
            }
        }
    }
}

/// Every operation with a request body documents the answers of the JSON extractor
/// ([`crate::http::Json`]): malformed JSON, a body over the limit, and another media type.
fn add_body_errors(openapi: &mut utoipa::openapi::OpenApi) {
    let limit_kib = crate::http::json::BODY_LIMIT / 1024;
    let answers = [
        ("400", "The body is not well-formed JSON".to_owned()),
        ("413", format!("The body is over {limit_kib} KiB")),
        ("415", "The body is not `application/json`".to_owned()),
    ];
    for operation in operations_mut(openapi) {
        if operation.request_body.is_none() {
            continue;
        }
        for (status, description) in &answers {
            operation
                .responses
                .responses
                .entry((*status).into())
                .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(description.clone()).build()));
        }
    }
}

/// Makes operation ids unique, as OpenAPI requires and client generators rely on: handlers are
/// named after their action (`create`, `list`, …) within a module, so an id is prefixed with the
/// operation's first tag (`pledges_create`) unless it already names it.
fn unique_operation_ids(openapi: &mut utoipa::openapi::OpenApi) {
    for operation in operations_mut(openapi) {
        let tag = operation.tags.as_ref().and_then(|t| t.first()).cloned();
        if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut())
            && !id.starts_with(tag.as_str())
        {
            *id = format!("{tag}_{id}");
        }
    }
}

/// Every operation of the document.
fn operations_mut(openapi: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
    })
}

/// The whole document, as served at `/api-docs/openapi.json` and printed by `crowdfund openapi`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut openapi) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::configure)
        .split_for_parts();
    add_body_errors(&mut openapi);
    add_problem_bodies(&mut openapi);
    unique_operation_ids(&mut openapi);
    openapi.webhooks = Some(webhooks());
    openapi
}

/// What the platform posts to endpoints (OpenAPI 3.1 `webhooks`): one entry per event type,
/// with its body and the Standard Webhooks headers.
fn webhooks() -> utoipa::openapi::Paths {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::{ObjectBuilder, PathsBuilder, Required, Type};

    let header = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    let mut paths = PathsBuilder::new();
    for kind in EventType::ALL {
        let schema = match kind.as_str().split('.').next() {
            Some("campaign") => "WebhookCampaignEvent",
            Some("pledge") => "WebhookPledgeEvent",
            Some("update") => "WebhookUpdateEvent",
            _ => "WebhookPingEvent",
        };
        let body = RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(Ref::from_schema_name(schema))))
                    .build(),
            )
            .build();
        let operation = OperationBuilder::new()
            .summary(Some(format!("`{}`", kind.as_str())))
            .description(Some(
                "Posted to each endpoint subscribed to it. Verify `webhook-signature` with the \
                 endpoint's secret before trusting the body (README, \"Webhooks\"); any 2xx \
                 answer is success, anything else is retried.",
            ))
            .operation_id(Some(format!("webhook_{}", kind.as_str().replace('.', "_"))))
            .parameter(header(
                "webhook-id",
                "The same for every attempt of this event at this endpoint",
            ))
            .parameter(header("webhook-timestamp", "Unix seconds of this attempt"))
            .parameter(header(
                "webhook-signature",
                "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`; two, space-separated, during a rotation",
            ))
            .request_body(Some(body))
            .response("200", ResponseBuilder::new().description("Received").build());
        paths = paths.path(kind.as_str(), PathItem::new(HttpMethod::Post, operation));
    }
    paths.build()
}

/// The document as pretty JSON with a trailing newline: the form committed in `openapi/`.
pub fn document_json() -> anyhow::Result<String> {
    Ok(document().to_pretty_json()? + "\n")
}

#[cfg(test)]
mod tests {
    use crate::http::fallback::RouteIndex;

    #[test]
    fn documented_paths_answer_with_their_methods() {
        let index = RouteIndex::from_document(&super::document());
        assert_eq!(index.methods("/api/v1/campaigns"), Some(&["GET", "POST"][..]));
        assert_eq!(
            index.methods("/api/v1/campaigns/12"),
            Some(&["GET", "PATCH", "DELETE"][..])
        );
        assert_eq!(index.methods("/api/v1/pledges/7/refund"), Some(&["POST"][..]));
        assert_eq!(index.methods("/health/live"), Some(&["GET"][..]));
        assert_eq!(index.methods("/api/v1/campaigns/12/nothing"), None);
        assert_eq!(index.methods("/api/v1/campaigns//tiers"), None);
        assert_eq!(index.methods("/nothing"), None);
    }
}
