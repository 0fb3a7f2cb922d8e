//! Base64 (RFC 4648 §4) as DKIM writes it in `p=`, `b=` and `bh=` (RFC 6376 §2.4, §3.5,
//! §3.6.1): folding whitespace may appear anywhere and is ignored, padding is optional.
//!
//! The value is decoded in one pass straight into the caller's buffer, without first copying
//! it to drop the whitespace: runs of alphabet characters are decoded many at once, and only
//! the bytes around whitespace and padding are looked at one by one.
//!
//! What it accepts is exactly what the `base64` crate's standard engine accepts with
//! indifferent padding and trailing bits allowed, once folding whitespace is removed (a
//! property test checks the two against each other): `=` only in the last group of four
//! symbols, after at least two symbols of it and followed by nothing but `=`; never a group of
//! a single symbol.

use crate::tag::is_fws;

/// Marks a byte outside the alphabet in [`TABLE`] (any value of 64 or more is not a symbol).
const INVALID: u8 = 0xff;
/// Marks folding whitespace (SP, HTAB, CR, LF) in [`TABLE`].
const FWS: u8 = 0xfe;
/// Marks `=` in [`TABLE`].
const PAD: u8 = 0xfd;

/// Byte to its 6-bit value, or one of the markers.
const TABLE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t[b' ' as usize] = FWS;
    t[b'\t' as usize] = FWS;
    t[b'\r' as usize] = FWS;
    t[b'\n' as usize] = FWS;
    t[b'=' as usize] = PAD;
    t
};

/// Decodes `value` and appends the bytes to `out`. `Err(index)` gives the index in `value` of
/// the first byte that makes it invalid (for a value that ends after a lone symbol, that
/// symbol); `out` is then left as it was.
///
/// Runs of symbols go to `encodify`'s incremental decoder (vector instructions where the CPU
/// has them); this function reads only the bytes that stop it: whitespace, padding, or an
/// invalid byte.
pub(crate) fn decode_into(value: &[u8], out: &mut Vec<u8>) -> Result<(), usize> {
    let start = out.len();
    let result = decode_runs(value, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn decode_runs(value: &[u8], out: &mut Vec<u8>) -> Result<(), usize> {
    out.reserve(max_len(value));
    let mut decoder = encodify::base64::STANDARD.decoder();
    let run = decoder.decode_symbols(value, out);
    if value
        .get(run)
        .is_some_and(|&b| TABLE[usize::from(b)] == FWS)
    {
        // A folded value (a `b=` split over lines): the rest is gathered without its
        // whitespace and decoded in one run, where the decoder restarting after each fold
        // cost more than the whole gathering. Whether a value decodes, and to what, depends
        // only on its bytes other than whitespace, so the gathered rest gives the same
        // answer; only an error's index would differ, so on error the value is read again
        // as written, and the error names its byte in it.
        let mut buf = [0u8; GATHERED];
        if let Some(rest) = gather(value.get(run..).unwrap_or_default(), &mut buf) {
            let mark = out.len();
            let mut again = decoder;
            let more = again.decode_symbols(rest, out);
            if runs(again, rest, more, run + more, out).is_ok() {
                return Ok(());
            }
            out.truncate(mark);
        }
    }
    runs(decoder, value, run, run, out)
}

/// How many bytes [`gather`] takes: a `b=` of RSA-2048 (344 symbols) or Ed25519 folded over
/// lines; longer values are read as written.
const GATHERED: usize = 512;

/// The bytes of `value` other than folding whitespace, in `buf`; `None` when they may not
/// fit. The whitespace is found sixteen bytes a step, and the runs between it are copied whole.
fn gather<'b>(value: &[u8], buf: &'b mut [u8; GATHERED]) -> Option<&'b [u8]> {
    if value.len() > GATHERED {
        return None;
    }
    let mut n = 0;
    let mut keep = |run: &[u8], n: &mut usize| -> Option<()> {
        buf.get_mut(*n..*n + run.len())?.copy_from_slice(run);
        *n += run.len();
        Some(())
    };
    let mut run_start = 0;
    let mut i = 0;
    while let Some(block) = value.get(i..).and_then(<[u8]>::first_chunk::<16>) {
        // Every byte of folding whitespace is at most SP, and no other byte kept here is.
        let Some(at) = has_space(block)
            .then(|| block.iter().position(|&b| b <= b' '))
            .flatten()
        else {
            i += 16;
            continue;
        };
        let first = i + at;
        if !is_fws(value[first]) {
            i = first + 1; // a control byte: kept, the decoder refuses it
            continue;
        }
        keep(value.get(run_start..first)?, &mut n)?;
        i = first + value[first..].iter().take_while(|&&b| is_fws(b)).count();
        run_start = i;
    }
    for (j, &b) in value.iter().enumerate().skip(i) {
        if is_fws(b) {
            keep(value.get(run_start..j)?, &mut n)?;
            run_start = j + 1;
        }
    }
    keep(value.get(run_start..)?, &mut n)?;
    buf.get(..n)
}

/// True when a byte of `block` is at most SP (folding whitespace, or a control byte), tested
/// eight bytes at a time: a byte below 0x21 borrows into its top bit when 0x21 is taken from
/// it, and the top bits of bytes that were 0x80 or more are masked out (exact for any byte
/// value below 0x80 compared).
fn has_space(block: &[u8; 16]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_le_bytes([0x80; 8]);
    let below = |x: u64| x.wrapping_sub(ONES * 0x21) & !x & TOPS;
    let (lo, hi) = block.split_at(8);
    let word = |h: &[u8]| <[u8; 8]>::try_from(h).map_or(0, u64::from_le_bytes);
    (below(word(lo)) | below(word(hi))) != 0
}

/// Decodes `value` from `i` on, where a run of symbols stopped (or the end), `decoder` having
/// decoded `symbols` symbols before it: runs of symbols, skipping whitespace, up to padding,
/// an invalid byte or the end. `Err` gives the
/// index in `value` of the byte that makes it invalid.
fn runs(
    mut decoder: encodify::base64::Decoder,
    value: &[u8],
    mut i: usize,
    mut symbols: usize,
    out: &mut Vec<u8>,
) -> Result<(), usize> {
    while let Some(&b) = value.get(i) {
        match TABLE[usize::from(b)] {
            FWS => i += 1,
            PAD => {
                check_padding(value, i, symbols % 4)?;
                break;
            }
            _ => return Err(i),
        }
        let run = decoder.decode_symbols(value.get(i..).unwrap_or_default(), out);
        symbols += run;
        i += run;
    }
    if symbols % 4 == 1 {
        // A lone symbol encodes no byte: name it.
        let last = value[..i].iter().rposition(|&b| TABLE[usize::from(b)] < 64);
        return Err(last.unwrap_or(0));
    }
    decoder.finish(out);
    Ok(())
}

/// The most bytes `value` can decode to.
pub(crate) fn max_len(value: &[u8]) -> usize {
    value.len() / 4 * 3 + 3
}

/// The padding at `value[i]`: it must come after two or three symbols of the last group
/// (`count`), and only `=` and whitespace may follow, at most four symbols and `=` in all.
fn check_padding(value: &[u8], i: usize, count: usize) -> Result<(), usize> {
    if count < 2 {
        return Err(i);
    }
    let mut total = count;
    for (j, &b) in value.iter().enumerate().skip(i) {
        if b == b'=' {
            total += 1;
            if total > 4 {
                return Err(j);
            }
        } else if !is_fws(b) {
            return Err(if TABLE[usize::from(b)] == INVALID {
                j
            } else {
                i
            });
        }
    }
    Ok(())
}

/// Decodes a short value written as strict base64 (padded, no whitespace: the form a key
/// record's `p=` usually has) into `out`, without allocating; `None` when the value is not
/// that or does not fit, and [`decode`] then reads it. Whatever this accepts, [`decode`]
/// accepts with the same bytes (a property test checks it).
pub(crate) fn decode_strict_short<'o>(value: &[u8], out: &'o mut [u8; 48]) -> Option<&'o [u8]> {
    if value.len() > 64 {
        return None;
    }
    let len = encodify::base64::STANDARD
        .decode_slice(value, &mut out[..])
        .ok()?;
    out.get(..len)
}

/// Decodes `value` into a new vector as [`decode`] does, trying first the strict form a key
/// record's `p=` usually has (padded, no whitespace, no trailing bits), which `encodify`
/// decodes without the incremental decoder's work between runs. Whatever the strict form
/// accepts, [`decode`] accepts with the same bytes (a property test checks it); anything else
/// is read by [`decode_into`] into the same allocation.
#[inline]
pub(crate) fn decode_usually_strict(value: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(max_len(value));
    if encodify::base64::STANDARD
        .decode_append(value, &mut out)
        .is_err()
    {
        // Left empty by the failed attempt.
        decode_into(value, &mut out)?;
    }
    Ok(out)
}

/// Decodes `value` into a new vector (see [`decode_into`]).
pub(crate) fn decode(value: &[u8]) -> Result<Vec<u8>, usize> {
    // Allocated at its final size at once (the reservation in `decode_runs` is then free).
    let mut out = Vec::with_capacity(max_len(value));
    decode_into(value, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: the `base64` crate's engine with the same settings, on the value with
    /// its folding whitespace removed.
    fn reference(value: &[u8]) -> Option<Vec<u8>> {
        use base64::Engine as _;
        use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
        const ENGINE: GeneralPurpose = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new()
                .with_decode_padding_mode(DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        let compact: Vec<u8> = value.iter().copied().filter(|&b| !is_fws(b)).collect();
        ENGINE.decode(compact).ok()
    }

    #[test]
    fn rfc4648_4_vectors_with_folding_and_padding() {
        for (text, bytes) in [
            (&b""[..], &b""[..]),
            (b"Zg==", b"f"),
            (b"Zg", b"f"),
            (b"Zg=", b"f"),
            (b"Zm8=", b"fo"),
            (b"Zm8", b"fo"),
            (b"Zm9v", b"foo"),
            (b"Zm9vYg==", b"foob"),
            (b"Zm9vYmE=", b"fooba"),
            (b"Zm9vYmFy", b"foobar"),
            (b" Zm9v\r\n\tYmFy ", b"foobar"),
            (b"Zm 9vYm Fy", b"foobar"),
            (b"Zm9vYmFyZm9vYmFyZm9vYmFy", b"foobarfoobarfoobar"),
            (b"Zm9vYg = =", b"foob"),
            (b"AQ Ab\r\n\tAA==", &[1, 0, 27, 0]),
        ] {
            assert_eq!(decode(text).as_deref(), Ok(bytes), "{text:?}");
        }
    }

    #[test]
    fn errors_name_the_offending_byte() {
        assert_eq!(decode(b"AQ A!"), Err(4));
        assert_eq!(decode(b"MIGf*MA0"), Err(4));
        assert_eq!(decode(b"Zm9vYmFy!m9v"), Err(8));
        assert_eq!(decode(b"Z"), Err(0));
        assert_eq!(decode(b"Zm9vY"), Err(4));
        assert_eq!(decode(b"Z==="), Err(1));
        assert_eq!(decode(b"Zm9v="), Err(4));
        assert_eq!(decode(b"Zg==Zg=="), Err(2));
        assert_eq!(decode(b"Zg===="), Err(4));
        assert_eq!(decode(b"Zg=!"), Err(3));
        let mut out = b"kept".to_vec();
        assert_eq!(decode_into(b"Zm9vYmFyZm9vYmFyZm9vYmFy!", &mut out), Err(24));
        assert_eq!(out, b"kept");
    }

    #[test]
    fn has_space_finds_every_byte_up_to_sp_at_every_place() {
        for at in 0..16 {
            for byte in 0..=255u8 {
                let mut block = [b'A'; 16];
                block[at] = byte;
                assert_eq!(has_space(&block), byte <= b' ', "{byte:#x} at {at}");
                // Among bytes of 0x80 and more too.
                let mut block = [0xf0; 16];
                block[at] = byte;
                assert_eq!(has_space(&block), byte <= b' ', "{byte:#x} at {at}");
            }
        }
    }

    proptest! {
        /// Same verdict and bytes as the `base64` crate, on text mostly made of the alphabet
        /// with whitespace and padding sprinkled in.
        #[test]
        fn agrees_with_the_base64_crate(
            text in proptest::collection::vec(
                prop_oneof![
                    8 => proptest::sample::select(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()),
                    1 => proptest::sample::select(b" \t\r\n=".to_vec()),
                    1 => any::<u8>(),
                ],
                0..200,
            )
        ) {
            let expected = reference(&text);
            prop_assert_eq!(decode(&text).ok(), expected);
        }

        /// The strict short path accepts nothing that the decoder refuses, and gives the same
        /// bytes.
        #[test]
        fn strict_short_is_a_subset(
            text in proptest::collection::vec(
                prop_oneof![
                    12 => proptest::sample::select(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()),
                    1 => proptest::sample::select(b" \t\r\n=\x0c-_".to_vec()),
                    1 => any::<u8>(),
                ],
                0..70,
            ),
            bytes in proptest::collection::vec(any::<u8>(), 0..50),
        ) {
            use base64::Engine as _;
            let mut out = [0u8; 48];
            if let Some(short) = decode_strict_short(&text, &mut out) {
                prop_assert_eq!(decode(&text), Ok(short.to_vec()));
            }
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let mut out = [0u8; 48];
            let short = decode_strict_short(encoded.as_bytes(), &mut out);
            if encoded.len() <= 64 {
                prop_assert_eq!(short, Some(&bytes[..]));
            } else {
                prop_assert_eq!(short, None);
            }
        }

        /// The strict first try changes nothing: the same bytes, or the same error, as
        /// [`decode`], on strict base64 (of every length, with its padding dropped or doubled
        /// now and then) as on text mostly made of the alphabet.
        #[test]
        fn usually_strict_agrees_with_decode(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            cut in 0usize..3,
            text in proptest::collection::vec(
                prop_oneof![
                    12 => proptest::sample::select(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()),
                    1 => proptest::sample::select(b" \t\r\n=".to_vec()),
                    1 => any::<u8>(),
                ],
                0..200,
            ),
        ) {
            use base64::Engine as _;
            let mut encoded = base64::engine::general_purpose::STANDARD.encode(&bytes).into_bytes();
            match cut {
                0 => {}
                1 => encoded.truncate(encoded.len() - usize::from(encoded.ends_with(b"="))),
                _ => encoded.push(b'='),
            }
            prop_assert_eq!(decode_usually_strict(&encoded), decode(&encoded));
            prop_assert_eq!(decode_usually_strict(&text), decode(&text));
        }

        /// Encoded bytes, folded anywhere, decode back.
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300), fold in 1usize..90) {
            use base64::Engine as _;
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let folded: Vec<u8> = text
                .as_bytes()
                .chunks(fold)
                .flat_map(|c| c.iter().copied().chain(b"\r\n\t".iter().copied()))
                .collect();
            prop_assert_eq!(decode(&folded), Ok(bytes.clone()));
            prop_assert_eq!(decode(text.trim_end_matches('=').as_bytes()), Ok(bytes));
        }
    }
}
