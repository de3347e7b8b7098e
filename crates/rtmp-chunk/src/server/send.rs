//! Sending media, metadata and commands to the peer.

use bytes::Bytes;
use weir_amf::Amf0Value;

use super::{ServerSession, Stream, StreamMode};
use crate::chunk::{MessageHeader, PreparedMessage};
use crate::message::{commands, csid, type_id, Message, UserControl};
use crate::{Error, Result};

impl ServerSession {
    /// Our outgoing chunk size (for [`PreparedMessage`]s).
    pub fn chunk_size(&self) -> u32 {
        self.conn.encoder.chunk_size()
    }

    fn check_playing(&self, stream_id: u32) -> Result<()> {
        match self.streams.iter().find(|s| s.id == stream_id) {
            Some(Stream {
                mode: StreamMode::Playing(_),
                ..
            }) => Ok(()),
            Some(_) => Err(Error::InvalidState("stream is not playing")),
            None => Err(Error::Unknown {
                what: "stream",
                id: u64::from(stream_id),
            }),
        }
    }

    /// Sends an audio message to a playing stream.
    pub fn send_audio(&mut self, stream_id: u32, timestamp: u32, data: &Bytes) -> Result<()> {
        self.check_playing(stream_id)?;
        let h = MessageHeader {
            timestamp,
            type_id: type_id::AUDIO,
            stream_id,
        };
        self.conn.send_media(csid::AUDIO, h, data)
    }

    /// Sends a video message to a playing stream.
    pub fn send_video(&mut self, stream_id: u32, timestamp: u32, data: &Bytes) -> Result<()> {
        self.check_playing(stream_id)?;
        let h = MessageHeader {
            timestamp,
            type_id: type_id::VIDEO,
            stream_id,
        };
        self.conn.send_media(csid::VIDEO, h, data)
    }

    /// Sends `onMetaData(metadata)` to a playing stream.
    pub fn send_metadata(&mut self, stream_id: u32, metadata: &Amf0Value) -> Result<()> {
        self.check_playing(stream_id)?;
        let m = commands::on_metadata(metadata.clone())?;
        self.conn.send(csid::DATA, 0, stream_id, &m)
    }

    /// Sends a pre-chunked shared message (see [`PreparedMessage`]) to a playing stream.
    /// Build it with [`prepare`](Self::prepare) or [`PreparedMessage::new`] using this
    /// session's [`chunk_size`](Self::chunk_size) and the conventional chunk stream ids in
    /// [`csid`](crate::message::csid).
    pub fn send_prepared(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        prepared: &PreparedMessage,
    ) -> Result<()> {
        self.check_playing(stream_id)?;
        self.conn.send_prepared(prepared, timestamp, stream_id)
    }

    /// Pre-chunks an audio/video/data body once for every player using this chunk size.
    pub fn prepare(&self, type_id: u8, timestamp: u32, body: &[u8]) -> Result<PreparedMessage> {
        let c = match type_id {
            type_id::AUDIO => csid::AUDIO,
            type_id::VIDEO => csid::VIDEO,
            _ => csid::DATA,
        };
        PreparedMessage::new(c, self.chunk_size(), type_id, timestamp, body)
    }

    /// Tells a player its stream ended (`NetStream.Play.UnpublishNotify`, Stream EOF).
    pub fn send_stream_eof(&mut self, stream_id: u32) -> Result<()> {
        self.check_playing(stream_id)?;
        let c = commands::on_status(
            "status",
            "NetStream.Play.UnpublishNotify",
            "Stream unpublished.",
        );
        self.conn.send_command(csid::DATA, stream_id, c)?;
        self.conn
            .send_control(&Message::UserControl(UserControl::StreamEof(stream_id)))
    }

    /// Sends Set Chunk Size and switches our outgoing chunk size (1..=2^31-1). Messages
    /// prepared for the old size no longer fit this session.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<()> {
        self.conn.set_chunk_size(size)
    }

    /// Sends a Ping Request (User Control 6) with a caller-chosen timestamp.
    pub fn send_ping(&mut self, timestamp: u32) -> Result<()> {
        self.conn
            .send_control(&Message::UserControl(UserControl::PingRequest(timestamp)))
    }
}
