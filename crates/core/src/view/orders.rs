//! The orders screen's view models: the list, one order's timeline, and
//! the toast a step shows over the live.

use super::format::{ago, price};
use super::model::Model;
use crate::app::orders::{MeLink, status_words};
use livecart_protocol::OrderId;
use livecart_protocol::commerce::{Order, OrderStatus, RefundReason};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderToastView {
    pub order: OrderId,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersView {
    /// "You're offline — showing your saved orders".
    pub offline: Option<String>,
    pub rows: Vec<OrderRowView>,
    pub detail: Option<OrderDetailView>,
    /// True until the first list arrives (cache or server).
    pub loading: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRowView {
    pub id: OrderId,
    pub product: String,
    /// "M · ×2".
    pub sku: String,
    pub total: String,
    pub status: String,
    /// `paid`, `shipped` … for styling.
    pub status_key: &'static str,
    pub thumb_url: String,
    /// "3 min ago", "Nov 22".
    pub when: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetailView {
    pub row: OrderRowView,
    pub image_url: String,
    /// "Bought in Cosy knits · Nov 22, 18:03".
    pub bought_in: String,
    /// "Ava Park, 1 Market St, San Francisco 94103".
    pub address: String,
    pub unit_price: String,
    pub steps: Vec<StepView>,
    pub can_cancel: bool,
    pub can_request_refund: bool,
    pub busy: bool,
    pub notice: Option<String>,
    /// The refund reasons, when the picker is open: (label, reason).
    pub reasons: Vec<(String, RefundReason)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    pub label: String,
    /// "18:03", or empty for a step still to come.
    pub at: String,
    pub note: String,
    pub done: bool,
    /// The step the order is at now.
    pub current: bool,
}

pub(super) fn order_row(o: &Order, now_ms: i64) -> OrderRowView {
    OrderRowView {
        id: o.id,
        product: o.product_name.clone(),
        sku: if o.quantity > 1 {
            format!("{} · ×{}", o.sku_name, o.quantity)
        } else {
            o.sku_name.clone()
        },
        total: price(&o.total),
        status: status_words(o.status).to_owned(),
        status_key: o.status.as_str(),
        thumb_url: o.image.thumb_url.clone(),
        when: ago(o.created_at, now_ms),
    }
}

/// The timeline: every step the order went through, then (on the delivery
/// path) the ones still to come.
pub(super) fn steps(o: &Order) -> Vec<StepView> {
    let mut steps: Vec<StepView> = o
        .timeline
        .iter()
        .map(|s| StepView {
            label: status_words(s.status).to_owned(),
            at: s.at.strftime("%b %-d, %H:%M:%S").to_string(),
            note: s.note.clone(),
            done: true,
            current: false,
        })
        .collect();
    if let Some(last) = steps.last_mut() {
        last.current = true;
    }
    if OrderStatus::DELIVERY.contains(&o.status) {
        let reached = o.timeline.iter().map(|s| s.status).collect::<Vec<_>>();
        for s in OrderStatus::DELIVERY {
            if !reached.contains(&s) {
                steps.push(StepView {
                    label: status_words(s).to_owned(),
                    at: String::new(),
                    note: String::new(),
                    done: false,
                    current: false,
                });
            }
        }
    }
    steps
}

pub(super) fn orders_view(app: &Model, now_ms: i64) -> OrdersView {
    let orders = &app.orders;
    let detail = orders.detail.and_then(|id| orders.get(id)).map(|o| {
        let a = &o.address;
        OrderDetailView {
            row: order_row(o, now_ms),
            image_url: o.image.url.clone(),
            bought_in: format!(
                "Bought in {} · {}",
                if o.room_title.is_empty() {
                    "a live"
                } else {
                    &o.room_title
                },
                o.created_at.strftime("%b %-d, %H:%M")
            ),
            address: format!("{}, {}, {} {}", a.name, a.line1, a.city, a.postal_code),
            unit_price: price(&o.unit_price),
            steps: steps(o),
            can_cancel: o.status.cancellable(),
            can_request_refund: o.status == OrderStatus::Delivered,
            busy: orders.busy == Some(o.id),
            notice: orders.notice.clone(),
            reasons: if orders.picking_reason {
                [
                    ("Arrived damaged", RefundReason::Damaged),
                    ("Not as described", RefundReason::NotAsDescribed),
                    ("Wrong item", RefundReason::WrongItem),
                    ("Changed my mind", RefundReason::ChangedMind),
                ]
                .into_iter()
                .map(|(l, r)| (l.to_owned(), r))
                .collect()
            } else {
                Vec::new()
            },
        }
    });
    OrdersView {
        offline: orders.offline.then(|| {
            if orders.list.is_empty() {
                "You're offline — your orders will show when livecart reconnects".to_owned()
            } else {
                "You're offline — showing your saved orders".to_owned()
            }
        }),
        rows: orders.list.iter().map(|o| order_row(o, now_ms)).collect(),
        detail,
        loading: orders.list.is_empty() && orders.link != MeLink::Live && !orders.offline,
    }
}
