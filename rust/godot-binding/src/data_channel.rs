//! `WebRTCDataChannelRs`: Godot's `WebRTCDataChannel` over a transport channel.

use godot::classes::web_rtc_data_channel::{ChannelState, WriteMode};
use godot::classes::{IWebRtcDataChannelExtension, WebRtcDataChannelExtension};
use godot::global::Error;
use godot::prelude::*;
use godot_core::meta::RawPtr;
use transport::{self as transport, DataChannel, Packet, TransportError};

use crate::{errors, raw_packet};

/// A WebRTC data channel provided by the webrtc-mesh addon. Created by
/// `WebRTCPeerConnection.create_data_channel()` or received through `data_channel_received`;
/// use it through the `WebRTCDataChannel` API. Received packets wait until read, up to the
/// project setting `network/limits/webrtc/max_channel_in_buffer_kb` (at least 64 KiB; each
/// packet counts 32 bytes besides its payload): past it an unreliable channel drops its oldest
/// packets, and a reliable one is closed with one error. `put_packet` returns
/// `ERR_OUT_OF_MEMORY` once `get_buffered_amount()` would pass 4 MiB (the remote side takes
/// data more slowly than it is sent).
#[derive(GodotClass)]
#[class(tool, init, base = WebRtcDataChannelExtension, rename = WebRTCDataChannelRs)]
pub(crate) struct WebRtcDataChannelRs {
    channel: Option<DataChannel>,
    #[init(val = WriteMode::BINARY)]
    write_mode: WriteMode,
    /// The packet last handed out by `get_packet`; its buffer must outlive the call.
    current: Option<Packet>,
    base: Base<WebRtcDataChannelExtension>,
}

impl WebRtcDataChannelRs {
    /// Wraps a transport channel in a new Godot object.
    pub(crate) fn wrap(channel: DataChannel) -> Gd<Self> {
        Gd::from_init_fn(|base| Self { channel: Some(channel), write_mode: WriteMode::BINARY, current: None, base })
    }

    /// The transport channel, for Rust code that moves packets without going through Godot.
    pub(crate) fn channel(&self) -> Option<&DataChannel> {
        self.channel.as_ref()
    }

    fn options(&self) -> Option<&transport::ChannelOptions> {
        self.channel.as_ref().map(DataChannel::options)
    }
}

fn optional(value: Option<u16>) -> i32 {
    value.map_or(-1, i32::from)
}

#[godot_api]
impl IWebRtcDataChannelExtension for WebRtcDataChannelRs {
    unsafe fn get_packet_rawptr(
        &mut self,
        r_buffer: RawPtr<*mut RawPtr<*const u8>>,
        r_buffer_size: RawPtr<*mut i32>,
    ) -> Error {
        let Some(packet) = self.channel.as_ref().and_then(DataChannel::recv) else {
            return Error::ERR_UNAVAILABLE;
        };
        let packet = self.current.insert(packet);
        // SAFETY: Godot passes valid out-pointers; the packet lives in `self.current` until the
        // next call.
        unsafe { raw_packet::hand_out(&packet.data, &r_buffer, &r_buffer_size) };
        Error::OK
    }

    unsafe fn put_packet_rawptr(&mut self, p_buffer: RawPtr<*const u8>, p_buffer_size: i32) -> Error {
        const CALL: &str = "WebRTCDataChannelRs.put_packet";
        let Some(channel) = &self.channel else {
            return errors::report(CALL, TransportError::WrongState("this channel belongs to no connection".into()));
        };
        // SAFETY: Godot passes a buffer of `p_buffer_size` readable bytes for this call.
        let data = unsafe { raw_packet::incoming(&p_buffer, p_buffer_size) };
        let as_text = self.write_mode == WriteMode::TEXT;
        errors::check(CALL, channel.send(data, as_text))
    }

    fn get_available_packet_count(&self) -> i32 {
        self.channel.as_ref().map_or(0, |channel| i32::try_from(channel.available_packets()).unwrap_or(i32::MAX))
    }

    fn get_max_packet_size(&self) -> i32 {
        self.channel.as_ref().map_or(0, |channel| i32::try_from(channel.max_message_size()).unwrap_or(i32::MAX))
    }

    fn poll(&mut self) -> Error {
        Error::OK
    }

    fn close(&mut self) {
        if let Some(channel) = &self.channel {
            channel.close();
        }
    }

    fn set_write_mode(&mut self, write_mode: WriteMode) {
        self.write_mode = write_mode;
    }

    fn get_write_mode(&self) -> WriteMode {
        self.write_mode
    }

    fn was_string_packet(&self) -> bool {
        self.current.as_ref().is_some_and(|packet| packet.is_string)
    }

    fn get_ready_state(&self) -> ChannelState {
        match self.channel.as_ref().map(DataChannel::ready_state) {
            Some(transport::ChannelState::Connecting) => ChannelState::CONNECTING,
            Some(transport::ChannelState::Open) => ChannelState::OPEN,
            Some(transport::ChannelState::Closing) => ChannelState::CLOSING,
            Some(transport::ChannelState::Closed) | None => ChannelState::CLOSED,
        }
    }

    fn get_label(&self) -> GString {
        self.channel.as_ref().map_or_else(GString::new, |channel| channel.label().into())
    }

    fn is_ordered(&self) -> bool {
        self.options().is_some_and(|options| options.ordered)
    }

    fn get_id(&self) -> i32 {
        self.channel.as_ref().map_or(-1, DataChannel::id)
    }

    fn get_max_packet_life_time(&self) -> i32 {
        optional(self.options().and_then(|options| options.max_packet_life_time))
    }

    fn get_max_retransmits(&self) -> i32 {
        optional(self.options().and_then(|options| options.max_retransmits))
    }

    fn get_protocol(&self) -> GString {
        self.options().map_or_else(GString::new, |options| options.protocol.as_str().into())
    }

    fn is_negotiated(&self) -> bool {
        self.options().is_some_and(|options| options.negotiated_id.is_some())
    }

    fn get_buffered_amount(&self) -> i32 {
        self.channel.as_ref().map_or(0, |channel| i32::try_from(channel.buffered_amount()).unwrap_or(i32::MAX))
    }
}
