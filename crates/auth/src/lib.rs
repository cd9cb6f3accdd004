//! Authentication and authorization compatible with Apache RocketMQ's ACL 2.0.
//!
//! Map of the crate:
//! - [`model`]: users, ACLs (subject → policies → entries), resources, actions, decisions, with
//!   upstream's names and their JSON (the admin codes' `UserInfo` and `AclInfo`).
//! - [`signature`]: what a request's signature covers and its check, for Remoting (HMAC-SHA1
//!   over the sorted ext-field values and the body) and gRPC (the `authorization` header).
//! - [`decide`]: whether a user may do an action on a resource from an address.
//! - [`store`]: the users and ACLs, durable in one JSON file written with fsync and rename.

pub mod decide;
pub mod model;
pub mod signature;
pub mod store;

pub use decide::{Denied, Request};
pub use model::{Acl, Action, Decision, Policy, PolicyEntry, Resource, User, UserType};
pub use store::{AuthError, AuthStore};
