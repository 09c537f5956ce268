//! ControlMapping's schema migrations (sea-orm-migration): its own tables. The node runs
//! them with every other crate's, in name order ([`rampart_platform::migrations::compose`]). A
//! migration, once released, is never edited or renamed: changes go in a new one.

use sea_orm_migration::prelude::*;

rampart_platform::service_migrations![
    M20261124000010Controls,
    M20261124000011ControlStatus,
    M20261124000012ControlRiskMap,
];

/// ControlMapping's frameworks, controls and crosswalks (plain SQL: both backends take it).
#[derive(Debug)]
struct M20261124000010Controls;

impl MigrationName for M20261124000010Controls {
    fn name(&self) -> &str {
        "m20261124_000010_controls"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000010Controls {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "CREATE TABLE IF NOT EXISTS control_frameworks (id VARCHAR(128) NOT NULL PRIMARY KEY, \
             name TEXT NOT NULL, version VARCHAR(128), source_format VARCHAR(32) NOT NULL, \
             controls BIGINT NOT NULL, updated_at VARCHAR(40) NOT NULL)",
            "CREATE TABLE IF NOT EXISTS control_controls (framework VARCHAR(128) NOT NULL, \
             id VARCHAR(128) NOT NULL, label VARCHAR(128) NOT NULL, title TEXT NOT NULL, \
             parent VARCHAR(128), kind VARCHAR(16) NOT NULL, assessable BOOLEAN NOT NULL, \
             withdrawn BOOLEAN NOT NULL, statement TEXT, PRIMARY KEY (framework, id))",
            "CREATE TABLE IF NOT EXISTS control_crosswalk (source_framework VARCHAR(128) NOT NULL, \
             source_id VARCHAR(128) NOT NULL, target_framework VARCHAR(128) NOT NULL, \
             target_id VARCHAR(128) NOT NULL, relationship VARCHAR(24) NOT NULL, rationale TEXT, \
             PRIMARY KEY (source_framework, source_id, target_framework, target_id))",
            "CREATE INDEX IF NOT EXISTS control_crosswalk_target ON control_crosswalk \
             (target_framework, target_id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

/// ControlMapping's control status per framework, with evidence.
#[derive(Debug)]
struct M20261124000011ControlStatus;

impl MigrationName for M20261124000011ControlStatus {
    fn name(&self) -> &str {
        "m20261124_000011_control_status"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000011ControlStatus {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE IF NOT EXISTS control_status (framework VARCHAR(128) NOT NULL, \
                 control_id VARCHAR(128) NOT NULL, status VARCHAR(24) NOT NULL, evidence TEXT NOT NULL, \
                 updated_by VARCHAR(256) NOT NULL, updated_at VARCHAR(40) NOT NULL, \
                 PRIMARY KEY (framework, control_id))",
            )
            .await?;
        Ok(())
    }
}

/// ControlMapping's view of which controls mitigate each asset's current findings.
#[derive(Debug)]
struct M20261124000012ControlRiskMap;

impl MigrationName for M20261124000012ControlRiskMap {
    fn name(&self) -> &str {
        "m20261124_000012_control_risk_map"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000012ControlRiskMap {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE IF NOT EXISTS control_risk_map (asset_key VARCHAR(512) NOT NULL, \
                 control_id VARCHAR(128) NOT NULL, findings BIGINT NOT NULL, \
                 PRIMARY KEY (asset_key, control_id))",
            )
            .await?;
        Ok(())
    }
}
