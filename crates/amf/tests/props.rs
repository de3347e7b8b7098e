use bytes::BytesMut;
use proptest::prelude::*;
use weir_amf::{amf0, amf3, Amf0Value, Amf3Value, CommandMessage, DecodeLimits, Error};

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_]{1,12}"
}

fn amf3_value() -> impl Strategy<Value = Amf3Value> {
    let leaf = prop_oneof![
        Just(Amf3Value::Undefined),
        Just(Amf3Value::Null),
        any::<bool>().prop_map(Amf3Value::Boolean),
        (-(1i32 << 28)..(1i32 << 28)).prop_map(Amf3Value::Integer),
        any::<f64>()
            .prop_filter("nan", |f| !f.is_nan())
            .prop_map(Amf3Value::Double),
        ".{0,20}".prop_map(Amf3Value::String),
        ".{0,20}".prop_map(Amf3Value::Xml),
        ".{0,20}".prop_map(Amf3Value::XmlDocument),
        any::<i64>().prop_map(|d| Amf3Value::Date(d as f64)),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Amf3Value::ByteArray),
        (any::<bool>(), proptest::collection::vec(any::<i32>(), 0..5))
            .prop_map(|(fixed, items)| Amf3Value::VectorInt { fixed, items }),
        (any::<bool>(), proptest::collection::vec(any::<u32>(), 0..5))
            .prop_map(|(fixed, items)| Amf3Value::VectorUint { fixed, items }),
        (any::<bool>(), proptest::collection::vec(-1e9f64..1e9, 0..5))
            .prop_map(|(fixed, items)| Amf3Value::VectorDouble { fixed, items }),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            (
                proptest::collection::vec((key(), inner.clone()), 0..4),
                proptest::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(assoc, dense)| Amf3Value::Array { assoc, dense }),
            (
                "[a-z.]{0,10}",
                proptest::collection::vec((key(), inner.clone()), 0..4),
                proptest::option::of(proptest::collection::vec((key(), inner.clone()), 0..4))
            )
                .prop_map(|(class_name, sealed, dynamic)| Amf3Value::Object {
                    class_name,
                    sealed,
                    dynamic
                }),
            (
                any::<bool>(),
                "[a-z*]{1,6}",
                proptest::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(fixed, type_name, items)| Amf3Value::VectorObject {
                    fixed,
                    type_name,
                    items
                }),
            (
                any::<bool>(),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..3)
            )
                .prop_map(|(weak_keys, entries)| Amf3Value::Dictionary { weak_keys, entries }),
            inner.clone().prop_map(|v| Amf3Value::Externalizable {
                class_name: "flex.messaging.io.ArrayCollection".into(),
                value: Box::new(v)
            }),
        ]
    })
}

fn amf0_value() -> impl Strategy<Value = Amf0Value> {
    let leaf = prop_oneof![
        any::<f64>()
            .prop_filter("nan", |f| !f.is_nan())
            .prop_map(Amf0Value::Number),
        any::<bool>().prop_map(Amf0Value::Boolean),
        ".{0,24}".prop_map(Amf0Value::String),
        Just(Amf0Value::Null),
        Just(Amf0Value::Undefined),
        Just(Amf0Value::Unsupported),
        any::<u16>().prop_map(Amf0Value::Reference),
        (any::<i64>(), any::<i16>()).prop_map(|(m, tz)| Amf0Value::Date {
            millis: m as f64,
            tz
        }),
        ".{0,24}".prop_map(Amf0Value::LongString),
        ".{0,24}".prop_map(Amf0Value::XmlDocument),
        amf3_value().prop_map(Amf0Value::Amf3),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec((key(), inner.clone()), 0..5).prop_map(Amf0Value::Object),
            proptest::collection::vec((key(), inner.clone()), 0..5).prop_map(Amf0Value::EcmaArray),
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Amf0Value::StrictArray),
            (
                "[a-zA-Z.]{0,12}",
                proptest::collection::vec((key(), inner.clone()), 0..5)
            )
                .prop_map(|(class_name, properties)| Amf0Value::TypedObject {
                    class_name,
                    properties
                }),
        ]
    })
}

proptest! {
    #[test]
    fn amf0_roundtrip(vals in proptest::collection::vec(amf0_value(), 1..4)) {
        let mut buf = BytesMut::new();
        amf0::encode_all(&vals, &mut buf).unwrap();
        let back = amf0::decode_all(&buf).unwrap();
        prop_assert_eq!(back, vals);
    }

    #[test]
    fn amf0_single_value_advances(v in amf0_value(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut buf = BytesMut::new();
        amf0::encode(&v, &mut buf).unwrap();
        buf.extend_from_slice(&tail);
        let mut input = &buf[..];
        let back = amf0::decode(&mut input).unwrap();
        prop_assert_eq!(back, v);
        prop_assert_eq!(input, &tail[..]);
    }

    #[test]
    fn amf3_roundtrip(v in amf3_value()) {
        let mut buf = BytesMut::new();
        amf3::encode(&v, &mut buf).unwrap();
        let back = amf3::decode(&mut &buf[..]).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn amf0_truncated_is_error(v in amf0_value()) {
        let mut buf = BytesMut::new();
        amf0::encode(&v, &mut buf).unwrap();
        for cut in 0..buf.len() {
            let mut input = &buf[..cut];
            // The only accepted prefix is an ECMA array cut right before its terminator
            // once its declared count is reached (a documented quirk).
            if amf0::decode(&mut input).is_ok() {
                prop_assert!(format!("{v:?}").contains("EcmaArray"), "prefix of {} bytes decoded", cut);
            }
        }
    }

    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = amf0::decode_all(&data);
        let _ = amf3::decode_all(&data);
        let _ = CommandMessage::parse(&data);
    }

    #[test]
    fn command_roundtrip(name in "[a-zA-Z_]{1,16}", tid in 0u32..1000, obj in amf0_value(), args in proptest::collection::vec(amf0_value(), 0..3)) {
        let cmd = CommandMessage::new(name, f64::from(tid), obj, args);
        let body = cmd.to_bytes().unwrap();
        prop_assert_eq!(CommandMessage::parse(&body).unwrap(), cmd);
    }
}

#[test]
fn spec_golden_bytes() {
    // Number 1.0, boolean true, string "ab", object {a: null}, ecma array [0 count] {x: undefined}.
    let bytes: &[u8] = &[
        0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, // 1.0
        0x01, 0x01, // true
        0x02, 0x00, 0x02, b'a', b'b', // "ab"
        0x03, 0x00, 0x01, b'a', 0x05, 0x00, 0x00, 0x09, // {a: null}
        0x08, 0, 0, 0, 1, 0x00, 0x01, b'x', 0x06, 0x00, 0x00, 0x09, // ecma {x: undefined}
        0x0A, 0, 0, 0, 2, 0x05, 0x06, // strict [null, undefined]
        0x0B, 0x40, 0x8F, 0x40, 0, 0, 0, 0, 0, 0x00, 0x00, // date 1000.0
    ];
    let v = amf0::decode_all(bytes).unwrap();
    assert_eq!(
        v,
        vec![
            Amf0Value::Number(1.0),
            Amf0Value::Boolean(true),
            Amf0Value::String("ab".into()),
            Amf0Value::object([("a", Amf0Value::Null)]),
            Amf0Value::ecma_array([("x", Amf0Value::Undefined)]),
            Amf0Value::StrictArray(vec![Amf0Value::Null, Amf0Value::Undefined]),
            Amf0Value::Date {
                millis: 1000.0,
                tz: 0
            },
        ]
    );
    let mut out = BytesMut::new();
    amf0::encode_all(&v, &mut out).unwrap();
    assert_eq!(&out[..], bytes);
}

#[test]
fn ecma_array_without_terminator_is_accepted_when_count_reached() {
    // Quirk seen in FLV onMetaData written by some encoders: no 00 00 09 at the end.
    let bytes: &[u8] = &[
        0x08, 0, 0, 0, 1, 0x00, 0x01, b'd', 0x00, 0x40, 0x24, 0, 0, 0, 0, 0, 0,
    ];
    let v = amf0::decode(&mut &bytes[..]).unwrap();
    assert_eq!(v.get_f64("d"), Some(10.0));
    // ...but not when fewer entries than declared are present.
    let bytes: &[u8] = &[
        0x08, 0, 0, 0, 2, 0x00, 0x01, b'd', 0x00, 0x40, 0x24, 0, 0, 0, 0, 0, 0,
    ];
    assert!(matches!(
        amf0::decode(&mut &bytes[..]),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn depth_limit_is_an_error() {
    let mut bytes = Vec::new();
    for _ in 0..100 {
        bytes.extend_from_slice(&[0x0A, 0, 0, 0, 1]);
    }
    bytes.push(0x05);
    let limits = DecodeLimits {
        max_depth: 10,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        amf0::decode_with(&mut &bytes[..], limits),
        Err(Error::DepthLimit { limit: 10, .. })
    ));
}

#[test]
fn hostile_counts_do_not_allocate() {
    // Strict array claiming 4 billion elements, then nothing.
    let bytes: &[u8] = &[0x0A, 0xFF, 0xFF, 0xFF, 0xFF];
    assert!(matches!(
        amf0::decode(&mut &bytes[..]),
        Err(Error::Truncated { .. })
    ));
    // A long string claiming 4 GB.
    let bytes: &[u8] = &[0x0C, 0xFF, 0xFF, 0xFF, 0xFF, b'a'];
    assert!(matches!(
        amf0::decode(&mut &bytes[..]),
        Err(Error::Truncated { .. })
    ));
    // Element limit: 1000 nulls in a strict array.
    let mut bytes = vec![0x0A, 0, 0, 0x03, 0xE8];
    bytes.extend_from_slice(&[0x05; 1000]);
    let limits = DecodeLimits {
        max_elements: 100,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        amf0::decode_with(&mut &bytes[..], limits),
        Err(Error::ElementLimit { limit: 100, .. })
    ));
}

#[test]
fn amf3_reference_tables() {
    // Array with dense part: ["abc", <string ref 0>, {traits inline a,b}, {traits ref 0}, <object ref 1>]
    let bytes: &[u8] = &[
        0x09, 0x0B, 0x01, // array, 5 dense, no assoc
        0x06, 0x07, b'a', b'b', b'c', // "abc" (string table 0)
        0x06, 0x00, // string ref 0 → "abc"
        0x0A, 0x23, 0x01, 0x03, b'x', 0x03, b'y', 0x04, 0x01, 0x04,
        0x7F, // sealed {x:1,y:-1}: traits 2 members
        0x0A, 0x01, 0x04, 0x05, 0x04, 0x06, // traits ref 0 → {x:5,y:6}
        0x0A, 0x02, // object ref 1 (object table: 0 = the array, 1 = first object)
    ];
    let v = amf3::decode(&mut &bytes[..]).unwrap();
    let Amf3Value::Array { dense, .. } = &v else {
        panic!("{v:?}")
    };
    assert_eq!(dense[0], Amf3Value::String("abc".into()));
    assert_eq!(dense[1], Amf3Value::String("abc".into()));
    let obj1 = Amf3Value::Object {
        class_name: String::new(),
        sealed: vec![
            ("x".into(), Amf3Value::Integer(1)),
            ("y".into(), Amf3Value::Integer(-1)),
        ],
        dynamic: None,
    };
    // 0x7F with sign extension of 29 bits is 127, not -1: U29 only sign-extends bit 28.
    let Amf3Value::Object { sealed, .. } = &dense[2] else {
        panic!()
    };
    assert_eq!(sealed[0].1, Amf3Value::Integer(1));
    assert_eq!(sealed[1].1, Amf3Value::Integer(127));
    let _ = obj1;
    assert_eq!(dense[3].get("x"), Some(&Amf3Value::Integer(5)));
    assert_eq!(dense[4], dense[2]);
    // Negative integer: -1 is 0xFF 0xFF 0xFF 0xFF in U29.
    let v = amf3::decode(&mut &[0x04, 0xFF, 0xFF, 0xFF, 0xFF][..]).unwrap();
    assert_eq!(v, Amf3Value::Integer(-1));
    // Out-of-range references are errors.
    assert!(matches!(
        amf3::decode(&mut &[0x06, 0x02][..]),
        Err(Error::BadReference {
            table: "string",
            ..
        })
    ));
    assert!(matches!(
        amf3::decode(&mut &[0x0A, 0x01, 0x01][..]),
        Err(Error::BadReference { table: "trait", .. })
    ));
    // Cycle: array whose only element references itself.
    let v = amf3::decode(&mut &[0x09, 0x03, 0x01, 0x09, 0x00][..]).unwrap();
    assert_eq!(
        v,
        Amf3Value::Array {
            assoc: vec![],
            dense: vec![Amf3Value::CyclicReference(0)]
        }
    );
}

#[test]
fn amf3_reference_expansion_is_bounded() {
    // A 1000-byte string referenced 100000 times must hit the string budget, not allocate 100 MB.
    let mut bytes = vec![0x09];
    // dense count 100000 → U29 (100000<<1|1) = 200001
    let n: u32 = 200_001;
    bytes.extend_from_slice(&[
        ((n >> 14) | 0x80) as u8,
        ((n >> 7) as u8) | 0x80,
        (n & 0x7F) as u8,
    ]);
    bytes.push(0x01);
    bytes.push(0x06);
    let len: u32 = 1000 << 1 | 1;
    bytes.extend_from_slice(&[((len >> 7) | 0x80) as u8, (len & 0x7F) as u8]);
    bytes.extend_from_slice(&[b'z'; 1000]);
    for _ in 1..100_000 {
        bytes.extend_from_slice(&[0x06, 0x00]);
    }
    let limits = DecodeLimits {
        max_elements: 1 << 20,
        max_string_bytes: 1 << 20,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        amf3::decode_with(&mut &bytes[..], limits),
        Err(Error::StringBytesLimit { .. })
    ));
}

#[test]
fn amf0_switch_to_amf3() {
    // AMF0 strict array of [avmplus "hi", number 2]
    let bytes: &[u8] = &[
        0x0A, 0, 0, 0, 2, 0x11, 0x06, 0x05, b'h', b'i', 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0,
    ];
    let v = amf0::decode(&mut &bytes[..]).unwrap();
    let Amf0Value::StrictArray(items) = v else {
        panic!()
    };
    assert_eq!(items[0].as_str(), Some("hi"));
    assert_eq!(items[1].as_f64(), Some(2.0));
}

#[test]
fn amf3_command_message() {
    let cmd = CommandMessage::new("play", 0.0, Amf0Value::Null, vec!["stream".into()]);
    let mut body = vec![0u8];
    body.extend_from_slice(&cmd.to_bytes().unwrap());
    assert_eq!(CommandMessage::parse_amf3(&body).unwrap(), cmd);
}
