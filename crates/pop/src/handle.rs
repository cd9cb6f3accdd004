//! [`ReceiptHandle`]: what a POP consumer gets with each message and hands back to ack it.
//!
//! The text form is `fmq1-<queue>-<offset>-<seq>-<epoch>` (hexadecimal numbers). Clients treat it
//! as opaque. `seq` names one lease (a delivery or a changed window), so a handle from an earlier
//! delivery of the same message is told apart from the current one; `epoch` is the queue's reset
//! generation, so a handle issued before an offset reset is recognised as outdated.

use std::fmt;

use crate::error::PopError;

const PREFIX: &str = "fmq1";
/// Longer input is refused before it is split (a forged handle must not cost much).
const MAX_LEN: usize = 96;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptHandle {
    pub queue_id: i32,
    pub offset: i64,
    pub seq: u64,
    pub epoch: u32,
}

impl fmt::Display for ReceiptHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}-{:x}-{:x}-{:x}-{:x}",
            self.queue_id, self.offset, self.seq, self.epoch
        )
    }
}

impl ReceiptHandle {
    /// Parses a handle this broker issued.
    ///
    /// # Errors
    /// [`PopError::InvalidHandle`] for anything else.
    pub fn parse(s: &str) -> Result<Self, PopError> {
        let bad = |why: &str| PopError::InvalidHandle(format!("{why}: {:?}", truncate(s)));
        if s.len() > MAX_LEN {
            return Err(bad("receipt handle too long"));
        }
        let mut parts = s.split('-');
        if parts.next() != Some(PREFIX) {
            return Err(bad("not a receipt handle of this broker"));
        }
        let mut num = |what: &str| {
            parts
                .next()
                .and_then(|p| u64::from_str_radix(p, 16).ok())
                .ok_or_else(|| bad(&format!("receipt handle has no valid {what}")))
        };
        let queue_id = i32::try_from(num("queue id")?).map_err(|_| bad("queue id out of range"))?;
        let offset = i64::try_from(num("offset")?).map_err(|_| bad("offset out of range"))?;
        let seq = num("lease number")?;
        let epoch = u32::try_from(num("epoch")?).map_err(|_| bad("epoch out of range"))?;
        if parts.next().is_some() {
            return Err(bad("receipt handle has trailing fields"));
        }
        Ok(ReceiptHandle {
            queue_id,
            offset,
            seq,
            epoch,
        })
    }
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(40);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let h = ReceiptHandle {
            queue_id: 7,
            offset: 1 << 40,
            seq: u64::MAX,
            epoch: 3,
        };
        assert_eq!(ReceiptHandle::parse(&h.to_string()).unwrap(), h);
    }

    #[test]
    fn refuses_forgeries() {
        for s in [
            "",
            "fmq1",
            "fmq1-1-2-3",
            "fmq1-1-2-3-4-5",
            "fmq2-1-2-3-4",
            "fmq1-zz-2-3-4",
            "fmq1-ffffffffff-2-3-4",
            "fmq1-1-ffffffffffffffff-3-4",
            &"f".repeat(500),
            "fmq1-é-1-1-1",
        ] {
            assert!(ReceiptHandle::parse(s).is_err(), "{s:?} accepted");
        }
    }
}
