//! How domain types are stored: an enum as its name (`TEXT`), an id as its number (`BIGINT`).
//! The impls are generic over the backend, so they serve PostgreSQL, SQLite and the
//! MultiConnection over both; a stored value that no longer parses fails the row's load
//! instead of travelling on as a string.

/// `ToSql`/`FromSql` as `TEXT` for a type with `as_str()` (or the method named) and `FromStr`.
/// The type derives `AsExpression` and `FromSqlRow` with `#[diesel(sql_type = Text)]`.
macro_rules! text_column {
    ($type:ty) => {
        $crate::domain::sql::text_column!($type, as_str);
    };
    ($type:ty, $name:ident) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $type
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.$name(), out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $type
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                text.parse::<$type>()
                    .map_err(|e| format!("stored {}: {e}", stringify!($type)).into())
            }
        }
    };
}
pub(crate) use text_column;

/// `ToSql`/`FromSql` as `BIGINT` for a newtype id `Id(pub i64)`, which derives `AsExpression`
/// and `FromSqlRow` with `#[diesel(sql_type = BigInt)]`.
macro_rules! id_column {
    ($type:ident) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::BigInt, DB> for $type
        where
            DB: diesel::backend::Backend,
            i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>>::to_sql(&self.0, out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB> for $type
        where
            DB: diesel::backend::Backend,
            i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>>::from_sql(bytes)
                    .map(Self)
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
pub(crate) use id_column;
