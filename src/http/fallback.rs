//! The answer for a request no route takes: 405 with `Allow` when the path is one the API
//! documents under other methods, 404 otherwise.
//!
//! actix tries each route in turn and falls through to the default service when none matches
//! both path and method, so it cannot tell "no such path" from "no such method". The OpenAPI
//! document is built from the same route table, so it says which methods each path takes.

use actix_web::{HttpRequest, HttpResponse, web};

use super::error::ApiError;

/// Documented paths, as segments (`None` for a `{parameter}`), with their methods.
#[derive(Debug, Clone, Default)]
pub struct RouteIndex {
    routes: Vec<(Vec<Option<String>>, Vec<&'static str>)>,
}

impl RouteIndex {
    pub fn from_document(openapi: &utoipa::openapi::OpenApi) -> Self {
        let routes = openapi
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = segments(path)
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (segments, methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods a documented path takes, or `None` if no documented path matches.
    pub fn methods(&self, path: &str) -> Option<&[&'static str]> {
        let wanted: Vec<&str> = segments(path).collect();
        self.routes.iter().find_map(|(template, methods)| {
            let matches = template.len() == wanted.len()
                && template
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| t.as_deref().is_none_or(|t| t == *w) && !w.is_empty());
            matches.then_some(methods.as_slice())
        })
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

/// Default service: 405 naming the methods the path takes, or 404.
pub async fn fallback(req: HttpRequest, index: web::Data<RouteIndex>) -> Result<HttpResponse, ApiError> {
    match index.methods(req.path()) {
        Some(methods) => Err(ApiError::MethodNotAllowed {
            allow: methods.join(", "),
        }),
        None => Err(ApiError::NotFound),
    }
}
