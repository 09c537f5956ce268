//! The identity edge's schema migrations: OAuth clients and signing keys. Composed with every
//! crate's in [`crate::schema`]; a released migration is never edited.

use sea_orm_migration::prelude::*;

use rampart_platform::migrations::ts;

rampart_platform::service_migrations![M20261202000001Auth,];

#[derive(DeriveIden)]
enum AuthClient {
    Table,
    ClientId,
    SecretHash,
    Roles,
    CreatedAt,
    Disabled,
}

#[derive(DeriveIden)]
enum AuthSigningKey {
    Table,
    Kid,
    Alg,
    PrivatePkcs8,
    PublicJwk,
    CreatedAt,
    RetiredAt,
    VerifyUntil,
}

/// OAuth clients and signing keys.
#[derive(Debug)]
struct M20261202000001Auth;

impl MigrationName for M20261202000001Auth {
    fn name(&self) -> &str {
        "m20261202_000001_auth"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261202000001Auth {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthClient::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuthClient::ClientId)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuthClient::SecretHash)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuthClient::Roles).text().not_null())
                    .col(ts(AuthClient::CreatedAt))
                    .col(
                        ColumnDef::new(AuthClient::Disabled)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthSigningKey::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuthSigningKey::Kid)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuthSigningKey::Alg)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuthSigningKey::PrivatePkcs8).text().null())
                    .col(ColumnDef::new(AuthSigningKey::PublicJwk).text().not_null())
                    .col(ts(AuthSigningKey::CreatedAt))
                    .col(
                        ColumnDef::new(AuthSigningKey::RetiredAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AuthSigningKey::VerifyUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }
}
