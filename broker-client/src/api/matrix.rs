//! Can-i-deploy: the matrix query the official clients send (`GET /matrix?q[][...]`).

use reqwest::Method;
use serde_json::Value;
use tracing::instrument;

use crate::client::BrokerClient;
use crate::error::BrokerError;
use crate::types::{CanIDeployQuery, DeployTarget, DriftMode, Matrix, Selection, VersionSelector};

impl BrokerClient {
    /// Asks whether a pacticipant version can be deployed to an environment (or alongside
    /// the latest versions with a tag, or the latest versions) and returns the matrix
    /// the broker based its answer on. `summary.deployable` is `None` while results are
    /// missing.
    ///
    /// The official clients build this query directly rather than discover it from the
    /// index (section 12.1 of the API reference), and so does this client, so that
    /// brokers answer it the same way for every client.
    pub async fn can_i_deploy(&self, query: &CanIDeployQuery) -> Result<Matrix, BrokerError> {
        self.can_i_deploy_with_drift(query, None).await
    }

    /// [`BrokerClient::can_i_deploy`], saying how open drift in the target environment
    /// counts (`drift=block|warn|ignore`; `None` leaves it to the broker, which blocks).
    /// Accord's broker answers drift in [`Matrix::drift`]; other brokers ignore it.
    #[instrument(skip_all, fields(pacticipant = %query.pacticipant), err(level = "debug"))]
    pub async fn can_i_deploy_with_drift(
        &self,
        query: &CanIDeployQuery,
        drift: Option<DriftMode>,
    ) -> Result<Matrix, BrokerError> {
        let selection = [Selection {
            pacticipant: query.pacticipant.clone(),
            version: query.version.clone(),
        }];
        self.can_i_deploy_together(&selection, &query.target, &query.ignore, drift)
            .await
    }

    /// Asks whether several pacticipant versions can be deployed together: the broker
    /// checks them against each other and against what is in the target (for the other
    /// pacticipants). One selection is [`BrokerClient::can_i_deploy_with_drift`].
    #[instrument(skip_all, fields(selections = selections.len()), err(level = "debug"))]
    pub async fn can_i_deploy_together(
        &self,
        selections: &[Selection],
        target: &DeployTarget,
        ignore: &[String],
        drift: Option<DriftMode>,
    ) -> Result<Matrix, BrokerError> {
        let mut url = self.resolve("/matrix")?;
        {
            let mut pairs = url.query_pairs_mut();
            for selection in selections {
                pairs.append_pair("q[][pacticipant]", &selection.pacticipant);
                match &selection.version {
                    VersionSelector::Number(number) => {
                        pairs.append_pair("q[][version]", number);
                    }
                    VersionSelector::Latest { tag } => {
                        pairs.append_pair("q[][latest]", "true");
                        if let Some(tag) = tag {
                            pairs.append_pair("q[][tag]", tag);
                        }
                    }
                    VersionSelector::LatestOnBranch(branch) => {
                        pairs.append_pair("q[][branch]", branch);
                        pairs.append_pair("q[][latest]", "true");
                    }
                    VersionSelector::MainBranch => {
                        pairs.append_pair("q[][mainBranch]", "true");
                        pairs.append_pair("q[][latest]", "true");
                    }
                }
            }
            for ignored in ignore {
                pairs.append_pair("ignore[][pacticipant]", ignored);
            }
            // As the official clients ask it: `latestby=cvpv` for an environment or
            // several selections, `latest=true` against the latest versions of the rest.
            let several = selections.len() > 1;
            match target {
                DeployTarget::Environment(environment) => {
                    pairs.append_pair("environment", environment);
                    pairs.append_pair("latestby", "cvpv");
                }
                DeployTarget::Tag(tag) => {
                    pairs.append_pair("tag", tag);
                    pairs.append_pair("latest", "true");
                    pairs.append_pair("latestby", if several { "cvpv" } else { "cvp" });
                }
                DeployTarget::Latest if several => {
                    pairs.append_pair("latestby", "cvpv");
                }
                DeployTarget::Latest => {
                    pairs.append_pair("latest", "true");
                    pairs.append_pair("latestby", "cvp");
                }
            }
            if let Some(drift) = drift {
                pairs.append_pair("drift", drift.as_str());
            }
        }
        let names: Vec<String> = selections
            .iter()
            .map(|s| format!("{:?}", s.pacticipant))
            .collect();
        let what = match names.as_slice() {
            [one] => format!("the matrix for pacticipant {one}"),
            several => format!("the matrix for pacticipants {}", several.join(", ")),
        };
        let body = self
            .send(Method::GET, url.clone(), None::<&Value>, &what)
            .await?;
        serde_json::from_value(body).map_err(|source| BrokerError::BadResponse {
            url: url.to_string(),
            source,
        })
    }
}
