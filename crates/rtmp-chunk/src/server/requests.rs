//! Answering `connect`, `publish` and `play` requests.

use weir_amf::Amf0Value;

use super::{Pending, Phase, RequestId, ServerEvent, ServerSession, StreamMode};
use crate::message::{commands, csid, Message, UserControl};
use crate::{Error, Result};

impl ServerSession {
    /// Accepts a `connect`: sends Window Acknowledgement Size, Set Peer Bandwidth, Set
    /// Chunk Size and `_result` with `NetConnection.Connect.Success`.
    pub fn accept_connect(&mut self, request: RequestId) -> Result<()> {
        let Pending::Connect {
            tid,
            object_encoding,
        } = self.take_pending(request)?
        else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        self.conn
            .send_control(&Message::WindowAckSize(self.cfg.window_ack_size))?;
        self.conn.send_control(&Message::SetPeerBandwidth {
            size: self.cfg.peer_bandwidth,
            limit_type: 2,
        })?;
        self.conn.set_chunk_size(self.cfg.chunk_size)?;
        let props = Amf0Value::object([
            ("fmsVer", "FMS/3,5,7,7009".into()),
            ("capabilities", 31.0.into()),
            ("mode", 1.0.into()),
        ]);
        let mut info = commands::status_info(
            "status",
            "NetConnection.Connect.Success",
            "Connection succeeded.",
        );
        if let Some(p) = info.properties_mut() {
            p.push(("objectEncoding".into(), object_encoding.into()));
        }
        self.conn
            .send_command(csid::COMMAND, 0, commands::result(tid, props, info))?;
        self.phase = Phase::Connected;
        Ok(())
    }

    /// Rejects a `connect` with `NetConnection.Connect.Rejected` and closes the session.
    pub fn reject_connect(&mut self, request: RequestId, description: &str) -> Result<()> {
        let Pending::Connect { tid, .. } = self.take_pending(request)? else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        let info = commands::status_info("error", "NetConnection.Connect.Rejected", description);
        self.conn.send_command(
            csid::COMMAND,
            0,
            commands::error(tid, Amf0Value::Null, info),
        )?;
        self.phase = Phase::Closed;
        self.events.push_back(ServerEvent::Closed);
        Ok(())
    }

    /// Accepts a `publish`: sends Stream Begin and `NetStream.Publish.Start`.
    pub fn accept_publish(&mut self, request: RequestId) -> Result<()> {
        let Pending::Publish { stream_id, name } = self.take_pending(request)? else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        if let Some(s) = self.stream_mut(stream_id) {
            s.mode = StreamMode::Publishing(name.clone());
        }
        self.conn
            .send_control(&Message::UserControl(UserControl::StreamBegin(stream_id)))?;
        let cmd = commands::on_status(
            "status",
            "NetStream.Publish.Start",
            &format!("{name} is now published."),
        );
        self.conn.send_command(csid::DATA, stream_id, cmd)
    }

    /// Rejects a `publish` with an error status (`code` e.g. `NetStream.Publish.BadName`
    /// for a name already in use, `NetStream.Publish.Denied` for an auth failure).
    pub fn reject_publish(
        &mut self,
        request: RequestId,
        code: &str,
        description: &str,
    ) -> Result<()> {
        let Pending::Publish { stream_id, .. } = self.take_pending(request)? else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        if let Some(s) = self.stream_mut(stream_id) {
            s.mode = StreamMode::Idle;
        }
        self.conn.send_command(
            csid::DATA,
            stream_id,
            commands::on_status("error", code, description),
        )
    }

    /// Accepts a `play`: sends Stream Begin, `NetStream.Play.Reset` (when requested),
    /// `NetStream.Play.Start` and `|RtmpSampleAccess`. Then send
    /// media with [`send_audio`](Self::send_audio) and friends.
    pub fn accept_play(&mut self, request: RequestId) -> Result<()> {
        let Pending::Play {
            stream_id,
            name,
            reset,
        } = self.take_pending(request)?
        else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        if let Some(s) = self.stream_mut(stream_id) {
            s.mode = StreamMode::Playing(name.clone());
        }
        self.conn
            .send_control(&Message::UserControl(UserControl::StreamBegin(stream_id)))?;
        if reset {
            let c = commands::on_status(
                "status",
                "NetStream.Play.Reset",
                &format!("Playing and resetting {name}."),
            );
            self.conn.send_command(csid::DATA, stream_id, c)?;
        }
        let c = commands::on_status(
            "status",
            "NetStream.Play.Start",
            &format!("Started playing {name}."),
        );
        self.conn.send_command(csid::DATA, stream_id, c)?;
        // `|RtmpSampleAccess` is the one data message sent before media, as nginx-rtmp
        // does. No `onStatus(NetStream.Data.Start)` data message: ffmpeg's FLV demuxer
        // turns any data message it does not know into a data stream that never advances,
        // so `ffmpeg -i rtmp://… -t N` would never stop.
        let access = Message::data(vec!["|RtmpSampleAccess".into(), true.into(), true.into()])?;
        self.conn.send(csid::DATA, 0, stream_id, &access)
    }

    /// Rejects a `play` (`code` e.g. `NetStream.Play.StreamNotFound`).
    pub fn reject_play(&mut self, request: RequestId, code: &str, description: &str) -> Result<()> {
        let Pending::Play { stream_id, .. } = self.take_pending(request)? else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        if let Some(s) = self.stream_mut(stream_id) {
            s.mode = StreamMode::Idle;
        }
        self.conn.send_command(
            csid::DATA,
            stream_id,
            commands::on_status("error", code, description),
        )
    }
}
