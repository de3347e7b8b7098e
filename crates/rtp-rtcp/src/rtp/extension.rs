//! Header extensions (RFC 3550 5.3.1) and their RFC 8285 one-byte and two-byte element forms.

use bytes::{BufMut, Bytes, BytesMut};

use super::{truncated, MAX_EXTENSION_LEN, ONE_BYTE_PROFILE, TWO_BYTE_PROFILE};
use crate::error::{Error, Result};

/// An RTP header extension (RFC 3550 5.3.1): a 16-bit profile and a body whose length is a
/// multiple of 4 bytes on the wire.
///
/// For the RFC 8285 forms, [`HeaderExtension::elements`] iterates the elements and
/// [`HeaderExtension::one_byte`] / [`HeaderExtension::two_byte`] build the body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HeaderExtension {
    /// The "defined by profile" field: [`ONE_BYTE_PROFILE`], `0x100X` for the two-byte
    /// form, or anything else for a profile-specific extension.
    pub profile: u16,
    /// The body. When written it is zero-padded to a multiple of 4 bytes.
    pub data: Bytes,
}

/// The header extension element forms of RFC 8285.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtensionForm {
    /// One-byte headers (profile `0xBEDE`): IDs 1..=14, 1..=16 data bytes.
    OneByte,
    /// Two-byte headers (profile `0x100X`): IDs 1..=255, 0..=255 data bytes.
    TwoByte,
}

/// One RFC 8285 header extension element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExtensionElement<'a> {
    /// The local identifier.
    pub id: u8,
    /// The element data.
    pub data: &'a [u8],
}

impl HeaderExtension {
    /// A raw extension with the given profile and body.
    pub fn new(profile: u16, data: Bytes) -> HeaderExtension {
        HeaderExtension { profile, data }
    }

    /// The RFC 8285 form this extension uses, judged by its profile.
    pub fn form(&self) -> Option<ExtensionForm> {
        if self.profile == ONE_BYTE_PROFILE {
            Some(ExtensionForm::OneByte)
        } else if self.profile & 0xFFF0 == TWO_BYTE_PROFILE {
            Some(ExtensionForm::TwoByte)
        } else {
            None
        }
    }

    /// Iterates the RFC 8285 elements (one- or two-byte form by the profile). For a
    /// profile that is neither, the iterator is empty and [`ExtensionElements::form`] is `None`.
    pub fn elements(&self) -> ExtensionElements<'_> {
        ExtensionElements::new(self.form(), &self.data)
    }

    /// Iterates the body as one-byte-form elements, whatever the profile.
    pub fn one_byte_elements(&self) -> ExtensionElements<'_> {
        ExtensionElements::new(Some(ExtensionForm::OneByte), &self.data)
    }

    /// Iterates the body as two-byte-form elements, whatever the profile.
    pub fn two_byte_elements(&self) -> ExtensionElements<'_> {
        ExtensionElements::new(Some(ExtensionForm::TwoByte), &self.data)
    }

    /// The data of the first element with local identifier `id` (RFC 8285 forms only).
    pub fn get(&self, id: u8) -> Option<&[u8]> {
        self.elements()
            .filter_map(|e| e.ok())
            .find(|e| e.id == id)
            .map(|e| e.data)
    }

    /// Builds a one-byte-form extension (RFC 8285 4.2) from `(id, data)` elements: IDs
    /// 1..=14, data 1..=16 bytes. The body is zero-padded to a multiple of 4.
    pub fn one_byte<'a, I>(elements: I) -> Result<HeaderExtension>
    where
        I: IntoIterator<Item = (u8, &'a [u8])>,
    {
        let mut body = BytesMut::new();
        for (id, data) in elements {
            if !(1..=14).contains(&id) {
                return Err(Error::InvalidField {
                    field: "one-byte extension id",
                    value: u64::from(id),
                    reason: "must be 1..=14",
                });
            }
            if data.is_empty() || data.len() > 16 {
                return Err(Error::InvalidField {
                    field: "one-byte extension element length",
                    value: data.len() as u64,
                    reason: "must be 1..=16",
                });
            }
            body.put_u8((id << 4) | (data.len() as u8 - 1));
            body.put_slice(data);
        }
        finish_body(ONE_BYTE_PROFILE, body)
    }

    /// Builds a two-byte-form extension (RFC 8285 4.3) from `(id, data)` elements: IDs
    /// 1..=255, data 0..=255 bytes; `appbits` go in the low 4 bits of the profile.
    pub fn two_byte<'a, I>(appbits: u8, elements: I) -> Result<HeaderExtension>
    where
        I: IntoIterator<Item = (u8, &'a [u8])>,
    {
        let mut body = BytesMut::new();
        for (id, data) in elements {
            if id == 0 {
                return Err(Error::InvalidField {
                    field: "two-byte extension id",
                    value: 0,
                    reason: "0 is reserved for padding",
                });
            }
            let len = u8::try_from(data.len()).map_err(|_| Error::InvalidField {
                field: "two-byte extension element length",
                value: data.len() as u64,
                reason: "must be 0..=255",
            })?;
            body.put_u8(id);
            body.put_u8(len);
            body.put_slice(data);
        }
        finish_body(TWO_BYTE_PROFILE | u16::from(appbits & 0x0f), body)
    }

    /// Length of the body on the wire (rounded up to a multiple of 4).
    pub fn wire_len(&self) -> usize {
        self.data.len().div_ceil(4) * 4
    }
}

fn finish_body(profile: u16, mut body: BytesMut) -> Result<HeaderExtension> {
    let padded = body.len().div_ceil(4) * 4;
    if padded > MAX_EXTENSION_LEN {
        return Err(Error::LimitExceeded {
            what: "RTP header extension bytes",
            limit: MAX_EXTENSION_LEN,
            actual: padded,
        });
    }
    body.resize(padded, 0);
    Ok(HeaderExtension {
        profile,
        data: body.freeze(),
    })
}

/// Iterator over RFC 8285 header extension elements. Padding bytes (ID 0) are skipped;
/// in the one-byte form, ID 15 ends the iteration (RFC 8285 4.2). A truncated element
/// yields one error and ends the iteration.
#[derive(Clone, Debug)]
pub struct ExtensionElements<'a> {
    form: Option<ExtensionForm>,
    rest: &'a [u8],
    offset: usize,
}

impl<'a> ExtensionElements<'a> {
    fn new(form: Option<ExtensionForm>, data: &'a [u8]) -> Self {
        ExtensionElements {
            form,
            rest: if form.is_some() { data } else { &[] },
            offset: 0,
        }
    }
    /// The form being iterated (`None`: the profile is not an RFC 8285 one).
    pub fn form(&self) -> Option<ExtensionForm> {
        self.form
    }
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = Result<ExtensionElement<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (&first, tail) = self.rest.split_first()?;
            if first == 0 {
                // Padding byte, both forms.
                self.rest = tail;
                self.offset += 1;
                continue;
            }
            let (id, len, head_len) = match self.form? {
                ExtensionForm::OneByte => {
                    let id = first >> 4;
                    if id == 15 {
                        self.rest = &[];
                        return None;
                    }
                    (id, usize::from(first & 0x0f) + 1, 1)
                }
                ExtensionForm::TwoByte => match tail.first() {
                    Some(&l) => (first, usize::from(l), 2),
                    None => {
                        let err = truncated("RTP extension element header", self.offset, 2, 1);
                        self.rest = &[];
                        return Some(Err(err));
                    }
                },
            };
            let body = self.rest.get(head_len..).unwrap_or(&[]);
            let Some(data) = body.get(..len) else {
                let err = truncated(
                    "RTP extension element",
                    self.offset + head_len,
                    len,
                    body.len(),
                );
                self.rest = &[];
                return Some(Err(err));
            };
            self.rest = body.get(len..).unwrap_or(&[]);
            self.offset += head_len + len;
            return Some(Ok(ExtensionElement { id, data }));
        }
    }
}
