//! Least-privilege RabbitMQ permissions for a node, by role (the services it runs).
//!
//! RabbitMQ grants a user, per virtual host, three regular expressions matched against resource
//! names: `configure`, `write` and `read`
//! (<https://www.rabbitmq.com/docs/access-control#authorisation>). The operations Rampart's bus
//! ([`super::amqp`]) performs need, per that page's AMQP 0-9-1 table:
//!
//! | operation (where in the bus) | configure | write | read |
//! |---|---|---|---|
//! | `exchange.declare` of `NS.events`, `NS.dlx` (every node, at connect) | exchange | | |
//! | `queue.declare` of every queue of the topology (every node, at connect) | queue | | |
//! | … *creating* `NS.S` (it has a dead-letter exchange) | queue | `NS.dlx` | queue |
//! | `queue.bind` `NS.S` ← `NS.events`, `NS.S.dlq` ← `NS.dlx` (every node) | | queue | exchange |
//! | `basic.publish` to `NS.events` (the outbox relay, every node) | | `NS.events` | |
//! | `basic.publish` of a request to `NS.rpc.risk`, of a reply (default exchange) | | `amq.default` | |
//! | `basic.consume` of `NS.S` (a node running `S`), of `NS.rpc.risk` (risk) | | | queue |
//! | `basic.consume` of `amq.rabbitmq.reply-to` (direct reply-to, any caller) | | | |
//!
//! Notes on the rows, from the broker's behaviour (`rabbit_channel`):
//! - The dead-letter check (read on the queue, write on the DLX) applies only when the queue is
//!   *created*; re-declaring an existing queue needs `configure` alone. A node may therefore
//!   re-declare the queues of other roles without being able to read them, but it cannot create
//!   them: [`super::amqp`] logs that and goes on (see "Topology" there); the administrator can
//!   pre-declare the topology (`config/rabbitmq/definitions.json`) so that no event published
//!   before a service's first start is dropped.
//! - Permission checks name the default exchange `amq.default`.
//! - Consuming from the direct reply-to pseudo-queue is not permission-checked; replies are
//!   published to the default exchange.
//!
//! What the patterns do **not** restrict: every node publishes events of every type (its outbox
//! relay publishes whatever the shared database's outbox holds), and `configure`/`write` on the
//! other roles' queues (needed to re-declare and bind them) also allow deleting or re-binding
//! them. `read` is what isolates the services: a node reads (consumes, purges) only the queues
//! of its own roles; no role reads a dead-letter queue.
//!
//! The same patterns are produced by `scripts/rabbitmq-users` (tests/broker_permissions.rs
//! checks they agree) and written in `config/rabbitmq/definitions.json`.

use super::amqp::{
    RPC_SERVICES, TOPOLOGY, dlq_name, dlx_name, exchange_name, queue_name, rpc_queue_name,
};

/// The roles a node can have (`--services`).
pub const ROLES: &[&str] = &["asset", "risk", "control", "incident", "audit"];

/// The default exchange's name in permission checks.
pub const DEFAULT_EXCHANGE: &str = "amq.default";

/// A user's permission triple in one virtual host: the arguments of
/// `rabbitmqctl set_permissions -p VHOST USER CONFIGURE WRITE READ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    /// Resources the user may declare (create, re-declare) and delete.
    pub configure: String,
    /// Resources the user may publish to (exchanges) or bind (queues).
    pub write: String,
    /// Resources the user may consume, get or purge (queues) or bind from (exchanges).
    pub read: String,
}

/// The resource names behind [`Permissions`], in a fixed order (see [`resources`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Names for `configure`.
    pub configure: Vec<String>,
    /// Names for `write`.
    pub write: Vec<String>,
    /// Names for `read`.
    pub read: Vec<String>,
}

/// Every resource of namespace `ns` a grant may name, in the order patterns list them:
/// `NS.events`, `NS.dlx`, then per service of [`TOPOLOGY`] `NS.S` and `NS.S.dlq`, then the request
/// queues `NS.rpc.S` of [`RPC_SERVICES`], then `amq.default`.
pub fn resources(ns: &str) -> Vec<String> {
    let mut out = vec![exchange_name(ns), dlx_name(ns)];
    for (service, _) in TOPOLOGY {
        out.push(queue_name(ns, service));
        out.push(dlq_name(ns, service));
    }
    for service in RPC_SERVICES {
        out.push(rpc_queue_name(ns, service));
    }
    out.push(DEFAULT_EXCHANGE.to_owned());
    out
}

/// What one known role needs (names), per the table of the module docs.
fn role_grants(ns: &str, role: &str) -> Grants {
    let topology: Vec<String> = resources(ns)
        .into_iter()
        .filter(|r| r != DEFAULT_EXCHANGE)
        .collect();
    let queues: Vec<String> = TOPOLOGY
        .iter()
        .flat_map(|(s, _)| [queue_name(ns, s), dlq_name(ns, s)])
        .collect();
    let has_queue = TOPOLOGY.iter().any(|(s, _)| *s == role);
    // Every node: declares the whole topology, binds every queue, publishes events and requests.
    let configure = topology;
    let mut write = vec![exchange_name(ns), DEFAULT_EXCHANGE.to_owned()];
    write.extend(queues);
    let mut read = vec![exchange_name(ns), dlx_name(ns)];
    if has_queue {
        // Creating its own queue (x-dead-letter-exchange) needs write on the DLX, read on it.
        write.push(dlx_name(ns));
        read.push(queue_name(ns, role));
    }
    if RPC_SERVICES.contains(&role) {
        read.push(rpc_queue_name(ns, role));
    }
    Grants {
        configure,
        write,
        read,
    }
}

/// The names a node with `roles` is granted in namespace `namespace`: the union of its roles'
/// grants, in the order of [`resources`]. Unknown roles (not in [`ROLES`]) grant nothing; no
/// known role, nothing at all.
pub fn grants(namespace: &str, roles: &[&str]) -> Grants {
    let mut union = Grants::default();
    for role in roles.iter().filter(|r| ROLES.contains(r)) {
        let g = role_grants(namespace, role);
        union.configure.extend(g.configure);
        union.write.extend(g.write);
        union.read.extend(g.read);
    }
    let order = resources(namespace);
    let sort = |names: Vec<String>| -> Vec<String> {
        order
            .iter()
            .filter(|r| names.contains(r))
            .cloned()
            .collect()
    };
    Grants {
        configure: sort(union.configure),
        write: sort(union.write),
        read: sort(union.read),
    }
}

/// `name` as a regular expression matching exactly it: every character other than an ASCII
/// letter, digit or `_` is escaped with a backslash (PCRE, which RabbitMQ's Erlang `re` is).
pub fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len() * 2);
    for c in name.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The anchored alternation of `names` (`^(a|b)$`); `^$` (nothing) when there are none.
pub fn pattern(names: &[String]) -> String {
    if names.is_empty() {
        return "^$".to_owned();
    }
    let alternatives: Vec<String> = names.iter().map(|n| escape(n)).collect();
    format!("^({})$", alternatives.join("|"))
}

/// The least-privilege permissions of a node running `roles` (e.g. `["asset", "audit"]`) in
/// namespace `namespace` (`bus.namespace`, default `rampart`), as RabbitMQ regular expressions
/// anchored on the namespace (<https://www.rabbitmq.com/docs/access-control#authorisation>).
///
/// Per role (`NS` the namespace, `S` a service with a queue in [`TOPOLOGY`]):
/// - every role: configure `NS.events`, `NS.dlx` and every queue of the topology (every node
///   declares them all); write `NS.events`, `amq.default` and every `NS.S`/`NS.S.dlq` (bindings);
///   read `NS.events` and `NS.dlx` (bindings take read on the source exchange);
/// - a role with a queue (`risk`, `control`, `incident`, `audit`): also write `NS.dlx` and read
///   `NS.<role>`; `risk` also reads `NS.rpc.risk`;
/// - `asset`: nothing more (it consumes no queue).
///
/// A node with several roles gets the union (one alternation over the names of all its roles).
/// With no known role: `^$` three times (no access at all).
pub fn permissions(namespace: &str, roles: &[&str]) -> Permissions {
    let g = grants(namespace, roles);
    Permissions {
        configure: pattern(&g.configure),
        write: pattern(&g.write),
        read: pattern(&g.read),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_reads_no_queue_and_risk_reads_its_own() {
        let a = permissions("rampart", &["asset"]);
        assert_eq!(a.read, r"^(rampart\.events|rampart\.dlx)$");
        assert_eq!(
            a.write,
            concat!(
                r"^(rampart\.events|rampart\.risk|rampart\.risk\.dlq|rampart\.control|",
                r"rampart\.control\.dlq|rampart\.incident|rampart\.incident\.dlq|rampart\.audit|",
                r"rampart\.audit\.dlq|amq\.default)$"
            )
        );
        let r = permissions("rampart", &["risk"]);
        assert_eq!(
            r.read,
            r"^(rampart\.events|rampart\.dlx|rampart\.risk|rampart\.rpc\.risk)$"
        );
        assert_eq!(a.configure, r.configure);
    }

    #[test]
    fn several_roles_get_the_union_and_no_role_nothing() {
        let both = grants("ns", &["asset", "audit", "risk"]);
        assert_eq!(
            both.read,
            ["ns.events", "ns.dlx", "ns.risk", "ns.audit", "ns.rpc.risk"]
        );
        let none = permissions("ns", &[]);
        assert_eq!((none.configure.as_str(), none.write.as_str()), ("^$", "^$"));
        assert_eq!(permissions("ns", &["nope"]).read, "^$");
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(escape("a-b.c_d"), r"a\-b\.c_d");
        assert_eq!(pattern(&[]), "^$");
    }
}
