//! sea-orm entities of the identity edge's tables (created by [`super::migrations`]).

/// `auth_client`: OAuth clients stored in the database (the bootstrap admin, added clients).
pub mod auth_client {
    use sea_orm::entity::prelude::*;

    /// One client.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_client")]
    pub struct Model {
        /// `client_id`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        /// `sha256:` + hex SHA-256 of the secret ([`crate::auth::clients::hash_secret`]).
        pub secret_hash: String,
        /// Roles as a JSON array of strings.
        pub roles: String,
        /// When it was created (UTC).
        pub created_at: DateTimeUtc,
        /// A disabled client gets `invalid_client`.
        pub disabled: bool,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `auth_signing_key`: Rampart's token signing keys, active and retired.
pub mod auth_signing_key {
    use sea_orm::entity::prelude::*;

    /// One key.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_signing_key")]
    pub struct Model {
        /// `kid`: the RFC 7638 thumbprint of the public key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        /// `ES256` or `EdDSA`.
        pub alg: String,
        /// Base64 of the PKCS#8 DER private key; `None` for a key provided by a file (only its
        /// public half is stored, so it keeps verifying after the file changes).
        pub private_pkcs8: Option<String>,
        /// The public JWK (JSON).
        pub public_jwk: String,
        /// When it was created (UTC).
        pub created_at: DateTimeUtc,
        /// When a newer key took over signing; `None` while it is the active key.
        pub retired_at: Option<DateTimeUtc>,
        /// After this it verifies nothing (retirement + token lifetime + leeway) and is purged.
        pub verify_until: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
