//! [`TokenStore`] for both backends (the trait and its types are in `store/tokens.rs`).

use super::super::Backend;
use crate::store::*;

#[async_trait::async_trait]
impl crate::store::tokens::TokenStore for Backend {
    #[tracing::instrument(skip_all, fields(name = %token.name), err)]
    async fn create_token(
        &self,
        token: &crate::store::tokens::NewApiToken,
    ) -> Result<crate::store::tokens::ApiToken, StoreError> {
        let mut tx = self.begin_write().await?;
        let stored: crate::store::tokens::ApiToken = sqlx::query_as(
            "INSERT INTO api_tokens (name, token_hash, scopes, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, name, scopes, created_by, created_at, expires_at",
        )
        .bind(&token.name)
        .bind(&token.token_hash)
        .bind(sqlx::types::Json(&token.scopes))
        .bind(&token.created_by)
        .bind(crate::store::now())
        .bind(token.expires_at)
        .fetch_one(&mut *tx)
        .await?;
        Self::commit(tx).await?;
        Ok(stored)
    }

    #[tracing::instrument(skip_all, err)]
    async fn tokens(&self) -> Result<Vec<crate::store::tokens::ApiToken>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, scopes, created_by, created_at, expires_at \
             FROM api_tokens ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, err)]
    async fn token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<crate::store::tokens::ApiToken>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, scopes, created_by, created_at, expires_at \
             FROM api_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all, fields(name = %name), err)]
    async fn delete_token(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM api_tokens WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            // Nothing changed: nothing to audit.
            tx.rollback().await?;
            return Ok(false);
        }
        Self::commit(tx).await?;
        Ok(true)
    }
}
