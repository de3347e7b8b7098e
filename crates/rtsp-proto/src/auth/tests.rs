use super::*;

#[test]
fn rfc7616_section_3_9_1_vectors() {
    // RFC 7616 §3.9.1: user Mufasa, password "Circle of Life".
    let base = DigestInput {
        algorithm: DigestAlgorithm::Md5,
        username: "Mufasa",
        realm: "http-auth@example.org",
        password: "Circle of Life",
        method: "GET",
        uri: "/dir/index.html",
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        qop_auth: Some((1, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
        cnonce: None,
    };
    assert_eq!(digest_response(&base), "8ca523f5e9506fed4657c9700eebdbec");
    let sha = DigestInput {
        algorithm: DigestAlgorithm::Sha256,
        ..base
    };
    assert_eq!(
        digest_response(&sha),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
}

#[test]
fn rfc2617_vector() {
    // RFC 2617 §3.5.
    let i = DigestInput {
        algorithm: DigestAlgorithm::Md5,
        username: "Mufasa",
        realm: "testrealm@host.com",
        password: "Circle Of Life",
        method: "GET",
        uri: "/dir/index.html",
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop_auth: Some((1, "0a4f113b")),
        cnonce: None,
    };
    assert_eq!(digest_response(&i), "6629fae49393a05397450978507c4ef1");
}

#[test]
fn challenge_parsing() {
    let l = Challenge::parse_list("Digest realm=\"a, b\", nonce=\"n\", qop=\"auth,auth-int\", algorithm=SHA-256, Basic realm=\"x\"").unwrap();
    assert_eq!(l.len(), 2);
    match &l[0] {
        Challenge::Digest(d) => {
            assert_eq!(d.realm, "a, b");
            assert_eq!(d.qop, vec!["auth".to_string(), "auth-int".to_string()]);
            assert_eq!(d.algorithm, Some(DigestAlgorithm::Sha256));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(l[1], Challenge::Basic { realm: "x".into() });
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}
