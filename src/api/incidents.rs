//! Incident endpoints under `/api/v1` (IncidentResponse; lifecycle after NIST SP 800-61, see
//! [`rampart_incident::store`]):
//!
//! | path | answers |
//! |---|---|
//! | `POST /alarms` `{source, id, title, asset_key?, level}` | 202: `alarm.raised` published; one incident per alarm |
//! | `GET /incidents?state=&level=&asset=&page=&per_page=` | incidents, newest first |
//! | `GET /incidents/{id}` | one incident, its timeline and the asset's current risk (asked of RiskAnalysis; the last answer, marked stale, while it cannot answer) |
//! | `POST /incidents/{id}/transition` `{"to", "actor"?, "note"?}` | 200; 409 for a transition the lifecycle forbids |
//! | `POST /incidents/{id}/assign` `{"assignee", "actor"?}` | 200 |
//! | `POST /incidents/{id}/comments` `{"text", "actor"?}` | 201 |
//!
//! `actor` defaults to `anonymous` until the API edge authenticates callers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rampart_incident::actor::{Assign, Comment, Transition};
use rampart_incident::store::{
    self as incidents, Alarm, IncidentError, IncidentView, TimelineEntry,
};
use serde::{Deserialize, Serialize};

use super::ServiceState;
use super::common::{internal, page_args, problem, service_addr};
use super::risks::current_risk;
use crate::auth::{Permission as P, Routes};
use crate::problem::Problem;

/// Query of `GET /incidents`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct IncidentsQuery {
    /// Only this state.
    pub state: Option<String>,
    /// Only this asset key.
    pub asset: Option<String>,
    /// Only this level: very_high, high, moderate, low, very_low.
    pub level: Option<String>,
    /// Page from 1 (default 1).
    pub page: Option<u64>,
    /// Per page 1..=1000 (default 50).
    pub per_page: Option<u64>,
}

/// Body of a transition.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TransitionBody {
    /// Target state: detected, triaged, contained, eradicated, recovered, closed.
    pub to: String,
    /// Who (default `anonymous`).
    pub actor: Option<String>,
    /// Optional note, kept in the timeline.
    pub note: Option<String>,
}

/// Body of an assignment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignBody {
    /// Assignee.
    pub assignee: String,
    /// Who (default `anonymous`).
    pub actor: Option<String>,
}

/// Body of a comment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CommentBody {
    /// Text, 1..=65536 bytes.
    pub text: String,
    /// Who (default `anonymous`).
    pub actor: Option<String>,
}

/// One incident with its timeline and its asset's current risk.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    /// The incident.
    pub incident: IncidentView,
    /// Its timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// `{value, freshness, age_ms?}` from RiskAnalysis, or `{"error": ...}` when it cannot answer
    /// and nothing is cached.
    #[schema(value_type = Object)]
    pub risk: serde_json::Value,
}

fn actor(a: Option<String>) -> String {
    a.filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "anonymous".to_owned())
}

fn incident_problem(e: IncidentError, req: &HttpRequest) -> Problem {
    let status = match &e {
        IncidentError::NotFound(_) => StatusCode::NOT_FOUND,
        IncidentError::IllegalTransition { .. } => StatusCode::CONFLICT,
        IncidentError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => return internal(e, req),
    };
    problem(status, e.to_string(), req)
}

fn incident_id(raw: &str, req: &HttpRequest) -> Result<i64, Problem> {
    raw.parse()
        .map_err(|_| problem(StatusCode::BAD_REQUEST, "an incident id is an integer", req))
}

#[utoipa::path(get, path = "/api/v1/incidents", params(IncidentsQuery), responses((status = 200, description = "`{items, page, per_page, total}`", body = Object), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<IncidentsQuery>,
) -> Result<HttpResponse, Problem> {
    let q = q.into_inner();
    let (page, per_page) = page_args(q.page, q.per_page, &req)?;
    if let Some(s) = &q.state
        && !incidents::STATES.contains(&s.as_str())
    {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown state {s:?} (states: {})",
                incidents::STATES.join(", ")
            ),
            &req,
        ));
    }
    if let Some(l) = &q.level
        && !incidents::LEVELS.contains(&l.as_str())
    {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown level {l:?} (levels: {})",
                incidents::LEVELS.join(", ")
            ),
            &req,
        ));
    }
    let (items, total) = incidents::list_filtered(
        &state.db,
        &incidents::IncidentFilter {
            state: q.state.as_deref(),
            asset_key: q.asset.as_deref(),
            level: q.level.as_deref(),
        },
        page,
        per_page,
    )
    .await
    .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items, "page": page, "per_page": per_page, "total": total
    })))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", params(("id" = i64, Path, description = "Incident id")), responses((status = 200, body = IncidentDetail), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = incident_id(&id, &req)?;
    let Some((incident, timeline)) = incidents::get(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no incident {id}"),
            &req,
        ));
    };
    let risk = match current_risk(&state, &incident.asset_key).await {
        Ok(served) => serde_json::to_value(served).unwrap_or_default(),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    Ok(HttpResponse::Ok().json(IncidentDetail {
        incident,
        timeline,
        risk,
    }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/transition", params(("id" = i64, Path, description = "Incident id")), request_body = TransitionBody, responses((status = 200, body = IncidentView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, description = "The lifecycle forbids it", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn transition(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<TransitionBody>,
) -> Result<HttpResponse, Problem> {
    let id = incident_id(&id, &req)?;
    let addr = service_addr(&state.incident, "incident", &req)?;
    let b = body.into_inner();
    let view = addr
        .ask(Transition {
            id,
            to: b.to,
            actor: actor(b.actor),
            note: b.note,
        })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| incident_problem(e, &req))?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/assign", params(("id" = i64, Path, description = "Incident id")), request_body = AssignBody, responses((status = 200, body = IncidentView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn assign(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, Problem> {
    let id = incident_id(&id, &req)?;
    let addr = service_addr(&state.incident, "incident", &req)?;
    let b = body.into_inner();
    let view = addr
        .ask(Assign {
            id,
            assignee: b.assignee,
            actor: actor(b.actor),
        })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| incident_problem(e, &req))?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/comments", params(("id" = i64, Path, description = "Incident id")), request_body = CommentBody, responses((status = 201, body = Object), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn comment(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<CommentBody>,
) -> Result<HttpResponse, Problem> {
    let id = incident_id(&id, &req)?;
    let addr = service_addr(&state.incident, "incident", &req)?;
    let b = body.into_inner();
    addr.ask(Comment {
        id,
        text: b.text,
        actor: actor(b.actor),
    })
    .await
    .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
    .map_err(|e| incident_problem(e, &req))?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "incident": id, "commented": true })))
}

/// `POST /alarms`: publishes `alarm.raised` (through the outbox); IncidentResponse opens one
/// incident per alarm (`source` + `id`), a repeated alarm opens nothing new.
#[utoipa::path(post, path = "/api/v1/alarms", request_body = Alarm, responses((status = 202, description = "`{event_id}`", body = Object), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn raise_alarm(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    body: web::Json<Alarm>,
) -> Result<HttpResponse, Problem> {
    let a = body.into_inner();
    let bad = |m: &str| problem(StatusCode::UNPROCESSABLE_ENTITY, m.to_owned(), &req);
    if a.source.trim().is_empty()
        || a.source.len() > 128
        || a.id.trim().is_empty()
        || a.id.len() > 128
    {
        return Err(bad("source and id are 1..=128 bytes"));
    }
    if a.title.trim().is_empty() || a.title.len() > 1000 {
        return Err(bad("title is 1..=1000 bytes"));
    }
    if incidents::alarm_score(&a.level).is_none() {
        return Err(bad(
            "level is one of very_low, low, moderate, high, very_high",
        ));
    }
    let ev = rampart_platform::bus::Envelope::new("alarm.raised", &state.node_id, &a)
        .map_err(|e| internal(e, &req))?;
    let tx = state
        .db
        .begin_write()
        .await
        .map_err(|e| internal(e, &req))?;
    rampart_platform::outbox::append(&tx, "api", &ev)
        .await
        .map_err(|e| internal(e, &req))?;
    tx.commit().await.map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "event_id": ev.event_id })))
}

/// Registers the incident routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.post("/alarms", P::AlarmsRaise, raise_alarm)
        .get("/incidents", P::IncidentsRead, list)
        .get("/incidents/{id}", P::IncidentsRead, get)
        .post(
            "/incidents/{id}/transition",
            P::IncidentsRespond,
            transition,
        )
        .post("/incidents/{id}/assign", P::IncidentsRespond, assign)
        .post("/incidents/{id}/comments", P::IncidentsRespond, comment);
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, get, transition, assign, comment, raise_alarm),
    components(schemas(
        IncidentView,
        TimelineEntry,
        IncidentDetail,
        TransitionBody,
        AssignBody,
        CommentBody
    ))
)]
pub struct IncidentApiDoc;
