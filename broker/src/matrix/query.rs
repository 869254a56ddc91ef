//! Matrix queries as clients write them (`q[][pacticipant]=..&latestby=..`), parsed and
//! validated into [`MatrixQuery`].

use crate::drift::DriftMode;
use crate::query::{Group, NestedQuery, field};
use crate::store::StoreError;

/// Which versions of one pacticipant a query names, as the client wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectorSpec {
    pub pacticipant: String,
    pub version: Option<String>,
    pub latest: bool,
    pub tag: Option<String>,
    pub branch: Option<String>,
    pub main_branch: bool,
    pub environment: Option<String>,
}

/// Which rows survive when several share a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatestBy {
    /// The latest result per consumer version and provider version (`cvpv`).
    Cvpv,
    /// The latest result per consumer version and provider (`cvp`).
    Cvp,
    /// The latest row per consumer and provider (`cp`).
    Cp,
}

/// The query-wide options of the matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub latestby: Option<LatestBy>,
    /// The other side of each integration is its latest version (with `tag`: latest with the tag).
    pub latest: bool,
    pub tag: Option<String>,
    /// The other side of each integration is what is currently in this environment.
    pub environment: Option<String>,
    /// The other side of each integration is the head of its main branch.
    pub main_branch: bool,
    /// Keep only rows whose verification succeeded (true) or failed (false).
    pub success: Vec<bool>,
    /// At most this many rows in the answer (the decision still sees every row).
    pub limit: Option<usize>,
    /// How open drift in `environment` counts (`drift=`, `ignoreDrift=`).
    pub drift: DriftMode,
}

impl Options {
    pub(super) fn infers(&self) -> bool {
        self.latest || self.tag.is_some() || self.environment.is_some() || self.main_branch
    }
}

/// Versions whose rows do not count towards the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreSpec {
    pub pacticipant: String,
    pub version: Option<String>,
}

/// A whole matrix query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatrixQuery {
    pub selectors: Vec<SelectorSpec>,
    pub options: Options,
    pub ignore: Vec<IgnoreSpec>,
}

fn boolean(name: &str, value: &str, errors: &mut Vec<String>) -> bool {
    match value {
        "true" => true,
        "false" | "" => false,
        other => {
            errors.push(format!("{name} must be true or false, not {other:?}"));
            false
        }
    }
}

fn non_blank(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty()).map(str::to_string)
}

impl MatrixQuery {
    /// Reads the parameters of `GET /matrix`. Errors are whole sentences, for the
    /// `{"errors": [...]}` answer.
    pub fn from_query(query: &NestedQuery) -> Result<MatrixQuery, Vec<String>> {
        let mut errors = Vec::new();
        let mut selectors = Vec::new();
        for group in query.groups("q") {
            if let Some(selector) = selector_from_group(group, &mut errors) {
                selectors.push(selector);
            }
        }
        if selectors.is_empty() && errors.is_empty() {
            errors.push("Please provide 1 or more version selectors.".to_string());
        }
        let latestby = match query.get("latestby") {
            None | Some("") => None,
            Some("cvpv") => Some(LatestBy::Cvpv),
            Some("cvp") => Some(LatestBy::Cvp),
            Some("cp") => Some(LatestBy::Cp),
            Some(other) => {
                errors.push(format!("latestby must be cvpv, cvp or cp, not {other:?}"));
                None
            }
        };
        let limit = match query.get("limit") {
            None | Some("") => Some(100),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    errors.push(format!("limit must be a number of 1 or more, not {text:?}"));
                    None
                }
            },
        };
        let mut success = Vec::new();
        for value in query.list("success") {
            success.push(boolean("success[]", value, &mut errors));
        }
        let drift = DriftMode::from_params(query.get("drift"), query.get("ignoreDrift"))
            .unwrap_or_else(|error| {
                errors.push(error);
                DriftMode::default()
            });
        let options = Options {
            drift,
            latestby,
            latest: query
                .get("latest")
                .is_some_and(|v| boolean("latest", v, &mut errors)),
            tag: non_blank(query.get("tag")),
            environment: non_blank(query.get("environment")),
            main_branch: query
                .get("mainBranch")
                .is_some_and(|v| boolean("mainBranch", v, &mut errors)),
            success,
            limit,
        };
        let mut ignore = Vec::new();
        for group in query.groups("ignore") {
            match non_blank(field(group, "pacticipant")) {
                Some(pacticipant) => ignore.push(IgnoreSpec {
                    pacticipant,
                    version: non_blank(field(group, "version")),
                }),
                None => errors.push("Please specify the pacticipant name to ignore".to_string()),
            }
        }
        // `ignore[]=Name` ignores every version of a pacticipant.
        for name in query.list("ignore") {
            if !name.trim().is_empty() {
                ignore.push(IgnoreSpec {
                    pacticipant: name.clone(),
                    version: None,
                });
            }
        }
        let query = MatrixQuery {
            selectors,
            options,
            ignore,
        };
        errors.extend(query.option_errors());
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors)
        }
    }

    /// Rules about combining options.
    pub fn option_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let o = &self.options;
        if o.tag.is_some() && o.environment.is_some() {
            errors.push("Cannot specify both a tag and an environment.".to_string());
        }
        if o.latest && o.environment.is_some() {
            errors.push("Cannot specify latest=true with an environment: the versions in the environment are used.".to_string());
        }
        if o.main_branch && (o.tag.is_some() || o.environment.is_some()) {
            errors.push("Cannot specify mainBranch=true with a tag or an environment.".to_string());
        }
        errors
    }
}

fn selector_from_group(group: &Group, errors: &mut Vec<String>) -> Option<SelectorSpec> {
    let Some(pacticipant) = non_blank(field(group, "pacticipant")) else {
        errors.push("Please specify the pacticipant name".to_string());
        return None;
    };
    let latest = field(group, "latest")
        .is_some_and(|v| boolean(&format!("q[][latest] for {pacticipant}"), v, errors));
    let version = non_blank(field(group, "version"));
    if version.is_some() && latest {
        errors.push(format!(
            "A version number and latest flag cannot both be specified for {pacticipant}"
        ));
    }
    let main_branch = field(group, "mainBranch")
        .is_some_and(|v| boolean(&format!("q[][mainBranch] for {pacticipant}"), v, errors));
    Some(SelectorSpec {
        version,
        latest,
        tag: non_blank(field(group, "tag")),
        branch: non_blank(field(group, "branch")),
        main_branch,
        environment: non_blank(field(group, "environment")),
        pacticipant,
    })
}

/// Why a matrix query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The query names things that do not exist or breaks a rule; sentences for the client.
    #[error("invalid matrix query: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_options_from_a_query_string() {
        let q = NestedQuery::parse(
            "q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar&q[][latest]=true&q[][tag]=prod&latestby=cvpv&ignore[][pacticipant]=Baz&success[]=true&limit=5",
        );
        let query = MatrixQuery::from_query(&q).unwrap();
        assert_eq!(query.selectors.len(), 2);
        assert_eq!(query.selectors[0].version.as_deref(), Some("1"));
        assert!(query.selectors[1].latest);
        assert_eq!(query.selectors[1].tag.as_deref(), Some("prod"));
        assert_eq!(query.options.latestby, Some(LatestBy::Cvpv));
        assert_eq!(query.options.success, vec![true]);
        assert_eq!(query.options.limit, Some(5));
        assert_eq!(query.ignore[0].pacticipant, "Baz");
    }

    #[test]
    fn invalid_queries_list_every_problem() {
        let q = NestedQuery::parse(
            "q[][version]=1&q[][pacticipant]=Foo&q[][version]=2&q[][latest]=true&latestby=x&limit=0&environment=prod&tag=t",
        );
        let errors = MatrixQuery::from_query(&q).unwrap_err();
        let text = errors.join("\n");
        assert!(
            text.contains("Please specify the pacticipant name"),
            "{text}"
        );
        assert!(text.contains("latestby must be"), "{text}");
        assert!(text.contains("limit must be"), "{text}");
        assert!(text.contains("both a tag and an environment"), "{text}");
        let none = MatrixQuery::from_query(&NestedQuery::parse("latestby=cvpv")).unwrap_err();
        assert_eq!(none, vec!["Please provide 1 or more version selectors."]);
        let both = MatrixQuery::from_query(&NestedQuery::parse(
            "q[][pacticipant]=Foo&q[][version]=1&q[][latest]=true",
        ))
        .unwrap_err();
        assert_eq!(
            both,
            vec!["A version number and latest flag cannot both be specified for Foo"]
        );
    }
}
