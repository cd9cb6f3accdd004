//! ferromq's consumer-progress codes (9000–9011): the offset-table vocabulary and the JSON
//! bodies, used by the broker, the admin and the mirror alike.

mod mirror_sync;
mod offset_change;
mod requests;

pub use mirror_sync::*;
pub use offset_change::*;
pub use requests::*;
