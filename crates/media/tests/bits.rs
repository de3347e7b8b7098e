//! Property and unit tests for the bit reader and writer.

use proptest::prelude::*;
use weir_media::bits::{BitReader, BitWriter};
use weir_media::Error;

#[derive(Debug, Clone)]
enum Field {
    Bits(u64, u32),
    Ue(u32),
    Se(i32),
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        (any::<u64>(), 0u32..=64)
            .prop_map(|(v, n)| Field::Bits(if n == 64 { v } else { v & ((1u64 << n) - 1) }, n)),
        any::<u32>().prop_map(|v| Field::Ue(v.min(u32::MAX - 1))),
        (i32::MIN + 1..=i32::MAX).prop_map(Field::Se),
    ]
}

proptest! {
    #[test]
    fn write_read_roundtrip(fields in prop::collection::vec(field(), 0..40)) {
        let mut w = BitWriter::new();
        for f in &fields {
            match *f {
                Field::Bits(v, n) => w.write_bits(v, n),
                Field::Ue(v) => w.write_ue(v),
                Field::Se(v) => w.write_se(v),
            }
        }
        let bits = w.bit_len();
        let bytes = w.finish();
        prop_assert_eq!(bytes.len(), bits.div_ceil(8));
        let mut r = BitReader::new(&bytes);
        for f in &fields {
            match *f {
                Field::Bits(v, n) => prop_assert_eq!(r.read_bits(n).unwrap(), v),
                Field::Ue(v) => prop_assert_eq!(r.read_ue().unwrap(), v),
                Field::Se(v) => prop_assert_eq!(r.read_se().unwrap(), v),
            }
        }
        prop_assert_eq!(r.position(), bits);
    }

    #[test]
    fn reader_never_panics(data in prop::collection::vec(any::<u8>(), 0..64), ops in prop::collection::vec(0u32..70, 0..64)) {
        let mut r = BitReader::new(&data);
        for op in ops {
            let before = r.position();
            let res = match op % 4 {
                0 => r.read_bits(op).map(|_| ()),
                1 => r.read_ue().map(|_| ()),
                2 => r.read_se().map(|_| ()),
                _ => r.skip_bits(op as usize),
            };
            prop_assert!(r.position() <= data.len() * 8);
            if res.is_err() && op % 4 != 1 && op % 4 != 2 {
                prop_assert_eq!(r.position(), before);
            }
        }
    }
}

#[test]
fn exp_golomb_known_codes() {
    // 9.1 table 9-2: 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3.
    let data = [0b1010_0110, 0b0100_0000];
    let mut r = BitReader::new(&data);
    assert_eq!(r.read_ue().unwrap(), 0);
    assert_eq!(r.read_ue().unwrap(), 1);
    assert_eq!(r.read_ue().unwrap(), 2);
    assert_eq!(r.read_ue().unwrap(), 3);
    // se: codeNum 1 -> 1, 2 -> -1
    let data = [0b0100_1100];
    let mut r = BitReader::new(&data);
    assert_eq!(r.read_se().unwrap(), 1);
    assert_eq!(r.read_se().unwrap(), -1);
}

#[test]
fn errors_are_precise() {
    let mut r = BitReader::new(&[0xFF]);
    r.skip_bits(5).unwrap();
    assert_eq!(
        r.read_bits(4),
        Err(Error::BitsExhausted {
            position: 5,
            needed: 4
        })
    );
    assert_eq!(r.read_bits(65), Err(Error::TooManyBits { requested: 65 }));
    let zeros = [0u8; 8];
    assert_eq!(
        BitReader::new(&zeros).read_ue(),
        Err(Error::ExpGolombTooLong { position: 0 })
    );
}

#[test]
fn more_rbsp_data_stops_at_stop_bit() {
    // payload bit 1, then stop bit and alignment zeros.
    let data = [0b1100_0000];
    let mut r = BitReader::new(&data);
    assert!(r.more_rbsp_data());
    r.read_bit().unwrap();
    assert!(!r.more_rbsp_data());
    assert!(!BitReader::new(&[0, 0]).more_rbsp_data());
}
