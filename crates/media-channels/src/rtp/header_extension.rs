//! RFC 8285 header extension elements: the one-byte (0xBEDE) and two-byte
//! (0x100X) forms, read lazily from a validated block and written into a
//! caller's buffer.

use crate::error::{check_room, Error};

/// The profile of the one-byte form (RFC 8285 §4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The profile of the two-byte form with zero "appbits" (RFC 8285 §4.3);
/// the low four bits may carry application bits.
pub const TWO_BYTE_PROFILE: u16 = 0x1000;
/// Largest element value in the one-byte form.
pub const ONE_BYTE_MAX_LEN: usize = 16;
/// Largest element id in the one-byte form (15 is reserved and stops parsing).
pub const ONE_BYTE_MAX_ID: u8 = 14;
/// The reserved one-byte id: the parser stops at it (RFC 8285 §4.2).
const ONE_BYTE_STOP_ID: u8 = 15;

/// Which RFC 8285 form an extension block uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionForm {
    /// Profile 0xBEDE: ids 1–14, values of 1–16 bytes.
    OneByte,
    /// Profile 0x100X: ids 1–255, values of 0–255 bytes. Needs
    /// `a=extmap-allow-mixed` to have been negotiated (RFC 8285 §6).
    TwoByte,
}

impl ExtensionForm {
    /// The form a block with `profile` uses; `None` for other (RFC 3550 §5.3.1) profiles.
    pub fn from_profile(profile: u16) -> Option<ExtensionForm> {
        if profile == ONE_BYTE_PROFILE {
            Some(ExtensionForm::OneByte)
        } else if profile & 0xFFF0 == TWO_BYTE_PROFILE {
            Some(ExtensionForm::TwoByte)
        } else {
            None
        }
    }

    /// The profile this crate writes for the form (appbits zero).
    pub fn profile(self) -> u16 {
        match self {
            ExtensionForm::OneByte => ONE_BYTE_PROFILE,
            ExtensionForm::TwoByte => TWO_BYTE_PROFILE,
        }
    }

    /// Bytes of element header (id and length) in this form.
    fn element_header_len(self) -> usize {
        match self {
            ExtensionForm::OneByte => 1,
            ExtensionForm::TwoByte => 2,
        }
    }

    /// True when this form can carry an element with `id` and `len` bytes of value.
    pub fn can_carry(self, id: u8, len: usize) -> bool {
        match self {
            ExtensionForm::OneByte => {
                (1..=ONE_BYTE_MAX_ID).contains(&id) && (1..=ONE_BYTE_MAX_LEN).contains(&len)
            }
            ExtensionForm::TwoByte => id != 0 && len <= u8::MAX as usize,
        }
    }
}

/// One header extension element: its local id and its value bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtensionElement<'a> {
    /// The local identifier negotiated with `a=extmap` (1–14 one-byte, 1–255 two-byte).
    pub id: u8,
    /// The value.
    pub data: &'a [u8],
}

impl<'a> ExtensionElement<'a> {
    /// An element with `id` and `data`.
    pub const fn new(id: u8, data: &'a [u8]) -> ExtensionElement<'a> {
        ExtensionElement { id, data }
    }
}

/// What the element walk found at one position.
enum Step<'a> {
    /// An element and the position after it.
    Element(ExtensionElement<'a>, usize),
    /// A padding byte.
    Padding,
    /// The end of the block, or a one-byte id 15 / a non-padding id 0: stop.
    Stop,
    /// The element with this id runs past the block.
    Truncated(u8),
}

fn step(form: ExtensionForm, data: &[u8], pos: usize) -> Step<'_> {
    let Some(&first) = data.get(pos) else {
        return Step::Stop;
    };
    if first == 0 {
        // RFC 8285 §4.2/§4.3: a zero byte is padding, between or after elements.
        return Step::Padding;
    }
    let (id, len, start) = match form {
        ExtensionForm::OneByte => {
            let id = first >> 4;
            if id == ONE_BYTE_STOP_ID || id == 0 {
                // 15: "processing of the entire extension should terminate".
                // 0 with a non-zero length is not padding and names no element;
                // libwebrtc stops there too.
                return Step::Stop;
            }
            (id, usize::from(first & 0x0F) + 1, pos + 1)
        }
        ExtensionForm::TwoByte => {
            let Some(&len) = data.get(pos + 1) else {
                return Step::Truncated(first);
            };
            (first, usize::from(len), pos + 2)
        }
    };
    match data.get(start..start + len) {
        Some(value) => Step::Element(ExtensionElement::new(id, value), start + len),
        None => Step::Truncated(id),
    }
}

/// Checks that every element of a block in `form` fits (`Message::parse`-style
/// validation, so iterating afterwards cannot fail).
pub(crate) fn validate(form: ExtensionForm, data: &[u8]) -> Result<(), Error> {
    let mut pos = 0;
    loop {
        match step(form, data, pos) {
            Step::Element(_, next) => pos = next,
            Step::Padding => pos += 1,
            Step::Stop => return Ok(()),
            Step::Truncated(id) => return Err(Error::ExtensionElementTruncated(id)),
        }
    }
}

/// Iterator over the elements of a packet's RFC 8285 header extension block,
/// in wire order, padding skipped. Empty when the packet has no extension or
/// uses another profile.
#[derive(Debug, Clone)]
pub struct HeaderExtensions<'a> {
    form: Option<ExtensionForm>,
    data: &'a [u8],
    pos: usize,
}

impl<'a> HeaderExtensions<'a> {
    pub(crate) fn new(form: Option<ExtensionForm>, data: &'a [u8]) -> HeaderExtensions<'a> {
        HeaderExtensions { form, data, pos: 0 }
    }

    /// An iterator that yields nothing.
    pub(crate) fn empty() -> HeaderExtensions<'a> {
        HeaderExtensions::new(None, &[])
    }
}

impl<'a> Iterator for HeaderExtensions<'a> {
    type Item = ExtensionElement<'a>;

    fn next(&mut self) -> Option<ExtensionElement<'a>> {
        let form = self.form?;
        loop {
            match step(form, self.data, self.pos) {
                Step::Element(element, next) => {
                    self.pos = next;
                    return Some(element);
                }
                Step::Padding => self.pos += 1,
                // Truncation was rejected by `RtpPacket::parse`; stop either way.
                Step::Stop | Step::Truncated(_) => {
                    self.pos = self.data.len();
                    return None;
                }
            }
        }
    }
}

impl std::iter::FusedIterator for HeaderExtensions<'_> {}

/// The form a builder uses for `elements`: `forced` when given (and able to
/// carry them), else one-byte when every id is 1–14 and every value 1–16
/// bytes, else two-byte.
pub(crate) fn choose_form(
    elements: &[ExtensionElement<'_>],
    forced: Option<ExtensionForm>,
) -> Result<ExtensionForm, Error> {
    for e in elements {
        if !ExtensionForm::TwoByte.can_carry(e.id, e.data.len()) {
            return Err(Error::InvalidInput(
                "header extension id must be 1-255 and value at most 255 bytes",
            ));
        }
    }
    let one_byte_fits = elements
        .iter()
        .all(|e| ExtensionForm::OneByte.can_carry(e.id, e.data.len()));
    match forced {
        Some(ExtensionForm::OneByte) if !one_byte_fits => Err(Error::InvalidInput(
            "one-byte header extensions need ids 1-14 and values of 1-16 bytes",
        )),
        Some(form) => Ok(form),
        None if one_byte_fits => Ok(ExtensionForm::OneByte),
        None => Ok(ExtensionForm::TwoByte),
    }
}

/// Length of the block's elements in `form`, before padding to 32 bits.
pub(crate) fn elements_len(form: ExtensionForm, elements: &[ExtensionElement<'_>]) -> usize {
    elements
        .iter()
        .map(|e| form.element_header_len() + e.data.len())
        .sum()
}

/// Writes the elements of a block (no profile/length header), zero-padded to
/// `padded_len` bytes. `buf` must hold `padded_len` bytes.
pub(crate) fn write_elements(
    form: ExtensionForm,
    elements: &[ExtensionElement<'_>],
    buf: &mut [u8],
    padded_len: usize,
) -> Result<(), Error> {
    check_room(buf, padded_len)?;
    let mut pos = 0;
    for e in elements {
        let n = e.data.len();
        match form {
            ExtensionForm::OneByte => {
                // choose_form checked 1 <= n <= 16.
                buf[pos] = (e.id << 4) | ((n - 1) as u8 & 0x0F);
                pos += 1;
            }
            ExtensionForm::TwoByte => {
                buf[pos] = e.id;
                buf[pos + 1] = n as u8;
                pos += 2;
            }
        }
        buf[pos..pos + n].copy_from_slice(e.data);
        pos += n;
    }
    buf[pos..padded_len].fill(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(form: ExtensionForm, data: &[u8]) -> Vec<(u8, Vec<u8>)> {
        HeaderExtensions::new(Some(form), data)
            .map(|e| (e.id, e.data.to_vec()))
            .collect()
    }

    #[test]
    fn one_byte_padding_and_stop() {
        // Padding before, between and after elements is skipped.
        let data = [0, 0x10, 0xAA, 0, 0, 0x21, 1, 2, 0];
        validate(ExtensionForm::OneByte, &data).unwrap();
        assert_eq!(
            collect(ExtensionForm::OneByte, &data),
            vec![(1, vec![0xAA]), (2, vec![1, 2])]
        );
        // Id 15 stops parsing, whatever its length field says.
        let data = [0x10, 0xAA, 0xF3, 0x20, 0xBB];
        validate(ExtensionForm::OneByte, &data).unwrap();
        assert_eq!(
            collect(ExtensionForm::OneByte, &data),
            vec![(1, vec![0xAA])]
        );
    }

    #[test]
    fn truncated_elements_are_rejected() {
        assert_eq!(
            validate(ExtensionForm::OneByte, &[0x12, 1, 2]),
            Err(Error::ExtensionElementTruncated(1))
        );
        assert_eq!(
            validate(ExtensionForm::TwoByte, &[7]),
            Err(Error::ExtensionElementTruncated(7))
        );
        assert_eq!(
            validate(ExtensionForm::TwoByte, &[7, 3, 1, 2]),
            Err(Error::ExtensionElementTruncated(7))
        );
    }

    #[test]
    fn two_byte_allows_empty_values() {
        let data = [5, 0, 0, 200, 1, 9];
        validate(ExtensionForm::TwoByte, &data).unwrap();
        assert_eq!(
            collect(ExtensionForm::TwoByte, &data),
            vec![(5, vec![]), (200, vec![9])]
        );
    }

    #[test]
    fn profiles() {
        assert_eq!(
            ExtensionForm::from_profile(0xBEDE),
            Some(ExtensionForm::OneByte)
        );
        assert_eq!(
            ExtensionForm::from_profile(0x1000),
            Some(ExtensionForm::TwoByte)
        );
        assert_eq!(
            ExtensionForm::from_profile(0x100F),
            Some(ExtensionForm::TwoByte)
        );
        assert_eq!(ExtensionForm::from_profile(0x1010), None);
        assert_eq!(ExtensionForm::from_profile(0xABAC), None);
    }

    #[test]
    fn form_choice() {
        let small = [ExtensionElement::new(14, &[1; 16])];
        assert_eq!(choose_form(&small, None), Ok(ExtensionForm::OneByte));
        let big_id = [ExtensionElement::new(15, &[1])];
        assert_eq!(choose_form(&big_id, None), Ok(ExtensionForm::TwoByte));
        let long = [ExtensionElement::new(1, &[1; 17])];
        assert_eq!(choose_form(&long, None), Ok(ExtensionForm::TwoByte));
        let empty = [ExtensionElement::new(1, &[])];
        assert_eq!(choose_form(&empty, None), Ok(ExtensionForm::TwoByte));
        assert!(choose_form(&long, Some(ExtensionForm::OneByte)).is_err());
        assert_eq!(
            choose_form(&small, Some(ExtensionForm::TwoByte)),
            Ok(ExtensionForm::TwoByte)
        );
        assert!(choose_form(&[ExtensionElement::new(0, &[1])], None).is_err());
        assert!(choose_form(&[ExtensionElement::new(1, &[0; 256])], None).is_err());
    }
}
