//! Storage of scoped API tokens: a name, the token's SHA-256 (never the token), its
//! scopes and an optional expiry. Creating and revoking a token are audited like
//! every other write.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// A stored token, without any secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// Scope strings as the operator gave them (`publish:web`, ...).
    #[sqlx(json)]
    pub scopes: Vec<String>,
    /// Who created it (the audit name of the caller).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub name: String,
    /// The hex SHA-256 of the token.
    pub token_hash: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The tokens part of the [`Store`](super::Store).
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token; [`StoreError::Conflict`] when the name is taken.
    async fn create_token(&self, token: &NewApiToken) -> Result<ApiToken, StoreError>;
    /// Every token, by name.
    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    /// The token whose SHA-256 is `token_hash`, expired or not.
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Deletes the token named `name`; false when there is none.
    async fn delete_token(&self, name: &str) -> Result<bool, StoreError>;
}

/// Implements [`TokenStore`] for `$store` (expanded in `sqlite.rs` and `postgres.rs`; new areas use `shared/` instead).
macro_rules! tokens_sql_store {
    ($store:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl super::tokens::TokenStore for $store {
            #[tracing::instrument(skip_all, fields(name = %token.name), err)]
            async fn create_token(
                &self,
                token: &super::tokens::NewApiToken,
            ) -> Result<super::tokens::ApiToken, StoreError> {
                let mut tx = self.begin_write().await?;
                let stored: super::tokens::ApiToken = sqlx::query_as(
                    "INSERT INTO api_tokens (name, token_hash, scopes, created_by, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING id, name, scopes, created_by, created_at, expires_at",
                )
                .bind(&token.name)
                .bind(&token.token_hash)
                .bind(sqlx::types::Json(&token.scopes))
                .bind(&token.created_by)
                .bind(super::now())
                .bind(token.expires_at)
                .fetch_one(&mut *tx)
                .await?;
                Self::commit(tx).await?;
                Ok(stored)
            }

            #[tracing::instrument(skip_all, err)]
            async fn tokens(&self) -> Result<Vec<super::tokens::ApiToken>, StoreError> {
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
            ) -> Result<Option<super::tokens::ApiToken>, StoreError> {
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
    };
}
