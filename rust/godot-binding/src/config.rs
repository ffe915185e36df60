//! Reading Godot dictionaries into transport configuration.

use godot::builtin::{Array, VarDictionary, Variant, VariantType};
use godot::classes::ProjectSettings;
use godot::meta::FromGodot;
use godot::obj::Singleton;
use transport::channel::MAX_CHANNEL_ID;
use transport::error::excerpt;
use transport::{ChannelOptions, IceServer, IceTransportPolicy, TransportConfig, TransportError};

fn invalid(text: String) -> TransportError {
    TransportError::InvalidConfig(text)
}

fn value<T: FromGodot>(dict: &VarDictionary, key: &str) -> Result<Option<T>, TransportError> {
    match dict.get(key) {
        None => Ok(None),
        Some(variant) => variant
            .try_to::<T>()
            .map(Some)
            .map_err(|_| invalid(format!("'{key}' has the wrong type ({:?})", variant.get_type()))),
    }
}

fn boolean(dict: &VarDictionary, key: &str) -> Result<Option<bool>, TransportError> {
    match dict.get(key) {
        Some(variant) if variant.get_type() == VariantType::INT => Ok(Some(variant.to::<i64>() != 0)),
        _ => value::<bool>(dict, key),
    }
}

fn u16_option(dict: &VarDictionary, keys: &[&str]) -> Result<Option<u16>, TransportError> {
    for key in keys {
        if let Some(number) = value::<i64>(dict, key)? {
            return u16::try_from(number)
                .map(Some)
                .map_err(|_| invalid(format!("'{key}' must be between 0 and 65535, got {number}")));
        }
    }
    Ok(None)
}

/// The project setting that bounds each channel's received, unread data, in KiB (the engine
/// registers it with its WebRTC module).
pub(crate) const CHANNEL_IN_BUFFER_SETTING: &str = "network/limits/webrtc/max_channel_in_buffer_kb";

/// The engine's default for [`CHANNEL_IN_BUFFER_SETTING`], used where it is not registered.
const DEFAULT_CHANNEL_IN_BUFFER_KB: i64 = 64;

/// [`CHANNEL_IN_BUFFER_SETTING`] in bytes, as read now (the transport and the mesh use at
/// least the largest message, 64 KiB, whatever it says).
pub(crate) fn channel_receive_limit() -> usize {
    let setting = ProjectSettings::singleton().get_setting(CHANNEL_IN_BUFFER_SETTING);
    let kib = setting.try_to::<i64>().unwrap_or(DEFAULT_CHANNEL_IN_BUFFER_KB);
    usize::try_from(kib).unwrap_or(0).saturating_mul(1024)
}

/// The configuration of a connection made without `initialize()`.
pub(crate) fn default_transport_config() -> TransportConfig {
    TransportConfig { channel_receive_limit: channel_receive_limit(), ..TransportConfig::default() }
}

/// Reads `initialize()`'s dictionary: `iceServers`, `iceTransportPolicy` and our own
/// `bindAddress`; the channels' receive limit comes from [`CHANNEL_IN_BUFFER_SETTING`].
pub(crate) fn transport_config(dict: &VarDictionary) -> Result<TransportConfig, TransportError> {
    let mut config = default_transport_config();
    if let Some(servers) = value::<Array<Variant>>(dict, "iceServers")? {
        for server in servers.iter_shared() {
            let server = server
                .try_to::<VarDictionary>()
                .map_err(|_| invalid("every entry of 'iceServers' must be a Dictionary".into()))?;
            config.ice_servers.push(ice_server(&server)?);
        }
    }
    if let Some(policy) = value::<String>(dict, "iceTransportPolicy")? {
        config.ice_transport_policy = IceTransportPolicy::parse(&policy)?;
    }
    if let Some(address) = value::<String>(dict, "bindAddress")? {
        let parsed = address
            .parse()
            .map_err(|_| invalid(format!("'bindAddress' is not an IP address: '{}'", excerpt(&address))))?;
        config.bind_address = Some(parsed);
    }
    config.validate()?;
    Ok(config)
}

fn ice_server(dict: &VarDictionary) -> Result<IceServer, TransportError> {
    let urls = match dict.get("urls") {
        None => return Err(invalid("an ICE server has no 'urls'".into())),
        Some(urls) if urls.get_type() == VariantType::STRING => vec![urls.to::<String>()],
        Some(urls) => urls
            .try_to::<Array<Variant>>()
            .map_err(|_| invalid("'urls' must be a String or an Array of Strings".into()))?
            .iter_shared()
            .map(|url| url.try_to::<String>().map_err(|_| invalid("'urls' must hold Strings".into())))
            .collect::<Result<_, _>>()?,
    };
    Ok(IceServer {
        urls,
        username: value::<String>(dict, "username")?.unwrap_or_default(),
        credential: value::<String>(dict, "credential")?.unwrap_or_default(),
    })
}

/// Reads `create_data_channel()`'s dictionary. Both spellings of the packet lifetime are
/// accepted: `maxPacketLifeTime` (documented) and `maxPacketLifetime` (what the engine's
/// WebRTCMultiplayerPeer passes).
pub(crate) fn channel_options(dict: &VarDictionary) -> Result<ChannelOptions, TransportError> {
    let negotiated = boolean(dict, "negotiated")?.unwrap_or(false);
    let id = value::<i64>(dict, "id")?
        .map(|id| {
            u16::try_from(id).ok().filter(|id| *id <= MAX_CHANNEL_ID).ok_or_else(|| {
                invalid(format!("'id' must be between 0 and {MAX_CHANNEL_ID} (65535 is reserved), got {id}"))
            })
        })
        .transpose()?;
    if negotiated && id.is_none() {
        return Err(invalid("a negotiated channel needs an 'id'".into()));
    }
    let options = ChannelOptions {
        ordered: boolean(dict, "ordered")?.unwrap_or(true),
        max_packet_life_time: u16_option(dict, &["maxPacketLifeTime", "maxPacketLifetime"])?,
        max_retransmits: u16_option(dict, &["maxRetransmits"])?,
        protocol: value::<String>(dict, "protocol")?.unwrap_or_default(),
        negotiated_id: if negotiated { id } else { None },
    };
    options.validate()?;
    Ok(options)
}
