//! Role-based access control: permissions, the roles that hold them, and the route table that
//! is the policy.
//!
//! Every route is registered through [`Routes`], which takes the permission beside the path
//! and the handler, so the place a route is defined is the place its permission is declared.
//! The table ([`RouteRule`]s, in registration order) is consulted by the authorizer middleware
//! with actix-web's own matching rule (first registered resource whose pattern matches the path
//! and whose method fits), so the rule checked is the rule of the handler that will run. A
//! request that matches no rule is answered by the 404 handler (after authentication).
//!
//! Roles map to permissions in configuration (`[auth.roles]`, defaults in [`default_roles`]);
//! RBAC in the sense of NIST's model (Ferraiolo & Kuhn 1992; ANSI INCITS 359-2004 "core RBAC":
//! users → roles → permissions, no direct user permissions).

use std::collections::{BTreeMap, BTreeSet};

use actix_router::{Path, ResourceDef};
use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, web};
use serde::{Deserialize, Serialize};

/// A permission: `resource:action`. `Public` routes need no token.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Permission {
    /// No token needed (health probes, discovery, JWKS, the token endpoint).
    #[serde(rename = "public")]
    Public,
    /// `GET /metrics` (open instead when `auth.public_metrics`).
    #[serde(rename = "metrics:read")]
    MetricsRead,
    /// Read assets and their components.
    #[serde(rename = "assets:read")]
    AssetsRead,
    /// Import inventories (SBOMs, scans, CSV).
    #[serde(rename = "assets:import")]
    AssetsImport,
    /// Retire an asset.
    #[serde(rename = "assets:retire")]
    AssetsRetire,
    /// Read the risk register and asset risk.
    #[serde(rename = "risks:read")]
    RisksRead,
    /// Upload threat-intelligence feeds.
    #[serde(rename = "intel:ingest")]
    IntelIngest,
    /// Decide findings (analysis state), treat risks (mitigate, transfer, avoid), import VEX.
    #[serde(rename = "risks:triage")]
    RisksTriage,
    /// Accept a risk (ISO/IEC 27005 retention: rationale and expiry).
    #[serde(rename = "risks:accept")]
    RisksAccept,
    /// Read frameworks, controls, coverage.
    #[serde(rename = "controls:read")]
    ControlsRead,
    /// Import catalogs and crosswalks.
    #[serde(rename = "controls:import")]
    ControlsImport,
    /// Set a control's implementation status and evidence.
    #[serde(rename = "controls:edit")]
    ControlsEdit,
    /// Read incidents.
    #[serde(rename = "incidents:read")]
    IncidentsRead,
    /// Transition, assign and comment on incidents.
    #[serde(rename = "incidents:respond")]
    IncidentsRespond,
    /// Raise alarms (which open incidents).
    #[serde(rename = "alarms:raise")]
    AlarmsRaise,
    /// Read the audit log and verify its chain.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Read framework reports.
    #[serde(rename = "reports:read")]
    ReportsRead,
    /// Read a job's state.
    #[serde(rename = "jobs:read")]
    JobsRead,
    /// Read the supervision tree and dead letters.
    #[serde(rename = "operations:read")]
    OperationsRead,
    /// Replay dead letters.
    #[serde(rename = "operations:replay")]
    OperationsReplay,
    /// Fault injection and the demo actors (`/demo/...`).
    #[serde(rename = "operations:faults")]
    OperationsFaults,
    /// Rotate signing keys and manage clients.
    #[serde(rename = "auth:admin")]
    AuthAdmin,
}

impl Permission {
    /// Every permission but [`Permission::Public`].
    pub const ALL: [Permission; 21] = [
        Self::MetricsRead,
        Self::AssetsRead,
        Self::AssetsImport,
        Self::AssetsRetire,
        Self::RisksRead,
        Self::IntelIngest,
        Self::RisksTriage,
        Self::RisksAccept,
        Self::ControlsRead,
        Self::ControlsImport,
        Self::ControlsEdit,
        Self::IncidentsRead,
        Self::IncidentsRespond,
        Self::AlarmsRaise,
        Self::AuditRead,
        Self::ReportsRead,
        Self::JobsRead,
        Self::OperationsRead,
        Self::OperationsReplay,
        Self::OperationsFaults,
        Self::AuthAdmin,
    ];

    /// The permission's name (`assets:read`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::MetricsRead => "metrics:read",
            Self::AssetsRead => "assets:read",
            Self::AssetsImport => "assets:import",
            Self::AssetsRetire => "assets:retire",
            Self::RisksRead => "risks:read",
            Self::IntelIngest => "intel:ingest",
            Self::RisksTriage => "risks:triage",
            Self::RisksAccept => "risks:accept",
            Self::ControlsRead => "controls:read",
            Self::ControlsImport => "controls:import",
            Self::ControlsEdit => "controls:edit",
            Self::IncidentsRead => "incidents:read",
            Self::IncidentsRespond => "incidents:respond",
            Self::AlarmsRaise => "alarms:raise",
            Self::AuditRead => "audit:read",
            Self::ReportsRead => "reports:read",
            Self::JobsRead => "jobs:read",
            Self::OperationsRead => "operations:read",
            Self::OperationsReplay => "operations:replay",
            Self::OperationsFaults => "operations:faults",
            Self::AuthAdmin => "auth:admin",
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles Rampart knows, in order of the default table.
pub const ROLES: [&str; 7] = [
    "viewer",
    "analyst",
    "responder",
    "auditor",
    "risk_owner",
    "admin",
    "node",
];

/// Role name → permissions (`[auth.roles]`).
pub type RoleMap = BTreeMap<String, BTreeSet<Permission>>;

/// The default role → permission table:
///
/// | role | may |
/// |---|---|
/// | `viewer` | read assets, risks, controls, incidents, reports, jobs |
/// | `analyst` | viewer + import inventories, feeds, catalogs and VEX, retire assets, edit control status, decide findings and treat risks (not accept them) |
/// | `responder` | viewer + act on incidents, raise alarms |
/// | `auditor` | viewer + the audit log, the supervision tree, metrics |
/// | `risk_owner` | viewer + decide findings, treat risks and accept them (ISO/IEC 27005's risk owner) |
/// | `admin` | everything, including replay, fault injection, key rotation |
/// | `node` | what one node asks of another: read assets and risks, raise alarms, read jobs |
pub fn default_roles() -> RoleMap {
    use Permission as P;
    let viewer = [
        P::AssetsRead,
        P::RisksRead,
        P::ControlsRead,
        P::IncidentsRead,
        P::ReportsRead,
        P::JobsRead,
    ];
    let with = |extra: &[P]| -> BTreeSet<P> { viewer.iter().chain(extra).copied().collect() };
    BTreeMap::from([
        ("viewer".to_owned(), with(&[])),
        (
            "analyst".to_owned(),
            with(&[
                P::AssetsImport,
                P::AssetsRetire,
                P::IntelIngest,
                P::ControlsImport,
                P::ControlsEdit,
                P::RisksTriage,
            ]),
        ),
        (
            "risk_owner".to_owned(),
            with(&[P::RisksTriage, P::RisksAccept]),
        ),
        (
            "responder".to_owned(),
            with(&[P::IncidentsRespond, P::AlarmsRaise]),
        ),
        (
            "auditor".to_owned(),
            with(&[P::AuditRead, P::OperationsRead, P::MetricsRead]),
        ),
        ("admin".to_owned(), P::ALL.into_iter().collect()),
        (
            "node".to_owned(),
            [P::AssetsRead, P::RisksRead, P::AlarmsRaise, P::JobsRead]
                .into_iter()
                .collect(),
        ),
    ])
}

/// Whether any of `roles` holds `permission` in `map` (unknown roles hold nothing).
pub fn allows(map: &RoleMap, roles: &[String], permission: Permission) -> bool {
    permission == Permission::Public
        || roles
            .iter()
            .any(|r| map.get(r).is_some_and(|ps| ps.contains(&permission)))
}

/// One route of the table: method, full path pattern (actix syntax, `/api/v1/assets/{id}`),
/// permission.
#[derive(Debug, Clone)]
pub struct RouteRule {
    /// HTTP method.
    pub method: Method,
    /// Full path pattern as registered.
    pub pattern: String,
    /// The permission a caller needs.
    pub permission: Permission,
    def: ResourceDef,
}

impl RouteRule {
    /// A rule for `method pattern`.
    pub fn new(method: Method, pattern: &str, permission: Permission) -> Self {
        Self {
            method,
            pattern: pattern.to_owned(),
            permission,
            def: ResourceDef::new(pattern),
        }
    }

    /// Whether this rule's pattern matches `path`.
    pub fn matches(&self, path: &str) -> bool {
        self.def.is_match(path)
    }

    /// The path parameters of `path` under this rule's pattern (name, value), at most 16.
    pub fn params(&self, path: &str) -> Vec<(String, String)> {
        let mut p = Path::new(path.to_owned());
        if !self.def.capture_match_info(&mut p) {
            return Vec::new();
        }
        p.iter()
            .take(16)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// The route table: every rule in registration order.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    rules: Vec<RouteRule>,
}

impl RouteTable {
    /// Adds a rule at the end.
    pub fn push(&mut self, rule: RouteRule) {
        self.rules.push(rule);
    }

    /// Every rule, in order.
    pub fn rules(&self) -> &[RouteRule] {
        &self.rules
    }

    /// The rule actix-web will route `method path` to: the first whose pattern matches and
    /// whose method is `method` (HEAD falls back to GET as actix's `web::get()` does not, so a
    /// HEAD needs its own rule).
    pub fn find(&self, method: &Method, path: &str) -> Option<&RouteRule> {
        self.rules
            .iter()
            .find(|r| r.method == *method && r.matches(path))
    }
}

/// Registers routes on an actix scope's config and records each one's permission in the table.
pub struct Routes<'a> {
    cfg: &'a mut web::ServiceConfig,
    prefix: &'a str,
    table: &'a mut RouteTable,
}

impl<'a> Routes<'a> {
    /// Routes under `prefix` (the scope's path, `/api/v1`, or `""` at the root).
    pub fn new(
        cfg: &'a mut web::ServiceConfig,
        prefix: &'a str,
        table: &'a mut RouteTable,
    ) -> Self {
        Self { cfg, prefix, table }
    }

    /// `method path` answered by `handler`, allowed with `permission`.
    pub fn route<F, Args>(
        &mut self,
        method: Method,
        path: &str,
        permission: Permission,
        handler: F,
    ) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.table.push(RouteRule::new(
            method.clone(),
            &format!("{}{path}", self.prefix),
            permission,
        ));
        self.cfg
            .route(path, web::route().method(method).to(handler));
        self
    }

    /// `GET path`.
    pub fn get<F, Args>(&mut self, path: &str, permission: Permission, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::GET, path, permission, handler)
    }

    /// `POST path`.
    pub fn post<F, Args>(&mut self, path: &str, permission: Permission, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::POST, path, permission, handler)
    }

    /// `PUT path`.
    pub fn put<F, Args>(&mut self, path: &str, permission: Permission, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::PUT, path, permission, handler)
    }

    /// `DELETE path`.
    pub fn delete<F, Args>(&mut self, path: &str, permission: Permission, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::DELETE, path, permission, handler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_registered_matching_rule_of_the_method_wins() {
        let mut t = RouteTable::default();
        t.push(RouteRule::new(
            Method::POST,
            "/api/v1/assets/import",
            Permission::AssetsImport,
        ));
        t.push(RouteRule::new(
            Method::GET,
            "/api/v1/assets/{id}",
            Permission::AssetsRead,
        ));
        t.push(RouteRule::new(
            Method::DELETE,
            "/api/v1/assets/{id}",
            Permission::AssetsRetire,
        ));
        let find = |m: Method, p: &str| t.find(&m, p).map(|r| r.permission);
        assert_eq!(
            find(Method::POST, "/api/v1/assets/import"),
            Some(Permission::AssetsImport)
        );
        assert_eq!(
            find(Method::GET, "/api/v1/assets/import"),
            Some(Permission::AssetsRead)
        );
        assert_eq!(
            find(Method::DELETE, "/api/v1/assets/7"),
            Some(Permission::AssetsRetire)
        );
        assert_eq!(find(Method::PUT, "/api/v1/assets/7"), None);
        assert_eq!(
            t.rules()[1].params("/api/v1/assets/42"),
            vec![("id".to_owned(), "42".to_owned())]
        );
    }

    #[test]
    fn roles_grant_only_their_permissions() {
        let map = default_roles();
        let viewer = vec!["viewer".to_owned()];
        assert!(allows(&map, &viewer, Permission::RisksRead));
        assert!(!allows(&map, &viewer, Permission::AssetsImport));
        assert!(!allows(&map, &["nobody".to_owned()], Permission::RisksRead));
        assert!(allows(&map, &[], Permission::Public));
        assert!(
            Permission::ALL
                .iter()
                .all(|p| allows(&map, &["admin".to_owned()], *p))
        );
    }
}
