//! Media units: what a publisher hands the hub and every player receives.
//!
//! A [`Unit`] is one thing that happened on a stream — a track was (re)configured, a coded
//! frame arrived, metadata changed, the stream ended — in the protocol-neutral vocabulary
//! of `weir-media` ([`TrackInfo`], [`Frame`] with typed timestamps). It is built once per
//! stream and shared (`Arc`) by every player.
//!
//! Egresses cache their encodings of a unit on the unit itself ([`Unit::encoding`]): the
//! first player that needs an FLV tag, RTMP chunks, RTP packets or a TS packet run builds
//! it, every other player of that format reuses it, and formats nobody plays are never
//! built. The hub does not know which encodings exist: each egress declares its own
//! [`EncodingKey`]. An ingest may seed an encoding it already has (RTMP ingest hands over
//! the publisher's own FLV tag body, so FLV players get it byte for byte).

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use weir_media::{Frame, MediaKind, Timestamp, TrackInfo};

use super::metadata::StreamMetadata;

/// What a [`Unit`] carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnitKind {
    /// A video track's configuration or one of its frames.
    Video,
    /// An audio (or other non-video) track's configuration or one of its frames.
    Audio,
    /// Stream metadata.
    Metadata,
    /// The stream ended; nothing follows.
    End,
}

/// What a unit is about, beyond its kind.
#[derive(Debug)]
enum Body {
    /// A track was announced or its configuration changed.
    Config,
    /// A coded frame of the track.
    Frame(Frame),
    /// Stream metadata.
    Metadata(Arc<StreamMetadata>),
    /// End of stream.
    End,
}

/// One media message of a live stream, shared by all of its players.
pub struct Unit {
    kind: UnitKind,
    body: Body,
    track: Option<Arc<TrackInfo>>,
    /// Stream time of the unit: the frame's DTS, or the stream clock when a configuration
    /// or metadata was published.
    time: Timestamp,
    /// Position in the stream (1 for the first unit of a stream, +1 per unit).
    index: u64,
    encodings: Encodings,
}

impl fmt::Debug for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unit")
            .field("kind", &self.kind)
            .field("index", &self.index)
            .field("time", &self.time)
            .field("track", &self.track.as_ref().map(|t| (t.id, t.codec)))
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

fn kind_of(track: &TrackInfo) -> UnitKind {
    match track.codec.kind() {
        MediaKind::Video => UnitKind::Video,
        _ => UnitKind::Audio,
    }
}

impl Unit {
    /// A coded frame of `track`.
    pub fn frame(track: Arc<TrackInfo>, frame: Frame) -> Unit {
        Unit {
            kind: kind_of(&track),
            time: frame.dts,
            body: Body::Frame(frame),
            track: Some(track),
            index: 0,
            encodings: Encodings::default(),
        }
    }

    /// A configuration unit announcing `track` (new, or with changed parameters), at stream
    /// time `time`.
    pub fn config(track: Arc<TrackInfo>, time: Timestamp) -> Unit {
        Unit {
            kind: kind_of(&track),
            body: Body::Config,
            track: Some(track),
            time,
            index: 0,
            encodings: Encodings::default(),
        }
    }

    /// A metadata unit.
    pub fn metadata(metadata: Arc<StreamMetadata>, time: Timestamp) -> Unit {
        Unit {
            kind: UnitKind::Metadata,
            body: Body::Metadata(metadata),
            track: None,
            time,
            index: 0,
            encodings: Encodings::default(),
        }
    }

    /// The end-of-stream marker.
    pub fn end(time: Timestamp) -> Unit {
        Unit {
            kind: UnitKind::End,
            body: Body::End,
            track: None,
            time,
            index: 0,
            encodings: Encodings::default(),
        }
    }

    pub(crate) fn with_index(mut self, index: u64) -> Unit {
        self.index = index;
        self
    }

    /// The kind.
    pub fn kind(&self) -> UnitKind {
        self.kind
    }

    /// Position in the stream: units of one stream are numbered from 1 in publish order
    /// (0 for units that never went through a hub).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Stream time: the frame's DTS, or the stream clock for configurations and metadata.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// The coded frame, for frame units.
    pub fn frame_data(&self) -> Option<&Frame> {
        match &self.body {
            Body::Frame(f) => Some(f),
            _ => None,
        }
    }

    /// The track this unit belongs to (for a configuration: the track it announces).
    pub fn track(&self) -> Option<&Arc<TrackInfo>> {
        self.track.as_ref()
    }

    /// The metadata, for metadata units.
    pub fn stream_metadata(&self) -> Option<&Arc<StreamMetadata>> {
        match &self.body {
            Body::Metadata(m) => Some(m),
            _ => None,
        }
    }

    /// A track configuration (the FLV "sequence header", an SDP's parameter sets…).
    pub fn is_config(&self) -> bool {
        matches!(self.body, Body::Config)
    }

    /// A coded frame.
    pub fn is_frame(&self) -> bool {
        matches!(self.body, Body::Frame(_))
    }

    /// A video random-access point (a keyframe of a video track).
    pub fn is_keyframe(&self) -> bool {
        self.kind == UnitKind::Video && matches!(&self.body, Body::Frame(f) if f.keyframe)
    }

    /// Payload bytes carried (for cache accounting).
    pub fn len(&self) -> usize {
        match &self.body {
            Body::Frame(f) => f.data.len(),
            _ => 0,
        }
    }

    /// True when the unit carries no payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding `key` of this unit, built by `build` the first time any player asks
    /// and shared from then on.
    pub fn encoding<T: Send + Sync + 'static>(
        &self,
        key: &'static EncodingKey<T>,
        build: impl FnOnce(&Unit) -> T,
    ) -> &T {
        let cell = self.encodings.cell(key.slot());
        let value = cell.get_or_init(|| Box::new(build(self)));
        match value.downcast_ref::<T>() {
            Some(v) => v,
            // A slot holds one key's type only (keys never share a slot).
            None => unreachable_encoding(),
        }
    }

    /// The encoding `key` if it has been built (or seeded).
    pub fn cached<T: Send + Sync + 'static>(&self, key: &'static EncodingKey<T>) -> Option<&T> {
        self.encodings
            .cell(key.slot())
            .get()
            .and_then(|v| v.downcast_ref::<T>())
    }

    /// Seeds the encoding `key` with a value the ingest already has (RTMP ingest hands
    /// over the publisher's own FLV tag body). Returns false, dropping `value`, when the
    /// encoding exists already.
    pub fn seed<T: Send + Sync + 'static>(&self, key: &'static EncodingKey<T>, value: T) -> bool {
        self.encodings.cell(key.slot()).set(Box::new(value)).is_ok()
    }
}

#[cold]
fn unreachable_encoding() -> ! {
    // Keys are `'static` items with a fixed type; a slot index is given to one key only.
    panic!("weir-tokio: encoding slot holds another type (EncodingKey reused across types)")
}

/// Identifies one cached encoding of units (an egress format), with its value type.
///
/// Declare one `static` per format:
///
/// ```
/// use bytes::Bytes;
/// use weir_tokio::core::{EncodingKey, Unit};
///
/// static MY_FORMAT: EncodingKey<Bytes> = EncodingKey::new();
///
/// fn encoded(unit: &Unit) -> &Bytes {
///     unit.encoding(&MY_FORMAT, |u| Bytes::from(format!("{:?}", u.kind())))
/// }
/// # let u = Unit::end(weir_media::Timestamp::new(0, weir_media::Timebase::MILLIS));
/// # assert_eq!(encoded(&u), &Bytes::from_static(b"End"));
/// ```
pub struct EncodingKey<T> {
    slot: AtomicUsize,
    _type: PhantomData<fn() -> T>,
}

impl<T> EncodingKey<T> {
    /// A new key (its slot is assigned on first use).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> EncodingKey<T> {
        EncodingKey {
            slot: AtomicUsize::new(usize::MAX),
            _type: PhantomData,
        }
    }

    fn slot(&self) -> usize {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let s = self.slot.load(Ordering::Acquire);
        if s != usize::MAX {
            return s;
        }
        let fresh = NEXT.fetch_add(1, Ordering::Relaxed);
        match self
            .slot
            .compare_exchange(usize::MAX, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => fresh,
            Err(won) => won,
        }
    }
}

impl<T> fmt::Debug for EncodingKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodingKey")
            .field("slot", &self.slot.load(Ordering::Relaxed))
            .finish()
    }
}

/// Slots per level: enough for every format the relay has; more keys chain a level.
const SLOTS: usize = 6;

type Cell = OnceLock<Box<dyn Any + Send + Sync>>;

/// A unit's encodings: a few lock-free slots, extended by chained levels when an
/// application registers more formats than fit.
#[derive(Default)]
struct Encodings {
    slots: [Cell; SLOTS],
    more: OnceLock<Box<Encodings>>,
}

impl Encodings {
    fn cell(&self, slot: usize) -> &Cell {
        let mut level = self;
        let mut i = slot;
        while i >= SLOTS {
            level = level.more.get_or_init(Box::default);
            i -= SLOTS;
        }
        &level.slots[i.min(SLOTS - 1)]
    }
}
