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
