use super::*;

#[test]
fn rfc8285_one_byte_example() {
    // RFC 8285 4.2 example layout: ID 1 (L=0, 1 byte), ID 2 (L=1, 2 bytes), padding,
    // ID 3 (L=3, 4 bytes).
    let body: &[u8] = &[
        0x10, 0xAA, 0x21, 0xBB, 0xBB, 0x00, 0x00, 0x33, 0xCC, 0xCC, 0xCC, 0xCC,
    ];
    let ext = HeaderExtension::new(ONE_BYTE_PROFILE, Bytes::copy_from_slice(body));
    let els: Vec<_> = ext.elements().collect::<Result<_>>().unwrap();
    assert_eq!(
        els,
        vec![
            ExtensionElement {
                id: 1,
                data: &[0xAA]
            },
            ExtensionElement {
                id: 2,
                data: &[0xBB, 0xBB]
            },
            ExtensionElement {
                id: 3,
                data: &[0xCC; 4]
            },
        ]
    );
    assert_eq!(ext.get(2), Some(&[0xBB, 0xBB][..]));
}

#[test]
fn rfc8285_two_byte_example() {
    let body: &[u8] = &[
        0x01, 0x00, 0x02, 0x01, 0xBB, 0x00, 0x03, 0x04, 0xCC, 0xCC, 0xCC, 0xCC,
    ];
    let ext = HeaderExtension::new(0x1000, Bytes::copy_from_slice(body));
    let els: Vec<_> = ext.elements().collect::<Result<_>>().unwrap();
    assert_eq!(
        els,
        vec![
            ExtensionElement { id: 1, data: &[] },
            ExtensionElement {
                id: 2,
                data: &[0xBB]
            },
            ExtensionElement {
                id: 3,
                data: &[0xCC; 4]
            },
        ]
    );
}

#[test]
fn one_byte_id15_stops_and_truncation_errors() {
    let ext = HeaderExtension::new(ONE_BYTE_PROFILE, Bytes::from_static(&[0x10, 1, 0xF0, 0x20]));
    assert_eq!(ext.elements().count(), 1);
    let ext = HeaderExtension::new(ONE_BYTE_PROFILE, Bytes::from_static(&[0x13, 1, 2]));
    let v: Vec<_> = ext.elements().collect();
    assert_eq!(v.len(), 1);
    assert!(matches!(
        v[0],
        Err(Error::Truncated {
            needed: 4,
            available: 2,
            ..
        })
    ));
}

#[test]
fn build_elements_roundtrip() {
    let ext = HeaderExtension::one_byte([(1u8, &[1u8][..]), (14, &[2u8; 16][..])]).unwrap();
    assert_eq!(ext.data.len() % 4, 0);
    let got: Vec<_> = ext
        .elements()
        .map(|e| e.unwrap())
        .map(|e| (e.id, e.data.to_vec()))
        .collect();
    assert_eq!(got, vec![(1, vec![1]), (14, vec![2; 16])]);
    assert!(HeaderExtension::one_byte([(15u8, &[1u8][..])]).is_err());
    assert!(HeaderExtension::one_byte([(1u8, &[][..])]).is_err());
    let ext = HeaderExtension::two_byte(3, [(200u8, &[][..]), (7, &[9u8; 255][..])]).unwrap();
    assert_eq!(ext.profile, 0x1003);
    let got: Vec<_> = ext
        .elements()
        .map(|e| e.unwrap())
        .map(|e| (e.id, e.data.len()))
        .collect();
    assert_eq!(got, vec![(200, 0), (7, 255)]);
}

#[test]
fn rfc3550_layout_with_csrc_ext_padding() {
    let pkt: &[u8] = &[
        0xB2, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0, 0x11, 0x22, 0x33, 0x44, // fixed
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, // 2 CSRCs
        0xBE, 0xDE, 0x00, 0x01, 0x10, 0x55, 0x00, 0x00, // ext, 1 word
        0xD5, 0xD5, 0xD5, // payload
        0x00, 0x00, 0x03, // padding 3
    ];
    let p = RtpPacket::parse(Bytes::copy_from_slice(pkt)).unwrap();
    assert_eq!(p.version(), 2);
    assert!(p.padding() && p.has_extension() && !p.marker());
    assert_eq!(p.payload_type(), 8);
    assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(p.extension().unwrap().get(1), Some(&[0x55][..]));
    assert_eq!(&p.payload()[..], &[0xD5; 3]);
    assert_eq!(p.padding_len(), 3);
    let mut out = BytesMut::new();
    p.header()
        .write_with_payload(&p.payload(), &mut out)
        .unwrap();
    assert_eq!(&out[..], pkt);
}

#[test]
fn parse_errors() {
    assert!(matches!(
        RtpPacket::parse(Bytes::from_static(&[0x80; 11])),
        Err(Error::Truncated { .. })
    ));
    let mut v = vec![0x40u8; 12];
    assert!(matches!(
        RtpPacket::parse(Bytes::from(v.clone())),
        Err(Error::BadVersion { version: 1, .. })
    ));
    v[0] = 0x81; // one CSRC missing
    assert!(matches!(
        RtpPacket::parse(Bytes::from(v.clone())),
        Err(Error::Truncated { .. })
    ));
    v[0] = 0x90; // extension missing
    assert!(RtpPacket::parse(Bytes::from(v.clone())).is_err());
    v[0] = 0xA0; // padding with count byte 0x40 > available 0
    assert!(matches!(
        RtpPacket::parse(Bytes::from(v.clone())),
        Err(Error::BadPadding { .. })
    ));
    v.push(0);
    assert!(matches!(
        RtpPacket::parse(Bytes::from(v.clone())),
        Err(Error::BadPadding { count: 0, .. })
    ));
    *v.last_mut().unwrap() = 1;
    let p = RtpPacket::parse(Bytes::from(v)).unwrap();
    assert_eq!(p.payload_len(), 0);
}

#[test]
fn write_validates() {
    let mut out = BytesMut::new();
    assert!(RtpHeader::new(128, 0, 0, 0).write(&mut out).is_err());
    let h = RtpHeader {
        csrcs: vec![0; 16],
        ..RtpHeader::default()
    };
    assert!(h.write(&mut out).is_err());
    assert!(out.is_empty());
}
