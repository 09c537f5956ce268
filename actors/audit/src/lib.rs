//! # rampart-audit: the AuditReporting service
//!
//! | | |
//! |---|---|
//! | **owns** (its own tables) | `audit_log` (append-only, hash-chained), `audit_head` ([`entities`], [`migrations`]) |
//! | **consumes** | every event of every service (`#`) |
//! | **publishes** | nothing yet (`report.generated` is planned) |
//! | **answers** | the log and its verification ([`chain::list`], [`chain::verify`]); reports per framework ([`reports`]) |
//!
//! A report is assembled ([`reports::Report::assemble`]) from what the other services hand over
//! through the node (coverage, register figures, incident figures, all defined in
//! `rampart-contracts`) and from this service's own log (control status changes).

#![warn(missing_docs)]

pub mod actor;
pub mod chain;
pub mod entities;
pub mod migrations;
pub mod reports;
