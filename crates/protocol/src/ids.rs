//! Identifiers. Every entity id is a UUID v7 (time-ordered, so ids sort by
//! creation and index well); each kind has its own newtype so a `ProductId`
//! can never be passed where a `SkuId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh UUID v7 stamped with the current time.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// A UUID v7 from explicit parts, for deterministic seeded data.
            pub fn from_parts(unix_ms: u64, random: [u8; 10]) -> Self {
                Self(uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid())
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// A live room.
    RoomId
);
id_type!(
    /// A user account: viewer, host or admin.
    UserId
);
id_type!(
    /// A product in a room's bag.
    ProductId
);
id_type!(
    /// One purchasable variant of a product (size, colour, flavour).
    SkuId
);
id_type!(
    /// A chat message.
    MessageId
);
id_type!(
    /// An entry of the gift catalog.
    GiftId
);
id_type!(
    /// Groups repeated taps on the same gift into one combo ("x12").
    ComboId
);
id_type!(
    /// A flash sale.
    FlashSaleId
);
id_type!(
    /// A server-generated image (cover or product picture).
    ImageId
);
id_type!(
    /// A room's event-history generation. It changes whenever the server can no
    /// longer vouch for the continuity of `seq` (restart, history reset); a
    /// client holding another epoch must take a fresh snapshot.
    Epoch
);
id_type!(
    /// An order: one SKU, one quantity, paid from the wallet.
    OrderId
);
id_type!(
    /// A saved delivery address.
    AddressId
);
id_type!(
    /// A wallet top-up through the payment provider.
    TopUpId
);
id_type!(
    /// One balanced ledger transaction (a payment, a gift, a top-up).
    TxnId
);
id_type!(
    /// One paid gift request (one tap of a combo).
    GiftSendId
);
