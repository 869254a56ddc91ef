//! [`PacticipantStore`] for both backends: pacticipants, versions, tags and branches.

use super::super::{Backend, Db};
use super::*;
use crate::store::*;

#[async_trait::async_trait]
impl PacticipantStore for Backend {
    #[tracing::instrument(skip_all, fields(pacticipant = %name), err)]
    async fn pacticipant(&self, name: &PacticipantName) -> Result<Option<Pacticipant>, StoreError> {
        Ok(
            sqlx::query_as(concat!(pacticipant_select!(), " WHERE name = $1"))
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn pacticipant_by_id(&self, id: i64) -> Result<Option<Pacticipant>, StoreError> {
        Ok(
            sqlx::query_as(concat!(pacticipant_select!(), " WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn pacticipants(&self) -> Result<Vec<Pacticipant>, StoreError> {
        Ok(
            sqlx::query_as(concat!(pacticipant_select!(), " ORDER BY name"))
                .fetch_all(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, fields(pacticipant = %name), err)]
    async fn create_pacticipant(
        &self,
        name: &PacticipantName,
        fields: &PacticipantFields,
    ) -> Result<Pacticipant, StoreError> {
        let mut tx = self.begin_write().await?;
        let now = crate::store::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO pacticipants (name, display_name, repository_url, repository_name, \
             repository_namespace, main_branch, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(name.as_str())
        .bind(&fields.display_name)
        .bind(&fields.repository_url)
        .bind(&fields.repository_name)
        .bind(&fields.repository_namespace)
        .bind(fields.main_branch.as_ref().map(|b| b.as_str()))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        Self::commit(tx).await?;
        self.pacticipant_by_id(id)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    #[tracing::instrument(skip_all, fields(pacticipant = %name), err)]
    async fn save_pacticipant(
        &self,
        name: &PacticipantName,
        fields: &PacticipantFields,
        mode: SaveMode,
    ) -> Result<(Pacticipant, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let (id, created) = Self::ensure_pacticipant(&mut tx, name.as_str()).await?;
        let sql = match mode {
            SaveMode::Replace => {
                "UPDATE pacticipants SET display_name = $2, repository_url = $3, repository_name = $4, \
                 repository_namespace = $5, main_branch = $6, updated_at = $7 WHERE id = $1"
            }
            SaveMode::Merge => {
                "UPDATE pacticipants SET display_name = COALESCE($2, display_name), \
                 repository_url = COALESCE($3, repository_url), \
                 repository_name = COALESCE($4, repository_name), \
                 repository_namespace = COALESCE($5, repository_namespace), \
                 main_branch = COALESCE($6, main_branch), updated_at = $7 WHERE id = $1"
            }
        };
        // A newly created pacticipant keeps updated_at equal to created_at, so the
        // representation can tell that it was never updated.
        let updated_at: chrono::DateTime<chrono::Utc> = if created {
            sqlx::query_scalar("SELECT created_at FROM pacticipants WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
        } else {
            crate::store::now()
        };
        sqlx::query(sql)
            .bind(id)
            .bind(&fields.display_name)
            .bind(&fields.repository_url)
            .bind(&fields.repository_name)
            .bind(&fields.repository_namespace)
            .bind(fields.main_branch.as_ref().map(|b| b.as_str()))
            .bind(updated_at)
            .execute(&mut *tx)
            .await?;
        Self::commit(tx).await?;
        let pacticipant = self
            .pacticipant_by_id(id)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        Ok((pacticipant, created))
    }

    #[tracing::instrument(skip_all, err)]
    async fn delete_pacticipant(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // Pact content belongs to the consumer and provider; delete it first so the
        // cascade does not have to walk two paths to the same rows.
        sqlx::query("DELETE FROM pact_versions WHERE consumer_id = $1 OR provider_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM pacticipants WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        Self::delete_orphan_pact_versions(&mut tx).await?;
        Self::commit(tx).await?;
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip_all, fields(version = %number), err)]
    async fn version(
        &self,
        pacticipant_id: i64,
        number: &VersionNumber,
    ) -> Result<Option<Version>, StoreError> {
        Ok(sqlx::query_as(concat!(
            version_select!(),
            " WHERE v.pacticipant_id = $1 AND v.number = $2"
        ))
        .bind(pacticipant_id)
        .bind(number.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn version_by_id(&self, id: i64) -> Result<Option<Version>, StoreError> {
        Ok(
            sqlx::query_as(concat!(version_select!(), " WHERE v.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, err)]
    async fn versions(&self, pacticipant_id: i64) -> Result<Vec<Version>, StoreError> {
        Ok(sqlx::query_as(concat!(
            version_select!(),
            " WHERE v.pacticipant_id = $1 ORDER BY v.id DESC"
        ))
        .bind(pacticipant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn latest_version(&self, pacticipant_id: i64) -> Result<Option<Version>, StoreError> {
        Ok(sqlx::query_as(concat!(
            version_select!(),
            " WHERE v.pacticipant_id = $1 ORDER BY v.id DESC LIMIT 1"
        ))
        .bind(pacticipant_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(tag = %tag), err)]
    async fn latest_version_with_tag(
        &self,
        pacticipant_id: i64,
        tag: &TagName,
    ) -> Result<Option<Version>, StoreError> {
        Ok(sqlx::query_as(concat!(
            version_select!(),
            " WHERE v.pacticipant_id = $1 AND EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = $2) \
             ORDER BY v.id DESC LIMIT 1"
        ))
        .bind(pacticipant_id)
        .bind(tag.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(tag = %tag), err)]
    async fn versions_with_tag(
        &self,
        pacticipant_id: i64,
        tag: &TagName,
    ) -> Result<Vec<Version>, StoreError> {
        Ok(sqlx::query_as(concat!(
            version_select!(),
            " WHERE v.pacticipant_id = $1 AND EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = $2) \
             ORDER BY v.id DESC"
        ))
        .bind(pacticipant_id)
        .bind(tag.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(branch = %branch), err)]
    async fn branch_head(
        &self,
        pacticipant_id: i64,
        branch: &BranchName,
    ) -> Result<Option<Version>, StoreError> {
        Ok(sqlx::query_as(concat!(
            version_select!(),
            " JOIN branch_versions bv ON bv.version_id = v.id JOIN branches b ON b.id = bv.branch_id \
             WHERE b.pacticipant_id = $1 AND b.name = $2 ORDER BY bv.id DESC LIMIT 1"
        ))
        .bind(pacticipant_id)
        .bind(branch.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(pacticipant = %request.pacticipant, version = %request.number), err)]
    async fn save_version(&self, request: &SaveVersion) -> Result<(Version, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let (pacticipant_id, _) =
            Self::ensure_pacticipant(&mut tx, request.pacticipant.as_str()).await?;
        let (version_id, created) =
            Self::ensure_version(&mut tx, pacticipant_id, request.number.as_str()).await?;
        if let Some(build_url) = &request.build_url {
            sqlx::query("UPDATE versions SET build_url = $2, updated_at = $3 WHERE id = $1")
                .bind(version_id)
                .bind(build_url)
                .bind(crate::store::now())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(tags) = &request.tags {
            let existing: Vec<String> =
                sqlx::query_scalar("SELECT name FROM tags WHERE version_id = $1")
                    .bind(version_id)
                    .fetch_all(&mut *tx)
                    .await?;
            for name in existing
                .iter()
                .filter(|name| !tags.iter().any(|t| t.as_str() == name.as_str()))
            {
                sqlx::query("DELETE FROM tags WHERE version_id = $1 AND name = $2")
                    .bind(version_id)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
            }
            for tag in tags {
                Self::add_tag_tx(&mut tx, pacticipant_id, version_id, tag.as_str()).await?;
            }
        }
        Self::commit(tx).await?;
        let version = self
            .version_by_id(version_id)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        Ok((version, created))
    }

    #[tracing::instrument(skip_all, err)]
    async fn delete_version(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM versions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        Self::delete_orphan_pact_versions(&mut tx).await?;
        Self::commit(tx).await?;
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip_all, err)]
    async fn tags_of_version(&self, version_id: i64) -> Result<Vec<Tag>, StoreError> {
        Ok(sqlx::query_as(concat!(
            tag_select!(),
            " WHERE t.version_id = $1 ORDER BY t.id"
        ))
        .bind(version_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn tags_of_pacticipant(&self, pacticipant_id: i64) -> Result<Vec<Tag>, StoreError> {
        Ok(sqlx::query_as(concat!(
            tag_select!(),
            " WHERE v.pacticipant_id = $1 ORDER BY t.id"
        ))
        .bind(pacticipant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(pacticipants = pacticipant_ids.len()), err)]
    async fn tag_heads(
        &self,
        pacticipant_ids: &[i64],
        names: Option<&[String]>,
    ) -> Result<Vec<TagHead>, StoreError> {
        if names.is_some_and(|names| names.is_empty()) {
            return Ok(vec![]);
        }
        let mut found = Vec::new();
        for ids in pacticipant_ids.chunks(IN_LIST_CHUNK) {
            // One range of the (pacticipant_id, name, version_id) index.
            let mut query = sqlx::QueryBuilder::<Db>::new(tag_heads_select!());
            Self::push_in(&mut query, ids);
            if let Some(names) = names {
                query.push(" AND t.name");
                Self::push_in(&mut query, names);
            }
            query.push(" GROUP BY t.pacticipant_id, t.name ORDER BY t.pacticipant_id, t.name");
            found.extend(
                query
                    .build_query_as::<TagHead>()
                    .persistent(Self::PERSIST_LIST_QUERIES)
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(tag = %name), err)]
    async fn tag(&self, version_id: i64, name: &TagName) -> Result<Option<Tag>, StoreError> {
        Ok(sqlx::query_as(concat!(
            tag_select!(),
            " WHERE t.version_id = $1 AND t.name = $2"
        ))
        .bind(version_id)
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(pacticipant = %pacticipant, version = %version, tag = %tag), err)]
    async fn add_tag(
        &self,
        pacticipant: &PacticipantName,
        version: &VersionNumber,
        tag: &TagName,
    ) -> Result<(Tag, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let (pacticipant_id, _) = Self::ensure_pacticipant(&mut tx, pacticipant.as_str()).await?;
        let (version_id, _) =
            Self::ensure_version(&mut tx, pacticipant_id, version.as_str()).await?;
        let created = Self::add_tag_tx(&mut tx, pacticipant_id, version_id, tag.as_str()).await?;
        Self::commit(tx).await?;
        let tag = self
            .tag(version_id, tag)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        Ok((tag, created))
    }

    #[tracing::instrument(skip_all, fields(tag = %name), err)]
    async fn delete_tag(&self, version_id: i64, name: &TagName) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM tags WHERE version_id = $1 AND name = $2")
            .bind(version_id)
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        Self::commit(tx).await?;
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip_all, err)]
    async fn version_tags(&self, version_id: i64) -> Result<Vec<VersionTag>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT t.name, t.created_at, ",
            tag_is_latest!(),
            " AS latest FROM tags t JOIN versions v ON v.id = t.version_id WHERE t.version_id = $1 ORDER BY t.id",
        ))
        .bind(version_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(branch = %name), err)]
    async fn branch(
        &self,
        pacticipant_id: i64,
        name: &BranchName,
    ) -> Result<Option<Branch>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, pacticipant_id, name, created_at, updated_at FROM branches \
             WHERE pacticipant_id = $1 AND name = $2",
        )
        .bind(pacticipant_id)
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn branches(&self, pacticipant_id: i64) -> Result<Vec<Branch>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, pacticipant_id, name, created_at, updated_at FROM branches \
             WHERE pacticipant_id = $1 ORDER BY updated_at DESC, id DESC",
        )
        .bind(pacticipant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn branches_of_version(&self, version_id: i64) -> Result<Vec<BranchVersion>, StoreError> {
        Ok(sqlx::query_as(concat!(
            branch_version_select!(),
            " WHERE bv.version_id = $1 ORDER BY bv.id"
        ))
        .bind(version_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn branch_versions_of_pacticipant(
        &self,
        pacticipant_id: i64,
    ) -> Result<Vec<BranchVersion>, StoreError> {
        Ok(sqlx::query_as(concat!(
            branch_version_select!(),
            " WHERE b.pacticipant_id = $1 ORDER BY bv.id"
        ))
        .bind(pacticipant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn branch_versions(&self, branch_id: i64) -> Result<Vec<BranchVersion>, StoreError> {
        Ok(sqlx::query_as(concat!(
            branch_version_select!(),
            " WHERE bv.branch_id = $1 ORDER BY bv.id DESC"
        ))
        .bind(branch_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(pacticipants = pacticipant_ids.len()), err)]
    async fn branch_heads(
        &self,
        pacticipant_ids: &[i64],
        names: Option<&[String]>,
    ) -> Result<Vec<BranchHead>, StoreError> {
        if names.is_some_and(|names| names.is_empty()) {
            return Ok(vec![]);
        }
        let mut found = Vec::new();
        for ids in pacticipant_ids.chunks(IN_LIST_CHUNK) {
            // With the index on (branch_id, id), each head is one index seek, whose
            // row gives the version (no second lookup of the head by its id). A
            // branch whose versions were all deleted has no head (NULL, left out
            // here: filtered in SQL, PostgreSQL would run the subquery twice).
            let mut query = sqlx::QueryBuilder::<Db>::new(branch_heads_select!());
            Self::push_in(&mut query, ids);
            if let Some(names) = names {
                query.push(" AND b.name");
                Self::push_in(&mut query, names);
            }
            query.push(" ORDER BY b.pacticipant_id, b.name");
            let rows: Vec<(i64, String, Option<i64>)> = query
                .build_query_as()
                .persistent(Self::PERSIST_LIST_QUERIES)
                .fetch_all(&self.pool)
                .await?;
            found.extend(rows.into_iter().filter_map(
                |(pacticipant_id, branch_name, version_id)| {
                    Some(BranchHead {
                        pacticipant_id,
                        branch_name,
                        version_id: version_id?,
                    })
                },
            ));
        }
        Ok(found)
    }

    #[tracing::instrument(skip_all, fields(pacticipant = %pacticipant, branch = %branch, version = %version), err)]
    async fn add_branch_version(
        &self,
        pacticipant: &PacticipantName,
        branch: &BranchName,
        version: &VersionNumber,
    ) -> Result<(BranchVersion, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let (pacticipant_id, _) = Self::ensure_pacticipant(&mut tx, pacticipant.as_str()).await?;
        let (version_id, _) =
            Self::ensure_version(&mut tx, pacticipant_id, version.as_str()).await?;
        let (id, created) =
            Self::add_branch_version_tx(&mut tx, pacticipant_id, branch.as_str(), version_id)
                .await?;
        Self::commit(tx).await?;
        Ok((self.branch_version_by_id(id).await?, created))
    }

    #[tracing::instrument(skip_all, err)]
    async fn delete_branch(&self, branch_id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM branches WHERE id = $1")
            .bind(branch_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        Self::commit(tx).await?;
        Ok(deleted > 0)
    }

    #[tracing::instrument(skip_all, err)]
    async fn delete_branch_version(
        &self,
        branch_id: i64,
        version_id: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM branch_versions WHERE branch_id = $1 AND version_id = $2")
                .bind(branch_id)
                .bind(version_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        Self::commit(tx).await?;
        Ok(deleted > 0)
    }
}
