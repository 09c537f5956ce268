//! The Rampart node: command line, configuration, wiring of the supervision trees, HTTP API.

#![warn(missing_docs)]

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod controls_api;
pub mod http;
pub mod incidents_api;
pub mod node;
pub mod problem;
