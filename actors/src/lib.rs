//! # rampart-actors
//!
//! Rampart's service actors, their messages and domain logic. Each service runs as a supervised
//! actor of [`rampart_supervisors`]. The five services (asset management, risk analysis, control
//! mapping, incident response, audit reporting) land here one by one; until then the node runs the
//! [`demo`] tree, which exercises the runtime end to end (request/reply, panics, hangs, probes).

#![warn(missing_docs)]

pub mod asset;
pub mod bus;
pub mod control;
pub mod db;
pub mod demo;
pub mod link;
pub mod relay;
pub mod risk;
pub mod services;
