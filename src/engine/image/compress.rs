//! Detects and undoes layer/archive compression from the stream's first bytes, so a
//! gzip, zstd or plain tar can come from anywhere (file, stdin, blob) without a hint.

use std::io::{self, BufRead, BufReader, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
    /// OCI layer media type for a stored blob of this compression.
    pub fn oci_layer_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// Wraps `r` in the decoder its magic bytes ask for.
pub fn decompress<'a, R: Read + 'a>(r: R) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let mut br = BufReader::with_capacity(256 * 1024, r);
    let kind = Compression::detect(br.fill_buf()?);
    let out: Box<dyn Read + 'a> = match kind {
        Compression::None => Box::new(br),
        // MultiGzDecoder: pigz and some registries emit concatenated gzip members.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(br)?),
    };
    Ok((kind, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trips_each_kind() {
        let data = b"some tar bytes".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).expect("gz");
        let gz = gz.finish().expect("gz");
        let zs = zstd::encode_all(&data[..], 1).expect("zstd");
        for (bytes, kind) in [
            (data.clone(), Compression::None),
            (gz, Compression::Gzip),
            (zs, Compression::Zstd),
        ] {
            let (k, mut r) = decompress(&bytes[..]).expect("decompress");
            assert_eq!(k, kind);
            let mut out = Vec::new();
            r.read_to_end(&mut out).expect("read");
            assert_eq!(out, data);
        }
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[7u8; 10000]).expect("gz");
        let gz = gz.finish().expect("gz");
        let (_, mut r) = decompress(&gz[..gz.len() / 2]).expect("decompress");
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
    }
}
