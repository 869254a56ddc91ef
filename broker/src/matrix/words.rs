//! The wording of the matrix's answers: one line per blocker saying which versions and
//! which pact are involved, and the command that would fix it.

use crate::repr::Urls;
use crate::store::{Publication, StoreError};

use super::reader::Reader;
use super::*;

/// Writes the messages.
pub(super) struct Words<'a> {
    pub(super) base: &'a str,
    pub(super) sides: &'a [Side],
    pub(super) links: &'a [Link],
}

impl Words<'_> {
    pub(super) fn pact_url(&self, pp: &Publication) -> String {
        Urls(self.base).pact(
            &pp.provider_name,
            &pp.consumer_name,
            &pp.consumer_version_number,
        )
    }

    pub(super) fn sides_of(&self, row: &Row) -> (&Side, &Side) {
        let link = self.links[row.link];
        (&self.sides[link.consumer], &self.sides[link.provider])
    }

    pub(super) fn verify_command(&self, provider: &str, pact_url: &str, version: &str) -> String {
        format!(
            "accord verify --provider {} --provider-base-url URL_OF_{} --pact-url {pact_url} --provider-version {} --publish",
            shell_word(provider),
            placeholder(provider),
            shell_word(version)
        )
    }

    pub(super) fn failed(&self, row: &Row) -> String {
        let (consumer, provider) = self.sides_of(row);
        let pp = &row.publication;
        let pact_url = self.pact_url(pp);
        let verification = row.verification.as_ref();
        let provider_version = verification.map_or("?", |v| v.provider_version_number.as_str());
        let result_url = verification.map_or(String::new(), |v| {
            Urls(self.base).verification(&v.provider_name, &v.consumer_name, &v.sha, v.id)
        });
        if let Some(v) = verification
            && crate::provider_contracts::is_from_contract(v.verified_by.as_ref())
        {
            return format!(
                "The provider contract of {} does not satisfy the pact of {}: {} (comparison: {result_url}). Change {} and publish its contract again (accord publish-provider-contract), or change the pact.",
                provider.describe(provider_version),
                consumer.describe(&pp.consumer_version_number),
                crate::provider_contracts::first_problem(v),
                pp.provider_name,
            );
        }
        format!(
            "The verification of the pact between {} and {} failed (result: {result_url}). Fix {} or change the pact, then publish a passing result: {}",
            consumer.describe(&pp.consumer_version_number),
            provider.describe(provider_version),
            pp.provider_name,
            self.verify_command(&pp.provider_name, &pact_url, "NEW_PROVIDER_VERSION"),
        )
    }

    pub(super) async fn unverified(
        &self,
        row: &Row,
        reader: &mut Reader<'_>,
    ) -> Result<String, StoreError> {
        let (consumer, provider) = self.sides_of(row);
        let pp = &row.publication;
        let pact_url = self.pact_url(pp);
        let consumer_text = consumer.describe(&pp.consumer_version_number);
        let provider_name = &pp.provider_name;
        Ok(match &provider.versions {
            None => format!(
                "The pact between {consumer_text} and {provider_name} has never been verified by any version of {provider_name} ({pact_url}). Verify it and publish the result: {}",
                self.verify_command(provider_name, &pact_url, "PROVIDER_VERSION")
            ),
            Some(versions) if !versions.is_empty() => {
                let first = &versions[0].number;
                let more = if versions.len() > 1 {
                    format!(
                        " (then again with --provider-version {})",
                        versions[1..]
                            .iter()
                            .map(|v| v.number.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    String::new()
                };
                format!(
                    "{} has not verified the pact of {consumer_text} ({pact_url}). Verify it and publish the result: {}{more}",
                    provider.describe_versions(),
                    self.verify_command(provider_name, &pact_url, first)
                )
            }
            Some(_) => {
                // Nothing selected on the provider side: say why, and what would fix it.
                let verified_by = reader
                    .verifications(pp.pact_version_id, pp.provider_id)
                    .await?
                    .into_iter()
                    .rev()
                    .find(|v| v.success)
                    .map(|v| v.provider_version_number);
                let candidate = verified_by.clone().unwrap_or_else(|| "VERSION".to_string());
                let already = verified_by
                    .map(|v| format!(" ({provider_name} {v} has verified it)"))
                    .unwrap_or_default();
                let hint = match &provider.scope {
                    Scope::InEnvironment(e) => format!(
                        "Deploy a version of {provider_name} that has verified this pact{already} and record it: accord record-deployment --pacticipant {} --version {} --environment {} --broker-base-url {}",
                        shell_word(provider_name),
                        shell_word(&candidate),
                        shell_word(e),
                        self.base
                    ),
                    Scope::LatestWithTag(t) | Scope::WithTag(t) => format!(
                        "Verify the pact from a version of {provider_name} tagged {t}{already}: {} --provider-tags {}",
                        self.verify_command(provider_name, &pact_url, &candidate),
                        shell_word(t)
                    ),
                    Scope::BranchHead(b)
                    | Scope::OnBranch(b)
                    | Scope::MainBranchHead(Some(b))
                    | Scope::OnMainBranch(Some(b)) => format!(
                        "Verify the pact from a version of {provider_name} on branch {b}: {} --provider-branch {}",
                        self.verify_command(provider_name, &pact_url, "PROVIDER_VERSION"),
                        shell_word(b)
                    ),
                    Scope::MainBranchHead(None) | Scope::OnMainBranch(None) => format!(
                        "Set the main branch of {provider_name} (PATCH {} with {{\"mainBranch\": \"main\"}}) and publish results from it",
                        Urls(self.base).pacticipant(provider_name)
                    ),
                    _ => format!(
                        "Verify it and publish the result: {}",
                        self.verify_command(provider_name, &pact_url, "PROVIDER_VERSION")
                    ),
                };
                format!(
                    "{consumer_text} has a pact with {provider_name} ({pact_url}), but {}. {hint}",
                    lowercase_first(&provider.emptiness())
                )
            }
        })
    }

    pub(super) fn missing_link(&self, link: &Link) -> String {
        let consumer = &self.sides[link.consumer];
        let provider = &self.sides[link.provider];
        format!(
            "There is no verified pact between {} and {} among the rows selected (success[] filters the rows). Ask without success[] to see what is missing.",
            consumer.describe_versions(),
            provider.describe_versions()
        )
    }

    pub(super) async fn empty_side(
        &self,
        side: &Side,
        reader: &mut Reader<'_>,
    ) -> Result<String, StoreError> {
        let name = side.name();
        let hint = match &side.scope {
            Scope::Version(number) => {
                let integrations = reader.integrations(side.pacticipant.id).await?;
                let consumer = integrations
                    .iter()
                    .any(|i| i.consumer_id == side.pacticipant.id);
                let provider = integrations
                    .iter()
                    .any(|i| i.provider_id == side.pacticipant.id);
                let publish = format!(
                    "accord publish PACTS_DIR --consumer-app-version {} --broker-base-url {}",
                    shell_word(number),
                    self.base
                );
                let verify = format!(
                    "accord verify --provider {} --provider-base-url URL_OF_{} --broker-url {} --provider-version {} --publish",
                    shell_word(name),
                    placeholder(name),
                    self.base,
                    shell_word(number)
                );
                match (consumer, provider) {
                    (true, false) => {
                        format!("Check the version number, or publish its pacts first: {publish}")
                    }
                    (false, true) => format!(
                        "Check the version number, or publish its verification results first: {verify}"
                    ),
                    _ => format!(
                        "Check the version number, or publish its pacts ({publish}) or its verification results ({verify}) first"
                    ),
                }
            }
            Scope::InEnvironment(e) => format!(
                "Record the deployment first: accord record-deployment --pacticipant {} --version VERSION --environment {} --broker-base-url {}",
                shell_word(name),
                shell_word(e),
                self.base
            ),
            Scope::MainBranchHead(None) | Scope::OnMainBranch(None) => format!(
                "Set it with PATCH {} and {{\"mainBranch\": \"main\"}}",
                Urls(self.base).pacticipant(name)
            ),
            _ => "Check the name, or publish a version with it first".to_string(),
        };
        Ok(format!("{}. {hint}", side.emptiness()))
    }

    /// Warnings for pacts that some, but not all, of several selected provider
    /// versions verified: the answer counts the ones that did (as the Pact Broker
    /// does), but the others run beside them.
    pub(super) fn partially_verified(&self, considered: &[Row]) -> Vec<Notice> {
        let mut notices = Vec::new();
        let mut by_publication: BTreeMap<(i64, usize), Vec<&Row>> = BTreeMap::new();
        for row in considered.iter().filter(|r| r.verification.is_some()) {
            by_publication
                .entry((row.publication.id, row.link))
                .or_default()
                .push(row);
        }
        for ((_, link), rows) in by_publication {
            let provider = &self.sides[self.links[link].provider];
            let Some(versions) = &provider.versions else {
                continue;
            };
            if versions.len() < 2 {
                continue;
            }
            let pp = &rows[0].publication;
            let verified: HashSet<i64> = rows
                .iter()
                .filter_map(|r| r.verification.as_ref().map(|v| v.provider_version_id))
                .collect();
            let consumer = &self.sides[self.links[link].consumer];
            for version in versions.iter().filter(|v| !verified.contains(&v.id)) {
                let pact_url = self.pact_url(pp);
                notices.push(Notice::new(
                    NoticeKind::Warning,
                    format!(
                        "{} has not verified the pact of {} ({pact_url}); the answer relies on the other selected version(s) of {} that did. Verify it too: {}",
                        provider.describe(&version.number),
                        consumer.describe(&pp.consumer_version_number),
                        pp.provider_name,
                        self.verify_command(&pp.provider_name, &pact_url, &version.number)
                    ),
                ));
            }
        }
        notices
    }
}

/// Quotes a word for a shell command line when it needs quoting.
pub(super) fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `order-service` -> `ORDER_SERVICE`, for placeholders in commands.
pub(super) fn placeholder(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A sentence used inside another: "No version ..." becomes "no version ...";
/// sentences starting with a name keep it.
pub(super) fn lowercase_first(text: &str) -> String {
    match text.strip_prefix("No ") {
        Some(rest) => format!("no {rest}"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("order-service"), "order-service");
        assert_eq!(shell_word("Foo Thing"), "'Foo Thing'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(placeholder("order-service"), "ORDER_SERVICE");
    }
}
