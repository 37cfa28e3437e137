//! The REST routes, one module per resource. Each handler's doc comment says who may call it.

pub mod auth;
pub mod chat;
pub mod conversations;
pub mod dead_letters;
pub mod page;
pub mod tickets;
pub mod users;
