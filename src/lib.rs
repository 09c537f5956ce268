//! The Rampart node: command line, configuration, wiring of the supervision trees, HTTP API.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod demo;
pub mod discovery;
pub mod http;
pub mod intel;
pub mod node;
pub mod nodes;
pub mod problem;
pub mod schema;
pub mod services;
pub mod shield;
pub mod tls;
