//! Hand-built AudioSpecificConfig vectors (SBR/PS signalling, escapes, PCE): ffmpeg here has
//! no HE-AAC encoder, so SBR/PS parsing is tested on configs assembled bit by bit from the
//! syntax of ISO/IEC 14496-3 1.6.2.1.

use weir_aac::asc::object_type;
use weir_aac::{AudioSpecificConfig, SbrSignalling};
use weir_media::bits::BitWriter;

fn bits(fields: &[(u64, u32)]) -> Vec<u8> {
    let mut w = BitWriter::new();
    for &(v, n) in fields {
        w.write_bits(v, n);
    }
    w.byte_align_zero();
    w.finish()
}

#[test]
fn lc_44100_stereo() {
    let asc = AudioSpecificConfig::parse(&[0x12, 0x10]).unwrap();
    assert_eq!(asc.object_type, 2);
    assert_eq!(asc.sampling_frequency_index, 4);
    assert_eq!((asc.sample_rate(), asc.channels()), (44100, 2));
    assert!(asc.sbr.is_none());
    assert_eq!(asc.profile_name(), Some("LC"));
}

#[test]
fn he_aac_hierarchical() {
    // AOT 5, core 22050 (7), stereo, ext 44100 (4), AOT 2, GASpecificConfig 000.
    let data = bits(&[(5, 5), (7, 4), (2, 4), (4, 4), (2, 5), (0, 3)]);
    assert_eq!(data, [0x2B, 0x92, 0x08, 0x00]);
    let asc = AudioSpecificConfig::parse(&data).unwrap();
    assert_eq!(asc.object_type, object_type::AAC_LC);
    assert_eq!(asc.sampling_frequency, 22050);
    assert_eq!(asc.sample_rate(), 44100);
    assert_eq!(asc.channels(), 2);
    let ext = asc.sbr.clone().unwrap();
    assert_eq!(ext.signalling, SbrSignalling::Hierarchical);
    assert_eq!(ext.ps_present, None, "object type 5 leaves PS unsignalled");
    assert_eq!(asc.profile_name(), Some("HE-AAC"));
    assert_eq!(&asc.to_bytes()[..], &data[..]);
    assert_eq!(AudioSpecificConfig::he_aac(44100, 2, false).unwrap(), asc);
}

#[test]
fn he_aac_v2_hierarchical_ps() {
    // AOT 29, core 24000 (6), mono, ext 48000 (3), AOT 2.
    let data = bits(&[(29, 5), (6, 4), (1, 4), (3, 4), (2, 5), (0, 3)]);
    let asc = AudioSpecificConfig::parse(&data).unwrap();
    assert!(asc.ps_present());
    assert_eq!(asc.sample_rate(), 48000);
    assert_eq!(asc.channels(), 2, "PS turns a mono core into stereo output");
    assert_eq!(asc.profile_name(), Some("HE-AACv2"));
    assert_eq!(&asc.to_bytes()[..], &data[..]);
    assert_eq!(AudioSpecificConfig::he_aac(48000, 1, true).unwrap(), asc);
}

#[test]
fn backward_compatible_sbr_and_ps() {
    // LC 24000 mono, then 0x2B7, AOT 5, sbrPresentFlag 1, ext 48000, 0x548, psPresentFlag 1.
    let data = bits(&[
        (2, 5),
        (6, 4),
        (1, 4),
        (0, 3),
        (0x2B7, 11),
        (5, 5),
        (1, 1),
        (3, 4),
        (0x548, 11),
        (1, 1),
    ]);
    let asc = AudioSpecificConfig::parse(&data).unwrap();
    let ext = asc.sbr.clone().unwrap();
    assert_eq!(ext.signalling, SbrSignalling::BackwardCompatible);
    assert!(ext.sbr_present);
    assert_eq!(ext.ps_present, Some(true));
    assert_eq!(asc.sampling_frequency, 24000);
    assert_eq!(asc.sample_rate(), 48000);
    assert_eq!(asc.channels(), 2);
    assert_eq!(&asc.to_bytes()[..], &data[..]);
}

#[test]
fn backward_compatible_sbr_absent() {
    // A common MP4 config: LC 44100 stereo + 0x2B7 AOT 5 sbrPresentFlag 0 (12 10 56 E5 00).
    let asc = AudioSpecificConfig::parse(&[0x12, 0x10, 0x56, 0xE5, 0x00]).unwrap();
    let ext = asc.sbr.clone().unwrap();
    assert!(!ext.sbr_present);
    assert_eq!(asc.sample_rate(), 44100);
    assert_eq!(asc.profile_name(), Some("LC"));
    assert_eq!(&asc.to_bytes()[..], &[0x12, 0x10, 0x56, 0xE5, 0x00]);
}

#[test]
fn explicit_frequency_and_escape() {
    // AOT 31 → 32 + 4 = 36 (ALS), explicit 0xF frequency 50000, mono, then opaque bits.
    let data = bits(&[(31, 5), (4, 6), (0xF, 4), (50000, 24), (1, 4), (0xABC, 12)]);
    let asc = AudioSpecificConfig::parse(&data).unwrap();
    assert_eq!(asc.object_type, 36);
    assert_eq!(asc.sampling_frequency_index, 0xF);
    assert_eq!(asc.sample_rate(), 50000);
    assert_eq!(asc.channels(), 1);
    assert!(asc.tail.is_some());
    assert_eq!(&asc.to_bytes()[..], &data[..]);
    // LC at a non-table rate uses the explicit form.
    let lc = AudioSpecificConfig::lc(50000, 2).unwrap();
    assert_eq!(lc.sampling_frequency_index, 0xF);
    assert_eq!(AudioSpecificConfig::parse(&lc.to_bytes()).unwrap(), lc);
}

#[test]
fn channel_configurations() {
    for (cc, ch) in [
        (1u8, 1u8),
        (2, 2),
        (3, 3),
        (4, 4),
        (5, 5),
        (6, 6),
        (7, 8),
        (11, 7),
        (12, 8),
        (14, 8),
        (13, 24),
    ] {
        let data = bits(&[(2, 5), (3, 4), (u64::from(cc), 4), (0, 3)]);
        let asc = AudioSpecificConfig::parse(&data).unwrap();
        assert_eq!(asc.channels(), ch, "channelConfiguration {cc}");
    }
}

#[test]
fn program_config_element() {
    let mut asc = AudioSpecificConfig::lc(48000, 2).unwrap();
    asc.channel_configuration = 0;
    asc.program_config = Some(weir_aac::ProgramConfigElement {
        object_type: 1,
        sampling_frequency_index: 3,
        front: vec![(false, 0), (true, 0)],
        side: vec![(true, 1)],
        back: vec![(true, 2)],
        lfe: vec![0],
        comment: b"hi".to_vec(),
        ..Default::default()
    });
    assert_eq!(asc.channels(), 8);
    let bytes = asc.to_bytes();
    assert_eq!(AudioSpecificConfig::parse(&bytes).unwrap(), asc);
}

#[test]
fn errors_not_panics() {
    assert!(AudioSpecificConfig::parse(&[]).is_err());
    assert!(AudioSpecificConfig::parse(&[0x12]).is_err());
    // Reserved sampling frequency index 13.
    let data = bits(&[(2, 5), (13, 4), (2, 4), (0, 3)]);
    assert!(AudioSpecificConfig::parse(&data).is_err());
}
