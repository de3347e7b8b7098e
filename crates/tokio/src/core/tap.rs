//! Taps: per-stream processors that see every unit in publish order.
//!
//! Some encodings cannot be built lazily by whichever player gets to a unit first because
//! they carry state from unit to unit — RTP sequence numbers are the example: every RTSP
//! player must get the same numbering, without gaps, whatever order players read in. Such
//! an egress registers a [`Tap`] on the stream when it subscribes: the hub then runs the
//! tap on every unit, in publish order, before any player can receive the unit, as long as
//! one subscription holds it. One tap of each type exists per stream, shared by every
//! subscription that asked for it; the hub does not know what a tap builds.

use std::any::{Any, TypeId};
use std::sync::Arc;

use super::unit::Unit;

/// A per-stream processor run on every unit in publish order (see the module docs).
///
/// `unit` is called with the stream's state locked: keep it short (packetizing a frame is
/// fine; IO is not). A tap is created by [`Default`] the first time a subscription asks
/// for it on a stream and lives as long as the stream.
pub trait Tap: Any + Send + Sync {
    /// Processes `unit`. Also called at subscription time for the units a new subscriber
    /// starts from (cached configurations and GOP), which the tap may have seen already:
    /// it must ignore units it has processed (e.g. by their [`Unit::index`]).
    fn unit(&self, unit: &Arc<Unit>);
}

/// A tap registered on a stream, with the number of subscriptions using it.
pub(crate) struct TapEntry {
    pub(crate) type_id: TypeId,
    pub(crate) tap: Arc<dyn Tap>,
    pub(crate) any: Arc<dyn Any + Send + Sync>,
    pub(crate) users: usize,
}

/// How to make a tap of one type.
pub(crate) struct TapFactory {
    pub(crate) type_id: TypeId,
    #[allow(clippy::type_complexity)]
    pub(crate) make: fn() -> (Arc<dyn Tap>, Arc<dyn Any + Send + Sync>),
}

impl TapFactory {
    pub(crate) fn of<T: Tap + Default>() -> TapFactory {
        fn make<T: Tap + Default>() -> (Arc<dyn Tap>, Arc<dyn Any + Send + Sync>) {
            let t = Arc::new(T::default());
            (t.clone(), t)
        }
        TapFactory {
            type_id: TypeId::of::<T>(),
            make: make::<T>,
        }
    }
}

impl std::fmt::Debug for TapFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapFactory")
            .field("type_id", &self.type_id)
            .finish()
    }
}

impl std::fmt::Debug for TapEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapEntry")
            .field("type_id", &self.type_id)
            .field("users", &self.users)
            .finish_non_exhaustive()
    }
}
