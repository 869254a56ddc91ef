//! Pacticipants, versions, tags and branches: that part of the [`Store`](super::Store).

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait PacticipantStore: Send + Sync {
    async fn pacticipant(&self, name: &PacticipantName) -> Result<Option<Pacticipant>, StoreError>;
    async fn pacticipant_by_id(&self, id: i64) -> Result<Option<Pacticipant>, StoreError>;
    async fn pacticipants(&self) -> Result<Vec<Pacticipant>, StoreError>;
    /// Creates a pacticipant; [`StoreError::Conflict`] if the name is taken.
    async fn create_pacticipant(
        &self,
        name: &PacticipantName,
        fields: &PacticipantFields,
    ) -> Result<Pacticipant, StoreError>;
    /// Creates or updates a pacticipant; returns it and whether it was created.
    async fn save_pacticipant(
        &self,
        name: &PacticipantName,
        fields: &PacticipantFields,
        mode: SaveMode,
    ) -> Result<(Pacticipant, bool), StoreError>;
    async fn delete_pacticipant(&self, id: i64) -> Result<bool, StoreError>;

    async fn version(
        &self,
        pacticipant_id: i64,
        number: &VersionNumber,
    ) -> Result<Option<Version>, StoreError>;
    async fn version_by_id(&self, id: i64) -> Result<Option<Version>, StoreError>;
    /// All versions of a pacticipant, newest first.
    async fn versions(&self, pacticipant_id: i64) -> Result<Vec<Version>, StoreError>;
    async fn latest_version(&self, pacticipant_id: i64) -> Result<Option<Version>, StoreError>;
    async fn latest_version_with_tag(
        &self,
        pacticipant_id: i64,
        tag: &TagName,
    ) -> Result<Option<Version>, StoreError>;
    /// Versions carrying a tag, newest first.
    async fn versions_with_tag(
        &self,
        pacticipant_id: i64,
        tag: &TagName,
    ) -> Result<Vec<Version>, StoreError>;
    /// The version most recently added to a branch.
    async fn branch_head(
        &self,
        pacticipant_id: i64,
        branch: &BranchName,
    ) -> Result<Option<Version>, StoreError>;
    /// Creates or updates a version (and its pacticipant); returns it and whether it was created.
    async fn save_version(&self, request: &SaveVersion) -> Result<(Version, bool), StoreError>;
    async fn delete_version(&self, id: i64) -> Result<bool, StoreError>;

    async fn tags_of_version(&self, version_id: i64) -> Result<Vec<Tag>, StoreError>;
    /// Every tag of every version of a pacticipant, oldest first.
    async fn tags_of_pacticipant(&self, pacticipant_id: i64) -> Result<Vec<Tag>, StoreError>;
    /// For each tag name of some pacticipants, the latest version carrying it, ordered
    /// by pacticipant and tag name; only the names in `names` when it is given.
    async fn tag_heads(
        &self,
        pacticipant_ids: &[i64],
        names: Option<&[String]>,
    ) -> Result<Vec<TagHead>, StoreError>;
    async fn tag(&self, version_id: i64, name: &TagName) -> Result<Option<Tag>, StoreError>;
    /// Tags a version, creating the pacticipant and version as needed; returns whether the tag is new.
    async fn add_tag(
        &self,
        pacticipant: &PacticipantName,
        version: &VersionNumber,
        tag: &TagName,
    ) -> Result<(Tag, bool), StoreError>;
    async fn delete_tag(&self, version_id: i64, name: &TagName) -> Result<bool, StoreError>;
    /// The tags of a version, oldest first, each saying whether the version is the
    /// latest of its pacticipant with that tag.
    async fn version_tags(&self, version_id: i64) -> Result<Vec<VersionTag>, StoreError>;

    async fn branch(
        &self,
        pacticipant_id: i64,
        name: &BranchName,
    ) -> Result<Option<Branch>, StoreError>;
    /// Branches of a pacticipant, most recently updated first.
    async fn branches(&self, pacticipant_id: i64) -> Result<Vec<Branch>, StoreError>;
    async fn branches_of_version(&self, version_id: i64) -> Result<Vec<BranchVersion>, StoreError>;
    /// Every branch membership of every version of a pacticipant, oldest first.
    async fn branch_versions_of_pacticipant(
        &self,
        pacticipant_id: i64,
    ) -> Result<Vec<BranchVersion>, StoreError>;
    /// The versions on a branch, most recently added first.
    async fn branch_versions(&self, branch_id: i64) -> Result<Vec<BranchVersion>, StoreError>;
    /// The heads of the branches of some pacticipants, ordered by pacticipant and branch
    /// name; only the branches named in `names` when it is given. Branches without
    /// versions have no head.
    async fn branch_heads(
        &self,
        pacticipant_ids: &[i64],
        names: Option<&[String]>,
    ) -> Result<Vec<BranchHead>, StoreError>;
    /// Adds a version to a branch, creating pacticipant, version and branch as needed;
    /// returns whether the membership is new.
    async fn add_branch_version(
        &self,
        pacticipant: &PacticipantName,
        branch: &BranchName,
        version: &VersionNumber,
    ) -> Result<(BranchVersion, bool), StoreError>;
    async fn delete_branch(&self, branch_id: i64) -> Result<bool, StoreError>;
    async fn delete_branch_version(
        &self,
        branch_id: i64,
        version_id: i64,
    ) -> Result<bool, StoreError>;
}
