//! RTP payload formats: depacketizers (RTP → [`weir_media::Frame`]) and packetizers
//! ([`weir_media::Frame`] → RTP within an MTU).
