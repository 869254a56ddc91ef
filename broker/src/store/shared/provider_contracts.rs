//! [`ProviderContractStore`] for both backends (the trait and its types are in
//! `store/provider_contracts.rs`).

use super::super::Backend;
use crate::store::provider_contracts::{NewProviderContract, ProviderContract};
use crate::store::*;

macro_rules! provider_contract_select {
    () => {
        "SELECT pc.id, v.pacticipant_id AS provider_id, p.name AS provider_name, \
         pc.provider_version_id, v.number AS provider_version_number, pc.specification, \
         pc.content_type, pc.content, pc.sha, pc.self_verification, pc.self_success, pc.created_at \
         FROM provider_contracts pc \
         JOIN versions v ON v.id = pc.provider_version_id \
         JOIN pacticipants p ON p.id = v.pacticipant_id"
    };
}

#[async_trait::async_trait]
impl crate::store::provider_contracts::ProviderContractStore for Backend {
    #[tracing::instrument(skip_all, fields(provider = %contract.provider, version = %contract.version), err)]
    async fn publish_provider_contract(
        &self,
        contract: &NewProviderContract,
    ) -> Result<ProviderContract, StoreError> {
        let mut tx = self.begin_write().await?;
        let (provider_id, _) =
            Self::ensure_pacticipant(&mut tx, contract.provider.as_str()).await?;
        let (version_id, _) =
            Self::ensure_version(&mut tx, provider_id, contract.version.as_str()).await?;
        if let Some(build_url) = &contract.build_url {
            sqlx::query("UPDATE versions SET build_url = $2 WHERE id = $1")
                .bind(version_id)
                .bind(build_url)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(branch) = &contract.branch {
            Self::add_branch_version_tx(&mut tx, provider_id, branch.as_str(), version_id).await?;
        }
        for tag in &contract.tags {
            Self::add_tag_tx(&mut tx, provider_id, version_id, tag.as_str()).await?;
        }
        sqlx::query(
            "INSERT INTO provider_contracts (provider_version_id, specification, content_type, \
             content, sha, self_verification, self_success, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (provider_version_id, specification) DO UPDATE SET \
             content_type = excluded.content_type, content = excluded.content, sha = excluded.sha, \
             self_verification = excluded.self_verification, self_success = excluded.self_success, \
             created_at = excluded.created_at",
        )
        .bind(version_id)
        .bind(&contract.specification)
        .bind(&contract.content_type)
        .bind(&contract.content)
        .bind(&contract.sha)
        .bind(sqlx::types::Json(&contract.self_verification))
        .bind(contract.self_success)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
        let stored: ProviderContract = sqlx::query_as(concat!(
            provider_contract_select!(),
            " WHERE pc.provider_version_id = $1 AND pc.specification = $2"
        ))
        .bind(version_id)
        .bind(&contract.specification)
        .fetch_one(&mut *tx)
        .await?;
        Self::commit(tx).await?;
        Ok(stored)
    }

    #[tracing::instrument(skip_all, err)]
    async fn provider_contracts_at(
        &self,
        provider_version_id: i64,
    ) -> Result<Vec<ProviderContract>, StoreError> {
        Ok(sqlx::query_as(concat!(
            provider_contract_select!(),
            " WHERE pc.provider_version_id = $1 ORDER BY pc.specification DESC, pc.id"
        ))
        .bind(provider_version_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn current_provider_contracts(
        &self,
        provider_id: i64,
    ) -> Result<Vec<ProviderContract>, StoreError> {
        Ok(sqlx::query_as(concat!(
            provider_contract_select!(),
            " WHERE v.pacticipant_id = $1 AND (\
               pc.provider_version_id = (SELECT pc2.provider_version_id FROM provider_contracts pc2 \
                   JOIN branch_versions bv ON bv.version_id = pc2.provider_version_id \
                   JOIN branches b ON b.id = bv.branch_id \
                   WHERE b.pacticipant_id = $1 AND b.name = p.main_branch \
                   ORDER BY bv.id DESC LIMIT 1) \
               OR (p.main_branch IS NULL AND pc.provider_version_id = (SELECT pc3.provider_version_id \
                   FROM provider_contracts pc3 JOIN versions v3 ON v3.id = pc3.provider_version_id \
                   WHERE v3.pacticipant_id = $1 ORDER BY pc3.id DESC LIMIT 1)) \
               OR EXISTS (SELECT 1 FROM deployed_versions d WHERE d.version_id = v.id AND d.undeployed_at IS NULL) \
               OR EXISTS (SELECT 1 FROM released_versions r WHERE r.version_id = v.id AND r.support_ended_at IS NULL)) \
             ORDER BY pc.provider_version_id, pc.specification DESC, pc.id"
        ))
        .bind(provider_id)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn provider_contracts_of(
        &self,
        provider_id: i64,
        limit: i64,
    ) -> Result<Vec<ProviderContract>, StoreError> {
        Ok(sqlx::query_as(concat!(
            provider_contract_select!(),
            " WHERE v.pacticipant_id = $1 ORDER BY pc.id DESC LIMIT $2"
        ))
        .bind(provider_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
