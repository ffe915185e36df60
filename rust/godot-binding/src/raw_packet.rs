//! The raw-pointer packet calls of Godot's `PacketPeer` virtuals (`_get_packet`, `_put_packet`),
//! in one place.

use godot_core::meta::RawPtr;

/// The bytes Godot passes to `_put_packet`.
///
/// # Safety
/// `buffer` must point to `size` readable bytes that outlive the returned slice (Godot
/// guarantees this for the duration of the call).
pub(crate) unsafe fn incoming<'a>(buffer: &RawPtr<*const u8>, size: i32) -> &'a [u8] {
    match usize::try_from(size) {
        Ok(0) | Err(_) => &[],
        // SAFETY: the caller guarantees `size` readable bytes at `buffer`.
        Ok(size) => unsafe { std::slice::from_raw_parts(buffer.ptr(), size) },
    }
}

/// Hands `packet` to Godot through `_get_packet`'s out-pointers.
///
/// # Safety
/// The out-pointers must be valid (Godot passes valid ones), and `packet` must stay alive and
/// unchanged until the next call on the same object, as the engine reads it after we return.
pub(crate) unsafe fn hand_out(packet: &[u8], buffer: &RawPtr<*mut RawPtr<*const u8>>, size: &RawPtr<*mut i32>) {
    // SAFETY: valid out-pointers, per the caller's contract.
    unsafe {
        *(buffer.ptr() as *mut *const u8) = packet.as_ptr();
        *size.ptr() = i32::try_from(packet.len()).unwrap_or(i32::MAX);
    }
}
