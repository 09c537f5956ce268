//! Asset discovery from the clouds and services an organisation runs: Google Workspace
//! ([`google`]).

pub mod google;
