//! The demo world's catalog: four live rooms with distinct hosts and product
//! bags, demo accounts and the gift catalog. Everything derived from the seed
//! (ids, prices, stock, pictures) is the same on every run with that seed.
//!
//! Size: mostly data: the seeded rooms, products, accounts and gifts of the
//! demo world.

use super::art;
use crate::auth;
use crate::money::ledger::TxnKind;
use jiff::Timestamp;
use livecart_protocol::commerce::NewAddress;
use livecart_protocol::rest::Role;
use livecart_protocol::{
    AddressId, Currency, GiftId, ImageId, Money, ProductId, RoomId, SkuId, UserId,
};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use sqlx::SqlitePool;

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "livecart";

/// Payment PIN of every demo viewer (asked for orders of $100 and more).
pub const DEMO_PIN: &str = "1234";

/// argon2id hashes (the server's own parameters) of the demo password and
/// PIN. Both are public — the README prints them — so hashing them at every
/// first launch only cost CPU before the first frame; the test below keeps
/// them honest.
const DEMO_PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$rsJp2CX0UyXGof2ymLcQCA$exR5gO71Wi4KvAOS1mNk4GeDrpEA8/SsXeFjsOgGTmI";
const DEMO_PIN_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$D15+g8wo1xM9dmdh7SEq1Q$+oD5fmIlVXshMkSDM+SmnzXy+bK1eZTHZRQUSOes8tQ";

/// What each demo viewer's wallet starts with (US cents).
pub const DEMO_BALANCE_MINOR: i64 = 20_000;

/// Demo viewers' default delivery addresses (street, city, region, postal code).
const ADDRESSES: [(&str, &str, &str, &str); 4] = [
    ("350 5th Ave, Apt 21", "New York", "NY", "10118"),
    ("1 Market St", "San Francisco", "CA", "94105"),
    ("500 Boylston St", "Boston", "MA", "02116"),
    ("233 S Wacker Dr", "Chicago", "IL", "60606"),
];

/// Demo viewers anyone can sign in as.
pub const VIEWERS: [(&str, &str); 4] = [
    ("ava", "Ava"),
    ("ben", "Ben"),
    ("chloe", "Chloé"),
    ("dan", "Dan"),
];

pub struct RoomDef {
    pub host_username: &'static str,
    pub host_name: &'static str,
    pub title: &'static str,
    pub category: &'static str,
    pub hue: f32,
    /// Bot chat messages per second.
    pub chat_rate: f64,
    pub base_viewers: u64,
    pub products: &'static [(&'static str, &'static str, &'static [&'static str], i64)],
    pub chatter: &'static [&'static str],
}

/// (name, description, SKU names, base price in cents)
pub const ROOMS: [RoomDef; 4] = [
    RoomDef {
        host_username: "mia",
        host_name: "Mia Chen",
        title: "Autumn knits drop — live try-on",
        category: "fashion",
        hue: 18.0,
        chat_rate: 8.0,
        base_viewers: 1240,
        products: &[
            (
                "Cable-knit sweater",
                "Chunky merino blend, relaxed fit.",
                &["S · Oat", "M · Oat", "L · Oat", "M · Charcoal"],
                5900,
            ),
            (
                "Wide-leg trousers",
                "High waist, pressed crease, machine washable.",
                &["S", "M", "L"],
                4500,
            ),
            (
                "Wool scarf",
                "Extra long, brushed finish.",
                &["Camel", "Grey"],
                2900,
            ),
            (
                "Leather ankle boots",
                "Stacked heel, side zip.",
                &["37", "38", "39", "40"],
                8900,
            ),
            (
                "Denim jacket",
                "Washed indigo, boxy cut.",
                &["S", "M", "L"],
                6900,
            ),
            (
                "Silk blouse",
                "Mulberry silk, covered buttons.",
                &["S · Ivory", "M · Ivory", "M · Black"],
                7500,
            ),
        ],
        chatter: &[
            "that colour!!",
            "size M for 165 cm?",
            "is it itchy?",
            "link pls",
            "try the charcoal one",
            "love this look",
            "restock the oat please",
            "what are you wearing under?",
            "so cosy",
            "how long is the scarf?",
        ],
    },
    RoomDef {
        host_username: "leo",
        host_name: "Leo Park",
        title: "Midnight snack haul: spicy & sweet",
        category: "snacks",
        hue: 5.0,
        chat_rate: 200.0,
        base_viewers: 18_600,
        products: &[
            (
                "Spicy konjac strips",
                "Chewy, numbing, dangerously moreish.",
                &["100 g", "250 g"],
                399,
            ),
            (
                "Mango mochi",
                "Soft rice cake, real mango filling.",
                &["6 pcs", "12 pcs"],
                699,
            ),
            (
                "Seaweed chips",
                "Baked, sea salt.",
                &["Single", "Box of 10"],
                249,
            ),
            (
                "Chili crisp oil",
                "Crunchy garlic, Sichuan pepper.",
                &["200 ml", "2 × 200 ml"],
                899,
            ),
            (
                "Matcha cookies",
                "Uji matcha, white chocolate chips.",
                &["Tin"],
                1199,
            ),
            (
                "Dried strawberries",
                "No added sugar.",
                &["150 g", "500 g"],
                549,
            ),
            ("Milk tea candy", "Hokkaido milk, black tea.", &["Bag"], 299),
        ],
        chatter: &[
            "SPICY 🔥",
            "bought 3 already",
            "how hot is it really",
            "my tongue is numb just watching",
            "mango mochi 😍",
            "ship to Canada?",
            "1111",
            "this is my 4th order",
            "omg",
            "eat it eat it",
            "is the oil vegan?",
            "🔥🔥🔥",
            "take my money",
            "crunch sound!!",
            "sold out again??",
        ],
    },
    RoomDef {
        host_username: "kai",
        host_name: "Kai Okafor",
        title: "Desk setup gadgets under $50",
        category: "gadgets",
        hue: 205.0,
        chat_rate: 3.0,
        base_viewers: 530,
        products: &[
            (
                "Wireless earbuds",
                "ANC, 30 h with case.",
                &["Black", "White"],
                3999,
            ),
            (
                "65 W GaN charger",
                "Three ports, folding plug.",
                &["EU", "US", "UK"],
                3499,
            ),
            (
                "Mechanical keypad",
                "Hot-swap, 9 keys + knob.",
                &["Brown switches", "Red switches"],
                2999,
            ),
            (
                "Phone tripod",
                "Bluetooth remote, 1.2 m.",
                &["Standard"],
                1899,
            ),
            (
                "Smart LED bulb",
                "Tunable white and colour.",
                &["1 pack", "4 pack"],
                1299,
            ),
            (
                "Power bank 10,000 mAh",
                "20 W PD, magnetic.",
                &["Graphite", "Sand"],
                2799,
            ),
        ],
        chatter: &[
            "does it work with iPhone?",
            "latency for games?",
            "usb-c both ends?",
            "nice setup",
            "what keyboard is that",
            "battery life?",
            "compare to AirPods?",
            "warranty?",
        ],
    },
    RoomDef {
        host_username: "zoe",
        host_name: "Zoé Laurent",
        title: "Glass-skin routine, step by step",
        category: "beauty",
        hue: 330.0,
        chat_rate: 12.0,
        base_viewers: 3870,
        products: &[
            (
                "Hydrating serum",
                "Hyaluronic acid + panthenol.",
                &["30 ml", "50 ml"],
                2400,
            ),
            (
                "Sunscreen SPF 50",
                "No white cast, light fluid.",
                &["50 ml"],
                1900,
            ),
            (
                "Lip tint",
                "Water-light, long wear.",
                &["Rose", "Coral", "Berry"],
                1400,
            ),
            (
                "Cleansing balm",
                "Melts makeup, rinses clean.",
                &["100 ml"],
                2200,
            ),
            (
                "Sheet masks",
                "Rice water, brightening.",
                &["5 pack", "10 pack"],
                1500,
            ),
            (
                "Jade roller",
                "Cool-touch, double ended.",
                &["Green jade", "Rose quartz"],
                1800,
            ),
        ],
        chatter: &[
            "skin goals",
            "ok for sensitive skin?",
            "coral is so pretty",
            "does it pill under makeup?",
            "fragrance free?",
            "your skin is glowing",
            "which step is this",
            "bought the serum last week, love it",
        ],
    },
];

/// (name, coins, animation)
pub const GIFTS: [(&str, u32, &str); 8] = [
    ("Heart", 1, "heart"),
    ("Rose", 5, "rose"),
    ("Ice cream", 20, "ice-cream"),
    ("Confetti", 99, "confetti"),
    ("Crown", 299, "crown"),
    ("Sports car", 1000, "sports-car"),
    ("Rocket", 2000, "rocket"),
    ("Castle", 5000, "castle"),
];

/// Seeded id generator: UUID v7 with a fixed clock, so runs match.
pub struct Ids {
    rng: ChaCha8Rng,
    ms: u64,
}

impl Ids {
    pub fn new(rng: ChaCha8Rng) -> Self {
        // 2026-01-01T00:00:00Z: ids sort in creation order within the world.
        Self {
            rng,
            ms: 1_767_225_600_000,
        }
    }

    pub fn next_id<T: From<uuid::Uuid>>(&mut self) -> T {
        let mut r = [0u8; 10];
        self.rng.fill_bytes(&mut r);
        self.ms += 1;
        T::from(uuid::Builder::from_unix_timestamp_millis(self.ms, &r).into_uuid())
    }
}

/// A viewer ready to buy in three taps — `balance_minor` US cents in the
/// wallet and a default address — but with no usable password (its hash is
/// not a PHC string, so sign-in always fails): the caller mints its tokens.
/// Load tests and benchmarks need hundreds of buyers without hundreds of
/// argon2 hashes.
pub async fn provision_buyer(
    conn: &mut sqlx::SqliteConnection,
    username: &str,
    balance_minor: i64,
) -> anyhow::Result<UserId> {
    let id = UserId::new();
    auth::create_user_hashed(&mut *conn, id, username, username, Role::Viewer, "!").await?;
    let address = ("1 Test St", "Testville", "", "00001");
    ready_to_buy(
        conn,
        id,
        username,
        AddressId::new(),
        address,
        "+1 555 0100",
        balance_minor,
    )
    .await?;
    Ok(id)
}

/// A wallet balance (from the clearing account, like a top-up) and a
/// default US address (street, city, region, postal code).
async fn ready_to_buy(
    conn: &mut sqlx::SqliteConnection,
    user: UserId,
    name: &str,
    address_id: AddressId,
    (line1, city, region, postal_code): (&str, &str, &str, &str),
    phone: &str,
    balance_minor: i64,
) -> anyhow::Result<()> {
    if balance_minor > 0 {
        let amount = Money::new(balance_minor, Currency::USD);
        crate::money::wallet::credit(
            conn,
            user,
            amount,
            TxnKind::DemoCredit,
            None,
            "Welcome credit",
        )
        .await?;
    }
    let address = NewAddress {
        name: name.into(),
        line1: line1.into(),
        line2: String::new(),
        city: city.into(),
        region: region.into(),
        postal_code: postal_code.into(),
        country: "US".into(),
        phone: phone.into(),
        is_default: true,
    };
    crate::money::orders::save_address(conn, user, address_id, &address, false)
        .await
        .map_err(|e| anyhow::anyhow!("demo address: {e}"))?;
    Ok(())
}

/// Writes the whole world into an empty database; returns its pictures, to
/// be drawn (the rows that use them are written already).
#[allow(clippy::too_many_lines)] // the demo world's data, written out in one place
pub async fn seed(db: &SqlitePool, seed: u64) -> anyhow::Result<Vec<(ImageId, art::Art)>> {
    use rand::SeedableRng;
    let mut ids = Ids::new(ChaCha8Rng::seed_from_u64(seed));
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
    let now = Timestamp::now().to_string();
    let mut arts = Vec::new();
    // One transaction for the whole world.
    let hash = DEMO_PASSWORD_HASH;
    let mut tx = db.begin().await?;

    for (i, (username, name)) in VIEWERS.iter().enumerate() {
        let id: UserId = ids.next_id();
        auth::create_user_hashed(&mut *tx, id, username, name, Role::Viewer, hash).await?;
        // Ready to buy in three taps: a balance, a default address, a PIN.
        sqlx::query("UPDATE users SET payment_pin_hash = ? WHERE id = ?")
            .bind(DEMO_PIN_HASH)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let phone = format!("+1 555 010 {:04}", 1000 + i);
        let address = ADDRESSES[i % ADDRESSES.len()];
        ready_to_buy(
            &mut tx,
            id,
            name,
            ids.next_id(),
            address,
            &phone,
            DEMO_BALANCE_MINOR,
        )
        .await?;
        let avatar: ImageId = ids.next_id();
        arts.push((avatar, art::avatar(90.0 * i as f32 + 40.0)));
        sqlx::query("UPDATE users SET avatar_id = ? WHERE id = ?")
            .bind(avatar.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    }

    for (pos, def) in ROOMS.iter().enumerate() {
        let host: UserId = ids.next_id();
        auth::create_user_hashed(
            &mut *tx,
            host,
            def.host_username,
            def.host_name,
            Role::Host,
            hash,
        )
        .await?;
        let avatar: ImageId = ids.next_id();
        arts.push((avatar, art::avatar(def.hue)));
        sqlx::query("UPDATE users SET avatar_id = ? WHERE id = ?")
            .bind(avatar.to_string())
            .bind(host.to_string())
            .execute(&mut *tx)
            .await?;

        let room: RoomId = ids.next_id();
        let cover: ImageId = ids.next_id();
        arts.push((cover, art::cover(&mut rng, def.hue)));
        sqlx::query(
            "INSERT INTO rooms (id, host_id, title, category, cover_id, status, position, created_at) VALUES (?, ?, ?, ?, ?, 'live', ?, ?)",
        )
        .bind(room.to_string())
        .bind(host.to_string())
        .bind(def.title)
        .bind(def.category)
        .bind(cover.to_string())
        .bind(pos as i64)
        .bind(&now)
        .execute(&mut *tx)
        .await?;

        for (p, (pname, desc, skus, base)) in def.products.iter().enumerate() {
            let product: ProductId = ids.next_id();
            let image: ImageId = ids.next_id();
            arts.push((image, art::product(&mut rng, def.hue, p)));
            sqlx::query("INSERT INTO products (id, room_id, name, description, image_id, position) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(product.to_string())
                .bind(room.to_string())
                .bind(pname)
                .bind(desc)
                .bind(image.to_string())
                .bind(p as i64)
                .execute(&mut *tx)
                .await?;
            for (s, sku_name) in skus.iter().enumerate() {
                let sku: SkuId = ids.next_id();
                // Larger variants cost more; prices end in 9 like real shops.
                let price = (base + base * s as i64 * 3 / 10) / 100 * 100 + 99;
                let stock = rng.random_range(3..120);
                sqlx::query("INSERT INTO skus (id, product_id, name, price_minor, currency, stock, position) VALUES (?, ?, ?, ?, ?, ?, ?)")
                    .bind(sku.to_string())
                    .bind(product.to_string())
                    .bind(sku_name)
                    .bind(price)
                    .bind(Currency::USD.as_str())
                    .bind(stock)
                    .bind(s as i64)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }

    for (i, (name, coins, animation)) in GIFTS.iter().enumerate() {
        let id: GiftId = ids.next_id();
        sqlx::query(
            "INSERT INTO gifts (id, name, coins, animation, position) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(name)
        .bind(i64::from(*coins))
        .bind(animation)
        .bind(i as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(arts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_demo_hashes_match_the_public_demo_secrets() {
        assert!(auth::verify_password(DEMO_PASSWORD, DEMO_PASSWORD_HASH));
        assert!(auth::verify_password(DEMO_PIN, DEMO_PIN_HASH));
        assert!(!auth::verify_password("1235", DEMO_PIN_HASH));
    }
}
