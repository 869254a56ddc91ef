//! The drift rules every part shares: how can-i-deploy treats open drift
//! ([`DriftMode`], sent by the clients and read by the broker), and the identity of a
//! drift finding across runs ([`fingerprint_text`], which the monitor alerts by, and
//! [`fingerprint`], its hash, which the broker keys open findings by).

use sha2::{Digest, Sha256};

/// How can-i-deploy treats open drift (`drift=` in the matrix query).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DriftMode {
    /// Open drift concerning the deployment makes the answer no.
    #[default]
    Block,
    /// Open drift is reported as warnings; the answer is unchanged.
    Warn,
    /// Drift is not looked at.
    Ignore,
}

impl DriftMode {
    /// The value of the `drift` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftMode::Block => "block",
            DriftMode::Warn => "warn",
            DriftMode::Ignore => "ignore",
        }
    }

    /// Reads `drift=block|warn|ignore` and `ignoreDrift=true|false`. The error is a
    /// sentence for the client.
    pub fn from_params(drift: Option<&str>, ignore_drift: Option<&str>) -> Result<Self, String> {
        let mode = match drift.map(str::trim) {
            None | Some("") => None,
            Some("block") => Some(DriftMode::Block),
            Some("warn") => Some(DriftMode::Warn),
            Some("ignore") => Some(DriftMode::Ignore),
            Some(other) => {
                return Err(format!(
                    "drift must be block, warn or ignore, not {other:?}"
                ));
            }
        };
        let ignore = match ignore_drift.map(str::trim) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(format!("ignoreDrift must be true or false, not {other:?}")),
        };
        match (mode, ignore) {
            (Some(mode), true) if mode != DriftMode::Ignore => Err(format!(
                "ignoreDrift=true contradicts drift={}: give one of them",
                mode.as_str()
            )),
            (_, true) => Ok(DriftMode::Ignore),
            (mode, false) => Ok(mode.unwrap_or_default()),
        }
    }
}

/// The identity of a finding across runs, as text: the consumers sorted and joined by
/// commas, the interaction, the pointer with array indices replaced by `*`, and the
/// class, separated by U+001F. The same drift reported on item 3 in one run and item 0
/// in the next (the provider reordered the array) is one finding.
pub fn fingerprint_text(
    consumers: &[String],
    interaction: &str,
    pointer: &str,
    class: &str,
) -> String {
    let mut consumers = consumers.to_vec();
    consumers.sort();
    let pointer = pointer
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    format!(
        "{}\u{1f}{interaction}\u{1f}{pointer}\u{1f}{class}",
        consumers.join(",")
    )
}

/// The SHA-256 (hex) of [`fingerprint_text`]: the key the broker stores findings by.
pub fn fingerprint(consumers: &[String], interaction: &str, pointer: &str, class: &str) -> String {
    hex::encode(Sha256::digest(
        fingerprint_text(consumers, interaction, pointer, class).as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_array_indices_and_consumer_order() {
        let a = fingerprint(
            &["web".into(), "app".into()],
            "get order",
            "/body/items/3/price",
            "type_changed",
        );
        let b = fingerprint(
            &["app".into(), "web".into()],
            "get order",
            "/body/items/0/price",
            "type_changed",
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint(
                &["web".into()],
                "get order",
                "/body/items/0/price",
                "type_changed"
            )
        );
    }

    #[test]
    fn drift_modes_read_both_parameters() {
        assert_eq!(DriftMode::from_params(None, None), Ok(DriftMode::Block));
        assert_eq!(
            DriftMode::from_params(Some("warn"), None),
            Ok(DriftMode::Warn)
        );
        assert_eq!(
            DriftMode::from_params(None, Some("true")),
            Ok(DriftMode::Ignore)
        );
        assert!(DriftMode::from_params(Some("block"), Some("true")).is_err());
        assert!(DriftMode::from_params(Some("loud"), None).is_err());
    }
}
