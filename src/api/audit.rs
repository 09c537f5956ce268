//! AuditReporting's routes: the hash-chained log, its verification, and reports per framework.
//!
//! | path | answers |
//! |---|---|
//! | `GET /audit?after=&limit=` | the hash-chained audit log, in order |
//! | `GET /audit/verify` | 200 if the chain is intact, 409 with the first bad entry otherwise |
//! | `GET /reports/{framework}?format=json\|csv\|html&from=&to=` | the framework report ([`build_report`]) |

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use rampart_audit::chain::{self as audit, AuditEntryView, Verification};
use rampart_audit::reports::{self, Report, ReportInputs};
use rampart_platform::Db;
use serde::Deserialize;

use super::ServiceState;
use super::common::{internal, problem};
use crate::auth::{Permission as P, Routes};
use crate::problem::Problem;

/// Builds the report of `framework` over `[from, to)`, `None` if the framework is not loaded:
/// each input read from the service that owns it (API composition: ControlMapping's coverage,
/// RiskAnalysis's register figures and publication dates, IncidentResponse's period figures,
/// AuditReporting's own log), assembled by AuditReporting ([`Report::assemble`]).
///
/// # Errors
/// Database errors.
pub async fn build_report(
    db: &Db,
    framework: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Report>, sea_orm::DbErr> {
    let Some(coverage) = rampart_control::store::coverage(db, framework).await? else {
        return Ok(None);
    };
    let risks = rampart_risk::store::report_figures(db).await?;
    let (mut incidents, opened) = rampart_incident::store::period_figures(db, from, to).await?;
    let published =
        rampart_risk::store::published_dates(db, opened.iter().map(|(_, v)| v.clone())).await?;
    incidents.mttd_hours = reports::mean_time_to_detect(&opened, &published);
    let status_changes = reports::status_changes(db, framework, from, to).await?;
    Ok(Some(Report::assemble(
        framework,
        from,
        to,
        ReportInputs {
            coverage,
            risks,
            incidents,
            status_changes,
        },
    )))
}

/// Query of `GET /audit`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Entries after this seq (default 0: from the start).
    pub after: Option<i64>,
    /// At most this many (1..=1000, default 100).
    pub limit: Option<u64>,
    /// Only API calls (`api.called`) whose caller's `sub` is exactly this.
    pub principal: Option<String>,
    /// Only API calls of exactly this operation, method and route pattern
    /// (`DELETE /api/v1/assets/{id}`).
    pub operation: Option<String>,
    /// Only entries appended at or after this instant (RFC 3339, `2026-12-02T10:00:00Z`).
    pub since: Option<String>,
    /// Only entries appended before this instant (RFC 3339).
    pub until: Option<String>,
}

fn instant(
    name: &str,
    v: Option<&str>,
    req: &HttpRequest,
) -> Result<Option<DateTime<Utc>>, Problem> {
    v.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                problem(
                    StatusCode::BAD_REQUEST,
                    format!("{name} is not an RFC 3339 instant: {e}"),
                    req,
                )
            })
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, description = "Audit log entries in order", body = [AuditEntryView])))]
pub(crate) async fn audit_log(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, Problem> {
    let filter = audit::AuditFilter {
        after: q.after.unwrap_or(0),
        limit: q.limit.unwrap_or(100),
        principal: q.principal.clone(),
        operation: q.operation.clone(),
        since: instant("since", q.since.as_deref(), &req)?,
        until: instant("until", q.until.as_deref(), &req)?,
    };
    let entries = audit::list(&state.db, &filter)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(entries))
}

/// `GET /audit/verify`: recomputes the hash chain; 200 with `ok: true`, or 409 Conflict with the
/// first bad entry when the log was edited, had entries removed or was truncated.
#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, description = "The chain is intact", body = Verification), (status = 409, description = "The chain is broken: `first_bad_seq` and `problem` say where and how", body = Verification)))]
pub(crate) async fn audit_verify(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let v = audit::verify(&state.db, 10_000)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(if v.ok {
        HttpResponse::Ok().json(v)
    } else {
        HttpResponse::Conflict().json(v)
    })
}

/// Query of a report.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// `json` (default), `csv` or `html`.
    pub format: Option<String>,
    /// Period start, RFC 3339 (default: 30 days ago).
    pub from: Option<String>,
    /// Period end, exclusive, RFC 3339 (default: now).
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/reports/{framework}", params(("framework" = String, Path, description = "Framework id"), ReportQuery), responses((status = 200, description = "The report as JSON, CSV (`section,item,value`) or an HTML document (print-friendly, styled by /console/assets/console.css, no script)", body = Report), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn report(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    fw: web::Path<String>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, Problem> {
    let q = q.into_inner();
    let when = |v: &Option<String>, default: chrono::DateTime<chrono::Utc>| {
        v.as_deref().map_or(Ok(default), |s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    problem(
                        StatusCode::BAD_REQUEST,
                        format!("{s:?} is not an RFC 3339 date-time: {e}"),
                        &req,
                    )
                })
        })
    };
    let now = chrono::Utc::now();
    let from = when(&q.from, now - chrono::Duration::days(30))?;
    let to = when(&q.to, now + chrono::Duration::seconds(1))?;
    if from >= to {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "from must be before to",
            &req,
        ));
    }
    let format = q.format.unwrap_or_else(|| "json".to_owned());
    if !matches!(format.as_str(), "json" | "csv" | "html") {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!("unknown format {format:?} (json, csv or html)"),
            &req,
        ));
    }
    let Some(r) = build_report(&state.db, &fw, from, to)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("unknown framework {:?}", fw.as_str()),
            &req,
        ));
    };
    Ok(match format.as_str() {
        "csv" => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"rampart-{}.csv\"", r.framework),
            ))
            .body(reports::to_csv(&r)),
        "html" => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(crate::console::report::render(&r)),
        _ => HttpResponse::Ok().json(r),
    })
}

/// Registers AuditReporting's routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/audit", P::AuditRead, audit_log)
        .get("/audit/verify", P::AuditRead, audit_verify)
        .get("/reports/{framework}", P::ReportsRead, report);
}

/// The OpenAPI schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(audit_log, audit_verify, report),
    components(schemas(AuditEntryView, Verification))
)]
pub struct AuditApiDoc;
