//! A whole state as stored: what moves between stores unchanged. The last good copy is one
//! (`last-good.jsonl`), and so is the object a remote backend keeps.
//!
//! JSON Lines, so the header is read without reading the records: the first line is the
//! header (format, lineage, serial, and the id of the key its secrets are sealed with), each
//! further line one record exactly as a store keeps it (secrets sealed). Copying a document
//! never decrypts or re-encrypts anything, so its records arrive byte for byte.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::seal::{KeyId, StateKey};
use crate::stored::{decode_record, encode_record};
use crate::{Lineage, Record, Snapshot, StateError};

/// The format this ringform writes and reads.
const FORMAT: u32 = 1;

/// What a document is a copy of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    ringform_state: u32,
    pub lineage: Lineage,
    pub serial: u64,
    /// The key the records' secrets are sealed with; absent when they are not encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    /// That key as a key service keeps it (wrapped), when one does: opaque to this crate, whose
    /// stores take the key itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapped_key: Option<serde_json::Value>,
}

/// The first line of a document: the header, and how many records follow, so that a copy cut
/// short at a line break is told from a state with fewer records (absent in older copies).
#[derive(Serialize, Deserialize)]
struct FirstLine<H> {
    #[serde(flatten)]
    header: H,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    records: Option<usize>,
}

impl Header {
    pub fn new(lineage: Lineage, serial: u64, key_id: Option<KeyId>) -> Header {
        Header { ringform_state: FORMAT, lineage, serial, key_id, wrapped_key: None }
    }

    /// The header on the first line of a document, `line`; the error says what is wrong.
    pub(crate) fn parse(line: &[u8]) -> Result<Header, (String, Option<serde_json::Error>)> {
        Ok(Header::parse_counted(line)?.0)
    }

    /// The header on `line`, and how many records it says follow.
    fn parse_counted(line: &[u8]) -> Result<(Header, Option<usize>), (String, Option<serde_json::Error>)> {
        let FirstLine { header, records } = serde_json::from_slice::<FirstLine<Header>>(line)
            .map_err(|e| ("its first line is not the header of a ringform state".to_owned(), Some(e)))?;
        if header.ringform_state != FORMAT {
            let detail = format!("it is in format {}, which this ringform does not read", header.ringform_state);
            return Err((detail, None));
        }
        Ok((header, records))
    }
}

/// A state's header and its records as stored, in address order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub header: Header,
    pub records: Vec<Vec<u8>>,
}

impl Document {
    pub fn write_to(&self, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
        let first = FirstLine { header: &self.header, records: Some(self.records.len()) };
        serde_json::to_writer(&mut *out, &first).map_err(io::Error::other)?;
        for record in &self.records {
            out.write_all(b"\n")?;
            out.write_all(record)?;
        }
        out.write_all(b"\n")
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.records.iter().map(|r| r.len() + 1).sum::<usize>() + 256);
        self.write_to(&mut bytes).expect("writing to memory cannot fail");
        bytes
    }

    /// The document in `bytes`; an error says, for `location`, what is wrong with it.
    pub fn parse(bytes: &[u8], location: &str) -> Result<Document, StateError> {
        let damaged = |(detail, source)| StateError::Corrupt { location: location.to_owned(), detail, source };
        let mut lines = bytes.split(|b| *b == b'\n').filter(|line| !line.is_empty());
        let (header, count) = Header::parse_counted(lines.next().unwrap_or_default()).map_err(damaged)?;
        let records: Vec<Vec<u8>> = lines.map(<[u8]>::to_vec).collect();
        match count {
            Some(count) if count != records.len() => Err(damaged((
                format!("it holds {} records where its header says {count}: it was cut short", records.len()),
                None,
            ))),
            _ => Ok(Document { header, records }),
        }
    }

    /// The records as (address, stored bytes), each checked to open with `key`.
    pub(crate) fn checked_records(
        &self,
        key: Option<&StateKey>,
        location: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let decoded = self.decoded(key, location)?;
        Ok(decoded.into_iter().map(|(bytes, record)| (record.address.to_string(), bytes.to_vec())).collect())
    }

    /// The state the document holds, its secrets opened with `key`.
    pub fn snapshot(&self, key: Option<&StateKey>, location: &str) -> Result<Snapshot, StateError> {
        let records = self.decoded(key, location)?.into_iter().map(|(_, record)| record);
        Ok(Snapshot::new(self.header.lineage, self.header.serial, records))
    }

    /// The same state with its secrets sealed under `new_key` instead of `key` (or for the
    /// first time); the header names the new key and holds no wrapped key.
    pub fn rekeyed(&self, key: Option<&StateKey>, new_key: &StateKey, location: &str) -> Result<Document, StateError> {
        let records =
            self.decoded(key, location)?.into_iter().map(|(_, record)| encode_record(&record, Some(new_key), location));
        let header = Header::new(self.header.lineage, self.header.serial, Some(new_key.id().clone()));
        Ok(Document { header, records: records.collect::<Result<_, _>>()? })
    }

    /// Each record as stored beside it decoded with `key`; fails on the first that does not
    /// decode, or when `key` is not the document's.
    fn decoded<'a>(&'a self, key: Option<&StateKey>, location: &str) -> Result<Vec<(&'a [u8], Record)>, StateError> {
        crate::seal::check_key(self.header.key_id.as_ref(), key, location)?;
        let decode = |(index, bytes): (usize, &'a Vec<u8>)| {
            let address = stored_address(bytes).ok_or_else(|| StateError::Corrupt {
                location: location.to_owned(),
                detail: format!("line {} is not a record", index + 2),
                source: None,
            })?;
            Ok((bytes.as_slice(), decode_record(&address, bytes, key, location)?))
        };
        self.records.iter().enumerate().map(decode).collect()
    }
}

/// The address a stored record says it is for.
fn stored_address(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Addressed {
        address: String,
    }
    serde_json::from_slice::<Addressed>(bytes).ok().map(|a| a.address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_round_trips_byte_for_byte() {
        let record = br#"{"address":"aws_vpc.a","provider_id":"vpc-1","inputs":{},"outputs":{}}"#.to_vec();
        let document = Document { header: Header::new(Lineage::new(), 3, None), records: vec![record] };
        let bytes = document.to_bytes();
        assert_eq!(Document::parse(&bytes, "here").unwrap(), document);
        let err = Document::parse(b"not json\n", "s3://b/k").unwrap_err().to_string();
        assert!(err.contains("s3://b/k") && err.contains("not the header of a ringform state"), "{err}");
    }
}
