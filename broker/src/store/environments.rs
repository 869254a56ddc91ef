//! Environments, deployments and releases: that part of the [`Store`](super::Store).

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait EnvironmentStore: Send + Sync {
    async fn create_environment(
        &self,
        fields: &EnvironmentFields,
    ) -> Result<Environment, StoreError>;
    async fn replace_environment(
        &self,
        uuid: &str,
        fields: &EnvironmentFields,
    ) -> Result<Option<Environment>, StoreError>;
    async fn environment(&self, uuid: &str) -> Result<Option<Environment>, StoreError>;
    async fn environment_by_id(&self, id: i64) -> Result<Option<Environment>, StoreError>;
    async fn environment_by_name(
        &self,
        name: &EnvironmentName,
    ) -> Result<Option<Environment>, StoreError>;
    async fn environments(&self) -> Result<Vec<Environment>, StoreError>;
    async fn delete_environment(&self, uuid: &str) -> Result<bool, StoreError>;

    /// Records a deployment, ending the current deployment of another version of the same
    /// pacticipant to the same environment and instance. Returns whether a record was created
    /// (false when the version is already the current deployment).
    async fn record_deployment(
        &self,
        version_id: i64,
        environment_id: i64,
        application_instance: Option<&str>,
    ) -> Result<(DeployedVersion, bool), StoreError>;
    async fn deployed_version(&self, uuid: &str) -> Result<Option<DeployedVersion>, StoreError>;
    async fn deployed_versions(
        &self,
        filter: EnvironmentRecordFilter,
    ) -> Result<Vec<DeployedVersion>, StoreError>;
    async fn undeploy(&self, uuid: &str) -> Result<Option<DeployedVersion>, StoreError>;
    /// Records a release; an existing record for the version and environment is marked
    /// supported again. Returns whether a record was created.
    async fn record_release(
        &self,
        version_id: i64,
        environment_id: i64,
    ) -> Result<(ReleasedVersion, bool), StoreError>;
    async fn released_version(&self, uuid: &str) -> Result<Option<ReleasedVersion>, StoreError>;
    async fn released_versions(
        &self,
        filter: EnvironmentRecordFilter,
    ) -> Result<Vec<ReleasedVersion>, StoreError>;
    async fn end_support(&self, uuid: &str) -> Result<Option<ReleasedVersion>, StoreError>;
}
