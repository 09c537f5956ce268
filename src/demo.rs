//! The demonstration tree: an `echo` actor that answers requests (and, when fault injection is on,
//! can be made to panic or stall on request) supervised one-for-one under `demo`.
//!
//! It exists so that a fresh node shows the runtime at work: `/readyz` lists it, `/metrics` counts
//! its messages, restarts and probe failures.

use std::time::Duration;

use rampart_supervisors::{
    Actor, Addr, ChildSpec, Context, Handler, Message, Probes, SupervisorSpec,
};
use serde::{Deserialize, Serialize};

/// The echo actor: answers [`Echo`] with the text and the instance's generation, counts what it
/// served in this instance.
#[derive(Debug, Default)]
pub struct EchoActor {
    served: u64,
}

impl Actor for EchoActor {}

/// Echo request: answered with the same text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Echo {
    /// Any text.
    pub text: String,
}

/// Echo reply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct EchoReply {
    /// The request's text.
    pub text: String,
    /// Messages served by this instance, this one included.
    pub served: u64,
    /// Instance number (1 at first start, +1 per restart).
    pub generation: u64,
}

impl Message for Echo {
    type Reply = EchoReply;
}

impl Handler<Echo> for EchoActor {
    async fn handle(&mut self, msg: Echo, ctx: &mut Context<Self>) -> EchoReply {
        self.served += 1;
        EchoReply {
            text: msg.text,
            served: self.served,
            generation: ctx.generation(),
        }
    }
}

/// Fault injection: panics inside the handler (the runtime catches it and restarts the actor).
#[derive(Debug, Clone)]
pub struct InjectPanic;

impl Message for InjectPanic {
    type Reply = ();
}

impl Handler<InjectPanic> for EchoActor {
    async fn handle(&mut self, _msg: InjectPanic, _ctx: &mut Context<Self>) {
        panic!("injected panic (fault injection)");
    }
}

/// Fault injection: stalls the handler for `duration` (past the liveness probe, it is restarted).
#[derive(Debug, Clone)]
pub struct InjectStall {
    /// How long the handler stalls.
    pub duration: Duration,
}

impl Message for InjectStall {
    type Reply = ();
}

impl Handler<InjectStall> for EchoActor {
    async fn handle(&mut self, msg: InjectStall, _ctx: &mut Context<Self>) {
        tokio::time::sleep(msg.duration).await;
    }
}

/// The demo subtree and the echo actor's address.
pub struct DemoTree {
    /// The `demo` supervisor, to add under the node's root.
    pub spec: SupervisorSpec,
    /// Address of `demo/echo`.
    pub echo: Addr<EchoActor>,
}

/// Builds the `demo` supervisor (one-for-one) with its `echo` child using `probes`.
pub fn tree(probes: Probes) -> DemoTree {
    let echo = ChildSpec::new("echo", EchoActor::default)
        .probes(probes)
        .build();
    let addr = echo.addr();
    DemoTree {
        spec: SupervisorSpec::new("demo").child(echo),
        echo: addr,
    }
}
