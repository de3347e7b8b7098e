//! The write-once muxing stages of HTTP-TS and HTTP-fMP4: a muxer's state run as a hub
//! [`Tap`], each unit handled once.

use std::sync::{Arc, Mutex, MutexGuard};

use weir_media::{Frame, TrackInfo};

use crate::core::{Tap, Unit};

/// A stream's muxer state, run by [`Stage`].
pub(crate) trait Muxing: Default + Send + 'static {
    /// The name `Debug` shows.
    const NAME: &'static str;
    /// Handles a unit not handled before.
    fn process(&mut self, unit: &Unit);
}

/// The unit's frame, if it is one of a track in `tracks` (the muxer's: tracks without a
/// usable configuration are not).
pub(crate) fn known_frame<'a>(unit: &'a Unit, tracks: &[TrackInfo]) -> Option<&'a Frame> {
    unit.frame_data()
        .filter(|f| tracks.iter().any(|t| t.id == f.track))
}

/// A per-stream muxing stage.
#[derive(Default)]
pub(crate) struct Stage<M> {
    state: Mutex<Handled<M>>,
}

/// A muxer's state and the index of the last unit it handled.
#[derive(Default)]
struct Handled<M> {
    last: u64,
    mux: M,
}

impl<M> Stage<M> {
    fn lock(&self) -> MutexGuard<'_, Handled<M>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the muxer's state.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&M) -> R) -> R {
        f(&self.lock().mux)
    }
}

impl<M: Muxing> std::fmt::Debug for Stage<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(M::NAME).finish_non_exhaustive()
    }
}

impl<M: Muxing> Tap for Stage<M> {
    fn unit(&self, unit: &Arc<Unit>) {
        let mut st = self.lock();
        // Units replayed to a new subscriber (cached configurations, GOP) were seen already.
        if unit.index() != 0 && unit.index() <= st.last {
            return;
        }
        st.last = unit.index();
        st.mux.process(unit);
    }
}
