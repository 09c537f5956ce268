//! The `amqp-link` actor: owns the RabbitMQ connection of the node ([`AmqpBus::run_link`]: connect,
//! declare the topology, reconnect with exponential backoff when the connection is lost). Its
//! readiness probe fails while the broker is unreachable.

use rampart_supervisors::{Actor, Context, ProbeCheck};

use crate::bus::amqp::AmqpBus;

/// The link actor. One per node using RabbitMQ.
#[derive(Debug)]
pub struct AmqpLink {
    bus: AmqpBus,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl AmqpLink {
    /// A link keeping `bus` connected.
    pub fn new(bus: AmqpBus) -> Self {
        Self { bus, task: None }
    }
}

impl Drop for AmqpLink {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Actor for AmqpLink {
    async fn started(&mut self, _ctx: &mut Context<Self>) -> Result<(), String> {
        let bus = self.bus.clone();
        self.task = Some(tokio::spawn(async move { bus.run_link().await }));
        Ok(())
    }

    async fn liveness(&mut self) -> ProbeCheck {
        match &self.task {
            Some(t) if t.is_finished() => Err("the link task ended".to_owned()),
            _ => Ok(()),
        }
    }

    async fn readiness(&mut self) -> ProbeCheck {
        if self.bus.is_connected() {
            Ok(())
        } else {
            Err("RabbitMQ unreachable".to_owned())
        }
    }
}
