//! AssetManagement's routes: import (asynchronous job), list, detail, retire.
//!
//! | path | answers |
//! |---|---|
//! | `POST /assets/import?format=cyclonedx\|spdx\|nmap\|csv` | 202 + job id; the body is the file |
//! | `GET /assets?page=&per_page=&kind=&owner=&name=&min_criticality=&include_retired=` | a page of assets |
//! | `GET /assets/{id}` | one asset with its components |
//! | `DELETE /assets/{id}` | retires it (`asset.retired`; its findings are dropped) |

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::ServiceState;
use super::common::{
    Accepted, Page, accepted, busy_response, check_media_type, internal, job_permit, page_args,
    problem, read_body, service_addr,
};
use crate::auth::{Permission as P, Routes};
use crate::problem::Problem;
use rampart_asset::actor::{Fault, RetireAsset, StoreInventory};
use rampart_asset::store::{self as assets, AssetDetail, AssetFilter, AssetView};
use rampart_asset::{Format, ImportError};
use rampart_platform::jobs::{self, run as run_job};

/// Query of the import endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// `cyclonedx`, `spdx`, `nmap`, `csv`, `google_workspace` or `aws_config`.
    pub format: String,
}

/// Query of `GET /assets`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AssetsQuery {
    /// Page from 1 (default 1).
    pub page: Option<u64>,
    /// Per page, 1..=1000 (default 50).
    pub per_page: Option<u64>,
    /// `host`, `application`, `service`, `cloud_resource`.
    pub kind: Option<String>,
    /// Exact owner.
    pub owner: Option<String>,
    /// Substring of the name.
    pub name: Option<String>,
    /// Criticality at least this (1..=5).
    pub min_criticality: Option<u8>,
    /// Include retired assets (default false).
    pub include_retired: Option<bool>,
}

/// Media types accepted for an inventory format.
pub fn import_media_types(format: Format) -> &'static [&'static str] {
    match format {
        Format::CycloneDx => &["application/json", "application/vnd.cyclonedx+json"],
        Format::Spdx => &["application/json", "application/spdx+json"],
        Format::Nmap => &["application/xml", "text/xml"],
        Format::Csv => &["text/csv", "application/csv"],
        Format::GoogleWorkspace => &["application/json"],
        Format::AwsConfig => &["application/json"],
    }
}

/// HTTP status of an inventory parse error: malformed syntax 400, invalid content 422, too big
/// 413.
pub fn import_error_status(e: &ImportError) -> StatusCode {
    match e {
        ImportError::InputTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ImportError::Empty(_)
        | ImportError::NotUtf8 { .. }
        | ImportError::Json { .. }
        | ImportError::Xml { .. }
        | ImportError::Csv { .. }
        | ImportError::UnknownFormat(_) => StatusCode::BAD_REQUEST,
        ImportError::Internal(_) | ImportError::InvalidRules(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

#[utoipa::path(post, path = "/api/v1/assets/import", params(ImportQuery), request_body(content = String, description = "The inventory file: CycloneDX JSON 1.2-1.7, SPDX JSON 2.2/2.3, nmap XML, CSV, Google Workspace Directory JSON or AWS Config configuration items JSON", content_type = "application/json"), responses((status = 202, body = Accepted), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn import(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let format: Format = q
        .format
        .parse()
        .map_err(|e: rampart_asset::UnknownFormat| {
            problem(StatusCode::BAD_REQUEST, e.to_string(), &req)
        })?;
    let addr = service_addr(&state.asset, "asset", &req)?;
    check_media_type(
        &req,
        import_media_types(format),
        &format!("{format} imports"),
    )?;
    let permit = job_permit(&state, &req).map_err(busy_response)?;
    let body = read_body(&req, payload, state.max_import_bytes).await?;
    let rules = state.rules.clone();
    let inventory = web::block(move || rampart_asset::parse(format, &body, &rules))
        .await
        .map_err(|e| internal(e, &req))?
        .map_err(|e| problem(import_error_status(&e), e.to_string(), &req))?;
    let fault = (state.fault_injection
        && req
            .headers()
            .get("X-Rampart-Fault")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"panic")))
    .then_some(Fault::Panic);
    let format_name = serde_json::to_value(format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let id = jobs::create(&state.db, "asset-import", &format_name, &state.node_id)
        .await
        .map_err(|e| internal(e, &req))?;
    let db = state.db.clone();
    let inventory = Arc::new(inventory);
    tokio::spawn(async move {
        let components = inventory.component_count();
        let assets_in = inventory.assets.len();
        run_job(db, id, async move {
            let out = addr
                .ask(StoreInventory { inventory, fault })
                .await
                .map_err(|e| format!("asset management could not complete the import: {e}"))??;
            Ok(serde_json::json!({
                "assets": assets_in,
                "components": components,
                "discovered": out.discovered.len(),
                "changed": out.changed.len(),
                "unchanged": out.unchanged,
                "components_written": out.components_written,
            }))
        })
        .await;
        drop(permit);
    });
    Ok(accepted(id))
}

#[utoipa::path(get, path = "/api/v1/assets", params(AssetsQuery), responses((status = 200, body = Page<AssetView>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list_assets(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<AssetsQuery>,
) -> Result<HttpResponse, Problem> {
    let q = q.into_inner();
    let (page, per_page) = page_args(q.page, q.per_page, &req)?;
    let filter = AssetFilter {
        kind: q.kind,
        owner: q.owner,
        name: q.name,
        min_criticality: q.min_criticality,
        include_retired: q.include_retired.unwrap_or(false),
        page,
        per_page,
    };
    let (items, total) = assets::list_assets(&state.db, &filter)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// The numeric asset id of a path segment, or 404.
pub fn asset_id(raw: &str, req: &HttpRequest) -> Result<i64, Problem> {
    raw.parse()
        .map_err(|_| problem(StatusCode::BAD_REQUEST, "an asset id is an integer", req))
}

#[utoipa::path(get, path = "/api/v1/assets/{id}", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, body = AssetDetail), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_asset(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = asset_id(&id, &req)?;
    match assets::get_asset(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?
    {
        Some(a) => Ok(HttpResponse::Ok().json(a)),
        None => Err(problem(
            StatusCode::NOT_FOUND,
            format!("no asset {id}"),
            &req,
        )),
    }
}

/// `DELETE /assets/{id}`: retires the asset (kept, marked retired, `asset.retired` published:
/// RiskAnalysis drops its findings).
#[utoipa::path(delete, path = "/api/v1/assets/{id}", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, description = "Retired", body = Object), (status = 404, description = "No such active asset", body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn retire_asset(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = asset_id(&id, &req)?;
    let addr = service_addr(&state.asset, "asset", &req)?;
    let Some(key) = assets::key_of(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no asset {id}"),
            &req,
        ));
    };
    let retired = addr
        .ask(RetireAsset { key: key.clone() })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| internal(e, &req))?;
    if !retired {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("asset {id} is already retired"),
            &req,
        ));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id, "key": key, "retired": true })))
}

/// Query of `GET /assets/{id}/diff`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct DiffQuery {
    /// The older version's number (default: the one before `to`).
    pub from: Option<i32>,
    /// The newer version's number (default: the latest).
    pub to: Option<i32>,
}

/// The vulnerabilities a version change introduces and fixes.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FindingsDelta {
    /// In `to`, not in `from` (by vulnerability and component identity).
    pub introduced: Vec<rampart_risk::store::ComponentVulnerability>,
    /// In `from`, not in `to`.
    pub fixed: Vec<rampart_risk::store::ComponentVulnerability>,
}

/// `GET /assets/{id}/diff`: components added, removed and changed between two versions, and
/// the vulnerabilities introduced and fixed (matched against the records RiskAnalysis holds
/// now; `null` when this node does not run RiskAnalysis).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AssetDiff {
    /// The asset's id.
    pub asset: i64,
    /// The older version.
    pub from: assets::VersionSummary,
    /// The newer version.
    pub to: assets::VersionSummary,
    /// The component changes.
    pub components: rampart_asset::diff::ComponentDiff,
    /// The vulnerability changes.
    pub findings: Option<FindingsDelta>,
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/versions", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, body = [assets::VersionSummary]), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn asset_versions(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = asset_id(&id, &req)?;
    let v = assets::versions(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?;
    if v.is_empty() {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no versions of asset {id} are stored"),
            &req,
        ));
    }
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/diff", params(("id" = i64, Path, description = "Asset id"), DiffQuery), responses((status = 200, body = AssetDiff), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn asset_diff(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
    q: web::Query<DiffQuery>,
) -> Result<HttpResponse, Problem> {
    let id = asset_id(&id, &req)?;
    let all = assets::versions(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?;
    let Some(latest) = all.last().map(|v| v.number) else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no versions of asset {id} are stored"),
            &req,
        ));
    };
    let to = q.to.unwrap_or(latest);
    let from = match q.from {
        Some(f) => f,
        None => all
            .iter()
            .rev()
            .map(|v| v.number)
            .find(|n| *n < to)
            .ok_or_else(|| {
                problem(
                    StatusCode::NOT_FOUND,
                    format!("asset {id} has no version before {to} to compare with"),
                    &req,
                )
            })?,
    };
    if from >= to {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!("from ({from}) must be an older version than to ({to})"),
            &req,
        ));
    }
    let load = |n: i32| {
        let (db, req) = (state.db.clone(), req.clone());
        async move {
            assets::version(&db, id, n)
                .await
                .map_err(|e| internal(e, &req))?
                .ok_or_else(|| {
                    problem(
                        StatusCode::NOT_FOUND,
                        format!("asset {id} has no stored version {n}"),
                        &req,
                    )
                })
        }
    };
    let (from_v, old) = load(from).await?;
    let (to_v, new) = load(to).await?;
    let components = rampart_asset::diff::diff(&old, &new);
    let findings = match &state.risk {
        Some(addr) => {
            let before = addr
                .ask(rampart_risk::actor::MatchComponents(old))
                .await
                .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?;
            let after = addr
                .ask(rampart_risk::actor::MatchComponents(new))
                .await
                .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?;
            let key = |v: &rampart_risk::store::ComponentVulnerability| {
                let c = rampart_contracts::asset::Component {
                    version: v.component_version.clone(),
                    purl: v.purl.clone(),
                    ..rampart_contracts::asset::Component::named(v.component.clone())
                };
                (v.vulnerability.clone(), rampart_asset::diff::identity(&c))
            };
            let before_keys: std::collections::HashSet<_> = before.iter().map(key).collect();
            let after_keys: std::collections::HashSet<_> = after.iter().map(key).collect();
            Some(FindingsDelta {
                introduced: after
                    .iter()
                    .filter(|v| !before_keys.contains(&key(v)))
                    .cloned()
                    .collect(),
                fixed: before
                    .into_iter()
                    .filter(|v| !after_keys.contains(&key(v)))
                    .collect(),
            })
        }
        None => None,
    };
    Ok(HttpResponse::Ok().json(AssetDiff {
        asset: id,
        from: from_v,
        to: to_v,
        components,
        findings,
    }))
}

/// Registers AssetManagement's routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.post("/assets/import", P::AssetsImport, import)
        .get("/assets", P::AssetsRead, list_assets)
        .get("/assets/{id}", P::AssetsRead, get_asset)
        .delete("/assets/{id}", P::AssetsRetire, retire_asset)
        .get("/assets/{id}/versions", P::AssetsRead, asset_versions)
        .get("/assets/{id}/diff", P::AssetsRead, asset_diff);
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        import,
        list_assets,
        get_asset,
        retire_asset,
        asset_versions,
        asset_diff
    ),
    components(schemas(Accepted, AssetView, AssetDetail, AssetDiff, FindingsDelta))
)]
pub struct AssetApiDoc;
