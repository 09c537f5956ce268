//! The secure API edge, traffic part (issue 11, in progress): request-filtering rules in the
//! manner of AWS WAF ([`rules`]). Not wired into the node yet: rate-based rules, country
//! lookup, throttling and connection shielding come next.

pub mod rules;
