//! Scopes: what a token may do, and what each request needs.
//!
//! A scope is a short string an operator types (`publish:web`, `deploy:web@production`):
//!
//! | scope | allows |
//! | --- | --- |
//! | `admin` | everything (the `--token` flag's token, or Basic read-write credentials) |
//! | `read` | every read except the audit log and the token list |
//! | `publish:NAME` | publishing pacts of consumer NAME, and NAME's versions, tags, branches |
//! | `verify:NAME` | publishing verification results of provider NAME, and NAME's versions |
//! | `deploy:NAME` / `deploy:NAME@ENV` | recording deployments and releases of NAME (in ENV) |
//! | `drift:NAME` | posting drift monitor runs for provider NAME |
//! | `webhooks` | creating, changing, executing and replaying webhooks |
//!
//! NAME and ENV may be `*` (any). Every scope but `admin` and `read` also allows reads,
//! since a pipeline that publishes also asks which pacts to verify and whether it can
//! deploy. [`Action`] is what one request needs; [`Grants::allows`] decides.
//! [`route_action`] classifies a request by method and path alone; the few writes whose
//! subject is in the body or behind an id (a publish's consumer, a deployment's
//! environment) are classified as [`RouteAction::InHandler`] and their handlers ask
//! [`Grants::allows`] themselves once they know.

use std::fmt;

use axum::http::Method;
use percent_encoding::percent_decode_str;

/// A name in a scope: one exact name, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePattern {
    Any,
    Exact(String),
}

impl NamePattern {
    fn parse(value: &str) -> Option<NamePattern> {
        match value {
            "" => None,
            "*" => Some(NamePattern::Any),
            name => Some(NamePattern::Exact(name.to_string())),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            NamePattern::Any => true,
            NamePattern::Exact(exact) => exact == name,
        }
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamePattern::Any => f.write_str("*"),
            NamePattern::Exact(name) => f.write_str(name),
        }
    }
}

/// One permission a token carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Admin,
    Read,
    Publish(NamePattern),
    Verify(NamePattern),
    /// A pacticipant, and optionally one environment (else any).
    Deploy(NamePattern, Option<NamePattern>),
    Drift(NamePattern),
    Webhooks,
}

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a scope: use admin, read, webhooks, publish:CONSUMER, verify:PROVIDER, deploy:PACTICIPANT[@ENVIRONMENT] or drift:PROVIDER (a name may be *)"
)]
pub struct ScopeError(pub String);

impl Scope {
    /// Parses `admin`, `read`, `webhooks`, `publish:NAME`, `verify:NAME`,
    /// `deploy:NAME[@ENV]` or `drift:NAME`.
    pub fn parse(value: &str) -> Result<Scope, ScopeError> {
        let refuse = || ScopeError(value.to_string());
        let (kind, rest) = match value.split_once(':') {
            Some((kind, rest)) => (kind, Some(rest)),
            None => (value, None),
        };
        let name = |rest: Option<&str>| rest.and_then(NamePattern::parse).ok_or_else(refuse);
        let scope = match (kind, rest) {
            ("admin", None) => Scope::Admin,
            ("read", None) => Scope::Read,
            ("webhooks", None) => Scope::Webhooks,
            ("publish", rest) => Scope::Publish(name(rest)?),
            ("verify", rest) => Scope::Verify(name(rest)?),
            ("drift", rest) => Scope::Drift(name(rest)?),
            ("deploy", Some(rest)) => match rest.rsplit_once('@') {
                Some((pacticipant, environment)) => {
                    Scope::Deploy(name(Some(pacticipant))?, Some(name(Some(environment))?))
                }
                None => Scope::Deploy(name(Some(rest))?, None),
            },
            _ => return Err(refuse()),
        };
        Ok(scope)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Admin => f.write_str("admin"),
            Scope::Read => f.write_str("read"),
            Scope::Webhooks => f.write_str("webhooks"),
            Scope::Publish(name) => write!(f, "publish:{name}"),
            Scope::Verify(name) => write!(f, "verify:{name}"),
            Scope::Drift(name) => write!(f, "drift:{name}"),
            Scope::Deploy(name, None) => write!(f, "deploy:{name}"),
            Scope::Deploy(name, Some(environment)) => write!(f, "deploy:{name}@{environment}"),
        }
    }
}

/// What one request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Any read but the ones below.
    Read,
    /// Reads only administrators make: the audit log, the token list.
    AdminRead,
    /// Publishing a pact of this consumer.
    PublishPact { consumer: String },
    /// Changing this pacticipant's own record, or one of its versions (tags, branches).
    WritePacticipant { pacticipant: String },
    /// Publishing a verification result of this provider.
    PublishVerification { provider: String },
    /// Recording (or ending) a deployment or release of this pacticipant.
    RecordDeployment {
        pacticipant: String,
        environment: String,
    },
    /// Posting a drift monitor run for this provider.
    ReportDrift { provider: String },
    /// Managing webhooks.
    ManageWebhooks,
    /// Anything else: environments, labels, deletions, retention, tokens.
    Admin,
}

impl Action {
    /// The scope that would allow this action, as the error names it.
    pub fn needed_scope(&self) -> String {
        match self {
            Action::Read => "read".into(),
            Action::AdminRead | Action::Admin => "admin".into(),
            Action::PublishPact { consumer } => format!("publish:{consumer}"),
            Action::WritePacticipant { pacticipant } => {
                format!("publish:{pacticipant}, verify:{pacticipant} or deploy:{pacticipant}")
            }
            Action::PublishVerification { provider } => format!("verify:{provider}"),
            Action::RecordDeployment {
                pacticipant,
                environment,
            } => format!("deploy:{pacticipant}@{environment}"),
            Action::ReportDrift { provider } => format!("drift:{provider}"),
            Action::ManageWebhooks => "webhooks".into(),
        }
    }
}

/// The scopes one caller holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(pub Vec<Scope>);

impl Grants {
    pub fn admin() -> Grants {
        Grants(vec![Scope::Admin])
    }

    pub fn read() -> Grants {
        Grants(vec![Scope::Read])
    }

    /// Whether any scope allows `action`.
    pub fn allows(&self, action: &Action) -> bool {
        self.0.iter().any(|scope| scope_allows(scope, action))
    }
}

fn scope_allows(scope: &Scope, action: &Action) -> bool {
    match (scope, action) {
        (Scope::Admin, _) => true,
        (_, Action::Read) => true,
        (Scope::Publish(name), Action::PublishPact { consumer }) => name.matches(consumer),
        (Scope::Verify(name), Action::PublishVerification { provider }) => name.matches(provider),
        (Scope::Drift(name), Action::ReportDrift { provider }) => name.matches(provider),
        (
            Scope::Deploy(name, environments),
            Action::RecordDeployment {
                pacticipant,
                environment,
            },
        ) => {
            name.matches(pacticipant)
                && environments
                    .as_ref()
                    .is_none_or(|allowed| allowed.matches(environment))
        }
        (
            Scope::Publish(name) | Scope::Verify(name) | Scope::Deploy(name, _),
            Action::WritePacticipant { pacticipant },
        ) => name.matches(pacticipant),
        (Scope::Webhooks, Action::ManageWebhooks) => true,
        _ => false,
    }
}

/// What a request needs, as far as its method and path tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    Needs(Action),
    /// The handler decides once it has read the body or looked up an id (a publish's
    /// consumer, a deployment's environment); it must call [`Grants::allows`].
    InHandler,
}

/// Whether a request changes nothing: GET, HEAD, OPTIONS, and the POST that asks
/// which pacts to verify.
pub fn is_read(method: &Method, path: &str) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST
            && path.starts_with("/pacts/provider/")
            && path.ends_with("/for-verification"))
}

/// Classifies a request by its method and (percent-encoded) path.
pub fn route_action(method: &Method, path: &str) -> RouteAction {
    use RouteAction::{InHandler, Needs};
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    if is_read(method, path) {
        return match s.as_slice() {
            ["audit", ..] | ["tokens", ..] => Needs(Action::AdminRead),
            _ => Needs(Action::Read),
        };
    }
    let pacticipant = |name: &str| {
        Needs(Action::WritePacticipant {
            pacticipant: name.to_string(),
        })
    };
    let is = |m: Method| *method == m;
    match s.as_slice() {
        ["contracts", "publish"] => InHandler,
        // PUT/PATCH a pact for a consumer version.
        ["pacts", "provider", _, "consumer", consumer, "version", _]
            if is(Method::PUT) || is(Method::PATCH) =>
        {
            Needs(Action::PublishPact {
                consumer: consumer.to_string(),
            })
        }
        [
            "pacts",
            "provider",
            provider,
            "consumer",
            _,
            "pact-version",
            _,
            "verification-results",
        ]
        | [
            "pacts",
            "provider",
            provider,
            "consumer",
            _,
            "pact-version",
            _,
            "metadata",
            _,
            "verification-results",
        ] if is(Method::POST) => Needs(Action::PublishVerification {
            provider: provider.to_string(),
        }),
        // A provider contract is the provider's evidence about itself, as a result is.
        ["provider-contracts", "provider", provider, "publish"] if is(Method::POST) => {
            Needs(Action::PublishVerification {
                provider: provider.to_string(),
            })
        }
        // A breaking-change report reads and writes nothing.
        ["provider-contracts", "provider", _, "diff"] if is(Method::POST) => Needs(Action::Read),
        ["contracts", "provider", provider, "version", _] if is(Method::PUT) => {
            Needs(Action::PublishVerification {
                provider: provider.to_string(),
            })
        }
        ["pacticipants", name] if is(Method::PUT) || is(Method::PATCH) => pacticipant(name),
        ["pacticipants", name, "versions", _] if is(Method::PUT) || is(Method::PATCH) => {
            pacticipant(name)
        }
        ["pacticipants", name, "versions", _, "tags", _] => pacticipant(name),
        ["pacticipants", name, "branches", _, "versions", _] => pacticipant(name),
        [
            "pacticipants",
            _,
            "versions",
            _,
            "deployed-versions" | "released-versions",
            "environment",
            _,
        ] if is(Method::POST) => InHandler,
        ["deployed-versions" | "released-versions", _] if is(Method::PATCH) => InHandler,
        ["drift", "provider", provider] if is(Method::POST) => Needs(Action::ReportDrift {
            provider: provider.to_string(),
        }),
        ["webhooks", ..] | ["triggered-webhooks", ..] | ["ui", "webhooks", ..] => {
            Needs(Action::ManageWebhooks)
        }
        ["pacts", "provider", _, "consumer", _, "webhooks", ..] => Needs(Action::ManageWebhooks),
        _ => Needs(Action::Admin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(values: &[&str]) -> Grants {
        Grants(values.iter().map(|v| Scope::parse(v).unwrap()).collect())
    }

    #[test]
    fn scopes_parse_and_print_back() {
        for text in [
            "admin",
            "read",
            "webhooks",
            "publish:web",
            "publish:*",
            "verify:orders",
            "drift:orders",
            "deploy:web",
            "deploy:web@production",
            "deploy:*@test",
            "publish:name with spaces",
        ] {
            assert_eq!(Scope::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "",
            "write",
            "publish",
            "publish:",
            "deploy:",
            "deploy:web@",
            "admin:x",
            "read:y",
            "Publish:web",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn each_scope_allows_its_actions_and_nothing_else() {
        use Action::*;
        let publish = |c: &str| PublishPact { consumer: c.into() };
        let verify = |p: &str| PublishVerification { provider: p.into() };
        let deploy = |p: &str, e: &str| RecordDeployment {
            pacticipant: p.into(),
            environment: e.into(),
        };
        let write = |p: &str| WritePacticipant {
            pacticipant: p.into(),
        };
        let drift = |p: &str| ReportDrift { provider: p.into() };
        // (scopes, action, allowed)
        let table: Vec<(&[&str], Action, bool)> = vec![
            (&["admin"], Admin, true),
            (&["admin"], AdminRead, true),
            (&["admin"], publish("web"), true),
            (&["read"], Read, true),
            (&["read"], AdminRead, false),
            (&["read"], publish("web"), false),
            (&["read"], ManageWebhooks, false),
            (&["publish:web"], Read, true),
            (&["publish:web"], publish("web"), true),
            (&["publish:web"], publish("mobile"), false),
            (&["publish:web"], write("web"), true),
            (&["publish:web"], write("orders"), false),
            (&["publish:web"], verify("web"), false),
            (&["publish:web"], deploy("web", "production"), false),
            (&["publish:web"], Admin, false),
            (&["publish:web"], AdminRead, false),
            (&["publish:*"], publish("anything"), true),
            (&["verify:orders"], verify("orders"), true),
            (&["verify:orders"], verify("billing"), false),
            (&["verify:orders"], write("orders"), true),
            (&["verify:orders"], publish("orders"), false),
            (&["deploy:web"], deploy("web", "production"), true),
            (&["deploy:web"], deploy("web", "test"), true),
            (&["deploy:web"], deploy("orders", "test"), false),
            (&["deploy:web@test"], deploy("web", "test"), true),
            (&["deploy:web@test"], deploy("web", "production"), false),
            (&["deploy:*@test"], deploy("orders", "test"), true),
            (&["deploy:web@test"], write("web"), true),
            (&["drift:orders"], drift("orders"), true),
            (&["drift:orders"], drift("web"), false),
            (&["drift:orders"], verify("orders"), false),
            (&["webhooks"], ManageWebhooks, true),
            (&["webhooks"], Admin, false),
            (
                &["publish:web", "deploy:web@production"],
                deploy("web", "production"),
                true,
            ),
            (
                &["publish:web", "deploy:web@production"],
                publish("web"),
                true,
            ),
            (&[], Read, false),
        ];
        for (held, action, allowed) in table {
            assert_eq!(
                scopes(held).allows(&action),
                allowed,
                "{held:?} allows {action:?}"
            );
        }
    }

    #[test]
    fn routes_are_classified_by_method_and_path() {
        use Action::*;
        let table: Vec<(Method, &str, RouteAction)> = vec![
            (Method::GET, "/pacticipants", RouteAction::Needs(Read)),
            (Method::GET, "/audit", RouteAction::Needs(AdminRead)),
            (Method::GET, "/tokens", RouteAction::Needs(AdminRead)),
            (
                Method::POST,
                "/pacts/provider/orders/for-verification",
                RouteAction::Needs(Read),
            ),
            (Method::POST, "/contracts/publish", RouteAction::InHandler),
            (
                Method::POST,
                "/provider-contracts/provider/orders/publish",
                RouteAction::Needs(PublishVerification {
                    provider: "orders".into(),
                }),
            ),
            (
                Method::PUT,
                "/contracts/provider/orders/version/1",
                RouteAction::Needs(PublishVerification {
                    provider: "orders".into(),
                }),
            ),
            (
                Method::POST,
                "/provider-contracts/provider/orders/diff",
                RouteAction::Needs(Read),
            ),
            (
                Method::DELETE,
                "/provider-contracts/provider/orders/version/1",
                RouteAction::Needs(Admin),
            ),
            (
                Method::PUT,
                "/pacts/provider/orders/consumer/web%20app/version/1",
                RouteAction::Needs(PublishPact {
                    consumer: "web app".into(),
                }),
            ),
            (
                Method::DELETE,
                "/pacts/provider/orders/consumer/web/version/1",
                RouteAction::Needs(Admin),
            ),
            (
                Method::POST,
                "/pacts/provider/orders/consumer/web/pact-version/abc/verification-results",
                RouteAction::Needs(PublishVerification {
                    provider: "orders".into(),
                }),
            ),
            (
                Method::POST,
                "/pacts/provider/orders/consumer/web/pact-version/abc/metadata/xyz/verification-results",
                RouteAction::Needs(PublishVerification {
                    provider: "orders".into(),
                }),
            ),
            (
                Method::PUT,
                "/pacticipants/web/versions/1/tags/prod",
                RouteAction::Needs(WritePacticipant {
                    pacticipant: "web".into(),
                }),
            ),
            (
                Method::PUT,
                "/pacticipants/web/branches/main/versions/1",
                RouteAction::Needs(WritePacticipant {
                    pacticipant: "web".into(),
                }),
            ),
            (
                Method::PATCH,
                "/pacticipants/web",
                RouteAction::Needs(WritePacticipant {
                    pacticipant: "web".into(),
                }),
            ),
            (
                Method::DELETE,
                "/pacticipants/web",
                RouteAction::Needs(Admin),
            ),
            (
                Method::DELETE,
                "/pacticipants/web/versions/1",
                RouteAction::Needs(Admin),
            ),
            (Method::POST, "/pacticipants", RouteAction::Needs(Admin)),
            (
                Method::POST,
                "/pacticipants/web/versions/1/deployed-versions/environment/u-1",
                RouteAction::InHandler,
            ),
            (
                Method::POST,
                "/pacticipants/web/versions/1/released-versions/environment/u-1",
                RouteAction::InHandler,
            ),
            (
                Method::PATCH,
                "/deployed-versions/u-2",
                RouteAction::InHandler,
            ),
            (
                Method::PATCH,
                "/released-versions/u-2",
                RouteAction::InHandler,
            ),
            (
                Method::POST,
                "/drift/provider/orders",
                RouteAction::Needs(ReportDrift {
                    provider: "orders".into(),
                }),
            ),
            (
                Method::POST,
                "/webhooks",
                RouteAction::Needs(ManageWebhooks),
            ),
            (
                Method::POST,
                "/webhooks/dead-letter/u/replay",
                RouteAction::Needs(ManageWebhooks),
            ),
            (
                Method::POST,
                "/ui/webhooks/deliveries/u/replay",
                RouteAction::Needs(ManageWebhooks),
            ),
            (Method::POST, "/environments", RouteAction::Needs(Admin)),
            (Method::POST, "/admin/retention", RouteAction::Needs(Admin)),
            (Method::POST, "/admin/import", RouteAction::Needs(Admin)),
            (Method::POST, "/tokens", RouteAction::Needs(Admin)),
            (
                Method::PUT,
                "/pacticipants/web/labels/team-a",
                RouteAction::Needs(Admin),
            ),
        ];
        for (method, path, expected) in table {
            assert_eq!(route_action(&method, path), expected, "{method} {path}");
        }
    }
}
