//! A provider's contracts, whatever their kind: an OpenAPI document for its HTTP API,
//! an AsyncAPI document for the events it sends, or both. [`check_with`] compares a pact
//! with all of them at once: each HTTP interaction with the OpenAPI document, each
//! message with the AsyncAPI document. An interaction no document speaks for is listed
//! as skipped, so the comparison is complete only when the documents cover the whole
//! pact.

use serde_json::Value;

use crate::Contract;
use crate::asyncapi::EventSpec;
use crate::openapi::{Comparison, ProviderSpec, Skipped, SpecError, read_document};

/// One parsed provider contract.
#[derive(Debug)]
pub enum ProviderDocument {
    OpenApi(Box<ProviderSpec>),
    AsyncApi(Box<EventSpec>),
}

impl ProviderDocument {
    /// Reads a document and tells its kind by its `openapi` or `asyncapi` field.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        Self::from_value(read_document(text)?)
    }

    pub fn from_value(doc: Value) -> Result<Self, SpecError> {
        if doc.get("asyncapi").is_some() {
            EventSpec::from_value(doc).map(|spec| Self::AsyncApi(Box::new(spec)))
        } else if doc.get("openapi").is_some() || doc.get("swagger").is_some() {
            ProviderSpec::from_value(doc).map(|spec| Self::OpenApi(Box::new(spec)))
        } else {
            Err(SpecError::Unrecognised)
        }
    }

    /// The kind as the broker's API names it: `oas` or `asyncapi`.
    pub fn specification(&self) -> &'static str {
        match self {
            Self::OpenApi(_) => "oas",
            Self::AsyncApi(_) => "asyncapi",
        }
    }

    /// The kind in words, for people.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::OpenApi(_) => "an OpenAPI document",
            Self::AsyncApi(_) => "an AsyncAPI document",
        }
    }

    pub fn check(&self, contract: &Contract) -> Comparison {
        match self {
            Self::OpenApi(spec) => spec.check(contract),
            Self::AsyncApi(spec) => spec.check(contract),
        }
    }
}

/// Compares a pact with every contract of one provider version: HTTP interactions with
/// the first OpenAPI document, messages with the first AsyncAPI document.
pub fn check_with(documents: &[&ProviderDocument], contract: &Contract) -> Comparison {
    let openapi = documents.iter().find_map(|d| match d {
        ProviderDocument::OpenApi(spec) => Some(spec.as_ref()),
        _ => None,
    });
    let asyncapi = documents.iter().find_map(|d| match d {
        ProviderDocument::AsyncApi(spec) => Some(spec.as_ref()),
        _ => None,
    });
    check_parts(openapi, asyncapi, contract)
}

/// Every interaction of the pact checked against the document of its kind, or skipped
/// with the reason when there is none.
pub(crate) fn check_parts(
    openapi: Option<&ProviderSpec>,
    asyncapi: Option<&EventSpec>,
    contract: &Contract,
) -> Comparison {
    let mut comparison = Comparison::default();
    for interaction in contract.pact().interactions() {
        if let Some(http) = interaction.as_v4_http() {
            match openapi {
                Some(spec) => comparison.interactions.push(spec.check_interaction(&http)),
                None => comparison.skipped.push(Skipped {
                    description: http.description.clone(),
                    reason:
                        "an HTTP interaction, and the provider has published no OpenAPI document"
                            .into(),
                }),
            }
        } else if let Some(message) = interaction.as_v4_async_message() {
            match asyncapi {
                Some(spec) => match spec.check_message(&message) {
                    Ok(check) => comparison.interactions.push(check),
                    Err(skipped) => comparison.skipped.push(skipped),
                },
                None => comparison.skipped.push(Skipped {
                    description: message.description.clone(),
                    reason: "a message, and the provider has published no AsyncAPI document".into(),
                }),
            }
        } else {
            comparison.skipped.push(Skipped {
                description: interaction.description(),
                reason: "a synchronous message (request and reply), which Accord does not check against provider contracts".into(),
            });
        }
    }
    comparison
}

/// Compares two versions of a provider's document of one kind and weighs each change
/// against the pacts (`openapi::diff_specs`, `asyncapi::diff_events`); `Err` says why two
/// documents of different kinds cannot be compared.
pub fn diff_documents(
    old: &ProviderDocument,
    new: &ProviderDocument,
    pacts: &[crate::openapi::ConsumerPact],
) -> Result<crate::openapi::SpecDiff, String> {
    match (old, new) {
        (ProviderDocument::OpenApi(old), ProviderDocument::OpenApi(new)) => {
            Ok(crate::openapi::diff_specs(old, new, pacts))
        }
        (ProviderDocument::AsyncApi(old), ProviderDocument::AsyncApi(new)) => {
            Ok(crate::asyncapi::diff_events(old, new, pacts))
        }
        _ => Err(format!(
            "the old document is {} and the new one {}: compare two versions of the same document",
            old.describe(),
            new.describe()
        )),
    }
}
