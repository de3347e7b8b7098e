//! CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A): polynomial 0x04C11DB7, initial value
//! 0xFFFFFFFF, MSB first, no final XOR. Running it over a whole section including its
//! `CRC_32` field yields 0.

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static TABLE: [u32; 256] = make_table();

/// CRC-32/MPEG-2 of `data`.
///
/// ```
/// assert_eq!(weir_mpegts::crc32_mpeg2(b"123456789"), 0x0376_E6E7);
/// ```
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc = (crc << 8) ^ TABLE[usize::from(((crc >> 24) as u8) ^ b)];
    }
    crc
}
