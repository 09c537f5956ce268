//! What the route files share: RFC 9457 problem constructors, paging arguments, media-type and
//! body-size checks, the 202 Accepted answer of a job and the bound on unfinished jobs.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rampart_supervisors::Addr;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ServiceState;
use crate::problem::Problem;

/// Answer of an accepted job (202, with `Location: href`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accepted {
    /// Job id.
    pub job_id: Uuid,
    /// `queued`.
    pub state: String,
    /// Where to read the job: `/api/v1/jobs/{job_id}`.
    pub href: String,
}

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Page number, from 1.
    pub page: u64,
    /// Items per page.
    pub per_page: u64,
    /// Items matching the filter, all pages.
    pub total: u64,
}

/// A problem (RFC 9457) of `status` with `detail`, its `instance` the request path.
pub fn problem(status: StatusCode, detail: impl Into<String>, req: &HttpRequest) -> Problem {
    Problem::new(status, detail).at(req.path())
}

/// A 500 problem for an unexpected failure `e`, logged with the path (the detail is the
/// error's text: storage errors carry no secrets).
pub fn internal(e: impl std::fmt::Display, req: &HttpRequest) -> Problem {
    tracing::error!(path = req.path(), error = %e, "request failed");
    problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), req)
}

/// `page` (from 1, default 1) and `per_page` (1..=1000, default 50), or 400.
pub fn page_args(
    page: Option<u64>,
    per_page: Option<u64>,
    req: &HttpRequest,
) -> Result<(u64, u64), Problem> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if page == 0 || !(1..=1000).contains(&per_page) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "page must be >= 1 and per_page within 1..=1000",
            req,
        ));
    }
    Ok((page, per_page))
}

/// The request's media type (`type/subtype`, lower-case, parameters dropped), if any.
pub fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// The request's media type if it is one of `accepted`, else 415 naming them (`what` says what
/// the body is for).
pub fn check_media_type(
    req: &HttpRequest,
    accepted: &[&str],
    what: &str,
) -> Result<String, Problem> {
    match media_type(req) {
        Some(m) if accepted.contains(&m.as_str()) => Ok(m),
        Some(m) => Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {m} is not accepted for {what}; use one of: {}",
                accepted.join(", ")
            ),
            req,
        )),
        None => Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a Content-Type header is required for {what}: one of {}",
                accepted.join(", ")
            ),
            req,
        )),
    }
}

/// The whole body, at most `limit` bytes: 413 when `Content-Length` or the streamed body
/// exceeds it, 400 when reading fails.
pub async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, Problem> {
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body exceeds the limit of {limit} bytes (config api.max_import_bytes)"),
            req,
        )
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => Err(problem(
            StatusCode::BAD_REQUEST,
            format!("reading the body: {e}"),
            req,
        )),
        Err(_) => Err(too_large()),
    }
}

/// The service's actor on this node, or 503 naming the role this node lacks.
pub fn service_addr<A: rampart_supervisors::Actor>(
    addr: &Option<Addr<A>>,
    service: &str,
    req: &HttpRequest,
) -> Result<Addr<A>, Problem> {
    addr.clone().ok_or_else(|| {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("this node does not run the {service} service (node.services / --services); send this to a node that does"),
            req,
        )
    })
}

/// 202 Accepted for job `id`, with `Location: /api/v1/jobs/{id}`.
pub fn accepted(id: Uuid) -> HttpResponse {
    let href = format!("/api/v1/jobs/{id}");
    HttpResponse::Accepted()
        .insert_header(("Location", href.clone()))
        .json(Accepted {
            job_id: id,
            state: "queued".to_owned(),
            href,
        })
}

/// A permit for one more unfinished job (`api.max_pending_jobs`), or 503.
pub fn job_permit(
    state: &ServiceState,
    req: &HttpRequest,
) -> Result<tokio::sync::OwnedSemaphorePermit, Problem> {
    state.jobs.clone().try_acquire_owned().map_err(|_| {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many unfinished import and feed jobs on this node (api.max_pending_jobs); retry later",
            req,
        )
    })
}

/// `p` as an error response, with `Retry-After: 5` when it is a 503.
pub fn busy_response(p: Problem) -> actix_web::Error {
    let mut resp = actix_web::ResponseError::error_response(&p);
    if p.status == 503 {
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("5"),
        );
    }
    actix_web::error::InternalError::from_response(p, resp).into()
}
