//! The REST routes, one module per resource. Each handler's doc comment says who may call it.

pub mod analytics;
pub mod auth;
pub mod canned;
pub mod chat;
pub mod conversations;
pub mod customers;
pub mod dead_letters;
pub mod emails;
pub mod knowledge;
pub mod page;
pub mod settings;
pub mod tickets;
pub mod users;
