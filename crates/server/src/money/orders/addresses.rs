//! The buyer's addresses: `GET /v1/me/addresses`, `POST` a new one,
//! `PUT`/`DELETE /v1/me/addresses/{id}` — the caller's own only; anyone
//! else's is 404. Kept trimmed and checked, with exactly one default.

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::http::{Body, PathId};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use livecart_protocol::commerce::{Address, AddressList, NewAddress};
use livecart_protocol::{AddressId, UserId};
use sqlx::SqliteConnection;

/// An `addresses` row as [`ADDRESS_SELECT`] reads it.
#[derive(sqlx::FromRow)]
pub(super) struct AddressRow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) line1: String,
    pub(super) line2: String,
    pub(super) city: String,
    pub(super) region: String,
    pub(super) postal_code: String,
    pub(super) country: String,
    pub(super) phone: String,
    pub(super) is_default: bool,
}

const ADDRESS_SELECT: &str = "SELECT id, name, line1, line2, city, region, postal_code, country, phone, is_default FROM addresses";

impl AddressRow {
    pub(super) fn into_address(self) -> anyhow::Result<Address> {
        Ok(Address {
            id: crate::db::parse(&self.id, "address id")?,
            name: self.name,
            line1: self.line1,
            line2: self.line2,
            city: self.city,
            region: self.region,
            postal_code: self.postal_code,
            country: self.country,
            phone: self.phone,
            is_default: self.is_default,
        })
    }
}

/// The address as it will be kept: every field trimmed and checked (no
/// control characters, at most 200 characters), the country a real ISO
/// 3166-1 code.
fn validate(a: &NewAddress) -> ApiResult<NewAddress> {
    use crate::rules::{ADDRESS_FIELD_CHARS as MAX, text};
    Ok(NewAddress {
        name: text("name", &a.name, MAX, true)?,
        line1: text("line1", &a.line1, MAX, true)?,
        line2: text("line2", &a.line2, MAX, false)?,
        city: text("city", &a.city, MAX, true)?,
        region: text("region", &a.region, MAX, false)?,
        postal_code: text("postal_code", &a.postal_code, MAX, true)?,
        country: crate::rules::country(&a.country)?,
        phone: text("phone", &a.phone, MAX, true)?,
        ..a.clone()
    })
}

pub async fn list_addresses(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<AddressList>> {
    let rows: Vec<AddressRow> = sqlx::query_as(&format!(
        "{ADDRESS_SELECT} WHERE user_id = ? AND deleted = 0 ORDER BY is_default DESC, created_at DESC"
    ))
    .bind(me.sub.to_string())
    .fetch_all(&state.db)
    .await?;
    Ok(Json(AddressList {
        addresses: rows
            .into_iter()
            .map(AddressRow::into_address)
            .collect::<anyhow::Result<_>>()?,
    }))
}

/// Writes an address for `user` (new, or replacing `id`), keeping exactly
/// one default: a new default unseats the old one, and a user's first
/// address is the default.
pub async fn save_address(
    conn: &mut SqliteConnection,
    user: UserId,
    id: AddressId,
    a: &NewAddress,
    replace: bool,
) -> ApiResult<Address> {
    let has_default: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM addresses WHERE user_id = ? AND is_default = 1 AND deleted = 0 AND id != ?)",
    )
    .bind(user.to_string())
    .bind(id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let is_default = a.is_default || !has_default;
    if is_default {
        sqlx::query("UPDATE addresses SET is_default = 0 WHERE user_id = ? AND is_default = 1")
            .bind(user.to_string())
            .execute(&mut *conn)
            .await?;
    }
    if replace {
        let done = sqlx::query(
            "UPDATE addresses SET name = ?, line1 = ?, line2 = ?, city = ?, region = ?, postal_code = ?, \
             country = ?, phone = ?, is_default = ? WHERE id = ? AND user_id = ? AND deleted = 0",
        )
        .bind(&a.name)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&a.country)
        .bind(&a.phone)
        .bind(is_default)
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::NotFound("address"));
        }
    } else {
        sqlx::query(
            "INSERT INTO addresses (id, user_id, name, line1, line2, city, region, postal_code, country, phone, is_default, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(&a.name)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&a.country)
        .bind(&a.phone)
        .bind(is_default)
        .bind(Timestamp::now().to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(Address {
        id,
        name: a.name.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        phone: a.phone.clone(),
        is_default,
    })
}

pub async fn create_address(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Body(req): Body<NewAddress>,
) -> ApiResult<(StatusCode, Json<Address>)> {
    let req = validate(&req)?;
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM addresses WHERE user_id = ? AND deleted = 0")
            .bind(me.sub.to_string())
            .fetch_one(&mut *tx)
            .await?;
    if kept >= crate::rules::ADDRESSES_PER_USER {
        return Err(ApiError::Conflict(format!(
            "you have {kept} addresses, the most an account keeps; remove one first"
        )));
    }
    let a = save_address(&mut tx, me.sub, AddressId::new(), &req, false).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(a)))
}

pub async fn update_address(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(id): PathId<AddressId>,
    Body(req): Body<NewAddress>,
) -> ApiResult<Json<Address>> {
    let req = validate(&req)?;
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let a = save_address(&mut tx, me.sub, id, &req, true).await?;
    tx.commit().await?;
    Ok(Json(a))
}

pub async fn delete_address(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(id): PathId<AddressId>,
) -> ApiResult<StatusCode> {
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    // Soft delete: paid orders keep their own copy anyway.
    let was_default: Option<bool> = sqlx::query_scalar(
        "UPDATE addresses SET deleted = 1, is_default = 0 WHERE id = ? AND user_id = ? AND deleted = 0 \
         RETURNING (SELECT is_default FROM addresses WHERE id = ?1)",
    )
    .bind(id.to_string())
    .bind(me.sub.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(was_default) = was_default else {
        return Err(ApiError::NotFound("address"));
    };
    if was_default {
        sqlx::query(
            "UPDATE addresses SET is_default = 1 WHERE id = (SELECT id FROM addresses WHERE user_id = ? AND deleted = 0 ORDER BY created_at DESC LIMIT 1)",
        )
        .bind(me.sub.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
