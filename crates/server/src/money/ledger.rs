//! The double-entry ledger. Every movement of money is one [`post`]: a
//! transaction row plus entries that sum to zero, written inside the caller's
//! database transaction. Balances live on `accounts` and move only through
//! the entry trigger; the schema refuses a negative balance (except on the
//! top-up clearing account, the outside world's side). [`check`] proves it.
//!
//! Size: posting and the check that proves every posting balanced belong
//! together (the check reads what `post` writes).

use anyhow::{Context, bail};
use jiff::Timestamp;
use livecart_protocol::{Currency, TxnId, UserId};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A user's spendable balance.
    Wallet,
    /// What a host earned from gifts.
    HostEarnings,
    /// What the platform owes a seller for paid orders.
    MerchantPayable,
    /// The platform's cut of gifts.
    Platform,
    /// Money that entered from the payment provider (goes negative).
    TopupClearing,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wallet => "wallet",
            Self::HostEarnings => "host_earnings",
            Self::MerchantPayable => "merchant_payable",
            Self::Platform => "platform",
            Self::TopupClearing => "topup_clearing",
        }
    }

    fn owned(self) -> bool {
        !matches!(self, Self::Platform | Self::TopupClearing)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnKind {
    TopUp,
    Order,
    Gift,
    /// Written only by the demo world (its buyers' starting coins).
    #[cfg_attr(not(feature = "demo"), allow(dead_code))]
    DemoCredit,
    Refund,
}

impl TxnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TopUp => "top_up",
            Self::Order => "order",
            Self::Gift => "gift",
            Self::DemoCredit => "demo_credit",
            Self::Refund => "refund",
        }
    }
}

/// An account's id, creating the account on first use.
pub async fn account(
    conn: &mut SqliteConnection,
    kind: AccountKind,
    owner: Option<UserId>,
    currency: Currency,
) -> anyhow::Result<String> {
    find_or_create(conn, kind, owner, currency, true)
        .await?
        .context("the account was not created")
}

async fn find_or_create(
    conn: &mut SqliteConnection,
    kind: AccountKind,
    owner: Option<UserId>,
    currency: Currency,
    create: bool,
) -> anyhow::Result<Option<String>> {
    if kind.owned() != owner.is_some() {
        bail!(
            "{} accounts {} an owner",
            kind.as_str(),
            if kind.owned() { "need" } else { "have no" }
        );
    }
    let owner = owner.map(|o| o.to_string());
    // Two spellings so each query can use its partial unique index
    // (`owner_id IS ?` cannot, and scanned every account on every payment).
    let found = match &owner {
        Some(o) => {
            sqlx::query_scalar::<_, String>(
                "SELECT id FROM accounts WHERE kind = ? AND owner_id = ? AND currency = ?",
            )
            .bind(kind.as_str())
            .bind(o)
            .bind(currency.as_str())
            .fetch_optional(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_scalar::<_, String>(
                "SELECT id FROM accounts WHERE kind = ? AND owner_id IS NULL AND currency = ?",
            )
            .bind(kind.as_str())
            .bind(currency.as_str())
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    if found.is_some() || !create {
        return Ok(found);
    }
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO accounts (id, kind, owner_id, currency, balance_minor, created_at) VALUES (?, ?, ?, ?, 0, ?)",
    )
    .bind(&id)
    .bind(kind.as_str())
    .bind(owner.clone())
    .bind(currency.as_str())
    .bind(Timestamp::now().to_string())
    .execute(&mut *conn)
    .await?;
    Ok(Some(id))
}

/// Account ids remembered once committed: accounts are never deleted, so a
/// payment can name its accounts without looking them up on the single
/// writer. Only ids read from committed data (the reader pool) are kept, never
/// one created inside a transaction that might still roll back.
#[derive(Debug, Default)]
pub struct AccountIds(std::sync::Mutex<HashMap<AccountKey, String>>);

type AccountKey = (AccountKind, Option<UserId>, Currency);

impl AccountIds {
    fn cached(&self, k: &AccountKey) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(k)
            .cloned()
    }

    /// The account's id; a missing account is created in a commit of its
    /// own on `writer` first.
    pub async fn get(
        &self,
        db: &SqlitePool,
        writer: &SqlitePool,
        kind: AccountKind,
        owner: Option<UserId>,
        currency: Currency,
    ) -> anyhow::Result<String> {
        let k = (kind, owner, currency);
        if let Some(id) = self.cached(&k) {
            return Ok(id);
        }
        let mut found =
            find_or_create(&mut *db.acquire().await?, kind, owner, currency, false).await?;
        if found.is_none() {
            let mut w = writer.acquire().await?;
            found = find_or_create(&mut w, kind, owner, currency, true).await?;
        }
        let id = found.context("the account was not created")?;
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(k, id.clone());
        Ok(id)
    }
}

/// A user's wallet balance in `currency` (0 before the first movement).
pub async fn wallet_balance(
    conn: &mut SqliteConnection,
    user: UserId,
    currency: Currency,
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT balance_minor FROM accounts WHERE kind = 'wallet' AND owner_id = ? AND currency = ?",
    )
    .bind(user.to_string())
    .bind(currency.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(0))
}

/// Writes one balanced transaction. `postings` are (account id, signed
/// amount); zero amounts are skipped; the amounts must sum to zero. Returns
/// the transaction id and each posting's balance afterwards (in order).
/// Overdrawing an account fails the schema's CHECK and returns an error: the
/// caller's transaction must then be rolled back (dropping it does that).
pub async fn post(
    conn: &mut SqliteConnection,
    kind: TxnKind,
    reference: Option<uuid::Uuid>,
    description: &str,
    postings: &[(&str, i64)],
) -> anyhow::Result<(TxnId, Vec<i64>)> {
    let mut q = QueryBuilder::new("");
    let txn = push_post(&mut q, kind, reference, description, postings)?;
    let after = q.build_query_scalar::<i64>().fetch_all(&mut *conn).await?;
    if after.len() != postings.len() {
        bail!("a ledger account of {description:?} does not exist");
    }
    Ok((txn, after))
}

/// [`post`]'s statements, appended to `q` (which may hold others before or
/// after, separated by `;`), so a payment writes its whole transaction in
/// one round trip (the single writer waits on each). Run `q` with
/// `fetch_all`: the `i64` rows are each posting's balance afterwards, in
/// order, one per posting whose account exists.
pub fn push_post(
    q: &mut QueryBuilder<'_, Sqlite>,
    kind: TxnKind,
    reference: Option<uuid::Uuid>,
    description: &str,
    postings: &[(&str, i64)],
) -> anyhow::Result<TxnId> {
    let sum = postings
        .iter()
        .try_fold(0i64, |acc, (_, a)| acc.checked_add(*a))
        .context("ledger amounts overflow")?;
    if sum != 0 {
        bail!("unbalanced ledger transaction ({description}): entries sum to {sum}");
    }
    // A transaction moves money: one with nothing to enter is a bug upstream
    // (a zero price), not a ledger row.
    if postings.iter().all(|(_, a)| *a == 0) {
        bail!("empty ledger transaction ({description}): nothing moves");
    }
    let txn = TxnId::new();
    q.push("INSERT INTO ledger_txns (id, kind, reference_id, description, created_at) VALUES (")
        .push_bind(txn.to_string())
        .push(", ")
        .push_bind(kind.as_str())
        .push(", ")
        .push_bind(reference.map(|r| r.to_string()))
        .push(", ")
        .push_bind(description.to_owned())
        .push(", ")
        .push_bind(Timestamp::now().to_string())
        .push(");\n");
    for (account, amount) in postings {
        if *amount == 0 {
            q.push("SELECT balance_minor FROM accounts WHERE id = ")
                .push_bind((*account).to_owned())
                .push(";\n");
            continue;
        }
        // The trigger moves the balance; the CHECK refuses an overdraft.
        q.push(
            "INSERT INTO ledger_entries (txn_id, account_id, amount_minor, balance_after) SELECT ",
        )
        .push_bind(txn.to_string())
        .push(", id, ")
        .push_bind(*amount)
        .push(", balance_minor + ")
        .push_bind(*amount)
        .push(" FROM accounts WHERE id = ")
        .push_bind((*account).to_owned())
        .push(" RETURNING balance_after;\n");
    }
    Ok(txn)
}

/// What `ledger check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub accounts: u64,
    pub transactions: u64,
    pub entries: u64,
    /// Sum of all entries (must be 0: debits equal credits).
    pub total: i64,
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.total == 0
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "accounts {}  transactions {}  entries {}  sum of entries {}",
            self.accounts, self.transactions, self.entries, self.total
        )?;
        for p in &self.problems {
            writeln!(f, "PROBLEM: {p}")?;
        }
        write!(f, "ledger {}", if self.ok() { "OK" } else { "BROKEN" })
    }
}

/// Verifies the whole ledger: every transaction balances in one currency,
/// every balance equals the sum of its entries and the last entry's running
/// balance, no account that must not is below zero, and every order, gift and
/// succeeded top-up has exactly its transaction.
pub async fn check(db: &SqlitePool) -> anyhow::Result<CheckReport> {
    let mut r = CheckReport::default();
    let mut conn = db.acquire().await?;
    // One read transaction: a consistent snapshot even while payments run.
    sqlx::query("BEGIN").execute(&mut *conn).await?;
    let result = check_in(&mut conn, &mut r).await;
    sqlx::query("ROLLBACK").execute(&mut *conn).await?;
    result?;
    Ok(r)
}

/// An account beside the sum of its entries and its last running balance.
#[derive(sqlx::FromRow)]
struct AccountSums {
    id: String,
    kind: String,
    balance: i64,
    sum: i64,
    last: Option<i64>,
}

async fn check_in(conn: &mut SqliteConnection, r: &mut CheckReport) -> anyhow::Result<()> {
    let (accounts, transactions, entries, total): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM ledger_txns), \
                (SELECT COUNT(*) FROM ledger_entries), \
                (SELECT COALESCE(SUM(amount_minor), 0) FROM ledger_entries)",
    )
    .fetch_one(&mut *conn)
    .await?;
    r.accounts = accounts.unsigned_abs();
    r.transactions = transactions.unsigned_abs();
    r.entries = entries.unsigned_abs();
    r.total = total;

    let unbalanced: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT t.id, COALESCE(SUM(e.amount_minor), 0), COUNT(e.id), COUNT(DISTINCT a.currency) \
         FROM ledger_txns t LEFT JOIN ledger_entries e ON e.txn_id = t.id \
         LEFT JOIN accounts a ON a.id = e.account_id \
         GROUP BY t.id HAVING SUM(e.amount_minor) != 0 OR COUNT(e.id) < 2 OR COUNT(DISTINCT a.currency) > 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (id, sum, n, currencies) in unbalanced {
        r.problems.push(format!(
            "transaction {id}: {n} entries summing to {sum} in {currencies} currencies"
        ));
    }

    let drift: Vec<AccountSums> = sqlx::query_as(
        "SELECT a.id AS id, a.kind AS kind, a.balance_minor AS balance, \
                COALESCE(SUM(e.amount_minor), 0) AS sum, \
                (SELECT balance_after FROM ledger_entries l WHERE l.account_id = a.id ORDER BY l.id DESC LIMIT 1) AS last \
         FROM accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for AccountSums {
        id,
        kind,
        balance,
        sum,
        last,
    } in drift
    {
        if balance != sum || last.is_some_and(|l| l != balance) {
            r.problems.push(format!(
                "{kind} account {id}: balance {balance}, entries sum to {sum}, last running balance {last:?}"
            ));
        }
        if balance < 0 && kind != "topup_clearing" {
            r.problems
                .push(format!("{kind} account {id} is overdrawn: {balance}"));
        }
    }

    let orphans: Vec<(String, String)> = sqlx::query_as(
        "SELECT 'order', o.id FROM orders o LEFT JOIN ledger_txns t ON t.id = o.txn_id AND t.kind = 'order' \
           WHERE t.id IS NULL \
         UNION ALL SELECT 'gift', g.id FROM gift_sends g LEFT JOIN ledger_txns t ON t.id = g.txn_id AND t.kind = 'gift' \
           WHERE t.id IS NULL \
         UNION ALL SELECT 'top-up', u.id FROM top_ups u LEFT JOIN ledger_txns t ON t.id = u.txn_id \
           WHERE u.status = 'succeeded' AND t.id IS NULL \
         UNION ALL SELECT 'refunded order', o.id FROM orders o LEFT JOIN ledger_txns t ON t.id = o.refund_txn_id \
           AND t.kind = 'refund' WHERE o.status IN ('cancelled', 'refunded') AND t.id IS NULL \
         UNION ALL SELECT 'order refunded but not cancelled or refunded', o.id FROM orders o \
           WHERE o.status NOT IN ('cancelled', 'refunded') AND o.refund_txn_id IS NOT NULL \
         UNION ALL SELECT t.kind || ' transaction', t.id FROM ledger_txns t WHERE \
           (t.kind = 'refund' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.refund_txn_id = t.id)) OR \
           (t.kind = 'order' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.txn_id = t.id)) OR \
           (t.kind = 'gift' AND NOT EXISTS (SELECT 1 FROM gift_sends g WHERE g.txn_id = t.id)) OR \
           (t.kind = 'top_up' AND NOT EXISTS (SELECT 1 FROM top_ups u WHERE u.txn_id = t.id))",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (what, id) in orphans {
        r.problems
            .push(format!("{what} {id} has no matching counterpart"));
    }
    Ok(())
}
