//! [`EnvironmentStore`] for both backends: environments, deployments and releases.

use super::super::{Backend, Db};
use crate::store::*;

#[async_trait::async_trait]
impl EnvironmentStore for Backend {
    #[tracing::instrument(skip_all, fields(environment = %fields.name), err)]
    async fn create_environment(
        &self,
        fields: &EnvironmentFields,
    ) -> Result<Environment, StoreError> {
        let mut tx = self.begin_write().await?;
        let uuid = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO environments (uuid, name, display_name, production, contacts, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&uuid)
        .bind(fields.name.as_str())
        .bind(&fields.display_name)
        .bind(fields.production)
        .bind(fields.contacts.as_ref().map(sqlx::types::Json))
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
        Self::commit(tx).await?;
        self.environment(&uuid)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    #[tracing::instrument(skip_all, fields(environment = %uuid), err)]
    async fn replace_environment(
        &self,
        uuid: &str,
        fields: &EnvironmentFields,
    ) -> Result<Option<Environment>, StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE environments SET name = $2, display_name = $3, production = $4, contacts = $5, updated_at = $6 \
             WHERE uuid = $1",
        )
        .bind(uuid)
        .bind(fields.name.as_str())
        .bind(&fields.display_name)
        .bind(fields.production)
        .bind(fields.contacts.as_ref().map(sqlx::types::Json))
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        Self::commit(tx).await?;
        if updated == 0 {
            return Ok(None);
        }
        self.environment(uuid).await
    }

    #[tracing::instrument(skip_all, fields(environment = %uuid), err)]
    async fn environment(&self, uuid: &str) -> Result<Option<Environment>, StoreError> {
        Ok(
            sqlx::query_as(concat!(environment_select!(), " WHERE uuid = $1"))
                .bind(uuid)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn environment_by_id(&self, id: i64) -> Result<Option<Environment>, StoreError> {
        Ok(
            sqlx::query_as(concat!(environment_select!(), " WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, fields(environment = %name), err)]
    async fn environment_by_name(
        &self,
        name: &EnvironmentName,
    ) -> Result<Option<Environment>, StoreError> {
        Ok(
            sqlx::query_as(concat!(environment_select!(), " WHERE name = $1"))
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn environments(&self) -> Result<Vec<Environment>, StoreError> {
        Ok(sqlx::query_as(concat!(
            environment_select!(),
            " ORDER BY COALESCE(display_name, name), id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(environment = %uuid), err)]
    async fn delete_environment(&self, uuid: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM environments WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        Self::commit(tx).await?;
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip_all, err)]
    async fn record_deployment(
        &self,
        version_id: i64,
        environment_id: i64,
        application_instance: Option<&str>,
    ) -> Result<(DeployedVersion, bool), StoreError> {
        // Another broker may record a deployment to the same place at the same
        // moment; the partial unique index refuses the second one, and a retry
        // then sees the first and ends it (or finds it is this very version).
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = async {
                let mut tx = self.begin_write().await?;
                let outcome = Self::record_deployment_tx(
                    &mut tx,
                    version_id,
                    environment_id,
                    application_instance,
                )
                .await?;
                Self::commit(tx).await?;
                Ok::<_, StoreError>(outcome)
            }
            .await;
            match result {
                Ok((id, created)) => return Ok((self.deployed_by_id(id).await?, created)),
                Err(StoreError::Conflict(_)) if attempt < 3 => continue,
                Err(err) => return Err(err),
            }
        }
    }

    #[tracing::instrument(skip_all, fields(deployed_version = %uuid), err)]
    async fn deployed_version(&self, uuid: &str) -> Result<Option<DeployedVersion>, StoreError> {
        Ok(
            sqlx::query_as(concat!(deployed_select!(), " WHERE d.uuid = $1"))
                .bind(uuid)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn deployed_versions(
        &self,
        filter: EnvironmentRecordFilter,
    ) -> Result<Vec<DeployedVersion>, StoreError> {
        let mut query = sqlx::QueryBuilder::<Db>::new(deployed_select!());
        Self::push_environment_record_filter(&mut query, "d", "d.undeployed_at IS NULL", &filter);
        query.push(" ORDER BY d.id");
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }

    #[tracing::instrument(skip_all, fields(deployed_version = %uuid), err)]
    async fn undeploy(&self, uuid: &str) -> Result<Option<DeployedVersion>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE deployed_versions SET undeployed_at = $2 WHERE uuid = $1 AND undeployed_at IS NULL")
            .bind(uuid)
            .bind(crate::store::now())
            .execute(&mut *tx)
            .await?;
        Self::commit(tx).await?;
        self.deployed_version(uuid).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn record_release(
        &self,
        version_id: i64,
        environment_id: i64,
    ) -> Result<(ReleasedVersion, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let pacticipant_id: i64 =
            sqlx::query_scalar("SELECT pacticipant_id FROM versions WHERE id = $1")
                .bind(version_id)
                .fetch_one(&mut *tx)
                .await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO released_versions (uuid, version_id, pacticipant_id, environment_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version_id, environment_id) DO NOTHING RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(version_id)
        .bind(pacticipant_id)
        .bind(environment_id)
        .bind(crate::store::now())
        .fetch_optional(&mut *tx)
        .await?;
        let (id, created) = match inserted {
            Some(id) => (id, true),
            None => {
                let id: i64 = sqlx::query_scalar(
                    "UPDATE released_versions SET support_ended_at = NULL \
                     WHERE version_id = $1 AND environment_id = $2 RETURNING id",
                )
                .bind(version_id)
                .bind(environment_id)
                .fetch_one(&mut *tx)
                .await?;
                (id, false)
            }
        };
        Self::commit(tx).await?;
        Ok((self.released_by_id(id).await?, created))
    }

    #[tracing::instrument(skip_all, fields(released_version = %uuid), err)]
    async fn released_version(&self, uuid: &str) -> Result<Option<ReleasedVersion>, StoreError> {
        Ok(
            sqlx::query_as(concat!(released_select!(), " WHERE r.uuid = $1"))
                .bind(uuid)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn released_versions(
        &self,
        filter: EnvironmentRecordFilter,
    ) -> Result<Vec<ReleasedVersion>, StoreError> {
        let mut query = sqlx::QueryBuilder::<Db>::new(released_select!());
        Self::push_environment_record_filter(
            &mut query,
            "r",
            "r.support_ended_at IS NULL",
            &filter,
        );
        query.push(" ORDER BY r.id");
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }

    #[tracing::instrument(skip_all, fields(released_version = %uuid), err)]
    async fn end_support(&self, uuid: &str) -> Result<Option<ReleasedVersion>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE released_versions SET support_ended_at = $2 WHERE uuid = $1 AND support_ended_at IS NULL")
            .bind(uuid)
            .bind(crate::store::now())
            .execute(&mut *tx)
            .await?;
        Self::commit(tx).await?;
        self.released_version(uuid).await
    }
}
