//! The connection limits every server command takes (`accord broker`, `mock`, `stub`, `record`
//! and the metrics endpoint of `accord monitor`): the same three flags, each command reading
//! them from its own environment variables.

use std::time::Duration;

use accord_net::ServeOptions;

/// A duration longer than zero (`300ms`, `10s`, `2m`).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if duration.is_zero() {
        return Err("must be longer than 0".to_string());
    }
    Ok(duration)
}

/// A connection count of at least 1.
pub fn connection_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(count) => Ok(count),
        Err(err) => Err(format!("{err} (expected a whole number such as 1024)")),
    }
}

/// Declares a clap `Args` struct with the three limits, under flag names starting with
/// `$long` and environment variables starting with `$env`.
macro_rules! serve_args {
    ($(#[$doc:meta])* $name:ident, $long:literal, $env:literal) => {
        $(#[$doc])*
        #[derive(Debug, clap::Args)]
        pub struct $name {
            /// Close a connection whose request head (request line and headers) is not complete
            /// this long after its first byte, or after the connection opened.
            #[arg(
                long = concat!($long, "header-read-timeout"),
                env = concat!($env, "HEADER_READ_TIMEOUT"),
                value_name = "DURATION",
                default_value = "10s",
                value_parser = $crate::cmd::serve::positive_duration
            )]
            pub header_read_timeout: std::time::Duration,

            /// Close a connection that has had no request in flight for this long.
            #[arg(
                long = concat!($long, "idle-timeout"),
                env = concat!($env, "IDLE_TIMEOUT"),
                value_name = "DURATION",
                default_value = "60s",
                value_parser = $crate::cmd::serve::positive_duration
            )]
            pub idle_timeout: std::time::Duration,

            /// Serve at most this many connections at once; further ones wait to be accepted.
            #[arg(
                long = concat!($long, "max-connections"),
                env = concat!($env, "MAX_CONNECTIONS"),
                value_name = "N",
                default_value = "1024",
                value_parser = $crate::cmd::serve::connection_count
            )]
            pub max_connections: usize,
        }

        impl $name {
            pub fn options(&self) -> accord_net::ServeOptions {
                accord_net::ServeOptions {
                    header_read_timeout: self.header_read_timeout,
                    idle_timeout: self.idle_timeout,
                    max_connections: self.max_connections,
                }
            }
        }
    };
}

serve_args!(
    /// Connection limits of `accord broker`.
    BrokerServeArgs, "", "ACCORD_BROKER_"
);
serve_args!(
    /// Connection limits of `accord mock`.
    MockServeArgs, "", "ACCORD_MOCK_"
);
serve_args!(
    /// Connection limits of `accord stub`.
    StubServeArgs, "", "ACCORD_STUB_"
);
serve_args!(
    /// Connection limits of `accord record`.
    RecordServeArgs, "", "ACCORD_RECORD_"
);
serve_args!(
    /// Connection limits of the metrics endpoint of `accord monitor`.
    MetricsServeArgs, "metrics-", "ACCORD_MONITOR_METRICS_"
);

/// The defaults of the flags are the library's.
const _: () = {
    assert!(ServeOptions::DEFAULT_HEADER_READ_TIMEOUT.as_secs() == 10);
    assert!(ServeOptions::DEFAULT_IDLE_TIMEOUT.as_secs() == 60);
    assert!(ServeOptions::DEFAULT_MAX_CONNECTIONS == 1024);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_must_be_positive() {
        assert_eq!(positive_duration("300ms"), Ok(Duration::from_millis(300)));
        assert!(
            positive_duration("0s")
                .unwrap_err()
                .contains("longer than 0")
        );
        assert_eq!(connection_count("8"), Ok(8));
        assert!(connection_count("0").unwrap_err().contains("at least 1"));
        assert!(
            connection_count("many")
                .unwrap_err()
                .contains("whole number")
        );
    }
}
