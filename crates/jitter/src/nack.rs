//! RFC 4585 6.2.1 generic NACK encoding: (PID, BLP) pairs.

/// Packs ascending (mod 2^16) sequence numbers into RFC 4585 generic NACK FCI entries:
/// `PID` is a lost packet, bit `i` of `BLP` marks `PID + i + 1` as lost too.
///
/// ```
/// assert_eq!(weir_jitter::nack_pairs(&[65535, 0, 1, 40]), vec![(65535, 0b11), (40, 0)]);
/// ```
pub fn nack_pairs(seqs: &[u16]) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for &s in seqs {
        if let Some((pid, blp)) = out.last_mut() {
            let d = s.wrapping_sub(*pid);
            if (1..=16).contains(&d) {
                *blp |= 1 << (d - 1);
                continue;
            }
            if d == 0 {
                continue;
            }
        }
        out.push((s, 0));
    }
    out
}

/// The sequence numbers one (PID, BLP) entry asks for, ascending.
///
/// ```
/// let v: Vec<u16> = weir_jitter::nack_seqs(65535, 0b101).collect();
/// assert_eq!(v, vec![65535, 0, 2]);
/// ```
pub fn nack_seqs(pid: u16, blp: u16) -> impl Iterator<Item = u16> {
    core::iter::once(pid).chain(
        (0..16u16)
            .filter(move |i| blp & (1 << i) != 0)
            .map(move |i| pid.wrapping_add(i + 1)),
    )
}
