//! W3C Trace Context (`traceparent`) values: parse one a caller sent, continue it
//! with a child for an outbound call, or start a fresh trace.
//!
//! The broker records the trace id of an incoming `traceparent` in the request
//! span and echoes the value it continued; webhook calls caused by a request send
//! a child of that request's `traceparent` (same trace id, a new parent id), so a
//! tracing backend links the receiver's work to the publish that caused it.
//!
//! Only version `00` is produced. Values of a higher version are accepted when
//! their first four fields have the version-00 shape, as the specification asks
//! (<https://www.w3.org/TR/trace-context/#versioning-of-traceparent>).
//!
//! ```
//! # use accord_broker::trace::TraceParent;
//! let incoming: TraceParent =
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
//! let outbound = incoming.child();
//! assert_eq!(outbound.trace_id(), incoming.trace_id());
//! assert_ne!(outbound.parent_id(), incoming.parent_id());
//! ```

use std::fmt;
use std::str::FromStr;

/// The name of the HTTP header that carries a [`TraceParent`].
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// One `traceparent` value: a trace id shared by every hop of a trace, the id of
/// the span that made the call (`parent-id`), and the trace flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
}

/// Why a `traceparent` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceParentError {
    /// The value does not have the `version-traceid-parentid-flags` shape with
    /// lowercase hex fields of 2, 32, 16 and 2 digits.
    #[error("traceparent must look like 00-<32 hex digits>-<16 hex digits>-<2 hex digits>")]
    Malformed,
    /// Version `ff` is forbidden by the specification.
    #[error("traceparent version ff is invalid")]
    InvalidVersion,
    /// A trace id or parent id of all zeros is invalid.
    #[error("traceparent trace id and parent id must not be all zeros")]
    ZeroId,
}

/// The sampled flag (bit 0 of the trace flags).
const SAMPLED: u8 = 0x01;

impl TraceParent {
    /// Starts a new trace: a random trace id and parent id, sampled.
    pub fn fresh() -> Self {
        let trace_id = random_nonzero::<16>();
        let parent_id = random_nonzero::<8>();
        Self {
            trace_id,
            parent_id,
            flags: SAMPLED,
        }
    }

    /// Continues this trace for an outbound call: the same trace id and flags,
    /// a new random parent id (the span of the outbound call).
    pub fn child(&self) -> Self {
        Self {
            trace_id: self.trace_id,
            parent_id: random_nonzero::<8>(),
            flags: self.flags,
        }
    }

    /// The trace id as 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The parent id (the caller's span id) as 16 lowercase hex digits.
    pub fn parent_id(&self) -> String {
        hex::encode(self.parent_id)
    }

    /// Whether the caller asked for this trace to be recorded.
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// Parses a header value, answering `None` for a missing or invalid one: the
    /// specification says a receiver restarts the trace rather than failing.
    pub fn from_header(value: Option<&str>) -> Option<Self> {
        value.and_then(|value| value.trim().parse().ok())
    }
}

impl FromStr for TraceParent {
    type Err = TraceParentError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut fields = value.split('-');
        let (Some(version), Some(trace_id), Some(parent_id), Some(flags)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(TraceParentError::Malformed);
        };
        let version = hex_field::<1>(version)?[0];
        if version == 0xff {
            return Err(TraceParentError::InvalidVersion);
        }
        // Version 00 has exactly four fields; a later version may append more,
        // which a version-00 reader ignores.
        if version == 0 && fields.next().is_some() {
            return Err(TraceParentError::Malformed);
        }
        let trace_id = hex_field::<16>(trace_id)?;
        let parent_id = hex_field::<8>(parent_id)?;
        let flags = hex_field::<1>(flags)?[0];
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return Err(TraceParentError::ZeroId);
        }
        Ok(Self {
            trace_id,
            parent_id,
            flags,
        })
    }
}

impl fmt::Display for TraceParent {
    /// Formats as a version-00 header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.parent_id),
            self.flags
        )
    }
}

/// Decodes exactly `N` bytes of lowercase hex (the specification forbids uppercase).
fn hex_field<const N: usize>(field: &str) -> Result<[u8; N], TraceParentError> {
    if field.len() != N * 2
        || !field
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(TraceParentError::Malformed);
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(field, &mut out).map_err(|_| TraceParentError::Malformed)?;
    Ok(out)
}

/// `N` random bytes, not all zero (an all-zero id is invalid). The bytes come from
/// version-4 UUIDs, which draw from the operating system's random source.
fn random_nonzero<const N: usize>() -> [u8; N] {
    loop {
        let mut out = [0u8; N];
        let random = uuid::Uuid::new_v4();
        // A v4 UUID fixes six of its bits; mixing two keeps every output bit random.
        let other = uuid::Uuid::new_v4();
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = random.as_bytes()[i] ^ other.as_bytes()[15 - i];
        }
        if out != [0u8; N] {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_formats_the_specification_example() {
        let parsed: TraceParent = EXAMPLE.parse().unwrap();
        assert_eq!(parsed.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parsed.parent_id(), "00f067aa0ba902b7");
        assert!(parsed.sampled());
        assert_eq!(parsed.to_string(), EXAMPLE);
    }

    #[test]
    fn keeps_unsampled_flags() {
        let parsed: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
            .parse()
            .unwrap();
        assert!(!parsed.sampled());
        assert!(!parsed.child().sampled());
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            // Uppercase hex is forbidden.
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            // Wrong lengths.
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // Not hex.
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            // Version 00 has no fifth field.
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(
                bad.parse::<TraceParent>(),
                Err(TraceParentError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_version_ff_and_zero_ids() {
        assert_eq!(
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse::<TraceParent>(),
            Err(TraceParentError::InvalidVersion)
        );
        assert_eq!(
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01".parse::<TraceParent>(),
            Err(TraceParentError::ZeroId)
        );
        assert_eq!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01".parse::<TraceParent>(),
            Err(TraceParentError::ZeroId)
        );
    }

    #[test]
    fn accepts_a_later_version_with_extra_fields_and_answers_version_00() {
        let parsed: TraceParent = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"
            .parse()
            .unwrap();
        assert_eq!(parsed.to_string(), EXAMPLE);
    }

    #[test]
    fn from_header_ignores_missing_and_invalid_values() {
        assert_eq!(TraceParent::from_header(None), None);
        assert_eq!(TraceParent::from_header(Some("garbage")), None);
        assert_eq!(
            TraceParent::from_header(Some(&format!(" {EXAMPLE} "))),
            Some(EXAMPLE.parse().unwrap())
        );
    }

    #[test]
    fn a_child_keeps_the_trace_and_flags_with_a_new_parent_id() {
        let parent: TraceParent = EXAMPLE.parse().unwrap();
        let child = parent.child();
        assert_eq!(child.trace_id(), parent.trace_id());
        assert_eq!(child.sampled(), parent.sampled());
        assert_ne!(child.parent_id(), parent.parent_id());
        assert_ne!(child.parent_id(), parent.child().parent_id());
        // The child formats as a valid value that parses back to itself.
        assert_eq!(child.to_string().parse::<TraceParent>(), Ok(child));
    }

    #[test]
    fn fresh_traces_are_valid_sampled_and_distinct() {
        let one = TraceParent::fresh();
        let two = TraceParent::fresh();
        assert!(one.sampled());
        assert_ne!(one.trace_id(), two.trace_id());
        assert_eq!(one.to_string().len(), 55);
        assert_eq!(one.to_string().parse::<TraceParent>(), Ok(one));
    }
}
